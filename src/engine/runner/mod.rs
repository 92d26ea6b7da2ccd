//! Runs one lesson at one isolation level, start to finish: a private schema, the setup, one
//! connection per session, the schedule, the verdict, and cleanup whatever happens.

mod finish;

use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use tokio::sync::mpsc;

use super::event::{Completion, Event, EventKind, StatementResult};
use super::gate::StepGate;
use super::inspect::{Inspect, Inspector};
use super::lesson::{Lesson, StepDef};
use super::level::IsolationLevel;
use super::notes;
use super::run::steps_at;
use super::scheduler::{Scheduler, SchedulerSettings};
use super::session::SessionHandle;
use crate::db::failure;
use crate::db::{Connected, Sandbox, Server, SqlState};
use crate::error::{Result, TxlabError};
use crate::model::{Engine, StepAnswer};
use finish::{Finished, finish};

pub use super::run::{LessonRun, SessionInfo};

/// The deadlock victim's `deadlock_timeout`: short, so the lesson is quick, but long enough that
/// the scheduler sees the victim blocked before the detector fires.
pub const VICTIM_DEADLOCK_TIMEOUT: &str = "20ms";
/// Everyone else's: long enough that only the victim ever runs the detector.
pub const SURVIVOR_DEADLOCK_TIMEOUT: &str = "10s";
/// The victim's with `--locks`: the lock report is read after the block is observed, and must
/// still find the wait-for cycle the detector is about to break.
pub const VICTIM_DEADLOCK_TIMEOUT_WITH_LOCKS: &str = "300ms";

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub scheduler: SchedulerSettings,
    /// Receives every event as it is recorded (live displays); the timeline gets them anyway.
    pub live: Option<mpsc::UnboundedSender<Event>>,
    /// Passed before each launch (`--step`, `--quiz`).
    pub gate: Option<StepGate>,
    /// Lock and row-version reports to record (`--locks`, `--versions`).
    pub inspect: Inspect,
}

/// Runs `lesson` at `level` (or as written, with `None`) in a schema of its own on `server`.
pub async fn run_lesson(
    server: &Server,
    sandbox: &Sandbox,
    lesson: &Lesson,
    level: Option<IsolationLevel>,
    opts: &RunOptions,
) -> Result<LessonRun> {
    let started = Instant::now();
    let engine = server.engine();
    let on_engine = lesson.for_engine_at(engine, level);
    let lesson = &on_engine.map_err(|reason| TxlabError::NotOnEngine {
        lesson: lesson.id.clone(),
        engine: engine.name(),
        reason,
    })?;
    let control = sandbox.checkout(server, None).await?;
    if !sandbox.checked().load(std::sync::atomic::Ordering::Relaxed) {
        control.check_support().await?;
        sandbox
            .checked()
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let schema = sandbox.create_schema(&control).await?;
    let result = run_in_schema(server, sandbox, &control, &schema, lesson, level, opts).await;
    let dropped = sandbox.drop_schema(&control, &schema).await;
    // A server that went away mid-run fails whatever was running at that moment; whichever it
    // was, the user is told one thing: the server closed the connection.
    let lost = (result.is_err() || dropped.is_err()) && control.is_closed();
    sandbox.give_back(control).await;
    if lost && !matches!(result, Err(TxlabError::ConnectionLost { .. })) {
        return Err(TxlabError::ConnectionLost {
            during: format!("lesson {}", lesson.id),
            reason: match (&result, &dropped) {
                (Err(e), _) | (_, Err(e)) => e.to_string(),
                _ => "connection closed".into(),
            },
        });
    }
    let mut run = result?;
    dropped?;
    run.total_time = started.elapsed();
    Ok(run)
}

async fn run_in_schema(
    server: &Server,
    sandbox: &Sandbox,
    control: &Connected,
    schema: &str,
    lesson: &Lesson,
    level: Option<IsolationLevel>,
    opts: &RunOptions,
) -> Result<LessonRun> {
    control.use_schema(schema).await?;
    // Setup, verdict checks and the schema's drop run on the control connection: none of them
    // may wait forever (a `pg_sleep` in setup, a lock held by someone else), so they obey the
    // step timeout too. The connection's settings are reset when it is given back.
    let limit_ms = opts.scheduler.step_timeout.as_millis().max(1);
    match control.engine() {
        Engine::Postgres => {
            control
                .execute(&format!("SET statement_timeout = {limit_ms}"))
                .await?
        }
        Engine::Mariadb => {
            control
                .execute(&format!(
                    "SET SESSION max_statement_time = {}",
                    limit_ms as f64 / 1000.0
                ))
                .await?
        }
    }
    let mut setup_events = Vec::new();
    for sql in &lesson.setup {
        let answer = control.run(sql).await;
        if let Some(e) = &answer.error {
            if e.sqlstate == SqlState::QueryCanceled.code() {
                return Err(TxlabError::SetupTimeout {
                    during: "the lesson's setup SQL".into(),
                    seconds: opts.scheduler.step_timeout.as_secs(),
                });
            }
            return Err(
                failure::explain("the lesson's setup SQL", &e.message, &e.sqlstate).unwrap_or_else(
                    || TxlabError::Setup(format!("{} ({})", e.message, e.sqlstate)),
                ),
            );
        }
        setup_events.push(setup_event(None, 0, sql, answer.results));
    }

    let engine = control.engine();
    // PostgreSQL takes the level in BEGIN; MariaDB's BEGIN takes none, so each session sets it
    // for its transactions (shown as a setup step).
    let steps: Vec<StepDef> = match engine {
        Engine::Postgres => steps_at(lesson, level),
        Engine::Mariadb => steps_at(lesson, None),
    };
    if lesson.pool.is_some() {
        let out = super::pool::run_schedule(server, sandbox, control, schema, lesson, &steps, opts)
            .await?;
        let mut timeline = out.timeline;
        timeline.events.splice(0..0, setup_events);
        let run = Finished {
            infos: SessionInfo::of(lesson, &[]),
            steps,
            timeline,
            vars: out.vars,
            schedule_time: out.schedule_time,
            notes: Vec::new(),
        };
        return finish(control, lesson, level, run).await;
    }
    let connections = try_join_all(
        lesson
            .sessions
            .iter()
            .map(|_| sandbox.checkout(server, Some(schema))),
    )
    .await?;
    let mut sessions: Vec<SessionHandle> =
        connections.into_iter().map(SessionHandle::spawn).collect();
    let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
    let infos = SessionInfo::of(lesson, &pids);

    let mut notes = Vec::new();
    if let (Engine::Mariadb, Some(level)) = (engine, level) {
        for (i, session) in sessions.iter_mut().enumerate() {
            let sql = level.mariadb_session_sql();
            let answer = session
                .run(&sql)
                .await
                .ok_or_else(|| TxlabError::Schedule("a session ended during setup".into()))?;
            if let Some(e) = &answer.error {
                return Err(TxlabError::Setup(format!("{} ({})", e.message, e.sqlstate)));
            }
            setup_events.push(setup_event(Some(i), infos[i].pid, &sql, answer.results));
        }
    }
    if level == Some(IsolationLevel::ReadUncommitted) && engine == Engine::Postgres {
        notes.push(notes::READ_UNCOMMITTED.to_string());
    }
    if let Some(victim) = lesson.deadlock_victim {
        let timeout = if opts.inspect.locks {
            VICTIM_DEADLOCK_TIMEOUT_WITH_LOCKS
        } else {
            VICTIM_DEADLOCK_TIMEOUT
        };
        notes.push(configure_deadlock_victim(&mut sessions, &infos, victim, timeout).await);
    }

    let outcome = async {
        for (i, def) in lesson.sessions.iter().enumerate() {
            for sql in &def.setup {
                let limit = opts.scheduler.step_timeout;
                let answer = session_setup(&mut sessions[i], &def.name, sql, limit).await?;
                if let Some(e) = &answer.error {
                    if let Some(lost) =
                        failure::explain("a session's setup SQL", &e.message, &e.sqlstate)
                    {
                        return Err(lost);
                    }
                    return Err(TxlabError::Setup(format!(
                        "session {}: {} ({})",
                        def.name, e.message, e.sqlstate
                    )));
                }
                setup_events.push(setup_event(Some(i), infos[i].pid, sql, answer.results));
            }
        }
        let probe = control.probe(infos.iter().map(|s| s.pid).collect()).await?;
        let inspector = match opts.inspect.any() {
            true => Some(Inspector::prepare(control, opts.inspect, schema).await?),
            false => None,
        };
        let clock = Instant::now();
        let mut scheduler = Scheduler::new(&steps, &mut sessions, &*probe, clock, opts.scheduler);
        if let Some(live) = &opts.live {
            scheduler = scheduler.with_live_events(live.clone());
        }
        scheduler = scheduler
            .with_retry_policies(lesson.sessions.iter().map(|s| s.retry.clone()).collect());
        if let Some(gate) = &opts.gate {
            scheduler = scheduler.with_gate(gate.clone());
        }
        if let Some(inspector) = &inspector {
            notes.extend(inspector.notes());
            scheduler = scheduler.with_inspector(inspector);
        }
        scheduler.run(&lesson.schedules[0]).await?;
        let schedule_time = clock.elapsed();
        Ok((
            scheduler.take_timeline(),
            std::mem::take(&mut scheduler.vars),
            schedule_time,
        ))
    }
    .await;

    for (i, def) in lesson.sessions.iter().enumerate() {
        if let (Some(sql), Ok(_)) = (&def.teardown, &outcome) {
            let _ = sessions[i].run(sql).await;
        }
    }
    // Hand the connections back: each is rolled back and reset, which also ends whatever a
    // session left open before the verdict check looks at the data.
    for session in sessions {
        if let Some(conn) = session.into_connection().await {
            sandbox.give_back(conn).await;
        }
    }
    let (mut timeline, vars, schedule_time) = outcome?;
    // A lesson's `report_after` orders its deadlock's completions for the victim it planned; when
    // the server chose the other one (no SET on deadlock_timeout), that order contradicts the
    // clocks, so the events are shown in time order instead (stable: one moment keeps its order).
    let unplanned_victim = lesson.deadlock_victim.is_some_and(|planned| {
        super::deadlock_why::deadlock_victim(&timeline).is_some_and(|v| v != planned)
    });
    if unplanned_victim {
        timeline.events.sort_by_key(|e| e.t);
    }
    timeline.events.splice(0..0, setup_events);
    let run = Finished {
        infos,
        steps,
        timeline,
        vars,
        schedule_time,
        notes,
    };
    finish(control, lesson, level, run).await
}

/// Runs one statement of a session's setup, within `limit` (`--step-timeout`, like the lesson's
/// setup): past it the statement is cancelled and the run fails, rather than waiting forever for
/// a `pg_sleep` or a lock held elsewhere. Steps have the scheduler for that; setup has this.
async fn session_setup(
    session: &mut SessionHandle,
    name: &str,
    sql: &str,
    limit: Duration,
) -> Result<StepAnswer> {
    let ended = || TxlabError::Schedule("a session ended during setup".into());
    match tokio::time::timeout(limit, session.run(sql)).await {
        Ok(answer) => answer.ok_or_else(ended),
        Err(_elapsed) => {
            session.cancel().await;
            // The cancelled statement's answer, so the connection is idle when given back.
            let _ = tokio::time::timeout(limit, session.answer()).await;
            Err(TxlabError::SetupTimeout {
                during: format!("session {name}'s setup SQL"),
                seconds: limit.as_secs(),
            })
        }
    }
}

fn setup_event(
    session: Option<usize>,
    pid: i32,
    sql: &str,
    results: Vec<StatementResult>,
) -> Event {
    Event {
        t: Duration::ZERO,
        session,
        pid,
        step: None,
        kind: EventKind::Setup {
            sql: sql.to_string(),
            completion: Completion {
                results,
                error: None,
                tx_end: None,
                waited: None,
                conflict: None,
            },
        },
    }
}

/// Gives the victim a short `deadlock_timeout` and everyone else a long one, so the same session
/// loses every run. Needs superuser or `SET` privilege on the parameter; otherwise says so.
async fn configure_deadlock_victim(
    sessions: &mut [SessionHandle],
    infos: &[SessionInfo],
    victim: usize,
    victim_timeout: &str,
) -> String {
    for (i, session) in sessions.iter_mut().enumerate() {
        let value = if i == victim {
            victim_timeout
        } else {
            SURVIVOR_DEADLOCK_TIMEOUT
        };
        let answer = session
            .run(&format!("SET deadlock_timeout = '{value}'"))
            .await;
        if let Some(e) = answer.and_then(|a| a.error) {
            return notes::deadlock_timeout_refused(&e.message);
        }
    }
    notes::deadlock_victim(
        &infos[victim].label,
        victim_timeout,
        SURVIVOR_DEADLOCK_TIMEOUT,
    )
}
