//! The retry wrapper: when a session's policy covers a failure (a SQLSTATE, or an optimistic
//! conflict), roll the transaction back, back off, and replay its steps at the session's next turn
//! in the schedule (by then the others have moved on, as they would in real life).

use std::time::{Duration, Instant};

use super::Scheduler;
use crate::engine::lesson::{Blocker, RetryOn, RetryPolicy, ScheduledStep};
use crate::error::Result;
use crate::model::{EventKind, TxEnd};

/// Per-session transaction bookkeeping: whether a transaction block is open and has failed (so a
/// COMMIT will roll back), and for retry wrappers the steps of the transaction in progress (to
/// replay them), the attempt number, and a failure waiting to be retried.
#[derive(Default)]
pub(super) struct TxTracking {
    pub(super) policies: Vec<Option<RetryPolicy>>,
    pub(super) tx_steps: Vec<Vec<ScheduledStep>>,
    pub(super) in_tx: Vec<bool>,
    /// The last step of the open transaction failed (every statement but ROLLBACK [TO] and
    /// COMMIT fails in a failed transaction, so a later success means it was recovered).
    pub(super) failed: Vec<bool>,
    attempt: Vec<u32>,
    pub(super) pending: Vec<Option<String>>,
    seed: u64,
}

impl TxTracking {
    /// Bookkeeping for `n` sessions; the jitter seed comes from the run's clock.
    pub(super) fn new(n: usize, clock: Instant) -> TxTracking {
        TxTracking {
            policies: vec![None; n],
            tx_steps: vec![Vec::new(); n],
            in_tx: vec![false; n],
            failed: vec![false; n],
            attempt: vec![1; n],
            pending: vec![None; n],
            seed: clock.elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The session opened a transaction block.
    pub(super) fn begin(&mut self, session: usize) {
        self.tx_steps[session].clear();
        self.in_tx[session] = true;
        self.failed[session] = false;
    }

    /// The first session with a retry waiting.
    pub(super) fn next_pending(&self) -> Option<usize> {
        self.pending.iter().position(Option::is_some)
    }

    /// Exponential backoff with jitter: base × 2^(attempt − 2) plus up to one base at random.
    fn backoff(&mut self, policy: &RetryPolicy, attempt: u32) -> Duration {
        let exp = policy.base_backoff * 2u32.saturating_pow(attempt.saturating_sub(2)).min(1 << 10);
        if !policy.jitter {
            return exp;
        }
        // xorshift64: jitter needs no cryptographic randomness, only variety between runs.
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        let frac = (x % 1000) as f64 / 1000.0;
        exp + policy.base_backoff.mul_f64(frac)
    }
}

impl Scheduler<'_> {
    /// The session's retry wrapper at work: roll back, back off, replay the transaction's steps
    /// up to the one that failed — again if it fails again, up to the policy's attempts. A replay
    /// that waits for a later step is suspended and finished by [`Scheduler::advance_backlogs`].
    pub(super) async fn run_pending_retries(
        &mut self,
        session: usize,
        waiting: &mut Vec<usize>,
    ) -> Result<()> {
        while let Some(reason) = self.retry.pending[session].take() {
            let Some(policy) = self.retry.policies[session].clone() else {
                break;
            };
            self.retry.attempt[session] += 1;
            let attempt = self.retry.attempt[session];
            // End the failed transaction (aborted by an error, or still open after a conflict).
            let _ = self.sessions[session].run("ROLLBACK").await;
            while self.sessions[session].notices.try_recv().is_ok() {}
            let backoff = self.retry.backoff(&policy, attempt);
            tokio::time::sleep(backoff).await;
            self.retry.in_tx[session] = false;
            self.record(
                Instant::now(),
                Some(session),
                None,
                EventKind::Retry {
                    attempt,
                    max_attempts: policy.max_attempts,
                    backoff,
                    reason,
                },
            );
            let replay = std::mem::take(&mut self.retry.tx_steps[session]);
            self.backlog.replay[session] = replay.into();
            self.replay(session, waiting).await?;
            if self.backlog.suspended[session] {
                // A replayed step waits for a later step: the schedule goes on (see backlog).
                break;
            }
        }
        Ok(())
    }

    /// Marks a failed transaction for retry at the session's next turn, if its policy covers
    /// the failure and attempts remain; a finished transaction resets the attempt count.
    pub(super) fn decide_retry(
        &mut self,
        session: usize,
        sqlstate: Option<&str>,
        conflict: bool,
        tx_end: Option<TxEnd>,
    ) {
        let retry = &mut self.retry;
        retry.failed[session] = sqlstate.is_some();
        let covered = retry.policies[session].as_ref().and_then(|p| {
            let hit = p.on.iter().any(|on| match on {
                RetryOn::SqlState(code) => Some(code.as_str()) == sqlstate,
                RetryOn::Conflict => conflict,
            });
            (hit && retry.attempt[session] < p.max_attempts).then(|| match sqlstate {
                Some(code) => code.to_string(),
                None => "conflict".to_string(),
            })
        });
        if covered.is_some() {
            retry.pending[session] = covered;
        } else if tx_end.is_some() || !retry.in_tx[session] {
            retry.tx_steps[session].clear();
            retry.in_tx[session] = false;
            retry.failed[session] = false;
            if sqlstate.is_none() && !conflict {
                retry.attempt[session] = 1;
            }
        }
    }
}

/// A step as a retry replays it: a `(*)` marker says the first attempt's statement will wait (a
/// deadlock victim's), which a replay, running after the others moved on, must not claim.
pub(super) fn for_replay(step: &ScheduledStep) -> ScheduledStep {
    ScheduledStep {
        step: step.step,
        blockers: step
            .blockers
            .iter()
            .filter(|b| **b != Blocker::Once)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_drop_the_forced_wait_marker_but_keep_the_others() {
        let step = ScheduledStep {
            step: 4,
            blockers: vec![Blocker::Once, Blocker::Step(2)],
        };
        let replay = for_replay(&step);
        assert_eq!(replay.step, 4);
        assert_eq!(replay.blockers, vec![Blocker::Step(2)]);
    }
}
