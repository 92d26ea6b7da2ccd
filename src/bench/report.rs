//! What a bench run found, as plain data: one [`PointResult`] per (strategy, K) point and the
//! [`BenchReport`] around them. The runner fills these in; exporters and the chart only read them.

use std::collections::BTreeMap;

use super::options::{Strategy, Workload};
use super::stats::Latency;
use super::workload::Invariant;

/// Pool figures at the end of a point.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PoolFigures {
    pub max_size: usize,
    /// Connections the pool had opened when the point ended.
    pub size: usize,
    /// Connections borrowed (one per transaction) in the measured window.
    pub gets: u64,
    pub wait_ms_total: f64,
    pub wait_ms_max: f64,
}

/// One strategy at one K.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PointResult {
    pub strategy: Strategy,
    pub workload: Workload,
    pub clients: usize,
    pub accounts: u32,
    /// Transactions committed in the measured window.
    pub committed: u64,
    /// Committed transactions per second of the measured window.
    pub tps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// Extra attempts (every attempt after a transaction's first).
    pub retries: u64,
    pub retries_per_commit: f64,
    /// Attempts rolled back by a server error, by SQLSTATE.
    pub aborts: BTreeMap<String, u64>,
    /// Optimistic attempts that found the row's version moved (no server error: 0 rows updated).
    pub conflicts: u64,
    /// Transfers refused for lack of money (rolled back, not retried).
    pub declined: u64,
    /// Transactions abandoned after the attempt limit.
    pub gave_up: u64,
    /// Transactions abandoned on a non-retryable server error.
    pub failed: u64,
    /// Server-observed lock waiting: backends in `wait_event_type = 'Lock'`, sampled.
    pub lock_wait_ms: f64,
    /// Client-observed: wall time inside the strategy's locking statements.
    pub lock_statement_ms: f64,
    pub pool: PoolFigures,
    /// Length of the measured window.
    pub measured_ms: f64,
    pub invariants: Vec<Invariant>,
    pub invariants_ok: bool,
    /// The point was cut short by Ctrl-C.
    pub interrupted: bool,
}

impl PointResult {
    pub fn set_latency(&mut self, l: Latency) {
        self.p50_ms = l.p50_ms;
        self.p95_ms = l.p95_ms;
        self.p99_ms = l.p99_ms;
        self.max_ms = l.max_ms;
        self.mean_ms = l.mean_ms;
    }

    /// Every abort reason with its count, conflicts included: `40001×12 version×3`.
    pub fn abort_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .aborts
            .iter()
            .map(|(code, n)| format!("{code}×{n}"))
            .collect();
        if self.conflicts > 0 {
            parts.push(format!("version×{}", self.conflicts));
        }
        if parts.is_empty() {
            "—".into()
        } else {
            parts.join(" ")
        }
    }
}

/// How the run was set up, for headers and the JSON document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSettings {
    pub workload: Workload,
    pub clients: usize,
    pub pool_size: usize,
    /// Measured window per point, when the run is time-bound.
    pub duration_ms: Option<f64>,
    /// Measured transactions per point, when the run is count-bound.
    pub transactions: Option<u64>,
    pub warmup_ms: f64,
    pub think_ms: f64,
    pub initial_balance: String,
    pub seed: u64,
    /// Worker threads running the clients (0: txlab's own thread).
    pub client_threads: usize,
    pub sweep: bool,
    /// Where the server came from ("throwaway local PostgreSQL 15 cluster", a redacted URL).
    pub server: String,
    pub server_version: String,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    pub settings: RunSettings,
    pub results: Vec<PointResult>,
    pub invariants_ok: bool,
    /// Ctrl-C stopped the run; the results are what was measured until then.
    pub interrupted: bool,
}

impl BenchReport {
    /// Strategies in the order they first appear.
    pub fn strategies(&self) -> Vec<Strategy> {
        let mut out = Vec::new();
        for r in &self.results {
            if !out.contains(&r.strategy) {
                out.push(r.strategy);
            }
        }
        out
    }

    /// K values in the order they first appear.
    pub fn account_counts(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for r in &self.results {
            if !out.contains(&r.accounts) {
                out.push(r.accounts);
            }
        }
        out
    }

    pub fn point(&self, strategy: Strategy, accounts: u32) -> Option<&PointResult> {
        self.results
            .iter()
            .find(|r| r.strategy == strategy && r.accounts == accounts)
    }

    /// The broken invariants, as one line each.
    pub fn broken(&self) -> Vec<String> {
        self.results
            .iter()
            .flat_map(|r| {
                r.invariants.iter().filter(|i| !i.ok).map(move |i| {
                    format!(
                        "{} (K={}): {}: expected {}, found {}",
                        r.strategy, r.accounts, i.name, i.expected, i.found
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A report with pessimistic and optimistic at each K; optimistic wins at high K only.
    pub fn sample_report(ks: &[u32], invariants_ok: bool) -> BenchReport {
        let mut results = Vec::new();
        for &k in ks {
            for (strategy, tps) in [
                (Strategy::Pessimistic, 1000.0 + f64::from(k)),
                (Strategy::Optimistic, 200.0 + 3.0 * f64::from(k)),
            ] {
                let mut aborts = BTreeMap::new();
                if strategy == Strategy::Optimistic {
                    aborts.insert("40001".to_string(), 2);
                }
                results.push(PointResult {
                    strategy,
                    workload: Workload::Transfer,
                    clients: 8,
                    accounts: k,
                    committed: tps as u64 * 2,
                    tps,
                    p50_ms: 1.5,
                    p95_ms: 3.25,
                    p99_ms: 7.0,
                    max_ms: 9.0,
                    mean_ms: 1.8,
                    retries: 4,
                    retries_per_commit: 0.002,
                    aborts,
                    conflicts: u64::from(strategy == Strategy::Optimistic) * 2,
                    declined: 0,
                    gave_up: 0,
                    failed: 0,
                    lock_wait_ms: 12.0,
                    lock_statement_ms: 30.0,
                    pool: PoolFigures {
                        max_size: 8,
                        size: 8,
                        gets: 2000,
                        wait_ms_total: 1.0,
                        wait_ms_max: 0.1,
                    },
                    measured_ms: 2000.0,
                    invariants: vec![Invariant {
                        name: "total balance unchanged",
                        ok: invariants_ok,
                        expected: "8000".into(),
                        found: if invariants_ok { "8000" } else { "7990" }.into(),
                    }],
                    invariants_ok,
                    interrupted: false,
                });
            }
        }
        BenchReport {
            settings: RunSettings {
                workload: Workload::Transfer,
                clients: 8,
                pool_size: 8,
                duration_ms: Some(2000.0),
                transactions: None,
                warmup_ms: 400.0,
                think_ms: 0.0,
                initial_balance: "1000000.00".into(),
                seed: 1,
                client_threads: 0,
                sweep: ks.len() > 1,
                server: "test".into(),
                server_version: "15.0".into(),
            },
            results,
            invariants_ok,
            interrupted: false,
        }
    }
}
