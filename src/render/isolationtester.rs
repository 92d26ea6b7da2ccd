//! PostgreSQL isolationtester's output, byte for byte, from what the spec runner recorded: the
//! `starting permutation:` line, `step x: SQL`, ` <waiting ...>`, `<... completed>`, errors as
//! `SEVERITY:  message`, notices as `session: NOTICE:  message` where they arrived, and result
//! sets the way libpq's `PQprint` lays them out (header, `-+-` border, `(N rows)`).

use std::fmt::Write as _;

use crate::engine::lesson::Lesson;
use crate::engine::run::SessionInfo;
use crate::engine::spec_runner::PermutationRun;
use crate::model::event::{Completion, ErrorInfo, Event, EventKind, StatementResult};

/// The first line of every run.
pub fn header(lesson: &Lesson) -> String {
    format!("Parsed test spec with {} sessions\n", lesson.sessions.len())
}

/// Everything isolationtester prints on stdout for one permutation; `sessions` (with their backend
/// pids) name the senders of NOTIFYs.
pub fn permutation(lesson: &Lesson, sessions: &[SessionInfo], run: &PermutationRun) -> String {
    let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
    let mut out = String::from("\nstarting permutation:");
    for scheduled in &lesson.schedules[run.index].steps {
        out.push(' ');
        out.push_str(&lesson.steps[scheduled.step].name);
    }
    out.push('\n');
    for event in &run.setup {
        setup_or_teardown(&mut out, lesson, event);
    }
    for event in &run.timeline.events {
        step_event(&mut out, lesson, &pids, event);
    }
    for event in &run.teardown {
        setup_or_teardown(&mut out, lesson, event);
    }
    out
}

/// What isolationtester reports on stderr for a permutation (failed teardowns); it goes on.
pub fn complaints(lesson: &Lesson, run: &PermutationRun) -> Vec<String> {
    run.teardown
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Setup {
                completion: Completion {
                    error: Some(err), ..
                },
                ..
            } => Some(match e.session {
                None => format!("teardown failed: {}:  {}", err.severity, err.message),
                Some(s) => format!(
                    "teardown of session {} failed: {}:  {}",
                    lesson.sessions[s].name, err.severity, err.message
                ),
            }),
            _ => None,
        })
        .collect()
}

/// Setup and teardown print only their last result, and only when it is a result set (PQexec
/// keeps the last result of a multi-statement string); notices print as they came.
fn setup_or_teardown(out: &mut String, lesson: &Lesson, event: &Event) {
    match &event.kind {
        EventKind::Setup { completion, .. } => {
            if completion.error.is_none()
                && let Some(StatementResult::Rows { columns, rows }) = completion.results.last()
            {
                out.push_str(&result_set(columns, rows));
            }
        }
        EventKind::Notice { .. } => notice(out, lesson, event),
        _ => {}
    }
}

fn step_event(out: &mut String, lesson: &Lesson, pids: &[i32], event: &Event) {
    let Some(step) = event.step.map(|s| &lesson.steps[s]) else {
        if matches!(event.kind, EventKind::Notice { .. }) {
            notice(out, lesson, event);
        }
        return;
    };
    match &event.kind {
        // isolationtester prints nothing at a launch; classroom reports and retries are txlab's.
        EventKind::Launch { .. }
        | EventKind::Setup { .. }
        | EventKind::Locks(_)
        | EventKind::Versions(_)
        | EventKind::Retry { .. }
        | EventKind::Acquired { .. }
        | EventKind::Released { .. }
        | EventKind::PoolWaiting { .. }
        | EventKind::SessionEnded { .. } => {}
        EventKind::Waiting { .. } => {
            let _ = writeln!(out, "step {}: {} <waiting ...>", step.name, step.sql);
        }
        EventKind::Completed(c) => {
            if c.waited.is_some() {
                let _ = writeln!(out, "step {}: <... completed>", step.name);
            } else {
                let _ = writeln!(out, "step {}: {}", step.name, step.sql);
            }
            for result in &c.results {
                if let StatementResult::Rows { columns, rows } = result {
                    out.push_str(&result_set(columns, rows));
                }
            }
            if let Some(e) = &c.error {
                error(out, e);
            }
        }
        EventKind::Notice { .. } => notice(out, lesson, event),
        EventKind::Canceled { after } => {
            let _ = writeln!(
                out,
                "isolationtester: canceling step {} after {} seconds",
                step.name,
                after.as_secs()
            );
        }
        EventKind::Notification {
            channel,
            payload,
            sender_pid,
        } => {
            let session = event.session.map(|s| lesson.sessions[s].name.as_str());
            let sender = pids
                .iter()
                .position(|p| p == sender_pid)
                .map(|s| lesson.sessions[s].name.clone())
                .unwrap_or_else(|| format!("PID {sender_pid}"));
            let _ = writeln!(
                out,
                "{}: NOTIFY \"{channel}\" with payload \"{payload}\" from {sender}",
                session.unwrap_or_default()
            );
        }
    }
}

/// What libpq says when the server closes a connection in the middle of a query (a second error
/// result after a FATAL, or the only one when no message came); isolationtester prints it with
/// `printf("%s\n", PQresultErrorMessage(res))`, hence the blank line after it.
pub const CONNECTION_LOST: &str = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n";

/// An error result: `SEVERITY:  primary message`; a FATAL ends the backend, and libpq then reports
/// the lost connection as a result of its own (a connection lost without a message: that alone).
fn error(out: &mut String, e: &ErrorInfo) {
    if e.sqlstate == "08006" && e.severity == "ERROR" {
        let _ = writeln!(out, "{CONNECTION_LOST}");
        return;
    }
    let _ = writeln!(out, "{}:  {}", e.severity, e.message);
    if e.severity == "FATAL" || e.severity == "PANIC" {
        let _ = writeln!(out, "{CONNECTION_LOST}");
    }
}

/// isolationtester's notice processor: the session name, then libpq's text of the notice
/// (severity, message, and DETAIL / HINT lines).
fn notice(out: &mut String, lesson: &Lesson, event: &Event) {
    let EventKind::Notice {
        severity,
        message,
        detail,
        hint,
    } = &event.kind
    else {
        return;
    };
    let Some(session) = event.session else {
        return;
    };
    let _ = writeln!(
        out,
        "{}: {severity}:  {message}",
        lesson.sessions[session].name
    );
    if let Some(detail) = detail {
        let _ = writeln!(out, "DETAIL:  {detail}");
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "HINT:  {hint}");
    }
}

/// A result set as libpq's `PQprint` prints it with `header`, `align` and `fieldSep = "|"`:
/// widths and padding counted in bytes; a column is right-aligned when every non-empty value in
/// it looks like a number (digits, `.`, `e`, `E`, `-`, blanks; not starting with `e`, ending in a
/// digit); NULL prints like the empty string; a result with no columns prints nothing.
pub fn result_set(columns: &[String], rows: &[Vec<Option<String>>]) -> String {
    if columns.is_empty() {
        return String::new();
    }
    let mut width: Vec<usize> = columns.iter().map(String::len).collect();
    let mut text = vec![false; columns.len()];
    for row in rows {
        for (j, value) in row.iter().enumerate().take(columns.len()) {
            let Some(v) = value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            if !text[j] && !looks_numeric(v) {
                text[j] = true;
            }
            width[j] = width[j].max(v.len());
        }
    }
    let pad = |out: &mut String, value: &str, j: usize| {
        let fill = " ".repeat(width[j].saturating_sub(value.len()));
        if text[j] {
            out.push_str(value);
            out.push_str(&fill);
        } else {
            out.push_str(&fill);
            out.push_str(value);
        }
    };
    let mut out = String::new();
    for (j, name) in columns.iter().enumerate() {
        if j > 0 {
            out.push('|');
        }
        pad(&mut out, name, j);
    }
    out.push('\n');
    let border: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&border.join("+"));
    out.push('\n');
    for row in rows {
        for j in 0..columns.len() {
            if j > 0 {
                out.push('|');
            }
            let value = row.get(j).cloned().flatten().unwrap_or_default();
            pad(&mut out, &value, j);
        }
        out.push('\n');
    }
    let _ = write!(
        out,
        "({} row{})\n\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    out
}

/// libpq's test for a numeric-looking value.
fn looks_numeric(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'E' | b'e' | b' ' | b'-'))
        && !matches!(bytes.first(), Some(b'E' | b'e'))
        && bytes.last().is_some_and(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
        values
            .iter()
            .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
            .collect()
    }

    #[test]
    fn numbers_right_text_left_and_trailing_padding() {
        let cols = vec!["id".to_string(), "data".to_string()];
        assert_eq!(
            result_set(&cols, &rows(&[&[Some("1"), Some("x")]])),
            "id|data\n--+----\n 1|x   \n(1 row)\n\n"
        );
        let cols = vec!["accountid".into(), "balance".into(), "balance2".into()];
        assert_eq!(
            result_set(
                &cols,
                &rows(&[
                    &[Some("checking"), Some("850"), Some("1700")],
                    &[Some("savings"), Some("-600"), Some("1200")]
                ])
            ),
            "accountid|balance|balance2\n---------+-------+--------\nchecking |    850|    1700\nsavings  |   -600|    1200\n(2 rows)\n\n"
        );
    }

    #[test]
    fn empty_results_nulls_and_no_columns() {
        let cols = vec!["balance".to_string()];
        assert_eq!(result_set(&cols, &[]), "balance\n-------\n(0 rows)\n\n");
        // NULLs are skipped when deciding alignment: an all-NULL column is "numeric".
        let cols = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            result_set(
                &cols,
                &rows(&[&[None, Some("long text")], &[Some("2"), None]])
            ),
            "a|b        \n-+---------\n |long text\n2|         \n(2 rows)\n\n"
        );
        assert_eq!(result_set(&[], &rows(&[&[]])), "");
    }

    #[test]
    fn libpq_numeric_rules() {
        assert!(looks_numeric("1.5e10"));
        assert!(looks_numeric("-3"));
        assert!(!looks_numeric("e5"));
        assert!(!looks_numeric("1."));
        assert!(!looks_numeric("+3"));
        assert!(!looks_numeric("(0,1)"));
        assert!(!looks_numeric("NaN"));
        // Widths are bytes, as printf counts them.
        let cols = vec!["v".to_string()];
        assert_eq!(
            result_set(&cols, &rows(&[&[Some("é")], &[Some("ab")]])),
            "v \n--\né\nab\n(2 rows)\n\n"
        );
    }
}
