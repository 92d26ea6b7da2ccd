//! "Is this backend waiting for a lock?" asked of the server, never guessed from a timer: a slow
//! statement is not a blocked one. The same question PostgreSQL's isolationtester asks, on a
//! separate control connection.

use futures_util::future::{BoxFuture, FutureExt};
use tokio_postgres::{Client, Statement};

use super::connect::Connected;
use crate::db::seam::LockProbe;

use crate::error::{Result, TxlabError};

/// Answers whether a session's backend is blocked by another session of the same run.
pub struct BlockedProbe<'a> {
    client: &'a Client,
    is_blocked: Statement,
    blockers: Statement,
    /// Prepared once: it runs before every COMMIT a schedule sends.
    failed: Statement,
    pids: Vec<i32>,
}

impl<'a> BlockedProbe<'a> {
    /// Prepares the probe for the given session pids.
    pub async fn prepare(client: &'a Client, pids: Vec<i32>) -> Result<BlockedProbe<'a>> {
        let is_blocked = client
            .prepare(include_str!("../../../sql/blocked.sql"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!("cannot prepare the lock-wait probe: {e}"))
            })?;
        let blockers = client
            .prepare(include_str!("../../../sql/blocking_pids.sql"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!("cannot prepare the lock-wait probe: {e}"))
            })?;
        let failed = client
            .prepare(include_str!("../../../sql/transaction_failed.sql"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!("cannot prepare the lock-wait probe: {e}"))
            })?;
        Ok(BlockedProbe {
            client,
            is_blocked,
            blockers,
            failed,
            pids,
        })
    }

    /// Whether `pid` waits for a lock held by (or a safe snapshot of) one of the run's sessions.
    pub async fn is_blocked(&self, pid: i32) -> Result<bool> {
        let row = self
            .client
            .query_one(&self.is_blocked, &[&pid, &self.pids])
            .await
            .map_err(|e| TxlabError::Database(format!("lock-wait probe failed: {e}")))?;
        Ok(row.get(0))
    }

    /// The backends `pid` waits for, as the server reports them right now.
    pub async fn blockers(&self, pid: i32) -> Vec<i32> {
        match self.client.query_one(&self.blockers, &[&pid]).await {
            Ok(row) => row.get::<_, Vec<i32>>(0),
            Err(_) => Vec::new(),
        }
    }
}

impl Connected {
    /// The lock-wait probe for a run's sessions, asked on this (control) connection.
    pub async fn probe(&self, pids: Vec<i32>) -> Result<BlockedProbe<'_>> {
        BlockedProbe::prepare(&self.client, pids).await
    }

    /// Fails with a clear error when the server lacks the probe function (PostgreSQL < 10).
    pub async fn check_support(&self) -> Result<()> {
        check_support(&self.client).await
    }
}

/// Fails with a clear error when the server lacks the probe function (PostgreSQL < 10).
pub async fn check_support(client: &Client) -> Result<()> {
    let row = client
        .query_one(include_str!("../../../sql/probe_support.sql"), &[])
        .await
        .map_err(|e| TxlabError::Database(e.to_string()))?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(TxlabError::NoBlockedProbe {
            version: row.get(1),
        })
    }
}

impl BlockedProbe<'_> {
    /// Whether the session's transaction has already failed, so that a COMMIT it sends now will be
    /// turned into a ROLLBACK by the server. Asked before the COMMIT is sent, while the session is
    /// idle, so the answer cannot race with the session itself.
    pub async fn transaction_failed(&self, pid: i32) -> bool {
        match self.client.query_opt(&self.failed, &[&pid]).await {
            Ok(Some(row)) => row.get::<_, Option<bool>>(0).unwrap_or(false),
            _ => false,
        }
    }
}

impl LockProbe for BlockedProbe<'_> {
    fn is_blocked(&self, backend: i32) -> BoxFuture<'_, Result<bool>> {
        BlockedProbe::is_blocked(self, backend).boxed()
    }

    fn blockers(&self, backend: i32) -> BoxFuture<'_, Vec<i32>> {
        BlockedProbe::blockers(self, backend).boxed()
    }

    fn transaction_failed(&self, backend: i32) -> BoxFuture<'_, bool> {
        BlockedProbe::transaction_failed(self, backend).boxed()
    }
}
