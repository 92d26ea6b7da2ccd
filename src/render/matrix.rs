//! The isolation matrix: lessons down, levels across, each cell what this run observed.

use std::fmt::Write as _;

use super::cell::{width_of, wrap};
use super::palette::{Meaning, paint};
use super::style::Style;
use crate::engine::catalog::teaching_rank;
use crate::engine::level::IsolationLevel;
use crate::engine::run::LessonRun;
use crate::engine::verdict::{How, Outcome};

/// The narrowest a level column gets.
const CELL: usize = 12;

/// Renders runs as a lessons × levels table, with a footnote for any cell that differs from
/// PostgreSQL's documented behaviour. Columns are as wide as their widest entry, so they always
/// line up; a row label drops its anomaly id (never part of the lesson's name) to fit the width.
pub fn render(runs: &[LessonRun], style: &Style) -> String {
    let levels: Vec<IsolationLevel> = IsolationLevel::ALL
        .into_iter()
        .filter(|l| runs.iter().any(|r| r.level == Some(*l)))
        .collect();
    let mut lessons: Vec<(&str, Option<&str>)> = Vec::new();
    for r in runs {
        if !lessons.iter().any(|(id, _)| *id == r.lesson_id) {
            lessons.push((&r.lesson_id, r.anomaly.as_deref()));
        }
    }
    // Teaching order (G0 first, G2 last), whatever order the runs came in.
    lessons.sort_by_key(|(_, anomaly)| teaching_rank(*anomaly));
    let mut differs = Vec::new();
    let mut cells: Vec<Vec<(String, Meaning)>> = Vec::new();
    for (id, _) in &lessons {
        let mut row = Vec::new();
        for level in &levels {
            let cell = runs
                .iter()
                .find(|r| r.lesson_id == *id && r.level == Some(*level));
            row.push(match cell.and_then(|r| r.verdict.as_ref()) {
                None => ("-".to_string(), Meaning::Dim),
                Some(v) => {
                    let mut text = match v.outcome {
                        Outcome::Occurred => "OCCURRED".to_string(),
                        Outcome::Prevented => match &v.how {
                            Some(how) => short_how(&how.to_string()),
                            None => "prevented".into(),
                        },
                    };
                    if !v.matches_expectation() {
                        text.push_str(" !");
                        differs.push(format!("{id} at {}", level.slug()));
                    }
                    let meaning = if v.outcome == Outcome::Occurred {
                        Meaning::Anomaly
                    } else {
                        Meaning::Prevented
                    };
                    (text, meaning)
                }
            });
        }
        cells.push(row);
    }
    let cell_width = levels
        .iter()
        .map(|l| width_of(l.sql()))
        .chain(cells.iter().flatten().map(|(text, _)| width_of(text)))
        .max()
        .unwrap_or(CELL)
        // One space of padding, so neighbouring level names stay two spaces apart.
        + 1;
    let full_label = |id: &str, anomaly: Option<&str>| match anomaly {
        Some(a) => format!("{id} ({a})"),
        None => id.to_string(),
    };
    let widest = lessons
        .iter()
        .map(|(id, a)| width_of(&full_label(id, *a)))
        .max()
        .unwrap_or(6)
        .max(6);
    let room = style
        .width
        .saturating_sub(levels.len() * (cell_width + 1) + 1)
        .max(12);
    let label_width = widest.min(room) + 1;

    let mut out = String::new();
    let _ = write!(out, "{:<label_width$}", "");
    for level in &levels {
        let _ = write!(
            out,
            " {}",
            paint(&format!("{:<cell_width$}", level.sql()), Meaning::Heading)
        );
    }
    out = out.trim_end().to_string();
    out.push('\n');
    for ((id, anomaly), row) in lessons.iter().zip(&cells) {
        let label = fit_label(id, *anomaly, label_width - 1);
        let _ = write!(out, "{label:<label_width$}");
        for (text, meaning) in row {
            let pad = cell_width.saturating_sub(width_of(text));
            let _ = write!(out, " {}{}", paint(text, *meaning), " ".repeat(pad));
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    let legend = legend(runs);
    for line in wrap(&legend, style.width) {
        let _ = writeln!(out, "{}", paint(&line, Meaning::Dim));
    }
    if !differs.is_empty() {
        let text = format!(
            "! differs from {}'s documented behaviour: {}",
            runs.first()
                .map(|r| r.engine.name())
                .unwrap_or("PostgreSQL"),
            differs.join(", ")
        );
        for line in wrap(&text, style.width) {
            let _ = writeln!(out, "{}", paint(&line, Meaning::Aborted));
        }
    }
    out
}

/// The line under the table: what OCCURRED means and each way of prevention the table shows.
fn legend(runs: &[LessonRun]) -> String {
    let shown: Vec<How> = runs
        .iter()
        .filter_map(|r| r.verdict.as_ref().and_then(|v| v.how.clone()))
        .collect();
    let mut ways = Vec::new();
    if shown.contains(&How::Blocked) {
        ways.push("blocked = waited for a lock");
    }
    if shown.contains(&How::Snapshot) {
        ways.push("snapshot = never saw the other's change");
    }
    if shown.contains(&How::NoClash) {
        ways.push("no clash = the sessions never got in each other's way");
    }
    if shown.contains(&How::Conflict) {
        ways.push("conflict = an optimistic write found a newer version");
    }
    if shown.iter().any(|h| matches!(h, How::Aborted(_))) {
        ways.push("a SQLSTATE (40001, 40P01…) = aborted with that error");
    }
    let mut text = "OCCURRED: the anomaly happened in this run".to_string();
    if !ways.is_empty() {
        text.push_str(" · otherwise it was prevented, and the cell says how: ");
        text.push_str(&ways.join(", "));
    }
    text
}

/// The row label in at most `room` columns: `id (TAG)`; when that is too wide the id is cut
/// (marked `…`) and the anomaly tag kept, since the tag is what a course names the row by.
pub(super) fn fit_label(id: &str, anomaly: Option<&str>, room: usize) -> String {
    let full = match anomaly {
        Some(a) => format!("{id} ({a})"),
        None => id.to_string(),
    };
    if width_of(&full) <= room {
        return full;
    }
    let tag = anomaly.map(|a| format!(" ({a})")).unwrap_or_default();
    let keep = room.saturating_sub(width_of(&tag) + 1);
    let cut: String = id.chars().take(keep).collect();
    format!("{cut}…{tag}")
}

fn short_how(how: &str) -> String {
    how.strip_prefix("aborted-")
        .map(|c| c.to_string())
        .unwrap_or_else(|| how.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_label_keeps_its_anomaly_tag() {
        assert_eq!(fit_label("phantom", Some("PMP"), 20), "phantom (PMP)");
        assert_eq!(
            fit_label("observed-transaction-vanishes", Some("OTV"), 27),
            "observed-transaction… (OTV)"
        );
        assert_eq!(fit_label("lock-ordering-long", None, 10), "lock-orde…");
    }
}
