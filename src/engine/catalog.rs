//! The built-in lessons, embedded from lessons/ at build time, and lookup by name.

use super::lesson::Lesson;
use super::lesson_file::parse_lesson;
use crate::error::{Result, TxlabError};

include!(concat!(env!("OUT_DIR"), "/embedded_lessons.rs"));

/// Every built-in lesson, in file-name order. A built-in lesson that does not parse is a bug the
/// test suite catches; here it is skipped rather than taking the other lessons down with it.
pub fn builtin() -> Vec<Lesson> {
    EMBEDDED
        .iter()
        .filter_map(|(file, text)| {
            parse_lesson(
                text,
                &format!("lessons/{file}"),
                file.trim_end_matches(".toml"),
            )
            .ok()
        })
        .collect()
}

/// The text of every built-in lesson file (the fuzzer's seed corpus).
pub fn embedded_texts() -> Vec<String> {
    EMBEDDED.iter().map(|(_, text)| text.to_string()).collect()
}

/// The built-in lessons whose files fail to parse, with the error (for the test suite).
pub fn broken_builtins() -> Vec<String> {
    EMBEDDED
        .iter()
        .filter_map(|(file, text)| {
            parse_lesson(
                text,
                &format!("lessons/{file}"),
                file.trim_end_matches(".toml"),
            )
            .err()
        })
        .map(|e| e.to_string())
        .collect()
}

/// A built-in lesson by id.
pub fn find(id: &str) -> Result<Lesson> {
    let all = builtin();
    let wanted = id.trim().to_ascii_lowercase();
    match all.iter().position(|l| l.id == wanted) {
        Some(i) => Ok(all.into_iter().nth(i).expect("index from position")),
        None => Err(TxlabError::UnknownLesson {
            name: id.to_string(),
            known: known_names(&all),
        }),
    }
}

/// What `txlab demo NAME` runs: a demo group's variants, or one lesson.
pub fn resolve_demo(name: &str) -> Result<Vec<Lesson>> {
    let group = demo_group(name.trim());
    if group.is_empty() {
        find(name).map(|l| vec![l])
    } else {
        Ok(group)
    }
}

/// Lesson ids and demo group names, for hints.
fn known_names(all: &[Lesson]) -> Vec<String> {
    let mut names: Vec<String> = all
        .iter()
        .filter(|l| l.demo.is_none())
        .map(|l| l.id.clone())
        .collect();
    for l in all {
        if let Some(d) = &l.demo
            && !names.contains(d)
        {
            names.push(d.clone());
        }
    }
    names
}

/// The variants of a demo group (`transfer` → broken, pessimistic, optimistic…), in file order;
/// empty when no lesson belongs to that demo.
pub fn demo_group(name: &str) -> Vec<Lesson> {
    let mut group: Vec<Lesson> = builtin()
        .into_iter()
        .filter(|l| l.demo.as_deref() == Some(name))
        .collect();
    // The broken variant first: the class sees the problem before the fixes.
    group.sort_by_key(|l| {
        !l.variant
            .as_deref()
            .is_some_and(|v| v.starts_with("broken"))
    });
    group
}

/// The anomalies in the order a course teaches them (Adya's hierarchy, bottom up: dirty write,
/// the dirty reads, then the snapshot-level anomalies, then write skew). `list`, `demo isolation`
/// and the matrix follow it; lessons staging none of these come after, in file order.
pub const TEACHING_ORDER: &[&str] = &[
    "G0", "G1a", "G1b", "G1c", "OTV", "P2", "PMP", "P4", "G-single", "G2-item", "G2",
];

/// Where a lesson with this anomaly id comes in [`TEACHING_ORDER`] (unknown or none: last).
pub fn teaching_rank(anomaly: Option<&str>) -> usize {
    anomaly
        .and_then(|a| TEACHING_ORDER.iter().position(|t| *t == a))
        .unwrap_or(TEACHING_ORDER.len())
}

/// The lessons of one topic, in teaching order (file order among equals).
pub fn by_topic(topic: &str) -> Vec<Lesson> {
    let mut lessons: Vec<Lesson> = builtin().into_iter().filter(|l| l.topic == topic).collect();
    lessons.sort_by_key(|l| teaching_rank(l.anomaly.as_deref()));
    lessons
}

/// Reads a teacher's lesson file from disk.
pub fn load_file(path: &std::path::Path) -> Result<Lesson> {
    let text = std::fs::read_to_string(path).map_err(|source| TxlabError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lesson".into());
    parse_lesson(&text, &path.display().to_string(), &stem)
}
