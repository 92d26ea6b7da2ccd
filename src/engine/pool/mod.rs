//! Pool lessons (issue 15): tasks that share a real connection pool instead of owning one
//! connection each, so the lesson can show waits the database cannot see. [`task`] is one
//! application task holding the connections it checked out; [`schedule`] launches the steps in
//! order and tells a wait for a connection (seen from the pool) from a wait for a lock (seen from
//! the server). The pool itself is `db::ConnectionPool`; nothing here names a driver.

pub mod locks;
pub mod schedule;
pub mod session_end;
pub mod task;
pub mod waits;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::event::Timeline;
use super::lesson::{Lesson, PoolOp, StepDef};
use super::runner::RunOptions;
use crate::db::{Connected, ConnectionPool, Sandbox, Server};
use crate::error::{Result, TxlabError};
use schedule::PoolScheduler;

/// What a pool lesson's schedule left behind for the verdict and the renderers.
pub struct PoolOutcome {
    pub timeline: Timeline,
    /// `pool.*` variables for the verdict check (docs/pools.md).
    pub vars: BTreeMap<String, Option<String>>,
    pub schedule_time: Duration,
}

/// Runs a pool lesson's schedule in `schema`: a pool of the lesson's size, one task per lesson
/// session, the steps in order. The pool is closed before returning, so every connection it
/// opened is gone before the verdict check.
pub async fn run_schedule(
    server: &Server,
    sandbox: &Sandbox,
    control: &Connected,
    schema: &str,
    lesson: &Lesson,
    steps: &[StepDef],
    opts: &RunOptions,
) -> Result<PoolOutcome> {
    let Some(plan) = &lesson.pool else {
        return Err(TxlabError::Schedule(format!(
            "lesson {} declares no [pool]",
            lesson.id
        )));
    };
    let (Some(pg_server), Some(pg_sandbox)) = (server.postgres(), sandbox.postgres()) else {
        return Err(TxlabError::PostgresOnly("a connection-pool lesson".into()));
    };
    let pool = ConnectionPool::new(
        pg_server,
        pg_sandbox.application_name(),
        schema,
        plan.settings,
        plan.ops
            .iter()
            .any(|op| matches!(op, PoolOp::Terminate { .. })),
    )?;
    let clock = Instant::now();
    let mut scheduler = PoolScheduler::new(
        steps,
        &plan.ops,
        lesson.sessions.len(),
        &pool,
        control,
        clock,
        opts.scheduler,
    )
    .with_locks(opts.inspect.locks);
    let ran = scheduler.run(&lesson.schedules[0]).await;
    let schedule_time = clock.elapsed();
    let timeline = scheduler.take_timeline();
    let deadlock = scheduler.deadlock.clone();
    // Dropping the tasks drops the connections they hold: back to the pool, which closes them.
    drop(scheduler);
    pool.close();
    ran?;
    let mut vars = BTreeMap::new();
    let names: Vec<&str> = lesson.sessions.iter().map(|s| s.name.as_str()).collect();
    let set = |vars: &mut BTreeMap<String, Option<String>>, k: &str, v: String| {
        vars.insert(format!("pool.{k}"), Some(v));
    };
    set(&mut vars, "size", plan.settings.size.to_string());
    set(&mut vars, "deadlock", deadlock.is_some().to_string());
    set(
        &mut vars,
        "deadlock_tasks",
        deadlock
            .as_ref()
            .map(|d| {
                let who: Vec<&str> = d.tasks.iter().map(|&t| names[t]).collect();
                who.join(" and ")
            })
            .unwrap_or_default(),
    );
    set(
        &mut vars,
        "server_waiters",
        deadlock
            .as_ref()
            .map(|d| d.server_waiters)
            .unwrap_or(0)
            .to_string(),
    );
    set(&mut vars, "waits", timeline.pool_waits().to_string());
    let timeouts = timeline
        .errors()
        .filter(|e| e.sqlstate == crate::db::postgres::pool::POOL_TIMEOUT)
        .count();
    set(&mut vars, "timeouts", timeouts.to_string());
    for (k, v) in checkout_vars(&timeline) {
        set(&mut vars, k, v);
    }
    Ok(PoolOutcome {
        timeline,
        vars,
        schedule_time,
    })
}

/// What the checkouts cost and what the steps got, from the run: `reused_checkout_ms` (the mean
/// time to hand out a connection the pool already had, without waiting: the recycling check's
/// price), `connections_opened` (distinct backends handed out) and `errors` (each step error as
/// `SQLSTATE message`, quotes doubled for use inside an SQL string).
fn checkout_vars(timeline: &Timeline) -> Vec<(&'static str, String)> {
    use crate::model::event::{EventKind, millis};
    let mut seen = Vec::new();
    let mut reused = Vec::new();
    for e in &timeline.events {
        if let EventKind::Acquired { waited, took, .. } = &e.kind {
            if seen.contains(&e.pid) {
                if let (None, Some(took)) = (waited, took) {
                    reused.push(millis(*took));
                }
            } else {
                seen.push(e.pid);
            }
        }
    }
    let mean = match reused.len() {
        0 => 0.0,
        n => reused.iter().sum::<f64>() / n as f64,
    };
    let errors: Vec<String> = timeline
        .errors()
        .map(|e| format!("{} {}", e.sqlstate, e.message).replace('\'', "''"))
        .collect();
    vec![
        ("reused_checkout_ms", format!("{mean:.3}")),
        ("connections_opened", seen.len().to_string()),
        ("errors", errors.join("; ")),
    ]
}
