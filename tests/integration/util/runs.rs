//! Running built-in lessons from tests: the matrix every lesson test walks, and one run of it.

use tokio::runtime::Runtime;
use txlab::engine::{IsolationLevel, Lesson, LessonRun, RunOptions, catalog, run_lesson};

/// Every built-in lesson at every level it states an expectation for, lessons in catalogue order,
/// levels weakest first.
pub fn matrix() -> Vec<(Lesson, IsolationLevel)> {
    plan(catalog::builtin())
}

/// The isolation matrix of issue 2: the anomaly and deadlock lessons at every level (the locking
/// demos have their own repeat-run checks in the `locking` module).
pub fn isolation_matrix() -> Vec<(Lesson, IsolationLevel)> {
    plan(
        catalog::builtin()
            .into_iter()
            .filter(|l| l.topic == "anomalies" || l.topic == "deadlocks")
            .collect(),
    )
}

fn plan(lessons: Vec<Lesson>) -> Vec<(Lesson, IsolationLevel)> {
    let mut planned = Vec::new();
    for lesson in lessons {
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
    run_with(rt, sandbox, lesson, level, &RunOptions::default())
}

/// [`run`] with options (`--locks`, `--versions`, a step gate…).
pub fn run_with(
    rt: &Runtime,
    sandbox: &txlab::db::Sandbox,
    lesson: &Lesson,
    level: IsolationLevel,
    options: &RunOptions,
) -> LessonRun {
    rt.block_on(run_lesson(
        super::server(),
        sandbox,
        lesson,
        Some(level),
        options,
    ))
    .unwrap_or_else(|e| panic!("{} at {level} did not run: {e}", lesson.id))
}
