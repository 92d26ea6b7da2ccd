//! The server's view of lock waiting. Every tick the controller asks `pg_stat_activity` how many
//! of this point's backends are in `wait_event_type = 'Lock'` (a heavyweight lock: a row's
//! transaction id, a tuple, an advisory lock) and credits each with the time since the last
//! sample. Only the server says a backend waits; a slow statement is not a waiting one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::postgres::wire::{INT4_ARRAY, Sql, Val, Wire};
use crate::error::Result;

/// Prepared once on the control connection, sent every tick.
const WAITING: Sql = Sql::new(
    36,
    "txlab_lock_waits",
    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'",
    &[INT4_ARRAY],
);

/// Samples lock waits of the backends whose pids the pool reports.
pub struct LockSampler {
    pids: Arc<Mutex<Vec<i32>>>,
}

impl LockSampler {
    pub fn new(pids: Arc<Mutex<Vec<i32>>>) -> LockSampler {
        LockSampler { pids }
    }

    /// Backend-time spent waiting for locks over the last `since`, estimated from one sample
    /// taken on `control`.
    pub async fn waiting(&self, control: &mut Wire, since: Duration) -> Result<Duration> {
        let pids: Vec<i32> = self.pids.lock().expect("pid list").clone();
        if pids.is_empty() {
            return Ok(Duration::ZERO);
        }
        let rows = control.query(&WAITING, &[Val::Int4Array(pids)]).await?;
        let n = rows.first().map(|r| r.int8(0)).transpose()?.unwrap_or(0);
        Ok(since * n.max(0) as u32)
    }
}
