//! The side-by-side timeline: one column per session, one row per moment, in the order the
//! scheduler reported events, with the time since the first step in milliseconds.
//!
//! [`render`] is [`header`] + [`row_texts`] + [`footer`]; the classroom prints those pieces as a
//! run grows. The rows themselves (cells with meanings, no colour) are made in
//! [`super::timeline_rows`], which also feeds the markdown and HTML exports.

use crate::model::Engine;
use std::fmt::Write as _;

use super::cell::{painted, width_of};
use super::describe::ms;
use super::palette::{Meaning, lane, paint};
use super::style::Style;
pub(crate) use super::timeline_rows::rows;
use super::verdict::verdict_lines;
use crate::engine::run::LessonRun;

const TIME_WIDTH: usize = 8;

/// Column widths for a run at a style's width.
struct Layout {
    n: usize,
    lane_width: usize,
    total_width: usize,
}

impl Layout {
    fn of(run: &LessonRun, style: &Style) -> Layout {
        let n = run.sessions.len().max(1);
        let lane_width = (style.width.saturating_sub(TIME_WIDTH + 1) / n)
            .saturating_sub(3)
            .max(16);
        Layout {
            n,
            lane_width,
            total_width: TIME_WIDTH + 1 + n * (lane_width + 3),
        }
    }

    /// The width of a cell drawn across every lane.
    fn wide_width(&self) -> usize {
        self.total_width - TIME_WIDTH - 4
    }
}

/// Renders one run as a timeline with a header, the verdict and a legend.
pub fn render(run: &LessonRun, style: &Style) -> String {
    let mut out = header(run, style);
    for row in row_texts(run, style) {
        out.push_str(&row);
    }
    out.push_str(&footer(run, style));
    out
}

/// The title, summary and column headings.
pub fn header(run: &LessonRun, style: &Style) -> String {
    let Layout {
        n,
        lane_width,
        total_width,
    } = Layout::of(run, style);
    let mut out = String::new();

    let level = run.level.map(|l| l.sql()).unwrap_or("as written");
    let anomaly = run
        .anomaly
        .as_ref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    let title = match (run.engine, &run.server_version) {
        (Engine::Postgres, _) => format!(" {}{anomaly} · {level} ", run.title),
        (engine, Some(version)) => format!(
            " {}{anomaly} · {level} · {} {version} ",
            run.title,
            engine.name()
        ),
        (engine, None) => format!(" {}{anomaly} · {level} · {} ", run.title, engine.name()),
    };
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
        // A pool lesson's task has no backend of its own: its name is what waits refer to.
        let head = match s.pid {
            0 => format!("{} ({})", s.label, s.name),
            pid => format!("{} (pid {pid})", s.label),
        };
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
    out
}

/// Each row of the table as text (one or more lines, each ending in a newline).
pub fn row_texts(run: &LessonRun, style: &Style) -> Vec<String> {
    let layout = Layout::of(run, style);
    let lane_width = layout.lane_width;
    let mut texts = Vec::new();
    for row in rows(run, layout.n, lane_width, layout.wide_width()) {
        let mut out = String::new();
        if let Some(wide) = &row.wide {
            for (line_no, l) in wide.lines.iter().enumerate() {
                let t = match (line_no, row.t) {
                    (0, Some(t)) => {
                        paint(&format!("{:>TIME_WIDTH$}", ms(t)), Meaning::Dim).to_string()
                    }
                    _ => " ".repeat(TIME_WIDTH),
                };
                let _ = writeln!(out, "{}", format!("{t} │ {}", painted(l, 0)).trim_end());
            }
            for l in &row.drawing {
                let _ = writeln!(
                    out,
                    "{} │ {}",
                    " ".repeat(TIME_WIDTH),
                    paint(l, Meaning::Aborted)
                );
            }
            texts.push(out);
            continue;
        }
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
        texts.push(out);
    }
    texts
}

/// The verdict and the legend under the table.
pub fn footer(run: &LessonRun, style: &Style) -> String {
    let total_width = Layout::of(run, style).total_width;
    let mut out = String::from("\n");
    for line in verdict_lines(run, total_width) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", legend());
    if let Some(more) = super::inspect::legend(run) {
        for line in super::cell::wrap(&more, total_width.saturating_sub(8)) {
            let _ = writeln!(out, "        {}", paint(&line, Meaning::Dim));
        }
    }
    out
}

/// The legend under every timeline.
pub fn legend() -> String {
    format!(
        "{}  {} done  {} waiting for a lock  {} wait over  {} error / rolled back  {} value read",
        paint("legend:", Meaning::Dim),
        paint("✓", Meaning::Ok),
        paint("‖", Meaning::Waiting),
        paint("↳", Meaning::Unblocked),
        paint("✗", Meaning::Aborted),
        paint("→", Meaning::Value),
    )
}
