//! Runs a compiled spec the way PostgreSQL's isolationtester does: one control connection and one
//! connection per session for the whole spec, and every permutation on those same connections —
//! global setup on the control connection, each session's setup, the steps (through the one
//! [`Scheduler`]), each session's teardown, the global teardown. It runs in the environment
//! pg_regress gives a test: a fresh database created from `template0`, C messages and formats,
//! `America/Los_Angeles`, `Postgres, MDY` dates, `postgres_verbose` intervals.
//!
//! Like the rest of the engine it records what happened and never formats it.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::event::{Completion, ErrorInfo, Event, EventKind, Timeline};
use super::lesson::Lesson;
use super::run::SessionInfo;
use super::scheduler::Scheduler;
use super::session::{SessionHandle, StepAnswer};
pub use super::spec_options::SpecRunOptions;
use super::spec_place::open_place;
pub use super::spec_place::{
    SpecPlace, drop_database, drop_place, fresh_database_name, regress_settings,
};
use crate::db::SessionOptions;
use crate::db::postgres::{Connected, Sandbox, Server};
use crate::db::seam::LockProbe;
use crate::error::{Result, TxlabError};

/// Why a spec stopped before its last permutation; isolationtester exits at these.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SpecFailure {
    /// Global setup (`session: None`) or a session's setup failed.
    Setup {
        session: Option<usize>,
        error: ErrorInfo,
    },
    /// The steps could not be run to the end (mutually blocking steps, a timeout…).
    Steps(String),
    /// `--all-permutations`: the order cannot happen (a step is due on a session that waits for
    /// a lock only a later step would release). Classified, not waited out to the step timeout;
    /// the sessions are rolled back and the next permutation runs.
    Impossible(String),
}

/// One permutation as it ran (serde: a spec recording carries these).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PermutationRun {
    /// Index into the lesson's schedules.
    pub index: usize,
    /// Setup results and the notices sessions sent during their setup, in order.
    pub setup: Vec<Event>,
    /// The steps, as the scheduler reported them.
    pub timeline: Timeline,
    /// Teardown results (with their errors) and notices.
    pub teardown: Vec<Event>,
    pub failure: Option<SpecFailure>,
    /// From the first launch to the last report.
    pub schedule_time: Duration,
    /// Setup, steps and teardown.
    pub total_time: Duration,
}

/// What a whole spec run was like.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecSummary {
    pub place: SpecPlace,
    pub superuser: bool,
    pub permutations: usize,
    pub sessions: Vec<SessionInfo>,
    /// From the first connection to the database being dropped.
    pub total_time: Duration,
}

/// Runs every schedule of a compiled spec, calling `on_permutation` after each. Stops at the
/// first failed setup or unfinishable permutation (after reporting it), as isolationtester does.
pub async fn run_spec(
    server: &Server,
    sandbox: &Sandbox,
    lesson: &Lesson,
    opts: &SpecRunOptions,
    on_permutation: &mut dyn FnMut(&[SessionInfo], &PermutationRun),
) -> Result<SpecSummary> {
    let started = Instant::now();
    let app = sandbox.application_name();
    let (admin, superuser, place) = open_place(server, sandbox, app, opts).await?;
    let settings = regress_settings(superuser);
    let base = app_base(&lesson.id);
    let result = run_in_place(
        server,
        &base,
        &place,
        &settings,
        lesson,
        opts,
        on_permutation,
    )
    .await;
    let dropped = drop_place(&admin, sandbox, &place).await;
    admin.close().await;
    let (count, sessions) = result?;
    dropped?;
    Ok(SpecSummary {
        place,
        superuser,
        permutations: count,
        sessions,
        total_time: started.elapsed(),
    })
}

/// The `application_name` base isolationtester's sessions get: `$PGAPPNAME`, or
/// `isolation/<spec>` as pg_isolation_regress sets it; each connection appends `/<session>`.
pub fn app_base(spec: &str) -> String {
    std::env::var("PGAPPNAME").unwrap_or_else(|_| format!("isolation/{spec}"))
}

/// Connects (control connection first, then the sessions, each named `<app>/<session>` as
/// isolationtester names them) in `place`, and runs every permutation there.
pub async fn run_in_place(
    server: &Server,
    app: &str,
    place: &SpecPlace,
    settings: &[(String, String)],
    lesson: &Lesson,
    opts: &SpecRunOptions,
    on_permutation: &mut dyn FnMut(&[SessionInfo], &PermutationRun),
) -> Result<(usize, Vec<SessionInfo>)> {
    let (database, search_path) = match place {
        SpecPlace::Database(db) | SpecPlace::Scratch(db) => (Some(db.as_str()), None),
        SpecPlace::ServerDefault => (None, None),
        SpecPlace::Schema(schema) => (None, Some(schema.as_str())),
    };
    let named = |session: &str| format!("{app}/{session}");
    let control_name = named("control connection");
    let options = SessionOptions {
        application_name: &control_name,
        search_path,
        database,
        settings,
    };
    // Control connection first, then the sessions in spec order, as isolationtester connects.
    let control = server.connect(&options).await?;
    let mut connections: Vec<Connected> = Vec::new();
    for def in &lesson.sessions {
        let name = named(&def.name);
        let options = SessionOptions {
            application_name: &name,
            ..options.clone()
        };
        match server.connect(&options).await {
            Ok(c) => connections.push(c),
            Err(e) => {
                for c in connections {
                    c.close().await;
                }
                control.close().await;
                return Err(e);
            }
        }
    }
    let mut sessions: Vec<SessionHandle> = connections
        .into_iter()
        .map(|c| SessionHandle::spawn(crate::db::Connected::from_postgres(c)))
        .collect();
    let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
    let infos = SessionInfo::of(lesson, &pids);

    let result = async {
        let probe = control.probe(infos.iter().map(|s| s.pid).collect()).await?;
        let mut ran = 0;
        for index in 0..lesson.schedules.len() {
            let run = run_permutation(&control, &probe, &mut sessions, lesson, index, opts).await;
            on_permutation(&infos, &run);
            ran += 1;
            match run.failure {
                None | Some(SpecFailure::Impossible(_)) => {}
                Some(failure) => return Err(failure_error(lesson, &failure)),
            }
        }
        Ok(ran)
    }
    .await;

    for session in sessions {
        session.close().await;
    }
    control.close().await;
    result.map(|ran| (ran, infos))
}

fn failure_error(lesson: &Lesson, failure: &SpecFailure) -> TxlabError {
    match failure {
        SpecFailure::Setup { session, error } => {
            let whose = match session {
                None => String::new(),
                Some(s) => format!(" (setup of session {})", lesson.sessions[*s].name),
            };
            TxlabError::Setup(format!("{}:  {}{whose}", error.severity, error.message))
        }
        SpecFailure::Steps(message) | SpecFailure::Impossible(message) => {
            TxlabError::Schedule(message.clone())
        }
    }
}

async fn run_permutation(
    control: &Connected,
    probe: &dyn LockProbe,
    sessions: &mut [SessionHandle],
    lesson: &Lesson,
    index: usize,
    opts: &SpecRunOptions,
) -> PermutationRun {
    let started = Instant::now();
    let mut run = PermutationRun {
        index,
        setup: Vec::new(),
        timeline: Timeline::default(),
        teardown: Vec::new(),
        failure: None,
        schedule_time: Duration::ZERO,
        total_time: Duration::ZERO,
    };
    for sql in &lesson.setup {
        let answer = control.run(sql).await;
        let error = answer.error.clone();
        run.setup.push(sql_event(None, None, 0, sql, answer));
        if let Some(error) = error {
            run.failure = Some(SpecFailure::Setup {
                session: None,
                error,
            });
            run.total_time = started.elapsed();
            return run;
        }
    }
    for (i, def) in lesson.sessions.iter().enumerate() {
        for sql in &def.setup {
            let answer = run_on_session(&mut sessions[i], sql).await;
            collect_notices(None, &mut sessions[i], i, &mut run.setup);
            let error = answer.error.clone();
            run.setup
                .push(sql_event(None, Some(i), sessions[i].pid, sql, answer));
            if let Some(error) = error {
                run.failure = Some(SpecFailure::Setup {
                    session: Some(i),
                    error,
                });
                run.total_time = started.elapsed();
                return run;
            }
        }
    }

    let clock = Instant::now();
    let mut scheduler = Scheduler::new(&lesson.steps, sessions, probe, clock, opts.scheduler);
    let outcome = scheduler.run(&lesson.schedules[index]).await;
    run.schedule_time = clock.elapsed();
    run.timeline = scheduler.take_timeline();
    match outcome {
        Ok(()) => {}
        Err(e @ TxlabError::ImpossibleInterleaving { .. }) => {
            // The scheduler cancelled what was running; end the sessions' transactions so the
            // teardown (and the next permutation) finds no lock held.
            run.failure = Some(SpecFailure::Impossible(e.to_string()));
            for session in sessions.iter_mut() {
                let _ = session.run("ROLLBACK").await;
                let mut discarded = Vec::new();
                collect_notices(None, session, 0, &mut discarded);
            }
        }
        Err(e) => {
            run.failure = Some(SpecFailure::Steps(e.to_string()));
            run.total_time = started.elapsed();
            return run;
        }
    }

    for (i, def) in lesson.sessions.iter().enumerate() {
        if let Some(sql) = &def.teardown {
            let answer = run_on_session(&mut sessions[i], sql).await;
            collect_notices(Some(clock), &mut sessions[i], i, &mut run.teardown);
            run.teardown.push(sql_event(
                Some(clock),
                Some(i),
                sessions[i].pid,
                sql,
                answer,
            ));
        }
    }
    if let Some(sql) = &lesson.teardown {
        let answer = control.run(sql).await;
        run.teardown
            .push(sql_event(Some(clock), None, 0, sql, answer));
    }
    run.total_time = started.elapsed();
    run
}

async fn run_on_session(session: &mut SessionHandle, sql: &str) -> StepAnswer {
    match session.run(sql).await {
        Some(answer) => answer,
        None => StepAnswer {
            at: Instant::now(),
            results: Vec::new(),
            error: Some(ErrorInfo {
                sqlstate: "08006".into(),
                severity: "FATAL".into(),
                message: "the session's connection has gone away".into(),
                detail: None,
            }),
        },
    }
}

/// Records the notices a session sent while it ran setup or teardown SQL, which isolationtester's
/// notice processor prints before the result. Times count from the first step (`clock`); setup
/// comes before it and is put at zero.
fn collect_notices(
    clock: Option<Instant>,
    session: &mut SessionHandle,
    index: usize,
    into: &mut Vec<Event>,
) {
    while let Ok(notice) = session.notices.try_recv() {
        into.push(Event {
            t: since(clock, notice.at),
            session: Some(index),
            pid: session.pid,
            step: None,
            kind: EventKind::Notice {
                severity: notice.severity,
                message: notice.message,
                detail: notice.detail,
                hint: notice.hint,
            },
        });
    }
}

fn since(clock: Option<Instant>, at: Instant) -> Duration {
    clock
        .map(|c| at.saturating_duration_since(c))
        .unwrap_or(Duration::ZERO)
}

fn sql_event(
    clock: Option<Instant>,
    session: Option<usize>,
    pid: i32,
    sql: &str,
    answer: StepAnswer,
) -> Event {
    Event {
        t: since(clock, answer.at),
        session,
        pid,
        step: None,
        kind: EventKind::Setup {
            sql: sql.to_string(),
            completion: Completion {
                results: answer.results,
                error: answer.error,
                tx_end: None,
                waited: None,
                conflict: None,
            },
        },
    }
}
