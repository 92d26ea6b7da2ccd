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
    /// Pool lessons: the tasks waiting for a connection at that moment, from the pool's own
    /// state (the server cannot see these waits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool_waits: Vec<PoolWait>,
    /// Pool lessons: a wait-for cycle among the tasks, through the pool and through locks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_cycle: Option<Vec<TaskHop>>,
}

/// A task waiting for a connection from a full pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolWait {
    /// The waiting task (session index).
    pub task: usize,
    /// The tasks holding the pool's connections.
    pub holders: Vec<usize>,
    pub size: usize,
}

/// What a task in a wait-for cycle waits through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// A lock held by a backend of the next task (the server's edge).
    Lock,
    /// A connection of the pool, which the next task holds (the pool's edge).
    Pool,
}

/// One hop of a cycle among tasks: `task` waits, through `via`, for the next hop's task (the
/// last hop's for the first's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskHop {
    pub task: usize,
    pub via: Via,
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

/// A cycle among tasks, or `None`. `task_of` maps a backend to the task holding it. Lock edges
/// come from the server (`waits`); a pool wait is an edge to each holder but the waiter itself,
/// counted only when every such holder waits too: a pool wait ends when *any* holder gives a
/// connection back, so it is part of a deadlock only when none of them can. Lowest task first.
pub fn find_task_cycle(
    waits: &[LockWait],
    pool_waits: &[PoolWait],
    task_of: &dyn Fn(i32) -> Option<usize>,
) -> Option<Vec<TaskHop>> {
    let mut edges: Vec<(usize, usize, Via)> = Vec::new();
    for w in waits {
        if let (Some(a), Some(b)) = (task_of(w.waiter), task_of(w.holder))
            && a != b
            && !edges.contains(&(a, b, Via::Lock))
        {
            edges.push((a, b, Via::Lock));
        }
    }
    let lock_waiters: Vec<usize> = edges.iter().map(|&(a, _, _)| a).collect();
    let waiting = |t: usize| pool_waits.iter().any(|p| p.task == t) || lock_waiters.contains(&t);
    for p in pool_waits {
        let others: Vec<usize> = p.holders.iter().copied().filter(|&h| h != p.task).collect();
        if !others.is_empty() && others.iter().all(|&h| waiting(h)) {
            edges.extend(others.iter().map(|&h| (p.task, h, Via::Pool)));
        }
    }
    edges.sort();
    let mut starts: Vec<usize> = edges.iter().map(|&(a, _, _)| a).collect();
    starts.dedup();
    for start in starts {
        let mut path = Vec::new();
        if walk_tasks(&edges, start, start, &mut path) {
            return Some(path);
        }
    }
    None
}

fn walk_tasks(
    edges: &[(usize, usize, Via)],
    start: usize,
    here: usize,
    path: &mut Vec<TaskHop>,
) -> bool {
    for &(_, next, via) in edges.iter().filter(|e| e.0 == here) {
        path.push(TaskHop { task: here, via });
        if next == start {
            return true;
        }
        if !path.iter().any(|h| h.task == next) && walk_tasks(edges, start, next, path) {
            return true;
        }
        path.pop();
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(waiter: i32, holder: i32) -> LockWait {
        LockWait {
            waiter,
            holder,
            locktype: "transactionid".into(),
            wanted: "ShareLock".into(),
            held: vec!["ExclusiveLock".into()],
            relation: None,
            tuple: None,
            transaction: Some("900".into()),
            row: None,
        }
    }

    fn pool(task: usize, holders: &[usize]) -> PoolWait {
        PoolWait {
            task,
            holders: holders.to_vec(),
            size: holders.len(),
        }
    }

    /// Backends 100 + task (and 200 + task for a second connection).
    fn task_of(pid: i32) -> Option<usize> {
        Some((pid % 100) as usize)
    }

    #[test]
    fn two_tasks_each_waiting_for_the_pool_the_other_holds_are_a_cycle() {
        let cycle = find_task_cycle(&[], &[pool(0, &[0, 1]), pool(1, &[0, 1])], &task_of);
        assert_eq!(
            cycle,
            Some(vec![
                TaskHop {
                    task: 0,
                    via: Via::Pool
                },
                TaskHop {
                    task: 1,
                    via: Via::Pool
                }
            ])
        );
    }

    #[test]
    fn a_pool_wait_is_no_cycle_while_some_holder_can_still_give_a_connection_back() {
        // t2 waits for t1's lock, t3 for the pool (held by t1, t2): t1 waits for nothing.
        let cycle = find_task_cycle(&[lock(101, 100)], &[pool(2, &[0, 1])], &task_of);
        assert_eq!(cycle, None);
    }

    #[test]
    fn a_cycle_may_run_through_a_lock_and_through_the_pool() {
        // t1 waits for the pool that t2 holds; t2 waits for a lock t1 holds.
        let cycle = find_task_cycle(&[lock(101, 200)], &[pool(0, &[0, 1])], &task_of);
        assert_eq!(
            cycle,
            Some(vec![
                TaskHop {
                    task: 0,
                    via: Via::Pool
                },
                TaskHop {
                    task: 1,
                    via: Via::Lock
                }
            ])
        );
    }
}
