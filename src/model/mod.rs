//! Plain data: what a run produced, with no I/O. The engine fills these in, renderers read them,
//! and the `db` seam speaks in [`StepAnswer`]s; nothing here talks to a server or formats text.

pub mod answer;
pub mod engine;
pub mod event;
pub mod inspect;

pub use answer::{ErrorInfo, StatementResult, StepAnswer};
pub use engine::Engine;
pub use event::{Completion, Conflict, Event, EventKind, Timeline, TxEnd};
pub use inspect::{Inspect, LockReport, LockWait, VersionsReport};

/// A server's identifier for one session's backend: a PostgreSQL pid. Printed as a plain integer
/// in every output.
pub type BackendId = i32;
