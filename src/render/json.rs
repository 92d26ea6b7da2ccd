//! The machine-readable form of runs (`--format json`), documented in docs/output.md. Field
//! names are a contract with users' scripts: add, never rename.

use serde_json::{Value, json};

use super::describe::verb;
use crate::db::cluster::StartTimings;
use crate::engine::IsolationLevel;
use crate::engine::interleavings::{self, Classification, InterleavingRun};
use crate::engine::lesson::Lesson;
use crate::engine::run::LessonRun;
use crate::model::event::{EventKind, StatementResult, TxEnd, millis};

/// One JSON document for a set of runs. `cluster` carries the throwaway cluster's start-up
/// timings when txlab started one (the benchmarks read them).
pub fn document(runs: &[LessonRun], server: &str, cluster: Option<StartTimings>) -> Value {
    json!({
        "txlab_version": env!("CARGO_PKG_VERSION"),
        "server": server,
        "local_cluster": cluster.map(|c| json!({"initdb_ms": millis(c.initdb), "start_ms": millis(c.start)})),
        "results": runs.iter().map(result).collect::<Vec<_>>(),
    })
}

/// A spec's permutations as one document: each result is a run, plus the names of the steps in
/// the order they were launched (`permutation`) and, with `--all-permutations`, its `class`.
pub fn spec_document(
    lesson: &Lesson,
    runs: &[(LessonRun, Option<Classification>)],
    server: &str,
    cluster: Option<StartTimings>,
) -> Value {
    let mut doc = document(&[], server, cluster);
    doc["results"] = runs
        .iter()
        .map(|(run, class)| {
            let mut value = result(run);
            value["permutation"] = json!(launched_steps(lesson, run));
            if let Some(class) = class {
                value["class"] = json!(super::interleavings::label(class).0);
            }
            value
        })
        .collect();
    doc
}

/// Every interleaving of a lesson's steps at each level, as one document: each result is the run
/// (or just lesson and level when none finished), its `interleaving`, whether it is `serial`,
/// and its `class`.
pub fn interleavings_document(
    lesson: &Lesson,
    tables: &[(IsolationLevel, Vec<InterleavingRun>)],
    server: &str,
) -> Value {
    let mut results = Vec::new();
    for (level, runs) in tables {
        for run in runs {
            let mut value = match &run.run {
                Some(r) => result(r),
                None => json!({"lesson": lesson.id, "level": level.slug()}),
            };
            value["interleaving"] = json!(
                run.schedule
                    .steps
                    .iter()
                    .map(|s| lesson.steps[s.step].name.clone())
                    .collect::<Vec<_>>()
            );
            value["serial"] = json!(interleavings::is_serial(lesson, &run.schedule));
            value["class"] = json!(super::interleavings::label(&run.class).0);
            results.push(value);
        }
    }
    json!({
        "txlab_version": env!("CARGO_PKG_VERSION"),
        "server": server,
        "results": results,
    })
}

/// Adds the grants txlab had on a server given by URL (docs/output.md `privileges`) to any of
/// the documents above; nothing when there are none to report.
pub fn add_privileges(doc: &mut Value, privileges: Option<&crate::db::privileges::Privileges>) {
    if let Some(p) = privileges {
        doc["privileges"] = serde_json::json!(p);
    }
}

/// A document as printed: pretty, one trailing newline.
pub fn to_text(doc: &Value) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(doc).unwrap_or_default()
    )
}

/// The names of the steps in the order the run launched them.
fn launched_steps(lesson: &Lesson, run: &LessonRun) -> Vec<String> {
    run.timeline
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Launch { .. }))
        .filter_map(|e| e.step.map(|s| lesson.steps[s].name.clone()))
        .collect()
}

/// One run as a JSON object.
pub fn result(run: &LessonRun) -> Value {
    let verdict = run.verdict.as_ref();
    json!({
        "lesson": run.lesson_id,
        "engine": run.engine.slug(),
        "title": run.title,
        "anomaly": run.anomaly,
        "level": run.level.map(|l| l.slug()),
        "outcome": verdict.map(|v| v.outcome.to_string()),
        "how": verdict.and_then(|v| v.how.as_ref()).map(|h| h.to_string()),
        "expected": verdict.and_then(|v| v.expected.as_ref()).map(|e| e.to_string()),
        "matches_expectation": verdict.map(|v| v.matches_expectation()),
        "detail": verdict.map(|v| v.detail.clone()),
        "sessions": run.sessions.iter().map(|s| json!({"name": s.name, "label": s.label, "pid": s.pid})).collect::<Vec<_>>(),
        "notes": run.notes,
        "why": run.why,
        "schedule_ms": millis(run.schedule_time),
        "total_ms": millis(run.total_time),
        "events": events(run),
    })
}

fn events(run: &LessonRun) -> Vec<Value> {
    let mut out = Vec::new();
    // The SQL as sent (captured values substituted), per session, from its latest launch.
    let mut sent: std::collections::HashMap<Option<usize>, String> =
        std::collections::HashMap::new();
    for e in &run.timeline.events {
        if let EventKind::Launch { sql } = &e.kind {
            sent.insert(e.session, sql.clone());
        }
        let sql = sent
            .get(&e.session)
            .cloned()
            .or_else(|| e.step.and_then(|s| run.steps.get(s)).map(|s| s.sql.clone()));
        let session = e
            .session
            .and_then(|s| run.sessions.get(s))
            .map(|s| s.name.clone());
        let step = e.step.and_then(|s| run.steps.get(s));
        let base = |kind: &str| {
            json!({
                "t_ms": (millis(e.t) * 1000.0).round() / 1000.0,
                "session": session,
                "pid": e.pid,
                "step": step.map(|s| s.name.clone()),
                "kind": kind,
                "sql": sql,
                "rows": Value::Null,
                "error": Value::Null,
            })
        };
        match &e.kind {
            EventKind::Setup { sql, .. } => {
                let mut v = base("setup");
                v["sql"] = json!(sql);
                out.push(v);
            }
            EventKind::Launch { sql } => {
                let mut v = base("launch");
                v["sql"] = json!(sql);
                out.push(v);
            }
            EventKind::Waiting { blockers, forced } => {
                let mut v = base("blocked");
                v["wait"] = json!("lock");
                v["blocked_by"] = json!(blockers);
                v["forced"] = json!(forced);
                out.push(v);
            }
            EventKind::PoolWaiting {
                size,
                in_use,
                holders,
                server_waiters,
            } => {
                let mut v = base("blocked");
                v["wait"] = json!("pool");
                v["pool_size"] = json!(size);
                v["pool_in_use"] = json!(in_use);
                let held_by: Vec<&str> = holders
                    .iter()
                    .filter_map(|&h| run.sessions.get(h).map(|s| s.name.as_str()))
                    .collect();
                v["held_by"] = json!(held_by);
                v["server_waiters"] = json!(server_waiters);
                out.push(v);
            }
            EventKind::Acquired { conn, waited, took } => {
                let mut v = base("acquired");
                v["conn"] = json!(conn);
                v["waited_ms"] = json!(waited.map(|w| (millis(w) * 1000.0).round() / 1000.0));
                v["checkout_ms"] = json!(took.map(|w| (millis(w) * 1000.0).round() / 1000.0));
                out.push(v);
            }
            EventKind::SessionEnded { conn } => {
                let mut v = base("session-ended");
                v["conn"] = json!(conn);
                out.push(v);
            }
            EventKind::Released { conn } => {
                let mut v = base("released");
                v["conn"] = json!(conn);
                out.push(v);
            }
            EventKind::Retry {
                attempt,
                max_attempts,
                backoff,
                reason,
            } => {
                let mut v = base("retry");
                v["attempt"] = json!(attempt);
                v["max_attempts"] = json!(max_attempts);
                v["backoff_ms"] = json!((millis(*backoff) * 1000.0).round() / 1000.0);
                v["reason"] = json!(reason);
                out.push(v);
            }
            EventKind::Notice {
                severity, message, ..
            } => {
                let mut v = base("notice");
                v["message"] = json!(format!("{severity}: {message}"));
                out.push(v);
            }
            EventKind::Locks(report) => {
                let mut v = base("locks");
                v["locks"] = json!(report);
                out.push(v);
            }
            EventKind::Versions(report) => {
                let mut v = base("versions");
                v["versions"] = json!(report);
                out.push(v);
            }
            EventKind::Notification {
                channel,
                payload,
                sender_pid,
            } => {
                let mut v = base("notification");
                v["channel"] = json!(channel);
                v["payload"] = json!(payload);
                v["sender_pid"] = json!(sender_pid);
                out.push(v);
            }
            EventKind::Canceled { after } => {
                let mut v = base("canceled");
                v["after_ms"] = json!((millis(*after) * 1000.0).round() / 1000.0);
                out.push(v);
            }
            EventKind::Completed(c) => {
                if let Some(waited) = c.waited {
                    let mut v = base("unblocked");
                    v["waited_ms"] = json!((millis(waited) * 1000.0).round() / 1000.0);
                    out.push(v);
                }
                for r in &c.results {
                    match r {
                        StatementResult::Rows { columns, rows } => {
                            let mut v = base("rows");
                            v["columns"] = json!(columns);
                            v["rows"] = json!(rows);
                            out.push(v);
                        }
                        StatementResult::Command { rows_affected } if c.tx_end.is_none() => {
                            let mut v = base("affected");
                            v["command"] = json!(step.map(|s| verb(&s.sql)));
                            v["rows_affected"] = json!(rows_affected);
                            out.push(v);
                        }
                        StatementResult::Command { .. } => {}
                    }
                }
                match c.tx_end {
                    Some(TxEnd::Commit) => out.push(base("commit")),
                    Some(TxEnd::Rollback) => out.push(base("rollback")),
                    Some(TxEnd::CommitBecameRollback) => {
                        let mut v = base("rollback");
                        v["commit_became_rollback"] = json!(true);
                        out.push(v);
                    }
                    None => {}
                }
                if let Some(conflict) = &c.conflict {
                    let mut v = base("conflict");
                    v["expected_rows"] = json!(conflict.expected_rows);
                    v["touched_rows"] = json!(conflict.touched_rows);
                    out.push(v);
                }
                if let Some(err) = &c.error {
                    let mut v = base("error");
                    v["error"] = json!({"sqlstate": err.sqlstate, "message": err.message, "detail": err.detail});
                    out.push(v);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::catalog;
    use crate::engine::lesson::{Schedule, ScheduledStep};
    use crate::render::testing::two_session_run;

    /// A built-in lesson carrying the hand-made run's steps, so step indices agree.
    fn lesson_for(run: &LessonRun) -> Lesson {
        Lesson {
            steps: run.steps.clone(),
            ..catalog::builtin().remove(0)
        }
    }

    /// Before issue 9 the command line patched `document`'s results by hand; the renderer must
    /// produce the very same text.
    #[test]
    fn spec_documents_match_the_hand_patched_ones() {
        let run = two_session_run();
        let lesson = lesson_for(&run);
        let class = Classification::Observed {
            aborted: None,
            waited: true,
        };
        let runs = vec![(run.clone(), Some(class)), (run.clone(), None)];
        let plain: Vec<LessonRun> = runs.iter().map(|(r, _)| r.clone()).collect();
        let mut patched = document(&plain, "PostgreSQL 15", None);
        for (value, (run, class)) in patched["results"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(&runs)
        {
            value["permutation"] = json!(launched_steps(&lesson, run));
            if let Some(class) = class {
                value["class"] = json!(super::super::interleavings::label(class).0);
            }
        }
        let rendered = spec_document(&lesson, &runs, "PostgreSQL 15", None);
        assert_eq!(to_text(&rendered), to_text(&patched));
        assert_eq!(
            rendered["results"][0]["permutation"],
            json!(["a1", "b1", "a2", "b2"])
        );
        assert!(rendered["results"][1].get("class").is_none());
    }

    #[test]
    fn interleavings_documents_keep_their_fields() {
        let run = two_session_run();
        let lesson = lesson_for(&run);
        let schedule = Schedule {
            steps: [0, 2, 1, 3]
                .into_iter()
                .map(|step| ScheduledStep {
                    step,
                    blockers: Vec::new(),
                })
                .collect(),
        };
        let class = Classification::Impossible;
        let tables = vec![(
            IsolationLevel::ReadCommitted,
            vec![
                InterleavingRun {
                    schedule: schedule.clone(),
                    class: class.clone(),
                    run: Some(Box::new(run.clone())),
                },
                InterleavingRun {
                    schedule: schedule.clone(),
                    class: class.clone(),
                    run: None,
                },
            ],
        )];
        let doc = interleavings_document(&lesson, &tables, "PostgreSQL 15");
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["lesson"], json!(run.lesson_id));
        assert_eq!(results[0]["interleaving"], json!(["a1", "a2", "b1", "b2"]));
        assert_eq!(results[1]["level"], json!("read-committed"));
        assert_eq!(
            results[1]["serial"],
            json!(interleavings::is_serial(&lesson, &schedule))
        );
        assert_eq!(
            results[1]["class"],
            json!(super::super::interleavings::label(&class).0)
        );
        assert!(doc.get("local_cluster").is_none());
    }
}
