//! Waits, as the pool scheduler sees them: a checkout that has not resolved is a wait *for a
//! connection* once the pool itself counts a waiter (the server cannot see it); a statement that
//! has not answered is a wait *for a lock* once the server's lock probe says so. Also where a pool
//! deadlock is noticed: every task holding a connection waits for another one.

use std::time::Instant;

use super::schedule::{PoolDeadlock, PoolScheduler};
use crate::engine::lesson::PoolOp;
use crate::error::{Result, TxlabError};
use crate::model::event::EventKind;

/// What a launched step is seen waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    Connection,
    Lock,
}

impl PoolScheduler<'_> {
    /// After each launch, every waiting task in launch order: its answer is reported now if its
    /// wait is over (the pool or the server says so), so a step that a launch released is always
    /// reported at the same place in the timeline.
    pub(super) async fn settle_waiters(&mut self) -> Result<()> {
        let started = Instant::now();
        for t in self.order.clone() {
            loop {
                if let Some((at, reply)) = self.tasks[t].reply_within(self.settings.poll).await {
                    self.report(t, at, reply);
                    self.give_back_if_failed(t).await?;
                    break;
                }
                if self.still_waiting(t).await? {
                    break;
                }
                if started.elapsed() > self.settings.step_timeout {
                    return Err(TxlabError::Schedule(format!(
                        "task {} stopped waiting but did not answer",
                        t + 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether a task seen waiting still waits: for a lock, as the server says; for a
    /// connection, as the pool's waiter count says (a pool serves its waiters first come,
    /// first served, so the earliest waiters are the ones that stopped waiting).
    pub(super) async fn still_waiting(&self, task: usize) -> Result<bool> {
        let Some(active) = self.active[task].as_ref() else {
            return Ok(false);
        };
        match active.wait {
            None => Ok(true),
            Some(Wait::Lock) => {
                let PoolOp::Run { conn } = &self.ops[active.step] else {
                    return Ok(true);
                };
                let probe = self.control.probe(self.all_pids()).await?;
                probe.is_blocked(self.pid_of(task, conn)).await
            }
            Some(Wait::Connection) => {
                let waiters: Vec<usize> = self
                    .order
                    .iter()
                    .copied()
                    .filter(|&t| {
                        self.active[t]
                            .as_ref()
                            .is_some_and(|a| a.wait == Some(Wait::Connection))
                    })
                    .collect();
                let rank = waiters.iter().position(|&t| t == task).unwrap_or(0);
                Ok(self.pool.status().waiting >= waiters.len() - rank)
            }
        }
    }

    /// Looks for the wait a pending step is in; records it and returns true when seen.
    pub(super) async fn observe(&mut self, task: usize, step: usize) -> Result<bool> {
        let now = Instant::now();
        match &self.ops[step] {
            PoolOp::Acquire { .. } => {
                let status = self.pool.status();
                let known = self.waiting_for(Wait::Connection);
                if status.waiting <= known {
                    return Ok(false);
                }
                let holders: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| !self.tasks[t].held.is_empty())
                    .collect();
                let server_waiters = self.server_waiters().await?;
                self.set_wait(task, Wait::Connection);
                self.events.record(
                    now,
                    Some(task),
                    0,
                    Some(step),
                    EventKind::PoolWaiting {
                        size: status.size,
                        in_use: status.in_use,
                        holders: holders.clone(),
                        server_waiters,
                    },
                );
                let all_waiting = holders.iter().all(|&h| {
                    self.active[h]
                        .as_ref()
                        .is_some_and(|a| a.wait == Some(Wait::Connection))
                });
                if self.deadlock.is_none() && all_waiting && status.in_use >= status.size {
                    self.deadlock = Some(PoolDeadlock {
                        tasks: holders,
                        size: status.size,
                        server_waiters,
                    });
                }
                Ok(true)
            }
            PoolOp::Run { conn } => {
                let pid = self.pid_of(task, conn);
                let probe = self.control.probe(self.all_pids()).await?;
                if !probe.is_blocked(pid).await? {
                    return Ok(false);
                }
                let blockers = probe.blockers(pid).await;
                self.set_wait(task, Wait::Lock);
                self.events.record(
                    now,
                    Some(task),
                    pid,
                    Some(step),
                    EventKind::Waiting {
                        blockers,
                        forced: false,
                    },
                );
                Ok(true)
            }
            PoolOp::Release { .. } | PoolOp::AwaitSessionEnd { .. } | PoolOp::Terminate { .. } => {
                Ok(false)
            }
        }
    }

    pub(super) fn set_wait(&mut self, task: usize, wait: Wait) {
        if let Some(a) = self.active[task].as_mut() {
            a.wait = Some(wait);
        }
    }

    pub(super) fn waiting_for(&self, wait: Wait) -> usize {
        self.active
            .iter()
            .flatten()
            .filter(|a| a.wait == Some(wait))
            .count()
    }

    /// How many of the connections in use the server sees waiting for a lock right now.
    pub(super) async fn server_waiters(&self) -> Result<usize> {
        let pids = self.all_pids();
        let probe = self.control.probe(pids.clone()).await?;
        let mut n = 0;
        for pid in pids {
            if probe.is_blocked(pid).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}
