//! The server's side of `--locks` and `--versions`: the lock table (`sql/lock_waits.sql`),
//! `pg_stat_activity`, the lesson's tables and the snapshot function this server version has.

use super::connect::Connected;
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, LockWait};

/// The lock table is read once (a CTE), so every edge comes from the same moment.
/// Who waits for whom, on which lock (sql/lock_waits.sql).
const LOCK_QUERY: &str = include_str!("../../../sql/lock_waits.sql");

/// What `pg_stat_activity` says about one session.
pub struct Activity {
    pub pid: BackendId,
    /// `idle`, `idle in transaction`, `idle in transaction (aborted)`, `active`…
    pub state: Option<String>,
    /// Whether the backend holds a snapshot (`backend_xmin`).
    pub has_xmin: bool,
}

fn prepare_error(e: tokio_postgres::Error) -> TxlabError {
    TxlabError::Database(format!("cannot prepare the classroom inspection: {e}"))
}

impl Connected {
    /// The ordinary and partitioned tables of `schema`, in creation order (unquoted names).
    pub async fn table_names(&self, schema: &str) -> Result<Vec<String>> {
        let rows = self
            .client
            .query(
                "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.oid",
                &[&schema],
            )
            .await
            .map_err(prepare_error)?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    }

    /// The query that reads a session's snapshot and own transaction id:
    /// `pg_current_snapshot()` on PostgreSQL 13+, `txid_current_snapshot()` before.
    pub async fn snapshot_query(&self) -> Result<&'static str> {
        let version: i32 = self
            .client
            .query_one("SELECT current_setting('server_version_num')::int4", &[])
            .await
            .map_err(prepare_error)?
            .get(0);
        Ok(if version >= 130000 {
            "SELECT pg_catalog.pg_current_snapshot()::text, pg_catalog.pg_current_xact_id_if_assigned()::text"
        } else {
            "SELECT pg_catalog.txid_current_snapshot()::text, pg_catalog.txid_current_if_assigned()::text"
        })
    }

    /// Every lock wait among `pids` right now; `None` when the lock table could not be read.
    pub async fn lock_waits(&self, pids: &[BackendId]) -> Option<Vec<LockWait>> {
        let rows = self.client.query(LOCK_QUERY, &[&pids]).await.ok()?;
        Some(
            rows.iter()
                .map(|r| LockWait {
                    waiter: r.get(0),
                    locktype: r.get(1),
                    wanted: r.get(2),
                    relation: r.get(3),
                    tuple: r.get(4),
                    transaction: r.get(5),
                    holder: r.get(6),
                    held: r.get(7),
                    row: r.get(8),
                })
                .collect(),
        )
    }

    /// What `pg_stat_activity` says about `pids` (empty if it could not be read).
    pub async fn activity(&self, pids: &[BackendId]) -> Vec<Activity> {
        let rows = self
            .client
            .query(
                "SELECT pid, state, backend_xmin IS NOT NULL FROM pg_catalog.pg_stat_activity WHERE pid = ANY($1::int4[])",
                &[&pids],
            )
            .await
            .unwrap_or_default();
        rows.iter()
            .map(|r| Activity {
                pid: r.get(0),
                state: r.get(1),
                has_xmin: r.get(2),
            })
            .collect()
    }
}
