//! What `--locks` and `--versions` found, as plain data: the wait-for edges among a run's
//! sessions and the row versions each session could see. Collected by `engine::inspect` (and the
//! server behind the `db` seam), drawn by `render::inspect`.

use serde::{Deserialize, Serialize};

/// What to look at; both off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inspect {
    /// Who waits for whom on which lock, when a step blocks.
    pub locks: bool,
    /// The row versions each session sees, after each step.
    pub versions: bool,
}

impl Inspect {
    pub fn any(self) -> bool {
        self.locks || self.versions
    }
}

/// One waiter → holder edge of the wait-for graph, with the lock it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockWait {
    pub waiter: i32,
    /// The backend the server says the waiter waits for (`pg_blocking_pids`).
    pub holder: i32,
    /// `pg_locks.locktype`: relation, tuple, transactionid, virtualxid, …
    pub locktype: String,
    /// The mode the waiter asked for and has not been granted.
    pub wanted: String,
    /// The modes the holder has been granted on the same object; empty when the holder does not
    /// hold it yet but is queued ahead of the waiter.
    pub held: Vec<String>,
    /// The table, for relation, page and tuple locks.
    pub relation: Option<String>,
    /// `(page,tuple)` for tuple locks.
    pub tuple: Option<String>,
    /// The transaction id, for transactionid locks (a row lock waits for the holder's transaction).
    pub transaction: Option<String>,
    /// The row the waiter is after, when it holds that row's tuple lock (`(0,1) of account`).
    pub row: Option<String>,
}

/// Every lock wait among the run's sessions at the moment a step was observed blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, Deserialize)]
pub struct LockReport {
    pub waits: Vec<LockWait>,
    /// Backend pids forming a wait-for cycle (each waits for the next, the last for the first):
    /// a deadlock the server has not resolved yet.
    pub cycle: Option<Vec<i32>>,
}

impl LockReport {
    /// Finds a cycle in the wait-for edges; pids in `order` come first (session order), so the
    /// same deadlock is always drawn the same way.
    pub fn find_cycle(waits: &[LockWait], order: &[i32]) -> Option<Vec<i32>> {
        let mut starts: Vec<i32> = order.to_vec();
        for w in waits {
            if !starts.contains(&w.waiter) {
                starts.push(w.waiter);
            }
        }
        for &start in &starts {
            let mut path = vec![start];
            if let Some(cycle) = walk(waits, order, &mut path, start) {
                return Some(cycle);
            }
        }
        None
    }
}

fn walk(waits: &[LockWait], order: &[i32], path: &mut Vec<i32>, start: i32) -> Option<Vec<i32>> {
    let here = *path.last()?;
    let mut next: Vec<i32> = waits
        .iter()
        .filter(|w| w.waiter == here)
        .map(|w| w.holder)
        .collect();
    next.sort_by_key(|p| order.iter().position(|o| o == p).unwrap_or(usize::MAX));
    next.dedup();
    for pid in next {
        if pid == start && path.len() > 1 {
            return Some(path.clone());
        }
        if path.contains(&pid) {
            continue;
        }
        path.push(pid);
        if let Some(cycle) = walk(waits, order, path, start) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

/// One visible row version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowVersion {
    pub ctid: String,
    pub xmin: String,
    pub xmax: String,
    pub values: Vec<Option<String>>,
}

/// The visible versions of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVersions {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<RowVersion>,
}

/// What one session could see at that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum View {
    /// It is running (waiting in) a step; a session runs one statement at a time.
    Busy,
    /// A REPEATABLE READ / SERIALIZABLE transaction that has not run a query yet: its snapshot is
    /// taken by its first query, and inspecting it now would take it early.
    NoSnapshotYet,
    /// Its transaction failed; it can run nothing until ROLLBACK.
    Failed,
    /// Its snapshot (`xmin:xmax:xip`), its own transaction id if it has one, and what it sees.
    Sees {
        snapshot: String,
        xid: Option<String>,
        /// `read committed`, `repeatable read`, `serializable`.
        isolation: String,
        /// `false` for SERIALIZABLE transactions, whose rows are not read (predicate locks).
        rows_read: bool,
        tables: Vec<TableVersions>,
    },
}

/// One session's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Session index.
    pub session: usize,
    pub view: View,
}

/// What every session could see after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, Deserialize)]
pub struct VersionsReport {
    pub views: Vec<SessionView>,
}
