//! Words for what the engine recorded: the text of a completion, the name of a blocker. Shared by
//! every human-readable renderer so they all say the same thing the same way.

use crate::engine::run::LessonRun;
use crate::model::event::{Completion, StatementResult, TxEnd};

/// The first keyword of a statement, for `UPDATE 1` style summaries.
pub fn verb(sql: &str) -> String {
    sql.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_ascii_uppercase()
}

/// "bob's laptop" for a backend pid of this run, or "pid 123" for a stranger.
pub fn who(run: &LessonRun, pid: i32) -> String {
    run.sessions
        .iter()
        .find(|s| s.pid == pid)
        .map(|s| s.label.clone())
        .unwrap_or_else(|| format!("pid {pid}"))
}

/// [`who`] for a moment of the run: in a pool lesson a backend belongs to whichever task last
/// took its connection from the pool by then.
pub fn who_at(run: &LessonRun, pid: i32, at: std::time::Duration) -> String {
    pooled_holder(run, pid, at).unwrap_or_else(|| who(run, pid))
}

fn pooled_holder(run: &LessonRun, pid: i32, at: std::time::Duration) -> Option<String> {
    run.timeline
        .events
        .iter()
        .rev()
        .filter(|e| e.t <= at)
        .find(|e| e.pid == pid && matches!(e.kind, crate::model::EventKind::Acquired { .. }))
        .and_then(|e| e.session)
        .and_then(|s| run.sessions.get(s))
        .map(|s| s.name.clone())
}

/// One-line summaries of a completion's results (without the error, which renderers show apart).
pub fn results(completion: &Completion, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    match completion.tx_end {
        Some(TxEnd::Commit) => return vec!["COMMIT".into()],
        Some(TxEnd::Rollback) => return vec!["ROLLBACK".into()],
        Some(TxEnd::CommitBecameRollback) => {
            return vec![
                "ROLLBACK: the transaction had already failed, so COMMIT rolled it back".into(),
            ];
        }
        None => {}
    }
    let single = completion.results.len() == 1;
    for result in &completion.results {
        match result {
            StatementResult::Rows { columns, rows } => out.extend(rows_text(columns, rows)),
            StatementResult::Command { rows_affected } => {
                let verb = if single { verb(sql) } else { String::new() };
                match verb.as_str() {
                    "UPDATE" | "DELETE" | "INSERT" | "MERGE" | "COPY" => {
                        out.push(format!("{verb} {rows_affected}"))
                    }
                    "BEGIN" | "START" | "SET" | "SAVEPOINT" | "RELEASE" | "LOCK" | "CREATE"
                    | "DROP" | "ALTER" => out.push(verb),
                    _ if single => out.push(if verb.is_empty() { "done".into() } else { verb }),
                    _ => out.push(format!("{rows_affected} rows")),
                }
            }
        }
    }
    out
}

/// A result set in a few lines: `balance = 100.00` for one value, a compact table otherwise.
pub fn rows_text(columns: &[String], rows: &[Vec<Option<String>>]) -> Vec<String> {
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    if rows.is_empty() {
        return vec!["(no rows)".into()];
    }
    if rows.len() == 1 {
        let pairs: Vec<String> = columns
            .iter()
            .zip(&rows[0])
            .map(|(c, v)| format!("{c} = {}", value(v)))
            .collect();
        return vec![pairs.join(", ")];
    }
    const SHOWN: usize = 6;
    let mut out = vec![columns.join(" | ")];
    for row in rows.iter().take(SHOWN) {
        out.push(row.iter().map(value).collect::<Vec<_>>().join(" | "));
    }
    if rows.len() > SHOWN {
        out.push(format!("… {} more rows", rows.len() - SHOWN));
    }
    out.push(format!("({} rows)", rows.len()));
    out
}

/// Milliseconds with one decimal, for timelines.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}
