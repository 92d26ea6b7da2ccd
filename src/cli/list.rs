//! `txlab list`: the built-in lessons, grouped by topic, with their anomaly id and summary.

use std::fmt::Write as _;

use crate::engine::catalog;
use crate::render::Style;
use crate::render::palette::{Meaning, paint};

/// Topic headings in the order a course meets them.
const TOPICS: &[(&str, &str)] = &[
    (
        "anomalies",
        "Anomalies (run at every isolation level: txlab demo isolation)",
    ),
    ("deadlocks", "Deadlocks"),
    ("locking", "Locking strategies"),
];

/// The listing as text.
pub fn render(style: &Style) -> String {
    let lessons = catalog::builtin();
    let id_width = lessons.iter().map(|l| l.id.len()).max().unwrap_or(10) + 2;
    let mut out = String::new();
    let mut topics: Vec<(&str, String)> = TOPICS.iter().map(|(t, h)| (*t, h.to_string())).collect();
    for l in &lessons {
        if !topics.iter().any(|(t, _)| *t == l.topic) {
            topics.push((&l.topic, l.topic.clone()));
        }
    }
    for (topic, heading) in topics {
        let group: Vec<_> = lessons.iter().filter(|l| l.topic == topic).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", paint(&heading, Meaning::Heading));
        for l in group {
            let id = format!("{:<id_width$}", l.id);
            let anomaly = format!("{:<10}", l.anomaly.clone().unwrap_or_else(|| "—".into()));
            let summary: String = l
                .summary
                .chars()
                .take(style.width.saturating_sub(id_width + 14).max(30))
                .collect();
            let _ = writeln!(
                out,
                "  {}{} {}",
                paint(&id, Meaning::Ok),
                paint(&anomaly, Meaning::Dim),
                summary
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        paint(
            "Run one with: txlab demo NAME [--level LEVEL]",
            Meaning::Dim
        )
    );
    out
}
