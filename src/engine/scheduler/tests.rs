//! The scheduler's decisions, tested with no server: a fake database behind the `db` seam (a
//! lock table, a probe that reads it, sessions whose answers the fake sends) drives each case
//! deterministically. Order comes from channels and the fake's lock table, never from sleeps.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};
use tokio::sync::Notify;

use super::{Scheduler, SchedulerSettings};
use crate::db::seam::{CancelStatement, LockProbe};
use crate::engine::lesson::{Blocker, Schedule, ScheduledStep, StepDef};
use crate::engine::session::SessionHandle;
use crate::error::{Result, TxlabError};
use crate::model::{ErrorInfo, StatementResult, StepAnswer, Timeline};

/// The fake server's state: who holds which lock, who waits for whom.
#[derive(Default)]
struct State {
    holders: HashMap<String, i32>,
    /// Waiting backend → the backend it waits for.
    waits: BTreeMap<i32, i32>,
    /// Probes asked about each backend.
    probes: HashMap<i32, u32>,
    canceled: Vec<i32>,
    /// Backends whose step the fake answers while the probe is being asked about them.
    answer_while_probing: HashMap<i32, tokio::sync::oneshot::Sender<()>>,
    /// Backends whose `VICTIM` step has failed once.
    victims: std::collections::HashSet<i32>,
}

#[derive(Default, Clone)]
struct FakeDb {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl LockProbe for FakeDb {
    fn is_blocked(&self, backend: i32) -> BoxFuture<'_, Result<bool>> {
        async move {
            tokio::task::yield_now().await;
            let (answer_now, blocked) = {
                let mut state = self.state.lock().unwrap();
                *state.probes.entry(backend).or_default() += 1;
                self.changed.notify_waiters();
                let answer_now = state.answer_while_probing.remove(&backend);
                (answer_now, state.waits.contains_key(&backend))
            };
            if let Some(answer_now) = answer_now {
                // The answer arrives during the round trip (the session task runs while this one
                // yields), yet the probe still says "blocked": the answer must win.
                let _ = answer_now.send(());
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                return Ok(true);
            }
            Ok(blocked)
        }
        .boxed()
    }

    fn blockers(&self, backend: i32) -> BoxFuture<'_, Vec<i32>> {
        async move {
            self.state
                .lock()
                .unwrap()
                .waits
                .get(&backend)
                .copied()
                .into_iter()
                .collect()
        }
        .boxed()
    }

    fn transaction_failed(&self, _backend: i32) -> BoxFuture<'_, bool> {
        async { false }.boxed()
    }
}

struct FakeCancel {
    pid: i32,
    db: FakeDb,
}

impl CancelStatement for FakeCancel {
    fn cancel(&self) -> BoxFuture<'_, ()> {
        async move {
            self.db.state.lock().unwrap().canceled.push(self.pid);
            self.db.changed.notify_waiters();
        }
        .boxed()
    }
}

fn failure(sqlstate: &str, message: &str) -> StepAnswer {
    StepAnswer {
        error: Some(ErrorInfo {
            sqlstate: sqlstate.into(),
            severity: "ERROR".into(),
            message: message.into(),
            detail: None,
        }),
        results: Vec::new(),
        at: Instant::now(),
    }
}

fn ok() -> StepAnswer {
    StepAnswer {
        at: Instant::now(),
        results: vec![StatementResult::Command { rows_affected: 0 }],
        error: None,
    }
}

impl FakeDb {
    /// Starts a fake session that understands `LOCK x` (waits while another session holds x),
    /// `VICTIM x` (fails with 40P01 the first time, then is `LOCK x`),
    /// `COMMIT` (releases its locks), `SLOW` (answers after being probed three times, never
    /// blocked), `RACE` (answers while the probe is asked about it), `HANG` (answers only when
    /// cancelled) and anything else (answers at once).
    fn session(&self, pid: i32) -> SessionHandle {
        let cancel = Box::new(FakeCancel {
            pid,
            db: self.clone(),
        });
        let (handle, mut side) = SessionHandle::fake(pid, cancel);
        let db = self.clone();
        tokio::spawn(async move {
            while let Some(sql) = side.sent.recv().await {
                let answer = db.execute(pid, &sql).await;
                if side.answers.send(answer).is_err() {
                    break;
                }
            }
        });
        handle
    }

    async fn execute(&self, pid: i32, sql: &str) -> StepAnswer {
        if let Some(lock) = sql.strip_prefix("VICTIM ") {
            // The deadlock detector aborts the first attempt; later ones take the lock.
            if self.state.lock().unwrap().victims.insert(pid) {
                return failure("40P01", "deadlock detected");
            }
            return Box::pin(self.execute(pid, &format!("LOCK {lock}"))).await;
        }
        if let Some(lock) = sql.strip_prefix("LOCK ") {
            loop {
                let changed = self.changed.notified();
                {
                    let mut state = self.state.lock().unwrap();
                    match state.holders.get(lock).copied() {
                        Some(holder) if holder != pid => {
                            state.waits.insert(pid, holder);
                        }
                        _ => {
                            state.holders.insert(lock.to_string(), pid);
                            state.waits.remove(&pid);
                            return ok();
                        }
                    }
                }
                changed.await;
            }
        }
        match sql {
            "COMMIT" => {
                let mut state = self.state.lock().unwrap();
                state.holders.retain(|_, holder| *holder != pid);
                // The first waiter in backend order gets each lock, like a FIFO queue here.
                self.changed.notify_waiters();
                ok()
            }
            "SLOW" => self.wait_until(|s| s.probes.get(&pid) >= Some(&3)).await,
            "RACE" => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                self.state
                    .lock()
                    .unwrap()
                    .answer_while_probing
                    .insert(pid, tx);
                let _ = rx.await;
                ok()
            }
            "HANG" => {
                self.wait_until(|s| s.canceled.contains(&pid)).await;
                failure("57014", "canceling statement due to user request")
            }
            _ => ok(),
        }
    }

    async fn wait_until(&self, done: impl Fn(&State) -> bool) -> StepAnswer {
        loop {
            let changed = self.changed.notified();
            if done(&self.state.lock().unwrap()) {
                return ok();
            }
            changed.await;
        }
    }
}

/// Steps as `(session, sql)`, scheduled in the order given with the given markers.
fn steps(list: &[(usize, &str)]) -> Vec<StepDef> {
    list.iter()
        .enumerate()
        .map(|(i, (session, sql))| StepDef {
            name: format!("s{i}"),
            session: *session,
            sql: sql.to_string(),
            say: None,
            capture: Vec::new(),
            capture_rows: None,
            quiz: None,
            expect_rows: None,
        })
        .collect()
}

fn in_order(n: usize, markers: &[(usize, Blocker)]) -> Schedule {
    Schedule {
        steps: (0..n)
            .map(|step| ScheduledStep {
                step,
                blockers: markers
                    .iter()
                    .filter(|(s, _)| *s == step)
                    .map(|(_, b)| b.clone())
                    .collect(),
            })
            .collect(),
    }
}

fn settings() -> SchedulerSettings {
    SchedulerSettings {
        step_timeout: Duration::from_secs(5),
        ..SchedulerSettings::default()
    }
}

async fn run(
    db: &FakeDb,
    sessions: usize,
    steps: &[StepDef],
    schedule: &Schedule,
    settings: SchedulerSettings,
) -> (Result<()>, Timeline) {
    let mut handles: Vec<SessionHandle> =
        (0..sessions).map(|s| db.session(100 + s as i32)).collect();
    let mut scheduler = Scheduler::new(steps, &mut handles, db, Instant::now(), settings);
    let outcome = scheduler.run(schedule).await;
    (outcome, scheduler.take_timeline())
}

fn waiting_blockers(timeline: &Timeline) -> Vec<(usize, Vec<i32>, bool)> {
    timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            crate::model::EventKind::Waiting { blockers, forced } => {
                Some((e.step?, blockers.clone(), *forced))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_slow_step_the_server_never_calls_blocked_completes_without_waiting() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "SLOW"), (1, "SELECT 1")]);
    let (outcome, timeline) = run(&db, 2, &steps, &in_order(2, &[]), settings()).await;
    outcome.unwrap();
    assert_eq!(
        timeline.signature(),
        [
            "0/0: launch",
            "0/0: done None",
            "1/1: launch",
            "1/1: done None"
        ]
    );
    assert!(db.state.lock().unwrap().probes[&100] >= 3);
}

#[tokio::test]
async fn a_step_the_server_calls_blocked_is_reported_waiting_for_its_holder() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "LOCK a"), (1, "LOCK a"), (0, "COMMIT"), (1, "COMMIT")]);
    let (outcome, timeline) = run(&db, 2, &steps, &in_order(4, &[]), settings()).await;
    outcome.unwrap();
    assert_eq!(
        timeline.signature(),
        [
            "0/0: launch",
            "0/0: done None",
            "1/1: launch",
            "1/1: waiting",
            "0/2: launch",
            "0/2: done Some(Commit)",
            "1/1: done None",
            "1/3: launch",
            "1/3: done Some(Commit)",
        ]
    );
    assert_eq!(waiting_blockers(&timeline), [(1, vec![100], false)]);
}

#[tokio::test]
async fn several_waiters_released_at_once_are_reported_in_launch_order() {
    let db = FakeDb::default();
    let steps = steps(&[
        (0, "LOCK b"),
        (0, "LOCK a"),
        (2, "LOCK a"),
        (1, "LOCK b"),
        (0, "COMMIT"),
    ]);
    let (outcome, timeline) = run(&db, 3, &steps, &in_order(5, &[]), settings()).await;
    outcome.unwrap();
    let order: Vec<String> = timeline.signature().into_iter().skip(4).collect();
    assert_eq!(
        order,
        [
            "2/2: launch",
            "2/2: waiting",
            "1/3: launch",
            "1/3: waiting",
            "0/4: launch",
            "0/4: done Some(Commit)",
            "2/2: done None",
            "1/3: done None",
        ]
    );
}

#[tokio::test]
async fn an_answer_that_arrives_while_probing_is_a_completion_not_a_wait() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "RACE"), (1, "SELECT 1")]);
    let (outcome, timeline) = run(&db, 2, &steps, &in_order(2, &[]), settings()).await;
    outcome.unwrap();
    assert!(!timeline.any_waiting(), "{:?}", timeline.signature());
    assert_eq!(timeline.completions().count(), 2);
}

#[tokio::test]
async fn a_step_that_neither_completes_nor_blocks_times_out_and_is_cancelled() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "SELECT 1"), (0, "HANG")]);
    let quick = SchedulerSettings {
        step_timeout: Duration::from_millis(30),
        ..SchedulerSettings::default()
    };
    let (outcome, timeline) = run(&db, 1, &steps, &in_order(2, &[]), quick).await;
    match outcome {
        Err(TxlabError::StepTimeout { step, session, .. }) => {
            assert_eq!((step.as_str(), session.as_str()), ("s1", "1"));
        }
        other => panic!("expected a step timeout, got {other:?}"),
    }
    assert!(!timeline.any_waiting());
    assert_eq!(db.state.lock().unwrap().canceled, [100]);
}

#[tokio::test]
async fn cancel_and_wait_records_the_cancel_and_reports_the_cancelled_step() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "HANG")]);
    let patient = SchedulerSettings {
        step_timeout: Duration::from_millis(30),
        cancel_and_wait: true,
        ..SchedulerSettings::default()
    };
    let (outcome, timeline) = run(&db, 1, &steps, &in_order(1, &[]), patient).await;
    outcome.unwrap();
    assert_eq!(
        timeline.signature(),
        ["0/0: launch", "0/0: canceled", "0/0: error 57014"]
    );
}

#[tokio::test]
async fn a_star_marker_reports_waiting_even_for_a_step_that_completes_at_once() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "SELECT 1"), (1, "SELECT 2")]);
    let schedule = in_order(2, &[(0, Blocker::Once)]);
    let (outcome, timeline) = run(&db, 2, &steps, &schedule, settings()).await;
    outcome.unwrap();
    assert_eq!(
        timeline.signature(),
        [
            "0/0: launch",
            "0/0: waiting",
            "1/1: launch",
            "1/1: done None",
            "0/0: done None",
        ]
    );
    assert_eq!(waiting_blockers(&timeline), [(0, vec![], true)]);
}

#[tokio::test]
async fn a_step_marker_holds_back_a_completion_until_the_other_step_completes() {
    let db = FakeDb::default();
    let steps = steps(&[(0, "LOCK a"), (1, "LOCK a"), (2, "SELECT 1"), (0, "COMMIT")]);
    // s2 answers at once but is reported only after s1, which waits for s0's lock.
    let schedule = in_order(4, &[(2, Blocker::Step(1))]);
    let (outcome, timeline) = run(&db, 3, &steps, &schedule, settings()).await;
    outcome.unwrap();
    let order: Vec<String> = timeline.signature().into_iter().skip(2).collect();
    assert_eq!(
        order,
        [
            "1/1: launch",
            "1/1: waiting",
            "2/2: launch",
            "2/2: waiting",
            "0/3: launch",
            "0/3: done Some(Commit)",
            "1/1: done None",
            "2/2: done None",
        ]
    );
}

/// Issue 10, defect 5: the server aborted the session the lesson did not plan as the victim, so
/// its retry's replay waits for a lock the other session releases only at a later step. The
/// schedule goes on (the session's own COMMIT is deferred), and the replay completes after the
/// other session's COMMIT, reported in time order.
#[tokio::test]
async fn a_replay_blocked_by_a_later_step_lets_the_schedule_go_on() {
    let db = FakeDb::default();
    let steps = steps(&[
        (0, "BEGIN"),
        (1, "BEGIN"),
        (1, "LOCK x"),
        (0, "VICTIM x"),
        (0, "COMMIT"),
        (1, "COMMIT"),
    ]);
    let mut handles: Vec<SessionHandle> = (0..2).map(|s| db.session(100 + s)).collect();
    let policy = crate::engine::lesson::RetryPolicy {
        on: vec![crate::engine::lesson::RetryOn::SqlState("40P01".into())],
        max_attempts: 3,
        base_backoff: Duration::ZERO,
        jitter: false,
    };
    let mut scheduler = Scheduler::new(&steps, &mut handles, &db, Instant::now(), settings())
        .with_retry_policies(vec![Some(policy), None]);
    scheduler.run(&in_order(6, &[])).await.unwrap();
    let timeline = scheduler.take_timeline();
    assert_eq!(
        timeline.signature(),
        [
            "0/0: launch",
            "0/0: done None",
            "1/1: launch",
            "1/1: done None",
            "1/2: launch",
            "1/2: done None",
            "0/3: launch",
            "0/3: error 40P01",
            "0/-: retry 2 40P01",
            "0/0: launch",
            "0/0: done None",
            "0/3: launch",
            "0/3: waiting",
            "1/5: launch",
            "1/5: done Some(Commit)",
            "0/3: done None",
            "0/4: launch",
            "0/4: done Some(Commit)",
        ]
    );
    let times: Vec<Duration> = timeline.events.iter().map(|e| e.t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(waiting_blockers(&timeline), [(3, vec![101], false)]);
}
