//! Replays that wait: a retry wrapper's replay runs at the session's turn, but one of its steps may
//! then wait for a lock that only a later step of the schedule can release (the server picked the
//! other deadlock victim than the lesson planned, say, so the other transaction still holds its
//! locks). Waiting for that replay would wait forever; instead the replay is *suspended*, like
//! any blocked step: the schedule goes on with the other sessions' steps, the session's own later
//! steps are *deferred* (a session runs one statement at a time), and once the blocked step
//! completes the replay resumes, then the deferred steps run, all reported in time order.
//!
//! A replayed step that waits for a step already running (which will end on its own) is still
//! waited for at once, so a run whose replays never wait that way keeps its order exactly.

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use super::Scheduler;
use super::retry::for_replay;
use super::settle::Settled;
use crate::engine::lesson::ScheduledStep;
use crate::error::Result;

/// Per session: the replay still to run, whether it is suspended behind a lock, and the
/// schedule's steps held back meanwhile.
#[derive(Default)]
pub(super) struct Backlogs {
    /// Steps of the transaction still to replay.
    pub(super) replay: Vec<VecDeque<ScheduledStep>>,
    /// The replay's current step waits for a lock only a later step can release.
    pub(super) suspended: Vec<bool>,
    /// The schedule's steps for the session that came due while its replay was suspended.
    pub(super) deferred: Vec<VecDeque<ScheduledStep>>,
}

impl Backlogs {
    /// Empty backlogs for `n` sessions.
    pub(super) fn new(n: usize) -> Backlogs {
        Backlogs {
            replay: vec![VecDeque::new(); n],
            suspended: vec![false; n],
            deferred: vec![VecDeque::new(); n],
        }
    }

    /// Whether the session's next scheduled step must wait behind a replay.
    pub(super) fn holds(&self, session: usize) -> bool {
        self.suspended[session] || !self.deferred[session].is_empty()
    }
}

impl Scheduler<'_> {
    /// Replays the session's remaining steps one at a time. Stops early when a replayed step
    /// failed again (a retry is pending: the steps not replayed go back to the transaction's
    /// steps, to be replayed by the next attempt) or waits for a lock only a later step can
    /// release (suspended).
    pub(super) async fn replay(&mut self, session: usize, waiting: &mut Vec<usize>) -> Result<()> {
        loop {
            self.wait_for_replayed_step(session, waiting).await?;
            if self.backlog.suspended[session] {
                return Ok(());
            }
            if self.retry.pending[session].is_some() {
                let rest = std::mem::take(&mut self.backlog.replay[session]);
                self.retry.tx_steps[session].extend(rest);
                return Ok(());
            }
            let Some(step) = self.backlog.replay[session].pop_front() else {
                return Ok(());
            };
            self.launch_and_settle(&for_replay(&step), waiting).await?;
        }
    }

    /// Waits for the session's replayed step, polling the other waiters meanwhile, unless only a
    /// later step can release it: then the replay is marked suspended and this returns at once.
    async fn wait_for_replayed_step(
        &mut self,
        session: usize,
        waiting: &mut Vec<usize>,
    ) -> Result<()> {
        let start = Instant::now();
        while self.active[session].is_some() {
            if self.only_later_steps_release(session).await? {
                self.backlog.suspended[session] = true;
                return Ok(());
            }
            if self.try_complete(session, true, true).await? == Settled::Done {
                waiting.retain(|&w| w != session);
            }
            *waiting = self
                .try_complete_steps(std::mem::take(waiting), true, true)
                .await?;
            if self.active[session].is_some() && start.elapsed() > 2 * self.settings.step_timeout {
                return Err(self.stuck(session));
            }
        }
        Ok(())
    }

    /// Resumes every backlog whose blocked step has completed: the rest of the replay (or the
    /// retry its failure asked for), then the deferred steps, until each session is blocked
    /// again or has no backlog. Returns whether anything was launched.
    pub(super) async fn advance_backlogs(&mut self, waiting: &mut Vec<usize>) -> Result<bool> {
        let mut launched = false;
        for session in 0..self.sessions.len() {
            while self.active[session].is_none() {
                if self.backlog.suspended[session] {
                    self.backlog.suspended[session] = false;
                    self.replay(session, waiting).await?;
                } else if self.retry.pending[session].is_some()
                    && !self.backlog.deferred[session].is_empty()
                {
                    self.run_pending_retries(session, waiting).await?;
                } else if let Some(step) = self.backlog.deferred[session].pop_front() {
                    self.launch_and_settle(&step, waiting).await?;
                } else {
                    break;
                }
                launched = true;
            }
        }
        Ok(launched)
    }

    /// Whether the session's running step waits for a lock that nothing running will release:
    /// every session it waits for (directly, or through other waiting sessions) has nothing
    /// running, so only one of their later steps can. A lock held outside the run, a running
    /// holder, or a cycle (the deadlock detector will break it) means waiting is right.
    async fn only_later_steps_release(&mut self, session: usize) -> Result<bool> {
        let mut seen = BTreeSet::from([session]);
        let mut frontier = vec![session];
        while let Some(s) = frontier.pop() {
            if !self.running_and_blocked(s).await? {
                return Ok(false);
            }
            let holders = self.probe.blockers(self.sessions[s].pid).await;
            if holders.is_empty() {
                return Ok(false);
            }
            for holder in holders {
                let Some(h) = self.sessions.iter().position(|x| x.pid == holder) else {
                    return Ok(false);
                };
                let idle = self.active[h].as_ref().is_none_or(|a| a.answer.is_some());
                if idle {
                    continue;
                }
                if !seen.insert(h) {
                    return Ok(false);
                }
                frontier.push(h);
            }
        }
        Ok(true)
    }

    /// Whether the session has a step without an answer that the server says is blocked.
    pub(super) async fn running_and_blocked(&mut self, session: usize) -> Result<bool> {
        self.drain_notices(session);
        let Some(active) = self.active[session].as_ref() else {
            return Ok(false);
        };
        if active.answer.is_some() {
            return Ok(false);
        }
        if let Some(answer) = self.sessions[session].try_answer() {
            self.store_answer(session, answer);
            return Ok(false);
        }
        self.probe.is_blocked(self.sessions[session].pid).await
    }
}
