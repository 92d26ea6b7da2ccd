//! The isolation matrix: lessons down, levels across, each cell what this run observed.

use std::fmt::Write as _;

use super::cell::width_of;
use super::palette::{Meaning, paint};
use super::style::Style;
use crate::engine::level::IsolationLevel;
use crate::engine::runner::LessonRun;
use crate::engine::verdict::Outcome;

const CELL: usize = 17;

/// Renders runs as a lessons × levels table, with a footnote for any cell that differs from
/// PostgreSQL's documented behaviour.
pub fn render(runs: &[LessonRun], style: &Style) -> String {
    let levels: Vec<IsolationLevel> = IsolationLevel::ALL
        .into_iter()
        .filter(|l| runs.iter().any(|r| r.level == Some(*l)))
        .collect();
    let mut lessons: Vec<(&str, String)> = Vec::new();
    for r in runs {
        if !lessons.iter().any(|(id, _)| *id == r.lesson_id) {
            let label = match &r.anomaly {
                Some(a) => format!("{} ({a})", r.lesson_id),
                None => r.lesson_id.clone(),
            };
            lessons.push((&r.lesson_id, label));
        }
    }
    let label_width = lessons
        .iter()
        .map(|(_, l)| width_of(l))
        .max()
        .unwrap_or(6)
        .max(6)
        + 1;
    let label_width = label_width.min(
        style
            .width
            .saturating_sub(levels.len() * (CELL + 1))
            .max(12),
    );
    let mut out = String::new();
    let _ = write!(out, "{:<label_width$}", "");
    for level in &levels {
        let _ = write!(
            out,
            " {}",
            paint(&format!("{:<CELL$}", level.sql()), Meaning::Heading)
        );
    }
    let _ = writeln!(out);
    let mut differs = Vec::new();
    for (id, label) in &lessons {
        let label: String = label.chars().take(label_width - 1).collect();
        let _ = write!(out, "{label:<label_width$}");
        for level in &levels {
            let cell = runs
                .iter()
                .find(|r| r.lesson_id == *id && r.level == Some(*level));
            let (text, meaning) = match cell.and_then(|r| r.verdict.as_ref()) {
                None => ("-".to_string(), Meaning::Dim),
                Some(v) => {
                    let mut text = match v.outcome {
                        Outcome::Occurred => "OCCURRED".to_string(),
                        Outcome::Prevented => match &v.how {
                            Some(how) => format!("prevented: {}", short_how(&how.to_string())),
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
            };
            let pad = CELL.saturating_sub(width_of(&text));
            let _ = write!(out, " {}{}", paint(&text, meaning), " ".repeat(pad));
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        paint(
            "OCCURRED: the anomaly happened in this run · prevented: how the server stopped it (blocked = waited for a lock, snapshot = never saw the other's change, 40001/40P01 = aborted)",
            Meaning::Dim
        )
    );
    if !differs.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                &format!(
                    "! differs from PostgreSQL's documented behaviour: {}",
                    differs.join(", ")
                ),
                Meaning::Aborted
            )
        );
    }
    out
}

fn short_how(how: &str) -> String {
    how.strip_prefix("aborted-")
        .map(|c| c.to_string())
        .unwrap_or_else(|| how.to_string())
}
