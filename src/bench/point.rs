//! One bench point's parts that are not its controller loop: the connection pool its clients
//! share (one per client thread) and the figures it reports, computed from what the clients
//! measured.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::options::{BenchPlan, Strategy};
use super::report::{PointResult, PoolFigures};
use super::stats::{ClientStats, Latency};
use super::workload;
use crate::db::postgres::wire::{Target, WirePool};
use crate::db::postgres::{Sandbox, Server};

/// Which point a result belongs to.
#[derive(Clone, Copy)]
pub(super) struct PointKey<'a> {
    pub(super) strategy: Strategy,
    pub(super) plan: &'a BenchPlan,
    pub(super) accounts: u32,
}

/// A pool of `size` connections (a client thread's share of `--pool-size`) that work in the
/// run's schema and carry txlab's application name; each new connection reports its backend
/// pid for the lock sampler.
pub(super) fn client_pool(
    server: &Server,
    sandbox: &Sandbox,
    schema: &str,
    size: usize,
    pids: Arc<Mutex<Vec<i32>>>,
) -> WirePool {
    let target = Target::new(server, sandbox.application_name(), schema);
    WirePool::new(target, size, pids)
}

/// The point's figures from its clients' merged statistics and the controller's window.
pub(super) fn point_result(
    point: PointKey<'_>,
    mut stats: ClientStats,
    window: Duration,
    lock_wait: Duration,
    (max_size, size): (usize, usize),
    invariants: Vec<workload::Invariant>,
    interrupted: bool,
) -> PointResult {
    let seconds = window.as_secs_f64();
    let latency = Latency::of(&mut stats.latencies_us);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut result = PointResult {
        strategy: point.strategy,
        workload: point.plan.workload,
        clients: point.plan.clients,
        accounts: point.accounts,
        committed: stats.committed,
        tps: if seconds > 0.0 {
            stats.committed as f64 / seconds
        } else {
            0.0
        },
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        mean_ms: 0.0,
        retries: stats.retries,
        retries_per_commit: if stats.committed > 0 {
            stats.retries as f64 / stats.committed as f64
        } else {
            0.0
        },
        aborts: stats.aborts,
        conflicts: stats.conflicts,
        declined: stats.declined,
        gave_up: stats.gave_up,
        failed: stats.failed,
        lock_wait_ms: ms(lock_wait),
        lock_statement_ms: ms(stats.lock_statement_time),
        pool: PoolFigures {
            max_size,
            size,
            gets: stats.pool_gets,
            wait_ms_total: ms(stats.pool_wait),
            wait_ms_max: ms(stats.pool_wait_max),
        },
        measured_ms: ms(window),
        invariants_ok: invariants.iter().all(|i| i.ok),
        invariants,
        interrupted,
    };
    result.set_latency(latency);
    result
}
