//! The seam between the engine and a database server: what the engine asks of a server while a
//! schedule runs, in words any engine can answer. PostgreSQL answers it today (`db::postgres`);
//! a second engine implements the same traits in a folder of its own.
//!
//! The scheduler holds these as trait objects, so its decisions ("completed or blocked?") can be
//! tested with a fake that needs no server.

use futures_util::future::BoxFuture;

use crate::error::Result;
use crate::model::BackendId;

/// "Is this session blocked, and by whom?" asked of the server, never guessed from a timer: a
/// slow statement is not a blocked one. Answers are about the sessions of one run.
pub trait LockProbe: Sync {
    /// Whether `backend` waits for a lock held by (or a safe snapshot of) one of the run's sessions.
    fn is_blocked(&self, backend: BackendId) -> BoxFuture<'_, Result<bool>>;
    /// The backends `backend` waits for, as the server reports them right now (empty if unknown).
    fn blockers(&self, backend: BackendId) -> BoxFuture<'_, Vec<BackendId>>;
    /// Whether the session's transaction has already failed, so a COMMIT sent now becomes a
    /// ROLLBACK. Asked while the session is idle.
    fn transaction_failed(&self, backend: BackendId) -> BoxFuture<'_, bool>;
}

/// Asks the server to cancel whatever one session is running (from outside that session).
pub trait CancelStatement: Send + Sync {
    /// Sends the cancel request; failures are ignored (the statement may have just ended).
    fn cancel(&self) -> BoxFuture<'_, ()>;
}
