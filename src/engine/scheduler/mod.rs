//! The scheduler: launches a schedule's steps in order and decides, by asking the server, whether
//! each launched step completed or is blocked — never by sleeping. It follows PostgreSQL's
//! isolationtester (launching, deciding "completed or blocked", and reporting a completion are
//! separate decisions; waiters are re-polled in launch order; markers hold back reports), but
//! polls every millisecond instead of every ten.
//!
//! One file per decision: [`launch`] sends a step, [`settle`] decides "completed or blocked?",
//! [`report`] turns a completion into events. Beside them: [`retry`] (retry wrappers), [`hooks`]
//! (the classroom step gate and `--locks`/`--versions`), [`capture`] (variables) and
//! [`recorder`] (the one place events are born). The server is reached only through the `db`
//! seam ([`LockProbe`] and the sessions' channels), so [`tests`] drive it with a fake.

mod backlog;
mod capture;
mod hooks;
mod launch;
pub(crate) mod recorder;
mod report;
mod retry;
mod settle;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::gate::StepGate;
use super::inspect::Inspector;
use super::lesson::{Blocker, RetryPolicy, Schedule, StepDef};
use super::session::SessionHandle;
use crate::db::seam::LockProbe;
use crate::error::{Result, TxlabError};
use crate::model::{Event, EventKind, StepAnswer, Timeline};
use backlog::Backlogs;
use recorder::Recorder;
use retry::TxTracking;

pub use super::sql_text::{substitute, tx_control};

/// Timing knobs; the defaults suit lessons.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerSettings {
    /// How long to wait for an answer before asking the server whether the step is blocked.
    pub poll: Duration,
    /// A step that neither completes nor blocks for this long is cancelled and the run fails.
    pub step_timeout: Duration,
    /// When a step is due while its session still waits for a lock held only by sessions that
    /// are idle (so only a later step could release it), cancel everything and fail with
    /// [`TxlabError::ImpossibleInterleaving`] instead of waiting. For running every interleaving:
    /// such an order cannot happen in real life.
    pub reject_impossible: bool,
    /// isolationtester's way with a step that neither completes nor blocks within
    /// `step_timeout`: cancel it, record [`EventKind::Canceled`], and keep waiting for its answer
    /// (failing only after twice the timeout), instead of cancelling and failing at once.
    pub cancel_and_wait: bool,
    /// How long after a launch the scheduler asks the server back to back, without pausing
    /// (each question is one round trip, during which the answer may arrive): most lock waits
    /// begin within it and are seen at once. Zero waits `poll` for the answer first (most steps
    /// answer within it and cost no question at all). A waiter being re-polled is always asked
    /// at once, for at least `poll`.
    pub eager: Duration,
    /// After the eager window the pause between questions starts at `poll` and doubles up to
    /// this: a step that runs for a while is asked about less and less often, leaving the CPU
    /// to the backends (on a small machine the probe competes with the very step it watches).
    pub poll_max: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            poll: Duration::from_millis(1),
            step_timeout: Duration::from_secs(10),
            reject_impossible: false,
            cancel_and_wait: false,
            eager: Duration::from_millis(3),
            poll_max: Duration::from_millis(1),
        }
    }
}

/// A step that was sent and has not been reported complete.
struct Active {
    step: usize,
    blockers: Vec<Blocker>,
    /// For `Notices` blockers: the session's notice count to wait for.
    notice_targets: Vec<(usize, u32)>,
    launched: Instant,
    answer: Option<StepAnswer>,
    reported_waiting: bool,
    /// Set before a COMMIT is sent when the transaction had already failed.
    commit_will_roll_back: bool,
}

/// Runs schedules over a set of connected sessions.
pub struct Scheduler<'r> {
    steps: &'r [StepDef],
    sessions: &'r mut [SessionHandle],
    probe: &'r dyn LockProbe,
    settings: SchedulerSettings,
    active: Vec<Option<Active>>,
    total_notices: Vec<u32>,
    any_new_notice: bool,
    /// Values captured from steps' results, by name; `None` when the step returned no row.
    pub vars: BTreeMap<String, Option<String>>,
    events: Recorder,
    retry: TxTracking,
    /// Replays suspended behind a later step, and the steps deferred meanwhile.
    backlog: Backlogs,
    /// Passed before each launch (classroom pacing); `None` runs straight through.
    gate: Option<StepGate>,
    /// Lock and row-version reports (`--locks`, `--versions`).
    inspector: Option<&'r Inspector<'r>>,
    /// Completions seen at the last row-version report.
    inspected_completions: usize,
}

impl<'r> Scheduler<'r> {
    /// `steps` must already carry the SQL to send (isolation level applied).
    pub fn new(
        steps: &'r [StepDef],
        sessions: &'r mut [SessionHandle],
        probe: &'r dyn LockProbe,
        clock: Instant,
        settings: SchedulerSettings,
    ) -> Scheduler<'r> {
        let n = sessions.len();
        Scheduler {
            steps,
            sessions,
            probe,
            settings,
            active: (0..n).map(|_| None).collect(),
            total_notices: vec![0; n],
            any_new_notice: false,
            vars: BTreeMap::new(),
            events: Recorder::new(clock),
            retry: TxTracking::new(n, clock),
            backlog: Backlogs::new(n),
            gate: None,
            inspector: None,
            inspected_completions: 0,
        }
    }

    /// Waits at `gate` before every scheduled launch (a retry wrapper's replays do not wait).
    pub fn with_gate(mut self, gate: StepGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Records lock and row-version reports as the inspector's settings ask.
    pub fn with_inspector(mut self, inspector: &'r Inspector<'r>) -> Self {
        self.inspector = Some(inspector);
        self
    }

    /// Gives sessions retry wrappers (index = session).
    pub fn with_retry_policies(mut self, policies: Vec<Option<RetryPolicy>>) -> Self {
        self.retry.policies = policies;
        self
    }

    /// Sends every event, as it is recorded, to `live` as well (for live displays).
    pub fn with_live_events(mut self, live: mpsc::UnboundedSender<Event>) -> Self {
        self.events.feed(live);
        self
    }

    /// The events recorded so far, leaving an empty timeline behind.
    pub fn take_timeline(&mut self) -> Timeline {
        std::mem::take(&mut self.events.timeline)
    }

    fn record(
        &mut self,
        at: Instant,
        session: Option<usize>,
        step: Option<usize>,
        kind: EventKind,
    ) {
        let pid = session.map(|s| self.sessions[s].pid).unwrap_or(0);
        self.events.record(at, session, pid, step, kind);
    }

    /// Runs one schedule to the end: every step launched and every launched step reported.
    pub async fn run(&mut self, schedule: &Schedule) -> Result<()> {
        let mut waiting: Vec<usize> = Vec::new();
        for (position, scheduled) in schedule.steps.iter().enumerate() {
            let session = self.steps[scheduled.step].session;
            self.advance_backlogs(&mut waiting).await?;
            if !self.backlog.holds(session) {
                self.wait_for_session(session, &mut waiting, Some(scheduled.step))
                    .await?;
                self.run_pending_retries(session, &mut waiting).await?;
            }
            if self.backlog.holds(session) {
                // Its replay waits for a later step: this step runs once the replay is done.
                self.pass_gate_timed(position, scheduled.step).await?;
                self.backlog.deferred[session].push_back(scheduled.clone());
                continue;
            }
            self.pass_gate_timed(position, scheduled.step).await?;
            self.launch_and_settle(scheduled, &mut waiting).await?;
        }
        loop {
            if self.settings.reject_impossible {
                for &session in &waiting {
                    if self.stuck_behind_idle(session).await? {
                        return Err(self.impossible(session, None).await);
                    }
                }
            }
            waiting = self.try_complete_steps(waiting, false, true).await?;
            if self.advance_backlogs(&mut waiting).await? {
                continue;
            }
            let Some(session) = self.retry.next_pending() else {
                break;
            };
            self.run_pending_retries(session, &mut waiting).await?;
        }
        self.inspect_versions().await;
        if let Some(&session) = waiting.first() {
            return Err(TxlabError::Schedule(format!(
                "the schedule ended with steps still waiting on each other (session {})",
                session + 1
            )));
        }
        for s in 0..self.sessions.len() {
            self.drain_notices(s);
        }
        Ok(())
    }

    /// A session runs one statement at a time: waits for its earlier step first, polling the
    /// other waiters meanwhile (one of them may be what it waits for).
    async fn wait_for_session(
        &mut self,
        session: usize,
        waiting: &mut Vec<usize>,
        due: Option<usize>,
    ) -> Result<()> {
        let start = Instant::now();
        while self.active[session].is_some() {
            if self.settings.reject_impossible && self.stuck_behind_idle(session).await? {
                return Err(self.impossible(session, due).await);
            }
            let settled = match self.try_complete(session, false, true).await {
                Err(TxlabError::ImpossibleInterleaving { waiting, due: None }) => {
                    return Err(TxlabError::ImpossibleInterleaving {
                        waiting,
                        due: due.map(|d| self.steps[d].name.clone()),
                    });
                }
                other => other?,
            };
            if settled == settle::Settled::Done {
                waiting.retain(|&w| w != session);
            }
            *waiting = self
                .try_complete_steps(std::mem::take(waiting), true, true)
                .await?;
            self.advance_backlogs(waiting).await?;
            if self.active[session].is_some() && start.elapsed() > 2 * self.settings.step_timeout {
                return Err(self.stuck(session));
            }
        }
        Ok(())
    }
}
