//! Settling: "completed or blocked?" for a launched step, decided by the step's answer or by the
//! server's say-so through the [`LockProbe`](crate::db::seam::LockProbe) — a slow step is never
//! taken for a blocked one. Each decision returns a [`Settled`] value; the caller keeps the list
//! of waiters.

use std::time::{Duration, Instant};

use super::Scheduler;
use crate::engine::lesson::Blocker;
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, EventKind, StepAnswer};

/// How long, at most, a step marked `always_waits` is watched for the server to report it
/// blocked (only to name whom it waits for; it is reported waiting either way). The watch ends
/// as soon as the step is seen blocked or answers; the cap only matters for a step that does
/// neither, and is generous because a loaded machine may start the statement late.
const GLANCE: Duration = Duration::from_millis(50);

/// Where a session's step stands after one settling decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settled {
    /// Still waiting (blocked on the server, or held back by a marker).
    Waiting,
    /// Reported complete, or nothing was running.
    Done,
}

impl Scheduler<'_> {
    /// Polls the waiters in launch order, repeating while a completion (or notice) may have
    /// released another waiter's marker. Returns the sessions still waiting.
    pub(super) async fn try_complete_steps(
        &mut self,
        mut waiting: Vec<usize>,
        nonblock: bool,
        retry: bool,
    ) -> Result<Vec<usize>> {
        loop {
            self.any_new_notice = false;
            let before = waiting.len();
            let mut have_blocker = false;
            let mut w = 0;
            while w < waiting.len() {
                let session = waiting[w];
                if self.try_complete(session, nonblock, retry).await? == Settled::Waiting {
                    if self.active[session]
                        .as_ref()
                        .is_some_and(|a| !a.blockers.is_empty())
                    {
                        have_blocker = true;
                    }
                    w += 1;
                } else {
                    waiting.remove(w);
                }
            }
            if !(have_blocker && (waiting.len() < before || self.any_new_notice)) {
                return Ok(waiting);
            }
        }
    }

    /// Waits for the session's active step to complete, or (with `nonblock`) until the server
    /// says it is blocked.
    pub(super) async fn try_complete(
        &mut self,
        session: usize,
        nonblock: bool,
        retry: bool,
    ) -> Result<Settled> {
        let Some(active) = self.active[session].as_ref() else {
            return Ok(Settled::Done);
        };
        let step = active.step;
        if !retry && active.blockers.contains(&Blocker::Once) {
            // `(*)`: reported waiting whatever happens, so the report order never depends on
            // timing. Still, look briefly so the timeline can say whom it waits for.
            let (at, blockers, forced) = self.glance_at_block(session).await?;
            self.report_waiting_at(at, session, blockers, forced);
            if forced {
                self.inspect_locks_once_blocked(session, step).await;
            } else {
                self.inspect_locks(at, session, step).await;
            }
            return Ok(Settled::Waiting);
        }
        let start = Instant::now();
        let mut canceled = false;
        let mut pause = self.settings.poll;
        loop {
            self.drain_notices(session);
            if self.active[session]
                .as_ref()
                .is_some_and(|a| a.answer.is_some())
            {
                break;
            }
            if let Some(answer) = self.sessions[session].try_answer() {
                self.store_answer(session, answer);
                continue;
            }
            // Right after a launch, ask the server back to back (each question is one round trip,
            // during which the answer may arrive); after that, after a growing pause.
            // A waiter re-polled (`retry`) was seen blocked before: one question settles it.
            let window = if retry {
                self.settings.eager.max(self.settings.poll)
            } else {
                self.settings.eager
            };
            let eager = nonblock && start.elapsed() < window;
            if !eager {
                let waited = tokio::time::timeout(pause, self.sessions[session].answer()).await;
                pause = (pause * 2).min(self.settings.poll_max.max(self.settings.poll));
                match waited {
                    Ok(Some(answer)) => {
                        self.store_answer(session, answer);
                        continue;
                    }
                    Ok(None) => return Err(gone(session)),
                    Err(_elapsed) => {}
                }
            }
            if nonblock && self.probe_while_waiting(session).await? {
                let seen_at = Instant::now();
                // The answer may have arrived while we asked.
                self.drain_notices(session);
                if let Some(answer) = self.sessions[session].try_answer() {
                    self.store_answer(session, answer);
                    break;
                }
                let blockers = self.probe.blockers(self.sessions[session].pid).await;
                if !retry {
                    self.report_waiting_at(seen_at, session, blockers, false);
                    self.inspect_locks(seen_at, session, step).await;
                }
                return Ok(Settled::Waiting);
            }
            if start.elapsed() > self.settings.step_timeout {
                if self.settings.cancel_and_wait && !canceled {
                    self.sessions[session].cancel().await;
                    canceled = true;
                    let after = start.elapsed();
                    self.record(
                        Instant::now(),
                        Some(session),
                        Some(step),
                        EventKind::Canceled { after },
                    );
                    continue;
                }
                if self.settings.cancel_and_wait
                    && start.elapsed() <= 2 * self.settings.step_timeout
                {
                    continue;
                }
                // Blocked behind sessions with nothing running: an order that cannot go on,
                // said in the server's terms (not "neither completed nor blocked").
                if !canceled && self.stuck_behind_idle(session).await? {
                    return Err(self.impossible(session, None).await);
                }
                if !canceled {
                    self.sessions[session].cancel().await;
                }
                return Err(TxlabError::StepTimeout {
                    step: self.steps[step].name.clone(),
                    session: (session + 1).to_string(),
                    seconds: self.settings.step_timeout.as_secs(),
                });
            }
        }
        if self.has_blocker(session) {
            if !retry {
                self.report_waiting(session, Vec::new(), false);
            }
            return Ok(Settled::Waiting);
        }
        self.report_completion(session);
        Ok(Settled::Done)
    }

    /// Watches a just-launched step for up to [`GLANCE`]: if the server reports it blocked,
    /// returns the blockers (observed); otherwise nothing (forced). An answer that arrives is kept
    /// for the step's later completion.
    async fn glance_at_block(&mut self, session: usize) -> Result<(Instant, Vec<BackendId>, bool)> {
        let start = Instant::now();
        let pid = self.sessions[session].pid;
        let mut pause = self.settings.poll;
        while start.elapsed() < GLANCE {
            if let Some(answer) = self.sessions[session].try_answer() {
                self.store_answer(session, answer);
                break;
            }
            if start.elapsed() >= self.settings.eager {
                // Past the eager window, pause (as `try_complete` does) rather than ask flat out.
                match tokio::time::timeout(pause, self.sessions[session].answer()).await {
                    Ok(Some(answer)) => {
                        self.store_answer(session, answer);
                        break;
                    }
                    Ok(None) => return Err(gone(session)),
                    Err(_elapsed) => {}
                }
                pause = (pause * 2).min(self.settings.poll_max.max(self.settings.poll));
            }
            if self.probe.is_blocked(pid).await? {
                let at = Instant::now();
                return Ok((at, self.probe.blockers(pid).await, false));
            }
        }
        Ok((Instant::now(), Vec::new(), true))
    }

    /// Asks the server whether the session's step is blocked, and stops asking if the step's answer
    /// arrives first (then the answer is stored and the probe counts as "not blocked"). A probe is
    /// a round trip on the control connection; a step that finishes meanwhile should not wait
    /// for it.
    async fn probe_while_waiting(&mut self, session: usize) -> Result<bool> {
        let probe = self.probe;
        let handle = &mut self.sessions[session];
        let pid = handle.pid;
        let raced = tokio::select! {
            biased;
            answer = handle.answer() => Err(answer),
            blocked = probe.is_blocked(pid) => Ok(blocked),
        };
        match raced {
            Ok(blocked) => blocked,
            Err(Some(answer)) => {
                self.store_answer(session, answer);
                Ok(false)
            }
            Err(None) => Err(gone(session)),
        }
    }

    pub(super) fn store_answer(&mut self, session: usize, answer: StepAnswer) {
        if let Some(active) = self.active[session].as_mut() {
            active.answer = Some(answer);
        }
    }

    /// Whether a marker still holds the session's answered step back.
    fn has_blocker(&self, session: usize) -> bool {
        let Some(active) = self.active[session].as_ref() else {
            return false;
        };
        let step_blocked = active.blockers.iter().any(|b| match b {
            Blocker::Step(other) => {
                let other_session = self.steps[*other].session;
                self.active[other_session]
                    .as_ref()
                    .is_some_and(|a| a.step == *other)
            }
            _ => false,
        });
        let notices_blocked = active
            .notice_targets
            .iter()
            .any(|&(s, target)| self.total_notices[s] < target);
        step_blocked || notices_blocked
    }

    /// Whether the session's step waits for a lock that only sessions with nothing running hold:
    /// nothing but one of their later steps can release it.
    pub(super) async fn stuck_behind_idle(&mut self, session: usize) -> Result<bool> {
        if !self.running_and_blocked(session).await? {
            return Ok(false);
        }
        let pid = self.sessions[session].pid;
        let holders = self.probe.blockers(pid).await;
        let idle = |holder: &BackendId| {
            self.sessions
                .iter()
                .position(|s| s.pid == *holder)
                .is_some_and(|s| self.active[s].as_ref().is_none_or(|a| a.answer.is_some()))
        };
        Ok(!holders.is_empty() && holders.iter().all(idle))
    }

    /// Cancels every running step (so the sessions can be closed) and says which step could not
    /// run because its session was still waiting.
    pub(super) async fn impossible(&mut self, session: usize, due: Option<usize>) -> TxlabError {
        let waiting = self.active[session]
            .as_ref()
            .map(|a| self.steps[a.step].name.clone())
            .unwrap_or_default();
        for s in 0..self.sessions.len() {
            let running = self.active[s].as_ref().is_some_and(|a| a.answer.is_none());
            if running {
                self.sessions[s].cancel().await;
                let _ = tokio::time::timeout(self.settings.step_timeout, self.sessions[s].answer())
                    .await;
            }
            self.active[s] = None;
            self.drain_notices(s);
        }
        TxlabError::ImpossibleInterleaving {
            waiting,
            due: due.map(|d| self.steps[d].name.clone()),
        }
    }

    pub(super) fn stuck(&self, session: usize) -> TxlabError {
        let step = self.active[session]
            .as_ref()
            .map(|a| self.steps[a.step].name.clone())
            .unwrap_or_default();
        TxlabError::StepTimeout {
            step,
            session: (session + 1).to_string(),
            seconds: self.settings.step_timeout.as_secs(),
        }
    }
}

fn gone(session: usize) -> TxlabError {
    TxlabError::Schedule(format!("session {} has gone away", session + 1))
}
