//! Launching: send a step's SQL (variables substituted) to its session, note what the scheduler
//! must know about it later (markers, notice targets, whether a COMMIT will roll back), and record
//! the launch.

use std::time::Instant;

use super::{Active, Scheduler};
use crate::engine::lesson::{Blocker, ScheduledStep};
use crate::engine::sql_text::{starts_transaction, substitute, tx_control};
use crate::error::{Result, TxlabError};
use crate::model::{EventKind, TxEnd};

impl Scheduler<'_> {
    /// Launches a step, then waits until it completes or is observed blocked, and re-polls the
    /// other waiters.
    pub(super) async fn launch_and_settle(
        &mut self,
        scheduled: &ScheduledStep,
        waiting: &mut Vec<usize>,
    ) -> Result<()> {
        let session = self.steps[scheduled.step].session;
        self.launch(session, scheduled.step, &scheduled.blockers)
            .await?;
        self.note_transaction_step(session, scheduled);
        let must_wait = self.try_complete(session, true, false).await?;
        *waiting = self
            .try_complete_steps(std::mem::take(waiting), true, true)
            .await?;
        if must_wait == super::settle::Settled::Waiting {
            waiting.push(session);
        }
        self.inspect_versions().await;
        Ok(())
    }

    fn note_transaction_step(&mut self, session: usize, scheduled: &ScheduledStep) {
        if starts_transaction(&self.steps[scheduled.step].sql) {
            self.retry.begin(session);
        }
        self.retry.tx_steps[session].push(scheduled.clone());
    }

    async fn launch(&mut self, session: usize, step: usize, blockers: &[Blocker]) -> Result<()> {
        let sql = substitute(&self.steps[step].sql, &self.vars);
        // Will this COMMIT roll back? Known when the scheduler saw the transaction begin; asked of
        // the server otherwise (a BEGIN in a session's setup, say).
        let commit_will_roll_back = matches!(tx_control(&sql), Some(TxEnd::Commit))
            && if self.retry.in_tx[session] {
                self.retry.failed[session]
            } else {
                self.probe
                    .transaction_failed(self.sessions[session].pid)
                    .await
            };
        let notice_targets = blockers
            .iter()
            .filter_map(|b| match b {
                Blocker::Notices { step, count } => {
                    let s = self.steps[*step].session;
                    Some((s, self.total_notices[s] + count))
                }
                _ => None,
            })
            .collect();
        let now = Instant::now();
        if !self.sessions[session].send(&sql) {
            return Err(TxlabError::Schedule(format!(
                "session {} has gone away",
                session + 1
            )));
        }
        self.record(now, Some(session), Some(step), EventKind::Launch { sql });
        self.active[session] = Some(Active {
            step,
            blockers: blockers.to_vec(),
            notice_targets,
            launched: now,
            answer: None,
            reported_waiting: false,
            commit_will_roll_back,
        });
        Ok(())
    }
}
