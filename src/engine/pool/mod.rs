//! Pool lessons (issue 15): tasks that share a real connection pool instead of owning one
//! connection each, so the lesson can show waits the database cannot see. [`task`] is one
//! application task holding the connections it checked out; [`schedule`] launches the steps in
//! order and tells a wait for a connection (seen from the pool) from a wait for a lock (seen from
//! the server). The pool itself is `db::ConnectionPool`; nothing here names a driver.

pub mod schedule;
pub mod task;
pub mod waits;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::event::Timeline;
use super::lesson::{Lesson, StepDef};
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
    );
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
    Ok(PoolOutcome {
        timeline,
        vars,
        schedule_time,
    })
}
