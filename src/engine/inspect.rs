//! Looking inside a run for the classroom, only when asked (`--locks`, `--versions`):
//!
//! - **Lock waits**, collected on the control connection the moment the scheduler observes a step
//!   blocked: every wait among the run's sessions (from `pg_locks` and `pg_blocking_pids`), what
//!   the waiter wants, what the holder holds, and the wait-for cycle if there is one.
//! - **Row versions**, collected after each step by every *idle* session itself, so each sees
//!   exactly what its own next statement would see: `xmin`, `xmax`, `ctid` and the values of every
//!   visible row version of the lesson's tables, and the session's snapshot.
//!
//! Looking must not change what is looked at. The lock query only reads the lock table. The
//! version query runs inside the session's transaction, so it is held back where it could change
//! the outcome: a REPEATABLE READ or SERIALIZABLE transaction that has not yet taken its snapshot
//! is not inspected (the query would take it early), and a SERIALIZABLE transaction shows its
//! snapshot but no rows (reading them would add predicate locks). docs/classroom.md says the same.

use super::session::SessionHandle;
use crate::db::Connected;
use crate::error::Result;
use crate::model::StatementResult;
pub use crate::model::inspect::*;

/// Most rows shown per table; lessons use a handful.
const ROWS_SHOWN: usize = 20;

/// Collects lock and version reports for one run; holds the control connection.
pub struct Inspector<'a> {
    control: &'a Connected,
    pub what: Inspect,
    /// Quoted names of the lesson's tables, in creation order.
    tables: Vec<String>,
    /// `pg_current_snapshot()` on PostgreSQL 13+, `txid_current_snapshot()` before.
    snapshot_sql: &'static str,
}

impl<'a> Inspector<'a> {
    /// Prepares inspection of the tables in `schema` (after the lesson's setup ran).
    pub async fn prepare(
        control: &'a Connected,
        what: Inspect,
        schema: &str,
    ) -> Result<Inspector<'a>> {
        let tables = control
            .table_names(schema)
            .await?
            .iter()
            .map(|name| quote_ident(name))
            .collect();
        // Only `--versions` reads snapshots (and only PostgreSQL has the query): `--locks` alone
        // must work on MariaDB too.
        let snapshot_sql = match what.versions {
            true => control.snapshot_query().await?,
            false => "",
        };
        Ok(Inspector {
            control,
            what,
            tables,
            snapshot_sql,
        })
    }

    /// Facts the reader of a run should know about the inspection itself.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.what.versions {
            notes.push(super::notes::VERSIONS.to_string());
        }
        notes
    }

    /// Every lock wait among `pids` right now; `None` when the lock table could not be read.
    pub async fn locks(&self, pids: &[i32]) -> Option<LockReport> {
        let waits = self.control.lock_waits(pids).await?;
        let cycle = LockReport::find_cycle(&waits, pids);
        Some(LockReport {
            waits,
            cycle,
            ..LockReport::default()
        })
    }

    /// What every session sees right now. `busy[i]` marks sessions running a step; they are not
    /// asked (their connection is busy) and nothing is sent to them.
    pub async fn versions(&self, sessions: &mut [SessionHandle], busy: &[bool]) -> VersionsReport {
        let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
        let states = self.control.activity(&pids).await;
        let mut views = Vec::new();
        for (i, session) in sessions.iter_mut().enumerate() {
            let view = if busy.get(i).copied().unwrap_or(false) {
                View::Busy
            } else {
                let row = states.iter().find(|a| a.pid == session.pid);
                let state: Option<String> = row.and_then(|a| a.state.clone());
                let has_xmin = row.is_some_and(|a| a.has_xmin);
                self.session_view(session, state.as_deref(), has_xmin).await
            };
            views.push(SessionView { session: i, view });
        }
        VersionsReport { views }
    }

    async fn session_view(
        &self,
        session: &mut SessionHandle,
        state: Option<&str>,
        has_xmin: bool,
    ) -> View {
        if state == Some("idle in transaction (aborted)") {
            return View::Failed;
        }
        // SHOW takes no snapshot, so asking the level cannot change anything.
        let isolation = match session.run("SHOW transaction_isolation").await {
            Some(answer) if answer.error.is_none() => first_value(&answer.results),
            _ => None,
        }
        .unwrap_or_else(|| "read committed".into());
        let in_transaction = state == Some("idle in transaction");
        let snapshot_per_transaction =
            isolation != "read committed" && isolation != "read uncommitted";
        if in_transaction && snapshot_per_transaction && !has_xmin {
            return View::NoSnapshotYet;
        }
        let rows_read = isolation != "serializable";
        let mut sql = format!("{};", self.snapshot_sql);
        if rows_read {
            for table in &self.tables {
                sql.push_str(&format!(
                    "\nSELECT xmin, xmax, ctid, * FROM {table} ORDER BY ctid LIMIT {ROWS_SHOWN};"
                ));
            }
        }
        let Some(answer) = session.run(&sql).await else {
            return View::Failed;
        };
        if answer.error.is_some() {
            return View::Failed;
        }
        let mut results = answer.results.into_iter().filter_map(|r| match r {
            StatementResult::Rows { columns, rows } => Some((columns, rows)),
            StatementResult::Command { .. } => None,
        });
        let (snapshot, xid) = match results.next() {
            Some((_, rows)) => {
                let row = rows.into_iter().next().unwrap_or_default();
                (
                    row.first().cloned().flatten().unwrap_or_default(),
                    row.get(1).cloned().flatten(),
                )
            }
            None => (String::new(), None),
        };
        let tables = results
            .zip(&self.tables)
            .map(|((columns, rows), table)| TableVersions {
                table: unquote_ident(table),
                columns: columns.into_iter().skip(3).collect(),
                rows: rows
                    .into_iter()
                    .map(|mut row| {
                        let rest = row.split_off(3.min(row.len()));
                        let mut fixed = row.into_iter().map(Option::unwrap_or_default);
                        RowVersion {
                            xmin: fixed.next().unwrap_or_default(),
                            xmax: fixed.next().unwrap_or_default(),
                            ctid: fixed.next().unwrap_or_default(),
                            values: rest,
                        }
                    })
                    .collect(),
            })
            .collect();
        View::Sees {
            snapshot,
            xid,
            isolation,
            rows_read,
            tables,
        }
    }
}

fn first_value(results: &[StatementResult]) -> Option<String> {
    results.iter().find_map(|r| match r {
        StatementResult::Rows { rows, .. } => rows.first()?.first().cloned().flatten(),
        StatementResult::Command { .. } => None,
    })
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn unquote_ident(quoted: &str) -> String {
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(|s| s.replace("\"\"", "\""))
        .unwrap_or_else(|| quoted.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(waiter: i32, holder: i32) -> LockWait {
        LockWait {
            waiter,
            holder,
            locktype: "transactionid".into(),
            wanted: "ShareLock".into(),
            held: vec!["ExclusiveLock".into()],
            relation: None,
            tuple: None,
            transaction: Some("700".into()),
            row: None,
        }
    }

    #[test]
    fn finds_a_two_session_deadlock_in_session_order() {
        let waits = vec![wait(20, 10), wait(10, 20)];
        assert_eq!(
            LockReport::find_cycle(&waits, &[10, 20]),
            Some(vec![10, 20])
        );
    }

    #[test]
    fn a_chain_is_not_a_cycle_but_a_longer_loop_is() {
        assert_eq!(
            LockReport::find_cycle(&[wait(20, 10), wait(30, 20)], &[10, 20, 30]),
            None
        );
        let waits = vec![wait(10, 20), wait(20, 30), wait(30, 10), wait(40, 10)];
        assert_eq!(
            LockReport::find_cycle(&waits, &[10, 20, 30, 40]),
            Some(vec![10, 20, 30])
        );
    }

    #[test]
    fn quoting_round_trips() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(unquote_ident(&quote_ident("we\"ird")), "we\"ird");
    }
}
