//! The verdict in words, under a timeline: what happened, what PostgreSQL documents, and why.

use super::cell::wrap;
use super::palette::{Meaning, paint};
use crate::engine::run::LessonRun;
use crate::engine::verdict::Outcome;

/// The verdict sentence, the expectation check, the lesson's "why" and the run's notes.
pub fn verdict_lines(run: &LessonRun, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let indent = "         ";
    let body_width = width.saturating_sub(indent.len()).max(20);
    let block = |label: &str, text: &str, meaning: Meaning, out: &mut Vec<String>| {
        for (i, line) in wrap(text, body_width).into_iter().enumerate() {
            let head = if i == 0 {
                format!("{label:<9}")
            } else {
                indent.to_string()
            };
            out.push(format!(
                "{}{}",
                paint(&head, Meaning::Heading),
                paint(&line, meaning)
            ));
        }
    };
    if let Some((sentence, meaning)) = sentence(run) {
        block("verdict", &sentence, meaning, &mut out);
    }
    if let Some((text, meaning)) = expectation(run) {
        block("", &text, meaning, &mut out);
    }
    if let Some(why) = &run.why {
        block("why", why, Meaning::Ok, &mut out);
    }
    for note in &run.notes {
        block("note", note, Meaning::Dim, &mut out);
    }
    out
}

/// The verdict sentence ("LOST UPDATE OCCURRED: final balance 120…") and its meaning.
pub fn sentence(run: &LessonRun) -> Option<(String, Meaning)> {
    let v = run.verdict.as_ref()?;
    let name = &run.anomaly_name;
    Some(match v.outcome {
        Outcome::Occurred => (format!("{name} OCCURRED: {}", v.detail), Meaning::Anomaly),
        Outcome::Prevented => {
            let how = v
                .how
                .as_ref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            (
                format!("{name} prevented{how}: {}", v.detail),
                Meaning::Prevented,
            )
        }
    })
}

/// Whether the run agrees with PostgreSQL's documented behaviour, in words, and its meaning.
pub fn expectation(run: &LessonRun) -> Option<(String, Meaning)> {
    let v = run.verdict.as_ref()?;
    let (expected, level) = (v.expected.as_ref()?, run.level?);
    Some(if v.matches_expectation() {
        (
            format!(
                "✓ as {} documents for {}: {expected}",
                run.engine.name(),
                level.sql()
            ),
            Meaning::Prevented,
        )
    } else {
        (
            format!(
                "✗ DIFFERS from {}'s documented behaviour for {}: expected {expected}",
                run.engine.name(),
                level.sql()
            ),
            Meaning::Aborted,
        )
    })
}
