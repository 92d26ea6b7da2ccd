//! "Is this session waiting for a lock, and for whom?" asked of MariaDB — never guessed from a
//! timer: a slow statement is not a blocked one. Row and table locks are read from
//! `SHOW ENGINE INNODB STATUS` (current within a fraction of a millisecond; the
//! `information_schema.INNODB_*` tables are a cache refreshed only after 100 ms without a reader),
//! metadata-lock and `GET_LOCK` waits from the process list, the only place they show.

use super::connect::{MariadbSession, ResultSet};
use super::innodb_status::{self, InnodbTransaction};
use crate::error::{Result, TxlabError};

/// What a blocked session waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// An InnoDB row or table lock (`LOCK WAIT` in the monitor).
    RowLock,
    /// A metadata lock (`Waiting for table metadata lock`, …): DDL against an open transaction;
    /// also `LOCK TABLES`' table-level and the backup lock. Carries the process-list state.
    MetadataLock(String),
    /// A named lock (`GET_LOCK`), process-list state `User lock`.
    UserLock,
}

/// The blocked probe: a control connection of its own and the thread ids of the run's sessions.
pub struct MariadbProbe {
    control: MariadbSession,
    sessions: Vec<u32>,
}

impl MariadbProbe {
    /// A probe for the given sessions over `control` (a connection no session uses).
    pub fn new(control: MariadbSession, sessions: Vec<u32>) -> MariadbProbe {
        MariadbProbe { control, sessions }
    }

    /// The control connection, for cancelling and cleanup.
    pub fn control(&mut self) -> &mut MariadbSession {
        &mut self.control
    }

    /// Whether `thread_id` waits for a lock right now. One look is not enough on MariaDB: a
    /// waiting thread sets its process-list state itself and clears it only when it runs again,
    /// so a metadata-lock wait already granted still shows until the thread is scheduled; and
    /// InnoDB looks for a deadlock just after a row-lock wait begins, so a victim shows as
    /// waiting for that moment. Under load either made the same schedule report a wait in one
    /// run and not in the next. A wait counts when a second look, one round trip later, still
    /// sees it (a real wait only gets reported a round trip later; nothing is reported that the
    /// server did not show twice).
    pub async fn is_blocked(&mut self, thread_id: u32) -> Result<bool> {
        Ok(self.waiting(thread_id).await?.is_some() && self.waiting(thread_id).await?.is_some())
    }

    /// What `thread_id` waits for, if anything: one round trip (process list + InnoDB monitor).
    pub async fn waiting(&mut self, thread_id: u32) -> Result<Option<Wait>> {
        let sql = format!(
            "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = {thread_id}; SHOW ENGINE INNODB STATUS"
        );
        let outcome = self.control.run(&sql).await;
        if let Some(e) = outcome.error {
            return Err(TxlabError::Database(format!("lock-wait probe failed: {e}")));
        }
        let state = first_value(outcome.sets.first(), 0).unwrap_or_default();
        if let Some(wait) = wait_from_state(&state) {
            return Ok(Some(wait));
        }
        let status = first_value(outcome.sets.get(1), 2).unwrap_or_default();
        let waits = innodb_status::parse(&status)
            .iter()
            .any(|t| t.thread_id == Some(thread_id) && t.lock_wait);
        Ok(waits.then_some(Wait::RowLock))
    }

    /// The run's sessions that `thread_id` waits for, as the server reports them now. Row locks:
    /// the holders of a conflicting lock in the monitor's lock list (falling back to
    /// `INNODB_LOCK_WAITS`, which may be up to 100 ms old). Metadata and named locks: the sessions
    /// holding such a lock in `METADATA_LOCK_INFO` (when the plugin is loaded). Best effort.
    pub async fn blockers(&mut self, thread_id: u32) -> Vec<u32> {
        let Ok(Some(wait)) = self.waiting(thread_id).await else {
            return Vec::new();
        };
        let found = match wait {
            Wait::RowLock => {
                let from_status = self
                    .status()
                    .await
                    .map(|t| innodb_status::blockers_of(&t, thread_id));
                match from_status {
                    Some(ids) if !ids.is_empty() => ids,
                    _ => self.ids(&lock_waits_sql(thread_id)).await,
                }
            }
            Wait::UserLock => self.ids(&user_lock_holders_sql(thread_id)).await,
            Wait::MetadataLock(_) => self.ids(&metadata_holders_sql(thread_id)).await,
        };
        found
            .into_iter()
            .filter(|id| self.sessions.is_empty() || self.sessions.contains(id))
            .collect()
    }

    async fn status(&mut self) -> Option<Vec<InnodbTransaction>> {
        let outcome = self.control.run("SHOW ENGINE INNODB STATUS").await;
        first_value(outcome.sets.first(), 2).map(|s| innodb_status::parse(&s))
    }

    async fn ids(&mut self, sql: &str) -> Vec<u32> {
        let outcome = self.control.run(sql).await;
        match outcome.sets.into_iter().next() {
            Some(ResultSet::Rows { rows, .. }) => {
                let mut ids: Vec<u32> = rows
                    .into_iter()
                    .filter_map(|r| r.into_iter().next().flatten()?.parse().ok())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            _ => Vec::new(),
        }
    }
}

/// A process-list state that means "waits for another session's lock".
pub fn wait_from_state(state: &str) -> Option<Wait> {
    if state == "User lock" {
        Some(Wait::UserLock)
    } else if (state.starts_with("Waiting for ") && state.ends_with(" metadata lock"))
        || state == "Waiting for table level lock"
        || state == "Waiting for backup lock"
    {
        Some(Wait::MetadataLock(state.to_string()))
    } else {
        None
    }
}

fn lock_waits_sql(thread_id: u32) -> String {
    format!(
        "SELECT b.trx_mysql_thread_id FROM information_schema.INNODB_LOCK_WAITS w \
         JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id \
         JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id \
         WHERE r.trx_mysql_thread_id = {thread_id}"
    )
}

/// Sessions holding a named lock (the one waited for is not shown anywhere).
fn user_lock_holders_sql(thread_id: u32) -> String {
    format!(
        "SELECT DISTINCT THREAD_ID FROM information_schema.METADATA_LOCK_INFO \
         WHERE THREAD_ID <> {thread_id} AND LOCK_TYPE = 'User lock'"
    )
}

/// Sessions holding a table metadata lock — on the tables the waiter already has one on (DDL
/// holds an upgradable lock while it waits to upgrade), or on any table when it has none.
fn metadata_holders_sql(thread_id: u32) -> String {
    let mine = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.METADATA_LOCK_INFO \
         WHERE THREAD_ID = {thread_id} AND LOCK_TYPE = 'Table metadata lock'"
    );
    format!(
        "SELECT DISTINCT THREAD_ID FROM information_schema.METADATA_LOCK_INFO \
         WHERE THREAD_ID <> {thread_id} AND LOCK_TYPE = 'Table metadata lock' \
         AND (NOT EXISTS ({mine}) OR (TABLE_SCHEMA, TABLE_NAME) IN ({mine}))"
    )
}

/// The first row's value in column `column` of a result set.
fn first_value(set: Option<&ResultSet>, column: usize) -> Option<String> {
    match set? {
        ResultSet::Rows { rows, .. } => rows.first()?.get(column)?.clone(),
        ResultSet::Affected(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_wait_states_are_waits_and_busy_states_are_not() {
        assert_eq!(wait_from_state("User lock"), Some(Wait::UserLock));
        assert!(matches!(
            wait_from_state("Waiting for table metadata lock"),
            Some(Wait::MetadataLock(_))
        ));
        // Captured while a row-lock waiter, a sleeper and a reader ran: none of these is a wait.
        for busy in [
            "Updating",
            "User sleep",
            "Sending data",
            "Statistics",
            "",
            "Waiting for table flush",
        ] {
            assert_eq!(wait_from_state(busy), None, "{busy}");
        }
    }
}
