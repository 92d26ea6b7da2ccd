//! `--locks` in a pool lesson: the moment a task is seen waiting (for a connection or for a
//! lock), who waits for whom. Lock edges come from the server (`pg_locks`, as in every lesson);
//! pool edges from the pool's own state (which tasks hold its connections, which wait for one),
//! since the server cannot see them; a cycle is looked for through both.

use std::time::Instant;

use super::schedule::PoolScheduler;
use super::waits::Wait;
use crate::model::event::EventKind;
use crate::model::inspect::{LockReport, PoolWait, find_task_cycle};

impl PoolScheduler<'_> {
    /// Records a lock report right after `task`'s step was seen waiting, when `--locks` is on.
    pub(super) async fn inspect_locks(&mut self, at: Instant, task: usize, step: usize) {
        if !self.locks {
            return;
        }
        let pids = self.all_pids();
        let Some(waits) = self.control.lock_waits(&pids).await else {
            return;
        };
        let cycle = LockReport::find_cycle(&waits, &pids);
        let holders: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| !self.tasks[t].held.is_empty())
            .collect();
        let size = self.pool.status().size;
        let pool_waits: Vec<PoolWait> = (0..self.tasks.len())
            .filter(|&t| {
                self.active[t]
                    .as_ref()
                    .is_some_and(|a| a.wait == Some(Wait::Connection))
            })
            .map(|t| PoolWait {
                task: t,
                holders: holders.clone(),
                size,
            })
            .collect();
        let task_of = |pid: i32| {
            self.tasks
                .iter()
                .position(|t| t.held.iter().any(|(_, p)| *p == pid))
        };
        let task_cycle = find_task_cycle(&waits, &pool_waits, &task_of);
        self.events.record(
            at,
            Some(task),
            0,
            Some(step),
            EventKind::Locks(LockReport {
                waits,
                cycle,
                pool_waits,
                task_cycle,
            }),
        );
    }
}
