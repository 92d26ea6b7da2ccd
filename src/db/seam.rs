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

/// How a connection pool checks a connection it hands out again (issue 15's stale connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recycling {
    /// Trust the connection unless the driver already knows it is closed: no round trip.
    #[default]
    Fast,
    /// Ask the server first (one round trip per checkout), like a pre-ping.
    Verified,
}

/// A connection pool as a lesson declares it: how many connections, how long a checkout waits,
/// how a returned connection is checked before it is handed out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub size: usize,
    pub wait_timeout: std::time::Duration,
    pub recycling: Recycling,
}

/// What a pool says about itself right now, read without waiting: the client-side evidence that
/// a task waits for a connection (the server cannot see such a wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    pub size: usize,
    pub in_use: usize,
    /// Checkouts that are waiting for a connection to come back.
    pub waiting: usize,
}
