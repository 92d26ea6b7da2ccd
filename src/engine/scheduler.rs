//! The scheduler: launches a schedule's steps in order and decides, by asking the server, whether
//! each launched step completed or is blocked — never by sleeping. It follows PostgreSQL's
//! isolationtester (launching, deciding "completed or blocked", and reporting a completion are
//! separate decisions; waiters are re-polled in launch order; markers hold back reports), but
//! polls every millisecond instead of every ten.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::event::{Completion, Conflict, Event, EventKind, StatementResult, Timeline, TxEnd};
use super::gate::StepGate;
use super::inspect::Inspector;
use super::lesson::{Blocker, RetryOn, RetryPolicy, Schedule, ScheduledStep, StepDef};
use super::probe::BlockedProbe;
use super::session::{SessionHandle, StepAnswer};
use crate::error::{Result, TxlabError};

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
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            poll: Duration::from_millis(1),
            step_timeout: Duration::from_secs(10),
            reject_impossible: false,
            cancel_and_wait: false,
        }
    }
}

/// How long after a launch the scheduler keeps asking the server without pausing. Most steps
/// answer well within it; a step still running after it is asked once per poll interval.
const EAGER_PROBING: Duration = Duration::from_millis(3);

/// How long, at most, a step marked `always_waits` is watched for the server to report it
/// blocked (only to name whom it waits for; it is reported waiting either way). The watch ends
/// as soon as the step is seen blocked or answers; the cap only matters for a step that does
/// neither, and is generous because a loaded machine may start the statement late.
const GLANCE: Duration = Duration::from_millis(50);

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
    probe: &'r BlockedProbe<'r>,
    clock: Instant,
    settings: SchedulerSettings,
    active: Vec<Option<Active>>,
    total_notices: Vec<u32>,
    any_new_notice: bool,
    /// Values captured from steps' results, by name; `None` when the step returned no row.
    pub vars: BTreeMap<String, Option<String>>,
    pub timeline: Timeline,
    live: Option<mpsc::UnboundedSender<Event>>,
    retry: TxTracking,
    /// Passed before each launch (classroom pacing); `None` runs straight through.
    gate: Option<StepGate>,
    /// Lock and row-version reports (`--locks`, `--versions`).
    inspector: Option<&'r Inspector<'r>>,
    /// Completions seen at the last row-version report.
    inspected_completions: usize,
}

/// Per-session transaction bookkeeping: whether a transaction block is open and has failed (so a
/// COMMIT will roll back), and for retry wrappers the steps of the transaction in progress (to
/// replay them), the attempt number, and a failure waiting to be retried at the session's next
/// turn in the schedule (by then the others have moved on, as they would in real life).
#[derive(Default)]
struct TxTracking {
    policies: Vec<Option<RetryPolicy>>,
    tx_steps: Vec<Vec<ScheduledStep>>,
    in_tx: Vec<bool>,
    /// The last step of the open transaction failed (every statement but ROLLBACK [TO] and
    /// COMMIT fails in a failed transaction, so a later success means it was recovered).
    failed: Vec<bool>,
    attempt: Vec<u32>,
    pending: Vec<Option<String>>,
    seed: u64,
}

impl<'r> Scheduler<'r> {
    /// `steps` must already carry the SQL to send (isolation level applied).
    pub fn new(
        steps: &'r [StepDef],
        sessions: &'r mut [SessionHandle],
        probe: &'r BlockedProbe<'r>,
        clock: Instant,
        settings: SchedulerSettings,
    ) -> Scheduler<'r> {
        let n = sessions.len();
        Scheduler {
            steps,
            sessions,
            probe,
            clock,
            settings,
            active: (0..n).map(|_| None).collect(),
            total_notices: vec![0; n],
            any_new_notice: false,
            vars: BTreeMap::new(),
            timeline: Timeline::default(),
            live: None,
            retry: TxTracking {
                policies: vec![None; n],
                tx_steps: vec![Vec::new(); n],
                in_tx: vec![false; n],
                failed: vec![false; n],
                attempt: vec![1; n],
                pending: vec![None; n],
                seed: clock.elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15,
            },
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
        self.live = Some(live);
        self
    }

    fn record(
        &mut self,
        at: Instant,
        session: Option<usize>,
        step: Option<usize>,
        kind: EventKind,
    ) {
        let pid = session.map(|s| self.sessions[s].pid).unwrap_or(0);
        let event = Event {
            t: at.saturating_duration_since(self.clock),
            session,
            pid,
            step,
            kind,
        };
        if let Some(live) = &self.live {
            let _ = live.send(event.clone());
        }
        self.timeline.events.push(event);
    }

    /// Runs one schedule to the end: every step launched and every launched step reported.
    pub async fn run(&mut self, schedule: &Schedule) -> Result<()> {
        let mut waiting: Vec<usize> = Vec::new();
        for (position, scheduled) in schedule.steps.iter().enumerate() {
            let session = self.steps[scheduled.step].session;
            self.wait_for_session(session, &mut waiting, Some(scheduled.step))
                .await?;
            self.run_pending_retries(session, &mut waiting).await?;
            self.pass_gate(position, scheduled.step).await?;
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
            let Some(session) = (0..self.sessions.len()).find(|&s| self.retry.pending[s].is_some())
            else {
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
            if !self.try_complete(session, false, true).await? {
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

    /// Launches a step, then waits until it completes or is observed blocked, and re-polls the
    /// other waiters.
    async fn launch_and_settle(
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
        if must_wait {
            waiting.push(session);
        }
        self.inspect_versions().await;
        Ok(())
    }

    fn note_transaction_step(&mut self, session: usize, scheduled: &ScheduledStep) {
        if starts_transaction(&self.steps[scheduled.step].sql) {
            self.retry.tx_steps[session].clear();
            self.retry.in_tx[session] = true;
            self.retry.failed[session] = false;
        }
        self.retry.tx_steps[session].push(scheduled.clone());
    }

    /// The session's retry wrapper at work: roll back, back off, replay the transaction's steps
    /// up to the one that failed — again if it fails again, up to the policy's attempts.
    async fn run_pending_retries(
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
            let backoff = self.backoff(&policy, attempt);
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
            for (i, step) in replay.iter().enumerate() {
                self.wait_for_session(session, waiting, None).await?;
                if self.retry.pending[session].is_some() {
                    self.retry.tx_steps[session].extend_from_slice(&replay[i..]);
                    break;
                }
                self.launch_and_settle(&for_replay(step), waiting).await?;
            }
            self.wait_for_session(session, waiting, None).await?;
        }
        Ok(())
    }

    /// Exponential backoff with jitter: base × 2^(attempt − 2) plus up to one base at random.
    fn backoff(&mut self, policy: &RetryPolicy, attempt: u32) -> Duration {
        let exp = policy.base_backoff * 2u32.saturating_pow(attempt.saturating_sub(2)).min(1 << 10);
        if !policy.jitter {
            return exp;
        }
        // xorshift64: jitter needs no cryptographic randomness, only variety between runs.
        let mut x = self.retry.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.retry.seed = x;
        let frac = (x % 1000) as f64 / 1000.0;
        exp + policy.base_backoff.mul_f64(frac)
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

    /// Polls the waiters in launch order, repeating while a completion (or notice) may have
    /// released another waiter's marker.
    async fn try_complete_steps(
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
                if self.try_complete(session, nonblock, retry).await? {
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
    /// says it is blocked. Returns `true` while the step is still waiting.
    async fn try_complete(&mut self, session: usize, nonblock: bool, retry: bool) -> Result<bool> {
        let Some(active) = self.active[session].as_ref() else {
            return Ok(false);
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
            return Ok(true);
        }
        let start = Instant::now();
        let mut canceled = false;
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
            // during which the answer may arrive); after that, once per poll interval.
            let eager = nonblock && start.elapsed() < EAGER_PROBING;
            if !eager {
                match tokio::time::timeout(self.settings.poll, self.sessions[session].answer())
                    .await
                {
                    Ok(Some(answer)) => {
                        self.store_answer(session, answer);
                        continue;
                    }
                    Ok(None) => {
                        return Err(TxlabError::Schedule(format!(
                            "session {} has gone away",
                            session + 1
                        )));
                    }
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
                return Ok(true);
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
            return Ok(true);
        }
        self.report_completion(session);
        Ok(false)
    }

    /// Watches a just-launched step for up to [`GLANCE`]: if the server reports it blocked,
    /// returns the blockers (observed); otherwise nothing (forced). An answer that arrives is kept
    /// for the step's later completion.
    async fn glance_at_block(&mut self, session: usize) -> Result<(Instant, Vec<i32>, bool)> {
        let start = Instant::now();
        let pid = self.sessions[session].pid;
        while start.elapsed() < GLANCE {
            if let Some(answer) = self.sessions[session].try_answer() {
                self.store_answer(session, answer);
                break;
            }
            if self.probe.is_blocked(pid).await? {
                let at = Instant::now();
                return Ok((at, self.probe.blockers(pid).await, false));
            }
        }
        Ok((Instant::now(), Vec::new(), true))
    }

    /// Asks the gate, if there is one, before launching `step`; a "stop" ends the run.
    async fn pass_gate(&self, position: usize, step: usize) -> Result<()> {
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

    /// `--locks`: records who waits for whom, right after a step was observed blocked.
    async fn inspect_locks(&mut self, at: Instant, session: usize, step: usize) {
        let Some(inspector) = self.inspector.filter(|i| i.what.locks) else {
            return;
        };
        let pids: Vec<i32> = self.sessions.iter().map(|s| s.pid).collect();
        if let Some(report) = inspector.locks(&pids).await {
            self.record(at, Some(session), Some(step), EventKind::Locks(report));
        }
    }

    /// `--locks` for a step a `(*)` marker reported waiting without asking the server: waits,
    /// briefly and bounded, until the server sees it blocked, then records the report. (With
    /// `--locks` a deadlock victim's `deadlock_timeout` is longer than this wait.)
    async fn inspect_locks_once_blocked(&mut self, session: usize, step: usize) {
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
    async fn inspect_versions(&mut self) {
        let Some(inspector) = self.inspector.filter(|i| i.what.versions) else {
            return;
        };
        let completions = self.timeline.completions().count();
        if completions == self.inspected_completions {
            return;
        }
        self.inspected_completions = completions;
        let at = Instant::now();
        let busy: Vec<bool> = self.active.iter().map(Option::is_some).collect();
        let report = inspector.versions(self.sessions, &busy).await;
        self.record(at, None, None, EventKind::Versions(report));
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
            Err(None) => Err(TxlabError::Schedule(format!(
                "session {} has gone away",
                session + 1
            ))),
        }
    }

    fn store_answer(&mut self, session: usize, answer: StepAnswer) {
        if let Some(active) = self.active[session].as_mut() {
            active.answer = Some(answer);
        }
    }

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

    fn report_waiting(&mut self, session: usize, blockers: Vec<i32>, forced: bool) {
        self.report_waiting_at(Instant::now(), session, blockers, forced);
    }

    fn report_waiting_at(&mut self, at: Instant, session: usize, blockers: Vec<i32>, forced: bool) {
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

    fn report_completion(&mut self, session: usize) {
        let Some(active) = self.active[session].take() else {
            return;
        };
        let answer = active.answer.expect("completion without an answer");
        let step = &self.steps[active.step];
        for (i, name) in step.capture.iter().enumerate() {
            let value = first_row(&answer).and_then(|row| row.get(i).cloned().flatten());
            self.vars.insert(name.clone(), value);
        }
        if let Some(name) = &step.capture_rows {
            let count = answer.results.iter().rev().find_map(|r| match r {
                super::event::StatementResult::Rows { rows, .. } => Some(rows.len().to_string()),
                _ => None,
            });
            self.vars.insert(name.clone(), count);
        }
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

    /// Marks a failed transaction for retry at the session's next turn, if its policy covers
    /// the failure and attempts remain; a finished transaction resets the attempt count.
    fn decide_retry(
        &mut self,
        session: usize,
        sqlstate: Option<&str>,
        conflict: bool,
        tx_end: Option<TxEnd>,
    ) {
        self.retry.failed[session] = sqlstate.is_some();
        let covered = self.retry.policies[session].as_ref().and_then(|p| {
            let hit = p.on.iter().any(|on| match on {
                RetryOn::SqlState(code) => Some(code.as_str()) == sqlstate,
                RetryOn::Conflict => conflict,
            });
            (hit && self.retry.attempt[session] < p.max_attempts).then(|| match sqlstate {
                Some(code) => code.to_string(),
                None => "conflict".to_string(),
            })
        });
        if covered.is_some() {
            self.retry.pending[session] = covered;
        } else if tx_end.is_some() || !self.retry.in_tx[session] {
            self.retry.tx_steps[session].clear();
            self.retry.in_tx[session] = false;
            self.retry.failed[session] = false;
            if sqlstate.is_none() && !conflict {
                self.retry.attempt[session] = 1;
            }
        }
    }

    fn drain_notices(&mut self, session: usize) {
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

    /// Whether the session's step waits for a lock that only sessions with nothing running hold:
    /// nothing but one of their later steps can release it.
    async fn stuck_behind_idle(&mut self, session: usize) -> Result<bool> {
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
        let pid = self.sessions[session].pid;
        if !self.probe.is_blocked(pid).await? {
            return Ok(false);
        }
        let holders = self.probe.blockers(pid).await;
        let idle = |holder: &i32| {
            self.sessions
                .iter()
                .position(|s| s.pid == *holder)
                .is_some_and(|s| self.active[s].as_ref().is_none_or(|a| a.answer.is_some()))
        };
        Ok(!holders.is_empty() && holders.iter().all(idle))
    }

    /// Cancels every running step (so the sessions can be closed) and says which step could not
    /// run because its session was still waiting.
    async fn impossible(&mut self, session: usize, due: Option<usize>) -> TxlabError {
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

    fn stuck(&self, session: usize) -> TxlabError {
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

/// A step as a retry replays it: a `(*)` marker says the first attempt's statement will wait (a
/// deadlock victim's), which a replay, running after the others moved on, must not claim.
fn for_replay(step: &ScheduledStep) -> ScheduledStep {
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

fn first_row(answer: &StepAnswer) -> Option<&Vec<Option<String>>> {
    answer.results.iter().rev().find_map(|r| match r {
        super::event::StatementResult::Rows { rows, .. } => rows.first(),
        _ => None,
    })
}

/// Rows a step touched: the last command's count, or the rows of the last result set (RETURNING).
fn touched_rows(results: &[StatementResult]) -> u64 {
    match results.last() {
        Some(StatementResult::Command { rows_affected }) => *rows_affected,
        Some(StatementResult::Rows { rows, .. }) => rows.len() as u64,
        None => 0,
    }
}

/// Whether a step opens a transaction block.
fn starts_transaction(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("BEGIN") || upper.starts_with("START TRANSACTION")
}

/// Whether a step is a single transaction-ending statement.
pub fn tx_control(sql: &str) -> Option<TxEnd> {
    let body = sql.trim().trim_end_matches(';').trim();
    if body.contains(';') {
        return None;
    }
    let upper = body.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    match words.as_slice() {
        ["COMMIT" | "END", rest @ ..] if rest.first() != Some(&"PREPARED") => Some(TxEnd::Commit),
        ["ROLLBACK" | "ABORT", rest @ ..]
            if !matches!(rest.first(), Some(&"PREPARED") | Some(&"TO")) =>
        {
            Some(TxEnd::Rollback)
        }
        _ => None,
    }
}

/// Replaces `{{name}}` with a captured value as the server printed it; a value that was never
/// captured (the step that reads it failed or found no row) becomes `NULL`.
///
/// ```
/// use std::collections::BTreeMap;
/// use txlab::engine::scheduler::substitute;
///
/// let vars = BTreeMap::from([("balance".to_string(), Some("100.00".to_string()))]);
/// assert_eq!(substitute("SET balance = {{balance}} + 10", &vars), "SET balance = 100.00 + 10");
/// assert_eq!(substitute("{{missing}}", &vars), "NULL");
/// ```
pub fn substitute(sql: &str, vars: &BTreeMap<String, Option<String>>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        out.push_str(&rest[..start]);
        match vars.get(name) {
            Some(Some(value)) => out.push_str(value),
            _ => out.push_str("NULL"),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_captured_values_and_null_for_missing_ones() {
        let mut vars = BTreeMap::new();
        vars.insert("bal".to_string(), Some("100.00".to_string()));
        vars.insert("gone".to_string(), None);
        assert_eq!(
            substitute("SET balance = {{bal}} + 10", &vars),
            "SET balance = 100.00 + 10"
        );
        assert_eq!(
            substitute("x = {{ gone }} and {{never}}", &vars),
            "x = NULL and NULL"
        );
        assert_eq!(substitute("no braces {{ here", &vars), "no braces {{ here");
    }

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

    #[test]
    fn recognises_transaction_ends_but_not_savepoints_or_prepared() {
        assert_eq!(tx_control("COMMIT;"), Some(TxEnd::Commit));
        assert_eq!(tx_control("end"), Some(TxEnd::Commit));
        assert_eq!(tx_control("ROLLBACK"), Some(TxEnd::Rollback));
        assert_eq!(tx_control("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(tx_control("COMMIT PREPARED 'x'"), None);
        assert_eq!(tx_control("SELECT 1; COMMIT"), None);
    }
}
