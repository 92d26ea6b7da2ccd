//! The bench scheduler: for every (strategy, K) point, fresh tables, a fresh pool, N clients, a
//! warm-up, the measured window, and the invariant check; between points nothing is shared. One
//! controller loop per point decides the phases, samples lock waits and feeds the progress bar.
//!
//! A first Ctrl-C (the `stop` channel) ends the current point at once — clients finish the
//! transaction they are in, the invariants are checked, no further point starts — so the partial
//! results are still honest. Dropping the future (a second Ctrl-C) aborts the clients; the caller
//! then cleans the sandbox.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::client::{self, Backoff, ClientSpec, Phase, RunControl};
use super::options::{BenchPlan, Stop, Strategy};
use super::point::{PointKey, client_pool, point_result};
use super::progress::{LiveBars, thousands};
use super::report::{BenchReport, PointResult, RunSettings};
use super::rng::Rng;
use super::sampler::LockSampler;
use super::stats::ClientStats;
use super::strategy::AttemptSettings;
use super::threads::{self, ClientThreads};
use super::workload;
use crate::db::SessionOptions;
use crate::db::postgres::wire::{Sql, Target, Wire, WirePool};
use crate::db::postgres::{Sandbox, Server};
use crate::error::{Result, TxlabError};

/// How often the controller wakes: lock-wait samples, phase changes, progress.
const TICK: Duration = Duration::from_millis(10);
/// How often the progress bar is redrawn, and the window its tx/s is computed over.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
const RATE_WINDOW: Duration = Duration::from_millis(500);

const SERVER_VERSION: Sql = Sql::new(37, "txlab_server_version", "SHOW server_version", &[]);

/// Gives each point its own advisory-lock namespace, even across runs in one process.
static ADVISORY_CLASSES: AtomicU32 = AtomicU32::new(0);

/// Runs the whole plan on `server`, in a schema of its own. `stop` turning true ends the run
/// early with partial results.
pub async fn run(
    server: &Server,
    sandbox: &Sandbox,
    plan: &BenchPlan,
    bars: &LiveBars,
    mut stop: watch::Receiver<bool>,
) -> Result<BenchReport> {
    // The schema is made (and dropped) through the sandbox; the tables, invariants and lock
    // samples go over a protocol connection of the same kind the clients use.
    let admin = server
        .connect(&SessionOptions {
            application_name: sandbox.application_name(),
            ..Default::default()
        })
        .await?;
    let schema = sandbox.create_schema(&admin).await?;
    let mut control =
        Wire::connect(&Target::new(server, sandbox.application_name(), &schema)).await?;
    let version = control.query(&SERVER_VERSION, &[]).await?;
    let version = version.first().map(|r| r.text(0)).transpose()?;
    let version = version.unwrap_or_default();

    let threads = ClientThreads::start(plan.client_threads)?;
    let point_units = units_per_point(plan);
    let mut done_per_strategy: Vec<(Strategy, u64)> = Vec::new();
    let mut results = Vec::new();
    let mut interrupted = false;
    for (strategy, accounts) in plan.points() {
        if *stop.borrow() {
            interrupted = true;
            break;
        }
        let offset = done_per_strategy
            .iter()
            .find(|(s, _)| *s == strategy)
            .map(|(_, d)| *d)
            .unwrap_or(0);
        let bar = bars.bar(strategy);
        let mut point = Point {
            threads: &threads,
            server,
            sandbox,
            schema: &schema,
            control: &mut control,
            plan,
            strategy,
            accounts,
        };
        let result = point.run(&bar, offset, &mut stop).await?;
        bar.set_message(format!(
            "{}{} tx/s",
            k_label(plan, accounts),
            thousands(result.tps)
        ));
        match done_per_strategy.iter_mut().find(|(s, _)| *s == strategy) {
            Some((_, d)) => *d += point_units,
            None => done_per_strategy.push((strategy, point_units)),
        }
        bar.set_position(offset + point_units);
        interrupted |= result.interrupted;
        results.push(result);
        if interrupted {
            break;
        }
    }
    drop(control);
    sandbox.drop_schema(&admin, &schema).await?;
    admin.close().await;

    let invariants_ok = results.iter().all(|r| r.invariants_ok);
    Ok(BenchReport {
        settings: settings(plan, server, version),
        results,
        invariants_ok,
        interrupted,
    })
}

/// Progress units one point contributes to its strategy's bar: milliseconds or transactions.
pub fn units_per_point(plan: &BenchPlan) -> u64 {
    match plan.stop {
        Stop::After(d) => (plan.warmup + d).as_millis() as u64,
        Stop::Transactions(n) => n,
    }
}

fn k_label(plan: &BenchPlan, accounts: u32) -> String {
    if plan.is_sweep() {
        format!("K={accounts} · ")
    } else {
        String::new()
    }
}

fn settings(plan: &BenchPlan, server: &Server, version: String) -> RunSettings {
    RunSettings {
        workload: plan.workload,
        clients: plan.clients,
        pool_size: plan.pool_size,
        duration_ms: match plan.stop {
            Stop::After(d) => Some(d.as_secs_f64() * 1000.0),
            Stop::Transactions(_) => None,
        },
        transactions: match plan.stop {
            Stop::Transactions(n) => Some(n),
            Stop::After(_) => None,
        },
        warmup_ms: plan.warmup.as_secs_f64() * 1000.0,
        think_ms: plan.think.as_secs_f64() * 1000.0,
        initial_balance: plan.initial_balance.to_string(),
        seed: plan.seed,
        client_threads: plan.client_threads,
        sweep: plan.is_sweep(),
        server: server.description.clone(),
        server_version: version,
    }
}

/// One (strategy, K) point and what it needs.
struct Point<'a> {
    threads: &'a ClientThreads,
    server: &'a Server,
    sandbox: &'a Sandbox,
    schema: &'a str,
    control: &'a mut Wire,
    plan: &'a BenchPlan,
    strategy: Strategy,
    accounts: u32,
}

impl Point<'_> {
    async fn run(
        &mut self,
        bar: &ProgressBar,
        offset: u64,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<PointResult> {
        let plan = self.plan;
        workload::prepare(
            self.control,
            plan.workload,
            self.accounts,
            plan.initial_balance,
        )
        .await?;
        let pids = Arc::new(Mutex::new(Vec::new()));
        // One pool per client thread, so a connection (registered with that thread's reactor)
        // stays on the thread of the clients that use it.
        let shards = threads::shards_for(self.threads.len(), plan.clients, plan.pool_size);
        let pools = threads::split(plan.pool_size, shards)
            .into_iter()
            .map(|size| client_pool(self.server, self.sandbox, self.schema, size, pids.clone()))
            .collect::<Vec<WirePool>>();
        let transactions = match plan.stop {
            Stop::Transactions(n) => Some(n),
            Stop::After(_) => None,
        };
        let control = Arc::new(RunControl::new(transactions));
        let class = ADVISORY_CLASSES.fetch_add(1, Ordering::Relaxed);
        let spec = ClientSpec {
            workload: plan.workload,
            strategy: self.strategy,
            accounts: self.accounts,
            settings: AttemptSettings {
                think: plan.think,
                advisory_class: ((std::process::id() << 12) ^ class) as i32,
            },
            max_attempts: plan.max_attempts,
            backoff: Backoff::default(),
        };
        let mut clients = JoinSet::new();
        for i in 0..plan.clients {
            let rng = Rng::new(plan.seed ^ u64::from(self.accounts), i as u64);
            let shard = i % shards;
            clients.spawn_on(
                client::run(pools[shard].clone(), control.clone(), spec, rng),
                &self.threads.handle(shard),
            );
        }

        let sampler = LockSampler::new(pids);
        let started = Instant::now();
        let mut measure_start: Option<Instant> = None;
        let mut measure_end: Option<Instant> = None;
        let mut interrupted = *stop.borrow();
        let mut stop_open = true;
        let mut lock_wait = Duration::ZERO;
        let mut merged = ClientStats::default();
        let mut last_sample = Instant::now();
        let mut rate_mark = (Instant::now(), 0u64);
        let mut last_draw = Instant::now();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let units = units_per_point(plan);

        if interrupted {
            control.set_phase(Phase::Stop);
        }
        loop {
            tokio::select! {
                joined = clients.join_next(), if !clients.is_empty() => {
                    match joined {
                        Some(Ok(Ok(stats))) => merged.merge(stats),
                        Some(Ok(Err(e))) => return Err(e),
                        Some(Err(e)) => return Err(TxlabError::Database(format!("a bench client died: {e}"))),
                        None => {}
                    }
                    if clients.is_empty() {
                        break;
                    }
                }
                changed = stop.changed(), if !interrupted && stop_open => {
                    if changed.is_err() {
                        // Nobody can ask for a stop any more: run to the end.
                        stop_open = false;
                    } else if *stop.borrow() {
                        interrupted = true;
                        if control.phase() == Phase::Measure {
                            measure_end = Some(Instant::now());
                        }
                        control.set_phase(Phase::Stop);
                    }
                }
                _ = ticker.tick() => {
                    let now = Instant::now();
                    if control.phase() == Phase::Measure {
                        lock_wait += sampler.waiting(self.control, now - last_sample).await?;
                    }
                    last_sample = Instant::now();
                    match control.phase() {
                        Phase::Warmup if now >= started + plan.warmup => {
                            control.set_phase(Phase::Measure);
                            measure_start = Some(now);
                        }
                        Phase::Measure => {
                            if let (Stop::After(d), Some(s)) = (plan.stop, measure_start)
                                && now >= s + d
                            {
                                control.set_phase(Phase::Stop);
                                measure_end = Some(now);
                            }
                        }
                        _ => {}
                    }
                    if now - last_draw >= PROGRESS_EVERY {
                        last_draw = now;
                        let position = match plan.stop {
                            Stop::After(_) => (now - started).as_millis() as u64,
                            Stop::Transactions(_) => control.measured_done.load(Ordering::Relaxed),
                        };
                        bar.set_position(offset + position.min(units));
                        let committed = control.live_committed.load(Ordering::Relaxed);
                        let span = now - rate_mark.0;
                        if span >= RATE_WINDOW {
                            let rate = (committed - rate_mark.1) as f64 / span.as_secs_f64();
                            bar.set_message(format!("{}{} tx/s", k_label(plan, self.accounts), thousands(rate)));
                            rate_mark = (now, committed);
                        }
                    }
                }
            }
        }
        let finished = Instant::now();
        let status = pools
            .iter()
            .map(WirePool::status)
            .fold((0, 0), |(max, open), (m, o)| (max + m, open + o));
        drop(pools);

        let window = match (measure_start, measure_end) {
            (Some(s), Some(e)) => e - s,
            // `--transactions`: the window closes when the last measured transaction does.
            (Some(s), None) => finished - s,
            (None, _) => Duration::ZERO,
        };
        let invariants = workload::check(
            self.control,
            plan.workload,
            self.accounts,
            plan.initial_balance,
            merged.committed_total,
        )
        .await?;
        Ok(point_result(
            PointKey {
                strategy: self.strategy,
                plan,
                accounts: self.accounts,
            },
            merged,
            window,
            lock_wait,
            status,
            invariants,
            interrupted,
        ))
    }
}
