//! Classroom mode on a real server (issue 6): the step gate paces and stops runs, `--locks`
//! names the waiter and the holder of a deadlock, `--versions` never changes an outcome, quiz
//! answers are judged from what the run observed, piped keys drive `--step` and `--quiz`, and the
//! markdown and HTML exports are snapshot-tested (pids, times and xids normalised) and loaded in
//! headless Chromium. `--step` in a real terminal is in `step_tmux`.

mod handouts;
mod locks;
mod quiz;
mod step;
mod versions;

use txlab::engine::{Inspect, IsolationLevel, Lesson, LessonRun, RunOptions};

use crate::util;

/// One run on the shared server in a sandbox of its own, with `--locks`/`--versions` as asked.
fn run(lesson: &Lesson, level: IsolationLevel, inspect: Inspect) -> LessonRun {
    util::runs::run_with(
        &util::runtime(),
        &util::sandbox(),
        lesson,
        level,
        &RunOptions {
            inspect,
            ..Default::default()
        },
    )
}
