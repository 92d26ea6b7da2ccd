//! Hooks around the schedule that change nothing in it: the classroom's step gate (asked before
//! each launch) and the `--locks` / `--versions` inspection reports.

use std::time::{Duration, Instant};

use super::Scheduler;
use crate::engine::sql_text::substitute;
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, EventKind};

impl Scheduler<'_> {
    /// Asks the gate, if there is one, before launching `step`; a "stop" ends the run.
    pub(super) async fn pass_gate(&self, position: usize, step: usize) -> Result<()> {
        let Some(gate) = &self.gate else {
            return Ok(());
        };
        let sql = substitute(&self.steps[step].sql, &self.vars);
        let pids = self.sessions.iter().map(|s| s.pid).collect();
        if gate.pass(position, step, sql, pids).await {
            Ok(())
        } else {
            Err(TxlabError::Stopped)
        }
    }

    /// [`pass_gate`](Self::pass_gate), with the time spent at the gate taken off the timeline.
    pub(super) async fn pass_gate_timed(&mut self, position: usize, step: usize) -> Result<()> {
        let at_gate = Instant::now();
        self.pass_gate(position, step).await?;
        if self.gate.is_some() {
            self.events.pause(at_gate.elapsed());
        }
        Ok(())
    }

    /// `--locks`: records who waits for whom, right after a step was observed blocked.
    pub(super) async fn inspect_locks(&mut self, at: Instant, session: usize, step: usize) {
        let Some(inspector) = self.inspector.filter(|i| i.what.locks) else {
            return;
        };
        let pids: Vec<BackendId> = self.sessions.iter().map(|s| s.pid).collect();
        if let Some(report) = inspector.locks(&pids).await {
            self.record(at, Some(session), Some(step), EventKind::Locks(report));
        }
    }

    /// `--locks` for a step a `(*)` marker reported waiting without asking the server: waits,
    /// briefly and bounded, until the server sees it blocked, then records the report. (With
    /// `--locks` a deadlock victim's `deadlock_timeout` is longer than this wait.)
    pub(super) async fn inspect_locks_once_blocked(&mut self, session: usize, step: usize) {
        if !self.inspector.is_some_and(|i| i.what.locks) {
            return;
        }
        let pid = self.sessions[session].pid;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(200) {
            match self.probe.is_blocked(pid).await {
                Ok(true) => return self.inspect_locks(Instant::now(), session, step).await,
                Ok(false) => tokio::time::sleep(self.settings.poll).await,
                Err(_) => return,
            }
        }
    }

    /// `--versions`: after something completed, records what every idle session sees.
    pub(super) async fn inspect_versions(&mut self) {
        let Some(inspector) = self.inspector.filter(|i| i.what.versions) else {
            return;
        };
        let completions = self.events.timeline.completions().count();
        if completions == self.inspected_completions {
            return;
        }
        self.inspected_completions = completions;
        let at = Instant::now();
        let busy: Vec<bool> = self.active.iter().map(Option::is_some).collect();
        let report = inspector.versions(self.sessions, &busy).await;
        self.record(at, None, None, EventKind::Versions(report));
    }
}
