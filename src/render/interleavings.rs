//! The `--all-permutations` table: one row per interleaving (its steps in order, whether it is
//! serial, what it did), then how many interleavings ended each way. A teacher sees *which*
//! orders show the anomaly.

use std::fmt::Write as _;

use super::cell::width_of;
use super::palette::{Meaning, paint};
use crate::engine::interleavings::{Classification, InterleavingRun, is_serial};
use crate::engine::lesson::Lesson;
use crate::engine::verdict::Outcome;

/// The words and colour for a classification.
pub fn label(class: &Classification) -> (String, Meaning) {
    match class {
        Classification::Verdict { outcome, how } => match outcome {
            Outcome::Occurred => ("OCCURRED".into(), Meaning::Anomaly),
            Outcome::Prevented => (
                match how {
                    Some(how) => format!("prevented ({how})"),
                    None => "prevented".into(),
                },
                Meaning::Prevented,
            ),
        },
        Classification::Observed { aborted, waited } => match (aborted, waited) {
            (Some(code), _) => (format!("aborted-{code}"), Meaning::Aborted),
            (None, true) => ("waited, no error".into(), Meaning::Waiting),
            (None, false) => ("no wait, no error".into(), Meaning::Ok),
        },
        Classification::Impossible => ("impossible".into(), Meaning::Dim),
        Classification::Failed(why) => (format!("failed: {why}"), Meaning::Aborted),
    }
}

/// The table, with a heading line and the counts per outcome.
pub fn render(heading: &str, lesson: &Lesson, runs: &[InterleavingRun]) -> String {
    let orders: Vec<String> = runs
        .iter()
        .map(|r| {
            r.schedule
                .steps
                .iter()
                .map(|s| lesson.steps[s.step].name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let number_width = runs.len().to_string().len().max(1);
    let order_width = orders
        .iter()
        .map(|o| width_of(o))
        .max()
        .unwrap_or(0)
        .max("interleaving".len());
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(heading, Meaning::Heading));
    let _ = writeln!(
        out,
        "{}",
        paint(
            &format!(
                "{:>number_width$}  {:<order_width$}  {:<6}  outcome",
                "#", "interleaving", ""
            ),
            Meaning::Dim
        )
    );
    let mut counts: Vec<(String, Meaning, usize)> = Vec::new();
    for (i, (run, order)) in runs.iter().zip(&orders).enumerate() {
        let (text, meaning) = label(&run.class);
        let serial = if is_serial(lesson, &run.schedule) {
            "serial"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:>number_width$}  {:<order_width$}  {:<6}  {}",
            i + 1,
            order,
            serial,
            paint(&text, meaning)
        );
        match counts.iter_mut().find(|(t, _, _)| *t == text) {
            Some(entry) => entry.2 += 1,
            None => counts.push((text, meaning, 1)),
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(text, meaning, n)| format!("{} {}", n, paint(text, *meaning)))
        .collect();
    let _ = writeln!(
        out,
        "{} {}",
        paint(&format!("{} interleavings:", runs.len()), Meaning::Heading),
        summary.join(" · ")
    );
    if counts.iter().any(|(t, _, _)| t == "impossible") {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "impossible: a session was due to run its next step while it still waited for a lock only a later step releases",
                Meaning::Dim
            )
        );
    }
    out
}
