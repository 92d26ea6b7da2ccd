//! The server's view of lock waiting. Every tick the controller asks `pg_stat_activity` how many
//! of this point's backends are in `wait_event_type = 'Lock'` (a heavyweight lock: a row's
//! transaction id, a tuple, an advisory lock) and credits each with the time since the last
//! sample. Only the server says a backend waits; a slow statement is not a waiting one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::{Client, Statement};

use crate::db::sandbox::db_message;
use crate::error::{Result, TxlabError};

const WAITING: &str = "SELECT count(*) FROM pg_stat_activity \
                       WHERE pid = ANY($1) AND wait_event_type = 'Lock'";

/// Samples lock waits of the backends whose pids the pool reports.
pub struct LockSampler<'a> {
    control: &'a Client,
    statement: Statement,
    pids: Arc<Mutex<Vec<i32>>>,
}

impl<'a> LockSampler<'a> {
    pub async fn new(control: &'a Client, pids: Arc<Mutex<Vec<i32>>>) -> Result<LockSampler<'a>> {
        let statement = control
            .prepare(WAITING)
            .await
            .map_err(|e| TxlabError::Database(db_message(&e)))?;
        Ok(LockSampler {
            control,
            statement,
            pids,
        })
    }

    /// Backend-time spent waiting for locks over the last `since`, estimated from one sample.
    pub async fn waiting(&self, since: Duration) -> Result<Duration> {
        let pids: Vec<i32> = self.pids.lock().expect("pid list").clone();
        if pids.is_empty() {
            return Ok(Duration::ZERO);
        }
        let n: i64 = self
            .control
            .query_one(&self.statement, &[&pids])
            .await
            .map_err(|e| TxlabError::Database(db_message(&e)))?
            .get(0);
        Ok(since * n.max(0) as u32)
    }
}
