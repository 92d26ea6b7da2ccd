//! What a `demo` or `run` command will do, validated before anything touches a server: the
//! lesson runs in order, how they are shown and judged, and the classroom pace. The command line
//! builds it; the straight runner and the classroom stepper both carry it out.

use crate::engine::{IsolationLevel, Lesson, RunOptions};
use crate::render::OutputFormat;

/// A validated run plan.
pub struct Plan {
    pub runs: Vec<(Lesson, Option<IsolationLevel>)>,
    pub format: OutputFormat,
    pub check: bool,
    pub options: RunOptions,
    /// Print the matrix after the timelines.
    pub matrix: bool,
    /// Classroom pacing (`--step`, `--quiz`); runs straight through when neither is given.
    pub pace: Pace,
    /// `--record FILE`: where to save the finished runs for `txlab replay`.
    pub record: Option<std::path::PathBuf>,
}

impl Plan {
    /// How many runs of `lesson_id` the plan holds (a timeline says "one of N levels").
    pub fn levels_shown(&self, lesson_id: &str) -> usize {
        self.runs.iter().filter(|(l, _)| l.id == lesson_id).count()
    }
}

/// When to stop and wait for the teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pace {
    /// `--step`: before every step.
    pub every_step: bool,
    /// `--quiz`: at quiz points, with the question.
    pub quiz: bool,
}

impl Pace {
    /// Whether the run is paced at all (otherwise it runs straight through).
    pub fn any(self) -> bool {
        self.every_step || self.quiz
    }
}
