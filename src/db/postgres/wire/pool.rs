//! A client thread's connections: at most `size` [`Wire`]s, opened on first demand, lent to one
//! transaction at a time. With the default `--pool-size` (one per client) every client finds
//! its own connection idle — a check-out is a semaphore permit and a mutex push and pop, no
//! system call — and with fewer connections than clients they queue, as they would for
//! deadpool, and the wait is measured the same way.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Target, Wire, WireError};

/// A bounded pool of bench connections.
#[derive(Clone)]
pub struct WirePool(Arc<Inner>);

struct Inner {
    target: Target,
    size: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Wire>>,
    open: AtomicUsize,
    /// Backend pids of every connection opened, for the lock sampler.
    pids: Arc<Mutex<Vec<i32>>>,
}

impl WirePool {
    /// A pool of at most `size` connections to `target`; each new connection's backend pid is
    /// added to `pids`.
    pub fn new(target: Target, size: usize, pids: Arc<Mutex<Vec<i32>>>) -> WirePool {
        WirePool(Arc::new(Inner {
            target,
            size,
            permits: Arc::new(Semaphore::new(size)),
            idle: Mutex::new(Vec::with_capacity(size)),
            open: AtomicUsize::new(0),
            pids,
        }))
    }

    /// A connection for one transaction: an idle one, or a new one while fewer than `size` are
    /// open; otherwise waits for one to come back.
    pub async fn get(&self) -> Result<Lent, WireError> {
        let permit = self
            .0
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| WireError::Connection("pool closed".into()))?;
        let idle = self.0.idle.lock().expect("idle connections").pop();
        let wire = match idle {
            Some(wire) => wire,
            None => {
                let wire = Wire::connect(&self.0.target).await?;
                self.0.open.fetch_add(1, Ordering::Relaxed);
                self.0.pids.lock().expect("pid list").push(wire.pid);
                wire
            }
        };
        Ok(Lent {
            wire: Some(wire),
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    /// An idle connection if there is one and no one is queued for it: a check-out that cannot
    /// have waited, so the client need not read the clock to time it.
    pub fn try_get(&self) -> Option<Lent> {
        let permit = self.0.permits.clone().try_acquire_owned().ok()?;
        let wire = self.0.idle.lock().expect("idle connections").pop()?;
        Some(Lent {
            wire: Some(wire),
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    /// (most connections allowed, connections open now).
    pub fn status(&self) -> (usize, usize) {
        (self.0.size, self.0.open.load(Ordering::Relaxed))
    }
}

/// A connection on loan; it goes back to the pool when dropped, unless it is broken or still
/// inside a transaction (then it is closed, and a later check-out opens a new one).
pub struct Lent {
    wire: Option<Wire>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Lent {
    type Target = Wire;
    fn deref(&self) -> &Wire {
        self.wire.as_ref().expect("lent connection")
    }
}

impl DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut Wire {
        self.wire.as_mut().expect("lent connection")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(wire) = self.wire.take() {
            if wire.reusable() {
                self.pool.idle.lock().expect("idle connections").push(wire);
            } else {
                self.pool.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}
