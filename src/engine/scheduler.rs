//! The scheduler: launches a schedule's steps in order and decides, by asking the server, whether
//! each launched step completed or is blocked — never by sleeping. It follows PostgreSQL's
//! isolationtester (launching, deciding "completed or blocked", and reporting a completion are
//! separate decisions; waiters are re-polled in launch order; markers hold back reports), but
//! polls every millisecond instead of every ten.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::event::{Completion, Event, EventKind, Timeline, TxEnd};
use super::lesson::{Blocker, Schedule, StepDef};
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
        }
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
        for scheduled in &schedule.steps {
            let session = self.steps[scheduled.step].session;

            // A session runs one statement at a time: wait for its earlier step first, polling the
            // other waiters meanwhile (one of them may be what it waits for).
            if self.active[session].is_some() {
                let start = Instant::now();
                while self.active[session].is_some() {
                    if self.settings.reject_impossible && self.stuck_behind_idle(session).await? {
                        return Err(self.impossible(session, Some(scheduled.step)).await);
                    }
                    if !self.try_complete(session, false, true).await? {
                        waiting.retain(|&w| w != session);
                    }
                    waiting = self.try_complete_steps(waiting, true, true).await?;
                    if self.active[session].is_some()
                        && start.elapsed() > 2 * self.settings.step_timeout
                    {
                        return Err(self.stuck(session));
                    }
                }
            }

            self.launch(session, scheduled.step, &scheduled.blockers)
                .await?;
            let must_wait = self.try_complete(session, true, false).await?;
            waiting = self.try_complete_steps(waiting, true, true).await?;
            if must_wait {
                waiting.push(session);
            }
        }
        if self.settings.reject_impossible {
            for &session in &waiting {
                if self.stuck_behind_idle(session).await? {
                    return Err(self.impossible(session, None).await);
                }
            }
        }
        let left = self.try_complete_steps(waiting, false, true).await?;
        if let Some(&session) = left.first() {
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

    async fn launch(&mut self, session: usize, step: usize, blockers: &[Blocker]) -> Result<()> {
        let sql = substitute(&self.steps[step].sql, &self.vars);
        let commit_will_roll_back = matches!(tx_control(&sql), Some(TxEnd::Commit))
            && self
                .probe
                .transaction_failed(self.sessions[session].pid)
                .await;
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
            self.report_waiting(session, Vec::new(), true);
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
        let completion = Completion {
            results: answer.results,
            error: answer.error,
            tx_end,
            waited: active
                .reported_waiting
                .then(|| answer.at.saturating_duration_since(active.launched)),
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

fn first_row(answer: &StepAnswer) -> Option<&Vec<Option<String>>> {
    answer.results.iter().rev().find_map(|r| match r {
        super::event::StatementResult::Rows { rows, .. } => rows.first(),
        _ => None,
    })
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
    fn recognises_transaction_ends_but_not_savepoints_or_prepared() {
        assert_eq!(tx_control("COMMIT;"), Some(TxEnd::Commit));
        assert_eq!(tx_control("end"), Some(TxEnd::Commit));
        assert_eq!(tx_control("ROLLBACK"), Some(TxEnd::Rollback));
        assert_eq!(tx_control("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(tx_control("COMMIT PREPARED 'x'"), None);
        assert_eq!(tx_control("SELECT 1; COMMIT"), None);
    }
}
