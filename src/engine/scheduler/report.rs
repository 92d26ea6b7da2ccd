//! Reporting: turning a settled step into events — "waiting" (with whom the server says it waits
//! for), or its completion (results, error, how the transaction ended, conflicts, the NOTIFYs the
//! session received) — and the notices sessions receive meanwhile.

use std::time::Instant;

use super::Scheduler;
use super::capture::{capture, touched_rows};
use crate::engine::sql_text::tx_control;
use crate::model::{BackendId, Completion, Conflict, EventKind, TxEnd};

impl Scheduler<'_> {
    pub(super) fn report_waiting(
        &mut self,
        session: usize,
        blockers: Vec<BackendId>,
        forced: bool,
    ) {
        self.report_waiting_at(Instant::now(), session, blockers, forced);
    }

    pub(super) fn report_waiting_at(
        &mut self,
        at: Instant,
        session: usize,
        blockers: Vec<BackendId>,
        forced: bool,
    ) {
        let Some(active) = self.active[session].as_mut() else {
            return;
        };
        active.reported_waiting = true;
        let step = active.step;
        self.record(
            at,
            Some(session),
            Some(step),
            EventKind::Waiting { blockers, forced },
        );
    }

    pub(super) fn report_completion(&mut self, session: usize) {
        let Some(active) = self.active[session].take() else {
            return;
        };
        let answer = active.answer.expect("completion without an answer");
        let step = &self.steps[active.step];
        capture(step, &answer, &mut self.vars);
        let tx_end = match (tx_control(&step.sql), &answer.error) {
            (Some(TxEnd::Commit), None) if active.commit_will_roll_back => {
                Some(TxEnd::CommitBecameRollback)
            }
            (Some(end), None) => Some(end),
            _ => None,
        };
        let conflict = match (step.expect_rows, &answer.error) {
            (Some(expected), None) => {
                let touched = touched_rows(&answer.results);
                (touched != expected).then_some(Conflict {
                    expected_rows: expected,
                    touched_rows: touched,
                })
            }
            _ => None,
        };
        self.decide_retry(
            session,
            answer.error.as_ref().map(|e| e.sqlstate.as_str()),
            conflict.is_some(),
            tx_end,
        );
        let completion = Completion {
            results: answer.results,
            error: answer.error,
            tx_end,
            waited: active
                .reported_waiting
                .then(|| answer.at.saturating_duration_since(active.launched)),
            conflict,
        };
        self.record(
            answer.at,
            Some(session),
            Some(active.step),
            EventKind::Completed(completion),
        );
        // Like isolationtester, report the NOTIFYs the session has received once a step of it
        // completes.
        while let Ok(n) = self.sessions[session].notifications.try_recv() {
            self.record(
                n.at,
                Some(session),
                Some(active.step),
                EventKind::Notification {
                    channel: n.channel,
                    payload: n.payload,
                    sender_pid: n.sender_pid,
                },
            );
        }
    }

    /// Records the notices the session's backend has sent so far.
    pub(super) fn drain_notices(&mut self, session: usize) {
        while let Ok(notice) = self.sessions[session].notices.try_recv() {
            self.total_notices[session] += 1;
            self.any_new_notice = true;
            let step = self.active[session].as_ref().map(|a| a.step);
            self.record(
                notice.at,
                Some(session),
                step,
                EventKind::Notice {
                    severity: notice.severity,
                    message: notice.message,
                    detail: notice.detail,
                    hint: notice.hint,
                },
            );
        }
    }
}
