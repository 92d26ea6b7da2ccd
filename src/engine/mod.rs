//! The engine: lesson model, scheduler, blocked detection, timeline events and verdicts. Data flows
//! one way: lesson → scheduler → timeline → verdict; the engine never formats text.

pub mod catalog;
pub mod deadlock_why;
pub mod gate;
pub mod inspect;
pub mod interleavings;
pub mod lesson;
pub mod lesson_engine;
pub mod lesson_file;
pub mod level;
pub mod notes;
pub mod outcome;
pub mod pool;
pub mod quiz;
pub mod run;
pub mod runner;
pub mod scheduler;
pub mod session;
pub mod spec_options;
pub mod spec_place;
pub mod spec_runner;
pub mod spec_scratch;
pub mod spec_view;
pub mod sql_text;
pub mod suite;
pub mod suite_plan;
pub mod verdict;

/// The timeline types now live in [`crate::model`]; this path stays for existing imports.
pub use crate::model::event;
pub use crate::model::event::{Event, EventKind, Timeline};
pub use gate::{GateRequest, StepGate};
pub use inspect::Inspect;
pub use lesson::Lesson;
pub use level::IsolationLevel;
pub use runner::{LessonRun, RunOptions, run_lesson};
pub use verdict::{Outcome, Verdict};
