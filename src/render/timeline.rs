//! The side-by-side timeline: one column per session, one row per moment, in the order the
//! scheduler reported events, with the time since the first step in milliseconds.

use std::fmt::Write as _;

use super::cell::{Cell, painted, width_of};
use super::describe::{ms, results, who};
use super::palette::{Meaning, lane, paint};
use super::style::Style;
use super::verdict::verdict_lines;
use crate::engine::event::{Event, EventKind};
use crate::engine::runner::LessonRun;

const TIME_WIDTH: usize = 8;

/// A row of the table: a time and one cell per session.
struct Row {
    t: Option<std::time::Duration>,
    cells: Vec<Cell>,
}

/// Renders one run as a timeline with a header, the verdict and a legend.
pub fn render(run: &LessonRun, style: &Style) -> String {
    let n = run.sessions.len().max(1);
    let lane_width = (style.width.saturating_sub(TIME_WIDTH + 1) / n)
        .saturating_sub(3)
        .max(16);
    let total_width = TIME_WIDTH + 1 + n * (lane_width + 3);
    let mut out = String::new();

    let level = run.level.map(|l| l.sql()).unwrap_or("as written");
    let anomaly = run
        .anomaly
        .as_ref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    let title = format!(" {}{anomaly} · {level} ", run.title);
    let rule = "━".repeat(total_width.saturating_sub(width_of(&title) + 2));
    let _ = writeln!(
        out,
        "{}{}{}",
        paint("━━", Meaning::Heading),
        paint(&title, Meaning::Heading),
        paint(&rule, Meaning::Heading)
    );
    for line in super::cell::wrap(&run.summary, total_width) {
        let _ = writeln!(out, "{}", paint(&line, Meaning::Dim));
    }
    out.push('\n');

    // Header: session labels and pids.
    let _ = write!(out, "{:>w$} ", "t ms", w = TIME_WIDTH);
    for (i, s) in run.sessions.iter().enumerate() {
        let head = format!("{} (pid {})", s.label, s.pid);
        let head: String = head.chars().take(lane_width).collect();
        let pad = lane_width.saturating_sub(width_of(&head));
        let _ = write!(out, "│ {}{} ", lane(&head, i), " ".repeat(pad));
    }
    out = out.trim_end().to_string();
    out.push('\n');
    let _ = write!(out, "{}", "─".repeat(TIME_WIDTH + 1));
    for _ in 0..n {
        let _ = write!(out, "┼{}", "─".repeat(lane_width + 2));
    }
    out.push('\n');

    for row in rows(run, n, lane_width) {
        let height = row.cells.iter().map(|c| c.lines.len()).max().unwrap_or(0);
        for line_no in 0..height {
            let t = match (line_no, row.t) {
                (0, Some(t)) => ms(t),
                _ => String::new(),
            };
            let mut line = format!("{}{:>w$} ", "", t, w = TIME_WIDTH);
            if line_no == 0 && row.t.is_some() {
                line = format!("{} ", paint(&format!("{t:>TIME_WIDTH$}"), Meaning::Dim));
            }
            for cell in &row.cells {
                let text = match cell.lines.get(line_no) {
                    Some(l) => painted(l, lane_width),
                    None => " ".repeat(lane_width),
                };
                let _ = write!(line, "│ {text} ");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out.push('\n');
    for line in verdict_lines(run, total_width) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", legend());
    out
}

/// The legend under every timeline.
pub fn legend() -> String {
    format!(
        "{}  {} done  {} waiting for a lock  {} lock granted  {} error / rolled back  {} value read",
        paint("legend:", Meaning::Dim),
        paint("✓", Meaning::Ok),
        paint("‖", Meaning::Waiting),
        paint("↳", Meaning::Unblocked),
        paint("✗", Meaning::Aborted),
        paint("→", Meaning::Value),
    )
}

/// Groups events into rows: a launch and its immediate completion share a row.
fn rows(run: &LessonRun, n: usize, width: usize) -> Vec<Row> {
    let events: Vec<&Event> = run
        .timeline
        .events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Setup { .. }))
        .collect();
    let mut rows = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let event = events[i];
        let mut cells = vec![Cell::default(); n];
        let Some(session) = event.session else {
            i += 1;
            continue;
        };
        let cell = &mut cells[session];
        match &event.kind {
            EventKind::Launch { sql } => {
                if let Some(say) = event
                    .step
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
                        "‖ waiting (a deadlock is coming)".to_string()
                    } else {
                        "‖ waiting".to_string()
                    }
                } else {
                    let names: Vec<String> = blockers.iter().map(|&p| who(run, p)).collect();
                    format!("‖ waiting for {}", names.join(", "))
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
                    cell.push(
                        &format!("↳ after {} ms:", ms(waited)),
                        Meaning::Unblocked,
                        width,
                    );
                }
                completion_lines(cell, run, c, sql, width);
            }
            EventKind::Notice {
                severity, message, ..
            } => {
                cell.push_hanging(&format!("{severity}: {message}"), Meaning::Dim, width, 2);
            }
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
            EventKind::Canceled { after } => {
                let text = format!(
                    "✗ cancelled after {} s: neither finished nor waited for a lock",
                    after.as_secs()
                );
                cell.push_hanging(&text, Meaning::Aborted, width, 2);
            }
            EventKind::Setup { .. } => {}
        }
        rows.push(Row {
            t: Some(event.t),
            cells,
        });
        i += 1;
    }
    rows
}

fn completion_lines(
    cell: &mut Cell,
    _run: &LessonRun,
    c: &crate::engine::event::Completion,
    sql: &str,
    width: usize,
) {
    use crate::engine::event::{StatementResult, TxEnd};
    for text in results(c, sql) {
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
        cell.push_hanging(&format!("{mark} {text}"), meaning, width, 2);
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
