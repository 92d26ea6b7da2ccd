//! Runs one lesson at one isolation level, start to finish: a private schema, the setup, one
//! connection per session, the schedule, the verdict, and cleanup whatever happens.

use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use tokio::sync::mpsc;

use super::event::{Completion, Event, EventKind, StatementResult, Timeline, millis};
use super::gate::StepGate;
use super::inspect::{Inspect, Inspector};
use super::lesson::{Lesson, StepDef};
use super::level::IsolationLevel;
use super::scheduler::{Scheduler, SchedulerSettings};
use super::session::SessionHandle;
use super::sql_text::substitute;
use super::verdict::{Verdict, decide};
use crate::db::{Connected, Sandbox, Server};
use crate::error::{Result, TxlabError};

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

/// A session as it ran: who, and which backend.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub name: String,
    pub label: String,
    pub pid: i32,
}

impl SessionInfo {
    /// Who each running session is: the lesson's names and labels with the backends' pids.
    pub fn of(lesson: &Lesson, sessions: &[SessionHandle]) -> Vec<SessionInfo> {
        lesson
            .sessions
            .iter()
            .zip(sessions)
            .map(|(def, handle)| SessionInfo {
                name: def.name.clone(),
                label: def.label.clone(),
                pid: handle.pid,
            })
            .collect()
    }
}

/// Everything a renderer needs about one run. Renderers get this and nothing else.
#[derive(Debug, Clone)]
pub struct LessonRun {
    pub lesson_id: String,
    pub title: String,
    pub anomaly: Option<String>,
    /// The anomaly in capitals, for verdict sentences ("LOST UPDATE").
    pub anomaly_name: String,
    pub summary: String,
    pub explanation: String,
    /// The demo group and variant name, for lessons that are one variant of a demo.
    pub demo: Option<String>,
    pub variant: Option<String>,
    /// How many levels this lesson is shown at in the current command (labels add the level
    /// only when it tells variants apart).
    pub levels_shown: usize,
    pub level: Option<IsolationLevel>,
    pub sessions: Vec<SessionInfo>,
    /// The steps as sent (isolation level applied), indexed like the timeline's `step`.
    pub steps: Vec<StepDef>,
    pub timeline: Timeline,
    pub verdict: Option<Verdict>,
    /// Why the outcome is what it is at this level, from the lesson.
    pub why: Option<String>,
    /// Facts about this run the reader should know (level mapping, deadlock_timeout…).
    pub notes: Vec<String>,
    /// Wall time from the first launch to the last report.
    pub schedule_time: Duration,
    /// Wall time of the whole run, schema creation to schema drop.
    pub total_time: Duration,
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
    let control = sandbox.checkout(server, None).await?;
    if !sandbox.checked.load(std::sync::atomic::Ordering::Relaxed) {
        control.check_support().await?;
        sandbox
            .checked
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let schema = sandbox.create_schema(&control).await?;
    let result = run_in_schema(server, sandbox, &control, &schema, lesson, level, opts).await;
    let dropped = sandbox.drop_schema(&control, &schema).await;
    sandbox.give_back(control).await;
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
    control
        .execute(&format!("SET search_path = {schema}"))
        .await?;
    let mut setup_events = Vec::new();
    for sql in &lesson.setup {
        let answer = control.run(sql).await;
        if let Some(e) = &answer.error {
            return Err(TxlabError::Setup(format!("{} ({})", e.message, e.sqlstate)));
        }
        setup_events.push(setup_event(None, 0, sql, answer.results));
    }

    let steps: Vec<StepDef> = lesson
        .steps
        .iter()
        .map(|s| StepDef {
            sql: level
                .map(|l| l.apply_to(&s.sql))
                .unwrap_or_else(|| s.sql.clone()),
            ..s.clone()
        })
        .collect();
    let connections = try_join_all(
        lesson
            .sessions
            .iter()
            .map(|_| sandbox.checkout(server, Some(schema))),
    )
    .await?;
    let mut sessions: Vec<SessionHandle> =
        connections.into_iter().map(SessionHandle::spawn).collect();
    let infos = SessionInfo::of(lesson, &sessions);

    let mut notes = Vec::new();
    if level == Some(IsolationLevel::ReadUncommitted) {
        notes.push(
            "PostgreSQL accepts READ UNCOMMITTED but runs it as READ COMMITTED: no statement ever sees rows another \
             transaction has not committed (manual, \"Transaction Isolation\")."
                .to_string(),
        );
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
                let answer = sessions[i]
                    .run(sql)
                    .await
                    .ok_or_else(|| TxlabError::Schedule("a session ended during setup".into()))?;
                if let Some(e) = &answer.error {
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
        let mut scheduler = Scheduler::new(&steps, &mut sessions, &probe, clock, opts.scheduler);
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
    let (mut timeline, mut vars, schedule_time) = outcome?;
    timeline.events.splice(0..0, setup_events);
    for (i, def) in lesson.sessions.iter().enumerate() {
        vars.insert(
            format!("{}.committed", def.name),
            Some(committed(&timeline, i).to_string()),
        );
        vars.insert(
            format!("{}.waited_ms", def.name),
            Some(format!("{:.1}", millis(waited(&timeline, i)))),
        );
    }

    let verdict = match &lesson.verdict {
        Some(rule) => {
            let check = match &rule.check {
                Some(sql) => Some(run_check(control, &substitute(sql, &vars)).await?),
                None => None,
            };
            let expected = level.and_then(|l| lesson.expect.get(&l).cloned());
            Some(decide(rule, &timeline, check, expected))
        }
        None => None,
    };
    if let Some(sql) = &lesson.teardown {
        let _ = control.execute(sql).await;
    }

    Ok(LessonRun {
        lesson_id: lesson.id.clone(),
        title: lesson.title.clone(),
        anomaly: lesson.anomaly.clone(),
        anomaly_name: lesson
            .verdict
            .as_ref()
            .map(|v| v.name.clone())
            .unwrap_or_else(|| lesson.title.to_uppercase()),
        summary: lesson.summary.clone(),
        explanation: lesson.explanation.clone(),
        demo: lesson.demo.clone(),
        variant: lesson.variant.clone(),
        levels_shown: 1,
        level,
        sessions: infos,
        steps,
        timeline,
        verdict,
        why: level.and_then(|l| lesson.why.get(&l).cloned()),
        notes,
        schedule_time,
        total_time: Duration::ZERO,
    })
}

/// Whether the session's last transaction-ending step really committed (a COMMIT of a failed
/// transaction is a rollback). Verdict checks use it as `{{name.committed}}`.
fn committed(timeline: &Timeline, session: usize) -> bool {
    let last_end = timeline
        .events
        .iter()
        .rev()
        .filter(|e| e.session == Some(session))
        .find_map(|e| match &e.kind {
            EventKind::Completed(c) if c.tx_end.is_some() || c.error.is_some() => Some(c.tx_end),
            _ => None,
        });
    matches!(last_end, Some(Some(super::event::TxEnd::Commit)))
}

/// How long the session's steps waited for locks in all (retried attempts included), as the
/// timeline shows it. Verdict checks use it as `{{name.waited_ms}}`: "the user waited 200 ms".
fn waited(timeline: &Timeline, session: usize) -> Duration {
    timeline
        .events
        .iter()
        .filter(|e| e.session == Some(session))
        .filter_map(|e| match &e.kind {
            EventKind::Completed(c) => c.waited,
            _ => None,
        })
        .sum()
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
            return format!(
                "could not set deadlock_timeout ({}): the server default applies, so the deadlock detector runs after \
                 about a second and the session that has waited longest first is aborted; run as a superuser (or GRANT \
                 SET ON PARAMETER deadlock_timeout) to choose the victim",
                e.message
            );
        }
    }
    format!(
        "deadlock_timeout is {victim_timeout} for {} and {SURVIVOR_DEADLOCK_TIMEOUT} for the others, so {} runs the \
         deadlock detector first and is the one aborted",
        infos[victim].label, infos[victim].label
    )
}

/// Runs the verdict query: first column the boolean, second (optional) the evidence in words.
async fn run_check(control: &Connected, sql: &str) -> Result<(Option<bool>, Option<String>)> {
    let answer = control.run(sql).await;
    if let Some(e) = answer.error {
        return Err(TxlabError::Database(format!(
            "the lesson's verdict check failed: {} ({})",
            e.message, e.sqlstate
        )));
    }
    let row = answer.results.iter().rev().find_map(|r| match r {
        StatementResult::Rows { rows, .. } => rows.first().cloned(),
        _ => None,
    });
    Ok(match row {
        Some(row) => {
            let occurred = row
                .first()
                .cloned()
                .flatten()
                .map(|v| v == "t" || v == "true");
            (occurred, row.get(1).cloned().flatten())
        }
        None => (None, None),
    })
}
