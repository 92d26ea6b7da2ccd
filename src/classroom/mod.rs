//! Classroom mode: txlab in front of a class. `--step` pauses before every step (Enter runs it,
//! Backspace or `b` goes back one step, `r` replays the lesson from the start, `q` quits); `--quiz` asks the class to predict the
//! outcome at the lesson's quiz points and reveals it from what the run observed. The engine only
//! offers a gate before each launch ([`crate::engine::gate`]); reading keys and printing live here.
//! docs/classroom.md is the teacher's guide.

pub mod keys;
pub mod replay;
pub mod score;
pub mod screen;
pub mod stepper;
