//! The end of a run: the verdict check on the control connection, the variables it may read
//! (`{{name.committed}}`, `{{name.waited_ms}}`, `{{name.waited_through.step}}`), and the LessonRun built from what happened.

use std::time::Duration;

use super::super::event::{EventKind, StatementResult, Timeline, millis};
use super::super::lesson::{Lesson, StepDef};
use super::super::level::IsolationLevel;
use super::super::run::{LessonRun, SessionInfo};
use super::super::sql_text::substitute;
use super::super::verdict::decide;
use crate::db::Connected;
use crate::db::failure;
use crate::error::{Result, TxlabError};
use crate::model::Engine;

/// What a schedule left for the verdict: the sessions as they ran, the steps as sent, the
/// events (setup included), the captured variables, and the notes.
pub(super) struct Finished {
    pub(super) infos: Vec<SessionInfo>,
    pub(super) steps: Vec<StepDef>,
    pub(super) timeline: Timeline,
    pub(super) vars: std::collections::BTreeMap<String, Option<String>>,
    pub(super) schedule_time: Duration,
    pub(super) notes: Vec<String>,
}

/// Judges a finished schedule (the verdict check on the control connection) and builds the run.
pub(super) async fn finish(
    control: &Connected,
    lesson: &Lesson,
    level: Option<IsolationLevel>,
    run: Finished,
) -> Result<LessonRun> {
    let Finished {
        infos,
        steps,
        timeline,
        mut vars,
        schedule_time,
        notes,
    } = run;
    for (i, def) in lesson.sessions.iter().enumerate() {
        vars.insert(
            format!("{}.committed", def.name),
            Some(committed(&timeline, i).to_string()),
        );
        vars.insert(
            format!("{}.waited_ms", def.name),
            Some(format!("{:.1}", millis(waited(&timeline, i)))),
        );
        // Only when the check asks: it is sessions × steps scans of the timeline.
        let asked = rule_mentions(lesson, ".waited_through.");
        for (k, step) in lesson.steps.iter().enumerate().filter(|_| asked) {
            vars.insert(
                format!("{}.waited_through.{}", def.name, step.name),
                Some(timeline.waited_through(i, k).to_string()),
            );
        }
    }

    let verdict = match &lesson.verdict {
        Some(rule) => {
            let check = match &rule.check {
                Some(sql) => Some(run_check(control, &substitute(sql, &vars)).await?),
                None => None,
            };
            let expected = level.and_then(|l| lesson.expect.get(&l).cloned());
            Some(decide(
                rule,
                &timeline,
                check,
                expected,
                lesson.topic == "anomalies",
            ))
        }
        None => None,
    };
    if let Some(sql) = &lesson.teardown {
        let _ = control.execute(sql).await;
    }

    let why_from_run = lesson.deadlock_victim.and_then(|planned| {
        crate::engine::deadlock_why::why_from_run(&timeline, &infos, planned, |i| {
            committed(&timeline, i)
        })
    });
    let engine = control.engine();
    let server_version = match engine {
        Engine::Postgres => None,
        Engine::Mariadb => control.server_version().await,
    };
    let mut run = LessonRun {
        verdict,
        notes,
        schedule_time,
        engine,
        server_version,
        ..LessonRun::new(lesson, level, infos, steps, timeline)
    };
    if let Some(why) = why_from_run {
        run.why = Some(why);
    }
    Ok(run)
}

/// Whether the lesson's verdict check uses a variable whose name contains `part`.
fn rule_mentions(lesson: &Lesson, part: &str) -> bool {
    lesson
        .verdict
        .as_ref()
        .and_then(|rule| rule.check.as_deref())
        .is_some_and(|sql| sql.contains(part))
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
    matches!(last_end, Some(Some(crate::model::TxEnd::Commit)))
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

/// Runs the verdict query: first column the boolean, second (optional) the evidence in words.
async fn run_check(control: &Connected, sql: &str) -> Result<(Option<bool>, Option<String>)> {
    let answer = control.run(sql).await;
    if let Some(e) = answer.error {
        if let Some(lost) = failure::explain("the lesson's verdict check", &e.message, &e.sqlstate)
        {
            return Err(lost);
        }
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
                .map(|v| v == "t" || v == "true" || v == "1");
            (occurred, row.get(1).cloned().flatten())
        }
        None => (None, None),
    })
}
