//! `txlab list`: the built-in lessons grouped by topic, with their anomaly id and summary; demo
//! groups (a broken variant and its fixes) are listed once, under the name `txlab demo` takes.

use std::fmt::Write as _;

use crate::engine::{Lesson, catalog};
use crate::render::Style;
use crate::render::cell::wrap;
use crate::render::palette::{Meaning, paint};

/// Topic headings in the order a course meets them.
const TOPICS: &[(&str, &str)] = &[
    (
        "anomalies",
        "Anomalies (each runs at every isolation level; all of them: txlab demo isolation)",
    ),
    ("deadlocks", "Deadlocks"),
    (
        "locking",
        "Locking strategies (each demo runs its broken variant, then the fixes)",
    ),
    (
        "pools",
        "Connection pools: waits the server cannot see (broken, then the fixes)",
    ),
];

/// One line of the listing: the name to type, its id column, and what it shows.
struct Entry {
    name: String,
    tag: String,
    summary: String,
}

fn entries(lessons: &[Lesson]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for l in lessons {
        match &l.demo {
            None => out.push(Entry {
                name: l.id.clone(),
                tag: l.anomaly.clone().unwrap_or_else(|| "—".into()),
                summary: l.summary.clone(),
            }),
            Some(demo) if out.iter().any(|e| &e.name == demo) => {}
            Some(demo) => {
                let group = catalog::demo_group(demo);
                let variants: Vec<String> = group
                    .iter()
                    .map(|g| g.variant.clone().unwrap_or_else(|| g.id.clone()))
                    .collect();
                let broken = group.first().map(|g| g.summary.clone()).unwrap_or_default();
                out.push(Entry {
                    name: demo.clone(),
                    tag: "—".into(),
                    summary: format!("{broken} Variants: {}.", variants.join(", ")),
                });
            }
        }
    }
    out
}

/// The listing as text.
pub fn render(style: &Style) -> String {
    let lessons = catalog::builtin();
    let mut topics: Vec<(String, String)> = TOPICS
        .iter()
        .map(|(t, h)| (t.to_string(), h.to_string()))
        .collect();
    for l in &lessons {
        if !topics.iter().any(|(t, _)| *t == l.topic) {
            topics.push((l.topic.clone(), l.topic.clone()));
        }
    }
    let all = entries(&lessons);
    let name_width = all.iter().map(|e| e.name.len()).max().unwrap_or(10) + 2;
    let tag_width = 10;
    let summary_width = style
        .width
        .saturating_sub(2 + name_width + tag_width)
        .max(30);
    let mut out = String::new();
    for (topic, heading) in topics {
        let mut group: Vec<Lesson> = lessons
            .iter()
            .filter(|l| l.topic == topic)
            .cloned()
            .collect();
        group.sort_by_key(|l| catalog::teaching_rank(l.anomaly.as_deref()));
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", paint(&heading, Meaning::Heading));
        for entry in entries(&group) {
            for (i, line) in wrap(&entry.summary, summary_width).into_iter().enumerate() {
                let (name, tag) = if i == 0 {
                    (entry.name.as_str(), entry.tag.as_str())
                } else {
                    ("", "")
                };
                let _ = writeln!(
                    out,
                    "  {}{}{}",
                    paint(&format!("{name:<name_width$}"), Meaning::Ok),
                    paint(&format!("{tag:<tag_width$}"), Meaning::Dim),
                    line
                );
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        paint(
            "Run one with: txlab demo NAME [--level LEVEL] · your own: txlab run FILE.toml",
            Meaning::Dim
        )
    );
    out
}

/// `txlab list --engine mariadb`: which lessons run on the engine, and why the others do not
/// (appended to the listing, which stays as it is for PostgreSQL).
pub fn engine_notes(engine: crate::model::Engine) -> String {
    let lessons = catalog::builtin();
    let (runs, skipped): (Vec<&Lesson>, Vec<&Lesson>) = lessons
        .iter()
        .partition(|l| l.unsupported_on(engine).is_none());
    let mut out = format!("\nOn {}:\n", engine.name());
    let names: Vec<&str> = runs.iter().map(|l| l.id.as_str()).collect();
    let _ = writeln!(out, "  runs: {}", names.join(", "));
    for level in crate::engine::IsolationLevel::ALL {
        let at: Vec<&str> = runs
            .iter()
            .filter(|l| l.skipped_at(engine, Some(level)).is_some())
            .map(|l| l.id.as_str())
            .collect();
        if !at.is_empty() {
            let _ = writeln!(
                out,
                "  not at {}: {} (the step order cannot go on there; a run prints each reason)",
                level.sql(),
                at.join(", ")
            );
        }
    }
    for l in skipped {
        let reason = l.unsupported_on(engine).unwrap_or_default();
        let _ = writeln!(out, "  skipped: {} ({reason})", l.id);
    }
    // A lesson that runs, but not at every level (`[mariadb.skip]`), says so too.
    for l in runs {
        for level in crate::engine::IsolationLevel::ALL {
            if let Some(reason) = l.skipped_at(engine, Some(level)) {
                let _ = writeln!(out, "  not at {}: {} ({reason})", level.sql(), l.id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Engine;

    #[test]
    fn on_mariadb_every_anomaly_lesson_runs_at_every_level() {
        let notes = engine_notes(Engine::Mariadb);
        let runs = notes
            .lines()
            .find_map(|l| l.strip_prefix("  runs: "))
            .expect("a runs line");
        let runs: Vec<&str> = runs.split(", ").collect();
        for lesson in catalog::builtin() {
            if lesson.topic == "anomalies" {
                assert!(runs.contains(&lesson.id.as_str()), "{}: {notes}", lesson.id);
                assert!(
                    !notes.contains(&format!(": {} (", lesson.id)),
                    "{} is skipped somewhere: {notes}",
                    lesson.id
                );
            }
        }
        for line in notes.lines().filter(|l| l.starts_with("  skipped: ")) {
            assert!(line.ends_with(')'), "a skip without a reason: {line}");
        }
    }
}
