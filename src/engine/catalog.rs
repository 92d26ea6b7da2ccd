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
            known: all.into_iter().map(|l| l.id).collect(),
        }),
    }
}

/// The lessons of one topic, in file order.
pub fn by_topic(topic: &str) -> Vec<Lesson> {
    builtin().into_iter().filter(|l| l.topic == topic).collect()
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
