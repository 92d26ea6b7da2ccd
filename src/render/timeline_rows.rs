//! The timeline's rows: which events share a row, what each cell says (narration, SQL, results,
//! waits, errors, lock reports and row versions), with meanings but no colour — so the terminal
//! timeline, the markdown handout and the HTML page all show the same rows.

use super::cell::Cell;
use super::describe::{ms, results, who};
use super::inspect::{cycle_drawing, lock_cell, task_cycle_drawing, view_cell};
use super::palette::Meaning;
use crate::engine::run::LessonRun;
use crate::model::event::{Event, EventKind};
use crate::model::inspect::View;

/// A row of the table: a time and one cell per session, or one cell across every lane.
pub(crate) struct Row {
    pub t: Option<std::time::Duration>,
    /// The session the row is about, when it is about one.
    pub session: Option<usize>,
    pub cells: Vec<Cell>,
    /// A note about all sessions at once (a lock report), drawn across the lanes.
    pub wide: Option<Cell>,
    /// Preformatted lines under a wide cell, never wrapped (a deadlock's wait-for cycle).
    pub drawing: Vec<String>,
}

/// Groups events into rows: a launch and its immediate completion share a row. Lock reports span
/// every lane (`wide_width` columns); row versions go under each session whose view changed.
pub(crate) fn rows(run: &LessonRun, n: usize, width: usize, wide_width: usize) -> Vec<Row> {
    let events: Vec<&Event> = run
        .timeline
        .events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Setup { .. }))
        .collect();
    let mut rows = Vec::new();
    let mut last_views: Vec<Option<&View>> = vec![None; n];
    // Narration belongs to a step's first attempt, not to its replays after a retry.
    let mut retried = vec![false; n];
    let mut i = 0;
    while i < events.len() {
        let event = events[i];
        let mut cells = vec![Cell::default(); n];
        if let EventKind::Versions(report) = &event.kind {
            let mut changed = false;
            for v in &report.views {
                if v.session < n && last_views[v.session] != Some(&v.view) {
                    last_views[v.session] = Some(&v.view);
                    cells[v.session] = view_cell(&v.view, width);
                    changed = true;
                }
            }
            if changed {
                rows.push(Row {
                    t: Some(event.t),
                    session: None,
                    cells,
                    wide: None,
                    drawing: Vec::new(),
                });
            }
            i += 1;
            continue;
        }
        let Some(session) = event.session else {
            i += 1;
            continue;
        };
        let cell = &mut cells[session];
        match &event.kind {
            EventKind::Launch { sql } => {
                if let Some(say) = event
                    .step
                    .filter(|_| !retried[session])
                    .and_then(|s| run.steps.get(s))
                    .and_then(|s| s.say.as_deref())
                {
                    cell.push_hanging(&format!("» {say}"), Meaning::Dim, width, 2);
                }
                cell.push(sql, Meaning::Ok, width);
                // The completion that follows at once belongs in the same row.
                if let Some(next) = events.get(i + 1)
                    && next.step == event.step
                    && let EventKind::Completed(c) = &next.kind
                {
                    completion_lines(cell, run, c, sql, width);
                    i += 1;
                }
            }
            EventKind::Waiting { blockers, forced } => {
                let text = if blockers.is_empty() {
                    if *forced {
                        // Reported by an always_waits marker before the server was asked.
                        "‖ sent; its answer is pending".to_string()
                    } else {
                        "‖ waiting".to_string()
                    }
                } else {
                    let names: Vec<String> = blockers
                        .iter()
                        .map(|&p| super::describe::who_at(run, p, event.t))
                        .collect();
                    if run.sessions.iter().all(|s| s.pid == 0) {
                        // A pool lesson's tasks have no connection of their own: say whose lock.
                        format!("‖ waiting for {}'s row lock", names.join(", "))
                    } else {
                        format!("‖ waiting for {}", names.join(", "))
                    }
                };
                cell.push_hanging(&text, Meaning::Waiting, width, 2);
            }
            EventKind::Completed(c) => {
                let sql = event
                    .step
                    .and_then(|s| run.steps.get(s))
                    .map(|s| s.sql.as_str())
                    .unwrap_or("");
                if let Some(waited) = c.waited {
                    // A wait can end in the lock, or in an error (a deadlock victim, a 40001).
                    let (text, meaning) = match c.error {
                        None => (
                            format!("↳ got it after {} ms:", ms(waited)),
                            Meaning::Unblocked,
                        ),
                        Some(_) => (
                            format!("✗ after waiting {} ms:", ms(waited)),
                            Meaning::Aborted,
                        ),
                    };
                    cell.push(&text, meaning, width);
                }
                completion_lines(cell, run, c, sql, width);
            }
            EventKind::Notice {
                severity, message, ..
            } => {
                cell.push_hanging(&format!("{severity}: {message}"), Meaning::Dim, width, 2);
            }
            EventKind::Retry {
                attempt,
                max_attempts,
                backoff,
                reason,
            } => {
                let text = format!(
                    "↻ rolled back ({reason}); retry {}/{max_attempts} after {} ms backoff",
                    attempt,
                    ms(*backoff)
                );
                cell.push_hanging(&text, Meaning::Waiting, width, 2);
                retried[session] = true;
            }
            EventKind::Locks(report) => {
                rows.push(Row {
                    t: Some(event.t),
                    session: Some(session),
                    cells: Vec::new(),
                    wide: Some(lock_cell(run, report, event.t, wide_width)),
                    drawing: match (&report.task_cycle, &report.cycle) {
                        (Some(hops), _) => task_cycle_drawing(run, hops),
                        (None, Some(c)) => cycle_drawing(run, c),
                        (None, None) => Vec::new(),
                    },
                });
                i += 1;
                continue;
            }
            EventKind::Setup { .. } | EventKind::Versions(_) => {}
            EventKind::Notification {
                channel,
                payload,
                sender_pid,
            } => {
                let text = format!(
                    "NOTIFY {channel} '{payload}' from {}",
                    who(run, *sender_pid)
                );
                cell.push_hanging(&text, Meaning::Dim, width, 2);
            }
            EventKind::Acquired { conn, waited, .. } => {
                if let Some(say) = first_say_of_step(run, &events, i) {
                    cell.push_hanging(&format!("» {say}"), Meaning::Dim, width, 2);
                }
                if let Some(waited) = waited {
                    let text = format!("↳ got a connection after {} ms:", ms(*waited));
                    cell.push(&text, Meaning::Unblocked, width);
                }
                let text = format!("⇢ took a connection from the pool as '{conn}'");
                cell.push_hanging(&text, Meaning::Ok, width, 2);
            }
            EventKind::SessionEnded { conn } => {
                if let Some(say) = first_say_of_step(run, &events, i) {
                    cell.push_hanging(&format!("» {say}"), Meaning::Dim, width, 2);
                }
                let text = format!("✗ the server ended the session of '{conn}'");
                cell.push_hanging(&text, Meaning::Aborted, width, 2);
            }
            EventKind::Released { conn } => {
                let text = format!("⇠ gave '{conn}' back to the pool");
                cell.push_hanging(&text, Meaning::Dim, width, 2);
            }
            EventKind::PoolWaiting {
                size,
                in_use,
                holders,
                server_waiters,
            } => {
                if let Some(say) = first_say_of_step(run, &events, i) {
                    cell.push_hanging(&format!("» {say}"), Meaning::Dim, width, 2);
                }
                let names: Vec<&str> = holders
                    .iter()
                    .filter_map(|&h| run.sessions.get(h).map(|s| s.name.as_str()))
                    .collect();
                let mut text = format!(
                    "‖ waiting for a connection (pool {in_use}/{size} in use by {})",
                    names.join(", ")
                );
                if *server_waiters == 0 {
                    text.push_str("; the server sees no lock wait");
                }
                cell.push_hanging(&text, Meaning::Waiting, width, 2);
            }
            EventKind::Canceled { after } => {
                let text = format!(
                    "✗ cancelled after {} s: neither finished nor waited for a lock",
                    after.as_secs()
                );
                cell.push_hanging(&text, Meaning::Aborted, width, 2);
            }
        }
        rows.push(Row {
            t: Some(event.t),
            session: Some(session),
            cells,
            wide: None,
            drawing: Vec::new(),
        });
        i += 1;
    }
    rows
}

/// A pool step's `say` (acquire, terminate…: steps without SQL to launch), shown with the
/// step's first event only.
fn first_say_of_step<'r>(run: &'r LessonRun, events: &[&Event], i: usize) -> Option<&'r str> {
    let event = events[i];
    let step = event.step?;
    if events[..i]
        .iter()
        .any(|e| e.step == Some(step) && e.session == event.session)
    {
        return None;
    }
    run.steps.get(step)?.say.as_deref()
}

fn completion_lines(
    cell: &mut Cell,
    _run: &LessonRun,
    c: &crate::model::event::Completion,
    sql: &str,
    width: usize,
) {
    use crate::model::event::{StatementResult, TxEnd};
    // A conflicting UPDATE's "UPDATE 0" is said by the conflict line below.
    let shown = if c.conflict.is_some() {
        Vec::new()
    } else {
        results(c, sql)
    };
    for (i, text) in shown.into_iter().enumerate() {
        let (mark, meaning) = match c.tx_end {
            Some(TxEnd::Commit) => ("✓", Meaning::Commit),
            Some(TxEnd::Rollback) | Some(TxEnd::CommitBecameRollback) => ("✗", Meaning::Aborted),
            None if c
                .results
                .iter()
                .any(|r| matches!(r, StatementResult::Rows { .. })) =>
            {
                ("→", Meaning::Value)
            }
            None => ("✓", Meaning::Ok),
        };
        // A result set's first line carries the mark; its other rows line up beneath.
        let mark = if i == 0 || mark != "→" { mark } else { " " };
        cell.push_hanging(&format!("{mark} {text}"), meaning, width, 2);
    }
    if let Some(conflict) = &c.conflict {
        let text = format!(
            "✗ optimistic conflict: touched {} rows, expected {} (someone changed it first)",
            conflict.touched_rows, conflict.expected_rows
        );
        cell.push_hanging(&text, Meaning::Aborted, width, 2);
    }
    if let Some(e) = &c.error {
        cell.push_hanging(
            &format!("✗ {} {}: {}", e.severity, e.sqlstate, e.message),
            Meaning::Aborted,
            width,
            2,
        );
        if let Some(detail) = &e.detail {
            cell.push_hanging(detail, Meaning::Dim, width, 2);
        }
    }
}
