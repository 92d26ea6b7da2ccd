//! What a bench run is asked to do, validated before anything touches a server: the workload, the
//! strategies in order, how long, how many clients. Raw flags become a [`BenchPlan`] here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::error::{Result, TxlabError};

/// What every transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Random transfers between K accounts (K small: hot rows).
    Transfer,
    /// Every transaction increments one hot row.
    Counter,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Transfer => "transfer",
            Workload::Counter => "counter",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a transaction keeps concurrent writers from losing each other's updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// `SELECT … FOR UPDATE` in id order, then write what the application computed.
    Pessimistic,
    /// Read without locks, write `WHERE version = $read`, retry with backoff on a conflict.
    Optimistic,
    /// One guarded `UPDATE … SET balance = balance - $x WHERE … AND balance >= $x` per row.
    Atomic,
    /// The pessimistic read-modify-write without locks, at SERIALIZABLE; retry on 40001.
    Serializable,
    /// `pg_advisory_xact_lock` per account, in id order, then an unlocked read-modify-write.
    Advisory,
    /// Read-modify-write with no protection at all; loses updates. Not part of `all`: it exists
    /// to show what the invariant check catches.
    Naive,
}

impl Strategy {
    /// What `all` means.
    pub const ALL: [Strategy; 5] = [
        Strategy::Pessimistic,
        Strategy::Optimistic,
        Strategy::Atomic,
        Strategy::Serializable,
        Strategy::Advisory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Pessimistic => "pessimistic",
            Strategy::Optimistic => "optimistic",
            Strategy::Atomic => "atomic",
            Strategy::Serializable => "serializable",
            Strategy::Advisory => "advisory",
            Strategy::Naive => "naive",
        }
    }

    /// Whether a conflict is expected to be retried by this strategy (and so backs off).
    pub fn retries_by_design(self) -> bool {
        matches!(self, Strategy::Optimistic | Strategy::Serializable)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = TxlabError;
    fn from_str(s: &str) -> Result<Strategy> {
        let s = s.trim().to_ascii_lowercase();
        Strategy::ALL
            .into_iter()
            .chain([Strategy::Naive])
            .find(|k| k.name() == s)
            .ok_or_else(|| bad_flag("--strategy", &s, STRATEGY_HINT))
    }
}

const STRATEGY_HINT: &str = "strategies are pessimistic, optimistic, atomic, serializable, advisory, naive, or all; give several as a comma list";

/// Parses `all`, one name, or a comma list (repeatable flag values are joined first). Keeps the
/// user's order, drops duplicates.
pub fn parse_strategies(raw: &[String]) -> Result<Vec<Strategy>> {
    let mut out: Vec<Strategy> = Vec::new();
    for item in raw.iter().flat_map(|r| r.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let add: Vec<Strategy> = if item.eq_ignore_ascii_case("all") {
            Strategy::ALL.to_vec()
        } else {
            vec![item.parse()?]
        };
        for s in add {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    if out.is_empty() {
        return Err(bad_flag("--strategy", "", STRATEGY_HINT));
    }
    Ok(out)
}

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration> {
    let s = raw.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| bad_flag("duration", raw, DURATION_HINT))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        _ => return Err(bad_flag("duration", raw, DURATION_HINT)),
    };
    if !seconds.is_finite() || !(0.0..=24.0 * 3600.0).contains(&seconds) {
        return Err(bad_flag("duration", raw, DURATION_HINT));
    }
    Ok(Duration::from_secs_f64(seconds))
}

const DURATION_HINT: &str = "durations look like 10s, 500ms, 2m or 1.5s";

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Measure for this long after the warm-up.
    After(Duration),
    /// Measure until this many transactions have finished (all clients together).
    Transactions(u64),
}

/// How many accounts: one K, or the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contention {
    Fixed(u32),
    Sweep(Vec<u32>),
}

/// The K values `--contention sweep` walks through, most contended first.
pub const SWEEP_ACCOUNTS: [u32; 5] = [2, 8, 32, 128, 1024];

/// Everything one `txlab bench` invocation does, validated.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    pub workload: Workload,
    pub strategies: Vec<Strategy>,
    pub clients: usize,
    pub pool_size: usize,
    pub contention: Contention,
    pub stop: Stop,
    pub warmup: Duration,
    /// Application work between reading and writing (held inside the transaction by the strategies
    /// that lock before reading).
    pub think: Duration,
    pub initial_balance: Decimal,
    pub seed: u64,
    pub max_attempts: u32,
    /// Worker threads for the client tasks; 0 runs them on the command's own thread.
    pub client_threads: usize,
}

impl BenchPlan {
    /// Every (strategy, K) point in the order they run: per K, each strategy, so a Ctrl-C part-way
    /// through a sweep still leaves comparable points.
    pub fn points(&self) -> Vec<(Strategy, u32)> {
        let ks = self.account_counts();
        let mut points = Vec::new();
        for k in ks {
            for s in &self.strategies {
                points.push((*s, k));
            }
        }
        points
    }

    /// The K values this plan runs.
    pub fn account_counts(&self) -> Vec<u32> {
        match (&self.contention, self.workload) {
            (_, Workload::Counter) => vec![1],
            (Contention::Fixed(k), _) => vec![*k],
            (Contention::Sweep(ks), _) => ks.clone(),
        }
    }

    pub fn is_sweep(&self) -> bool {
        matches!(self.contention, Contention::Sweep(_))
    }
}

fn bad_flag(flag: &str, value: &str, hint: &str) -> TxlabError {
    TxlabError::BadBenchFlag {
        flag: flag.to_string(),
        value: value.to_string(),
        hint: hint.to_string(),
    }
}

/// Validation errors for flags whose values depend on each other.
pub fn invalid(flag: &str, value: &str, hint: &str) -> TxlabError {
    bad_flag(flag, value, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_lists_keep_order_and_expand_all() {
        let s = parse_strategies(&["optimistic,pessimistic".into()]).unwrap();
        assert_eq!(s, vec![Strategy::Optimistic, Strategy::Pessimistic]);
        let s = parse_strategies(&["all".into()]).unwrap();
        assert_eq!(s, Strategy::ALL.to_vec());
        let s = parse_strategies(&["atomic".into(), "all".into()]).unwrap();
        assert_eq!(s[0], Strategy::Atomic);
        assert_eq!(s.len(), 5);
        assert!(!s.contains(&Strategy::Naive));
        assert!(parse_strategies(&["pessimist".into()]).is_err());
        assert!(parse_strategies(&[",".into()]).is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("").is_err());
    }
}
