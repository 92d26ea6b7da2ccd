//! Running built-in lessons from tests: the matrix every lesson test walks, and one run of it.

use tokio::runtime::Runtime;
use txlab::engine::{IsolationLevel, Lesson, LessonRun, RunOptions, catalog, run_lesson};

/// Every built-in lesson at every level it states an expectation for, lessons in catalogue order,
/// levels weakest first.
pub fn matrix() -> Vec<(Lesson, IsolationLevel)> {
    let mut planned = Vec::new();
    for lesson in catalog::builtin() {
        for level in IsolationLevel::ALL {
            if lesson.expect.contains_key(&level) {
                planned.push((lesson.clone(), level));
            }
        }
    }
    planned
}

/// Runs one lesson at one level on the test server, failing the test if the run itself fails.
pub fn run(
    rt: &Runtime,
    sandbox: &txlab::db::Sandbox,
    lesson: &Lesson,
    level: IsolationLevel,
) -> LessonRun {
    rt.block_on(run_lesson(
        super::server(),
        sandbox,
        lesson,
        Some(level),
        &RunOptions::default(),
    ))
    .unwrap_or_else(|e| panic!("{} at {level} did not run: {e}", lesson.id))
}
