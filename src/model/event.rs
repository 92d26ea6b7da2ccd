//! What happened in a run, in the order the scheduler reported it. The timeline is the only thing
//! the engine hands to renderers: they never query the database, and the engine never formats.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::answer::{ErrorInfo, StatementResult};
use super::inspect::{LockReport, VersionsReport};

/// How a transaction-control step ended, when that is what the step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxEnd {
    Commit,
    /// COMMIT of a transaction that had already failed, which PostgreSQL turns into a rollback.
    CommitBecameRollback,
    Rollback,
}

/// Everything a step's completion tells us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub results: Vec<StatementResult>,
    pub error: Option<ErrorInfo>,
    /// Set when the step ended a transaction.
    pub tx_end: Option<TxEnd>,
    /// How long the step waited, if it was reported as waiting first.
    pub waited: Option<Duration>,
    /// Set when the step touched other than the rows it expected (optimistic locking).
    pub conflict: Option<Conflict>,
}

/// An optimistic-locking conflict: someone changed the row since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub expected_rows: u64,
    pub touched_rows: u64,
}

/// What kind of thing happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// Setup or teardown SQL ran on the control connection (or a session's own setup).
    Setup { sql: String, completion: Completion },
    /// A step was sent to its session.
    Launch { sql: String },
    /// The server said the step waits for a lock held by `blockers` (backend pids). `forced` when
    /// a `(*)` marker reported it waiting without asking the server.
    Waiting { blockers: Vec<i32>, forced: bool },
    /// The step finished (after waiting, if it waited).
    Completed(Completion),
    /// A NOTICE/WARNING the session's backend sent.
    Notice {
        severity: String,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    /// The step neither completed nor blocked within the step timeout, so the scheduler asked the
    /// server to cancel it (isolationtester's behaviour; the step then usually fails with 57014).
    Canceled { after: Duration },
    /// A `NOTIFY` the session received, seen when one of its steps completed.
    Notification {
        channel: String,
        payload: String,
        sender_pid: i32,
    },
    /// `--locks`: the lock waits among the sessions, collected on the control connection the
    /// moment this event's step was observed blocked (recorded right after its `Waiting`).
    Locks(LockReport),
    /// `--versions`: the row versions and snapshot every session could see after a step.
    Versions(VersionsReport),
    /// The session's retry wrapper rolled its transaction back and, after `backoff`, starts
    /// attempt number `attempt` (2 = first retry) because of `reason` (a SQLSTATE or `conflict`).
    Retry {
        attempt: u32,
        max_attempts: u32,
        backoff: Duration,
        reason: String,
    },
    /// A pool lesson's task checked connection `conn` ("first", "second"…) out of the pool; the
    /// event's `pid` is the connection's backend.
    Acquired {
        conn: String,
        /// How long the checkout waited, when it was seen waiting for the pool first.
        waited: Option<Duration>,
        /// How long the checkout took in all, the pool's recycling check (a round trip with
        /// `verified`) included; `None` in runs recorded before it was measured.
        #[serde(default)]
        took: Option<Duration>,
    },
    /// The task gave connection `conn` back to the pool.
    Released { conn: String },
    /// The task waits for a connection: seen from the pool itself (its checkout is pending and
    /// the pool counts a waiter), never from a timer. `holders` are the tasks holding the pool's
    /// `in_use` connections; `server_waiters` is how many of the pool's backends the server's
    /// lock probe saw waiting at that moment (0 in a pool deadlock: the server sees nothing).
    PoolWaiting {
        size: usize,
        in_use: usize,
        holders: Vec<usize>,
        server_waiters: usize,
    },
    /// The server ended the session of the task's connection `conn` (it no longer lists the
    /// backend), e.g. after `idle_in_transaction_session_timeout`.
    SessionEnded { conn: String },
}

/// One row of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Since the run started.
    pub t: Duration,
    /// Session index; `None` for the control connection.
    pub session: Option<usize>,
    pub pid: i32,
    /// Step index into the lesson's steps.
    pub step: Option<usize>,
    pub kind: EventKind,
}

/// A run's events in report order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timeline {
    pub events: Vec<Event>,
}

impl Timeline {
    /// Every completion of a step, with its step index.
    pub fn completions(&self) -> impl Iterator<Item = (usize, &Completion)> {
        self.events.iter().filter_map(|e| match (&e.kind, e.step) {
            (EventKind::Completed(c), Some(step)) => Some((step, c)),
            _ => None,
        })
    }

    /// Every server error the steps got, in report order.
    pub fn errors(&self) -> impl Iterator<Item = &ErrorInfo> {
        self.completions().filter_map(|(_, c)| c.error.as_ref())
    }

    /// Whether one of `session`'s lock waits spanned step `step` whole: the wait was reported
    /// before the step was launched and ended (the waiting step completed) after it completed.
    /// Decided from the order of events, which the scheduler fixes, so "Bob waited through the
    /// slow work" does not depend on how fast the machine is, where a threshold on milliseconds
    /// would ("slow" is never "blocked").
    pub fn waited_through(&self, session: usize, step: usize) -> bool {
        let is_step = |e: &Event, s: Option<usize>| e.step == s && e.step.is_some();
        let Some(launch) = self
            .events
            .iter()
            .position(|e| is_step(e, Some(step)) && matches!(e.kind, EventKind::Launch { .. }))
        else {
            return false;
        };
        let Some(done) = self.events[launch..]
            .iter()
            .position(|e| is_step(e, Some(step)) && matches!(e.kind, EventKind::Completed(_)))
            .map(|i| launch + i)
        else {
            return false;
        };
        self.events[..launch]
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.session == Some(session) && matches!(e.kind, EventKind::Waiting { .. })
            })
            .any(|(i, waiting)| {
                let over = self.events[i + 1..].iter().position(|e| {
                    e.session == Some(session)
                        && is_step(e, waiting.step)
                        && matches!(e.kind, EventKind::Completed(_))
                });
                // A wait that never ended lasted through everything after it.
                over.is_none_or(|j| i + 1 + j > done)
            })
    }

    /// Where in `events` each step was launched, in order: the step boundaries a stepped
    /// walkthrough (terminal or HTML handout) moves between.
    pub fn launch_positions(&self) -> Vec<usize> {
        self.events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.kind, EventKind::Launch { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// How many times sessions retried their transactions.
    pub fn retries(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Retry { .. }))
            .count()
    }

    /// Optimistic conflicts seen.
    pub fn conflicts(&self) -> usize {
        self.completions()
            .filter(|(_, c)| c.conflict.is_some())
            .count()
    }

    /// Total time steps spent waiting for locks (and, in pool lessons, for connections).
    pub fn total_wait(&self) -> Duration {
        let checkouts: Duration = self
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Acquired { waited, .. } => *waited,
                _ => None,
            })
            .sum();
        checkouts
            + self
                .completions()
                .filter_map(|(_, c)| c.waited)
                .sum::<Duration>()
    }

    /// How many times a task was seen waiting for a pool connection.
    pub fn pool_waits(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::PoolWaiting { .. }))
            .count()
    }

    /// Whether any step was reported waiting for a lock.
    pub fn any_waiting(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Waiting { .. }))
    }

    /// A timing-free fingerprint of the run: who did what in which order. Two runs of the same
    /// lesson must have the same signature; that is the determinism promise.
    pub fn signature(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| {
                let who = e
                    .session
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into());
                let step = e.step.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
                let what = match &e.kind {
                    EventKind::Setup { .. } => "setup".to_string(),
                    EventKind::Launch { .. } => "launch".to_string(),
                    EventKind::Waiting { .. } => "waiting".to_string(),
                    EventKind::Completed(c) => match &c.error {
                        Some(err) => format!("error {}", err.sqlstate),
                        None => format!("done {:?}", c.tx_end),
                    },
                    EventKind::Notice { message, .. } => format!("notice {message}"),
                    EventKind::Locks(_) => "locks".to_string(),
                    EventKind::Versions(_) => "versions".to_string(),
                    EventKind::Retry {
                        attempt, reason, ..
                    } => format!("retry {attempt} {reason}"),
                    EventKind::Notification {
                        channel, payload, ..
                    } => format!("notify {channel} {payload}"),
                    EventKind::Canceled { .. } => "canceled".to_string(),
                    EventKind::Acquired { conn, .. } => format!("acquired {conn}"),
                    EventKind::Released { conn } => format!("released {conn}"),
                    EventKind::SessionEnded { conn } => format!("session-ended {conn}"),
                    EventKind::PoolWaiting {
                        in_use,
                        holders,
                        server_waiters,
                        ..
                    } => format!("pool-waiting {in_use} {holders:?} server {server_waiters}"),
                };
                format!("{who}/{step}: {what}")
            })
            .collect()
    }
}

/// Converts a duration to fractional milliseconds for display and JSON.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(session: usize, step: usize, kind: EventKind) -> Event {
        Event {
            t: Duration::ZERO,
            session: Some(session),
            pid: 100 + session as i32,
            step: Some(step),
            kind,
        }
    }

    fn launch(session: usize, step: usize) -> Event {
        ev(session, step, EventKind::Launch { sql: String::new() })
    }

    fn waiting(session: usize, step: usize) -> Event {
        ev(
            session,
            step,
            EventKind::Waiting {
                blockers: vec![100],
                forced: false,
            },
        )
    }

    fn done(session: usize, step: usize) -> Event {
        ev(
            session,
            step,
            EventKind::Completed(Completion {
                results: vec![],
                error: None,
                tx_end: None,
                waited: None,
                conflict: None,
            }),
        )
    }

    #[test]
    fn a_wait_that_spans_the_step_waited_through_it() {
        // b (1) waits at step 1; a (0) runs the slow step 2, then commits (3), releasing b.
        let timeline = Timeline {
            events: vec![
                launch(1, 1),
                waiting(1, 1),
                launch(0, 2),
                done(0, 2),
                launch(0, 3),
                done(0, 3),
                done(1, 1),
            ],
        };
        assert!(timeline.waited_through(1, 2));
        assert!(!timeline.waited_through(0, 2), "a never waited");
    }

    #[test]
    fn a_wait_released_before_the_step_did_not() {
        // b is released by a's commit (3) before the slow step (2 runs after it).
        let timeline = Timeline {
            events: vec![
                launch(1, 1),
                waiting(1, 1),
                launch(0, 3),
                done(0, 3),
                done(1, 1),
                launch(0, 2),
                done(0, 2),
            ],
        };
        assert!(!timeline.waited_through(1, 2));
        // A wait that starts after the step was launched does not count either.
        let late = Timeline {
            events: vec![
                launch(0, 2),
                launch(1, 1),
                waiting(1, 1),
                done(0, 2),
                done(1, 1),
            ],
        };
        assert!(!late.waited_through(1, 2));
        // A wait that never ended lasted through the step.
        let stuck = Timeline {
            events: vec![launch(1, 1), waiting(1, 1), launch(0, 2), done(0, 2)],
        };
        assert!(stuck.waited_through(1, 2));
        assert!(!stuck.waited_through(1, 9), "no such step");
    }
}
