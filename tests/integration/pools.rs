//! Pool lessons (issue 15): each demo's broken and fixed variants against their expectations,
//! the same timeline twenty runs in a row, the pool deadlock shown with no waiter on the server,
//! and JSON events that say what a step waited for.

use txlab::engine::event::EventKind;
use txlab::engine::verdict::Outcome;
use txlab::engine::{IsolationLevel, LessonRun, catalog};
use txlab::render::json;

use crate::util;
use crate::util::normalise::{Layout, normalise};

const ROUNDS: usize = 20;
const DEMOS: &[&str] = &["pool-deadlock", "idle-in-transaction", "stale-connection"];

fn run(id: &str) -> LessonRun {
    let rt = util::runtime();
    let sandbox = util::sandbox();
    let lesson = catalog::find(id).unwrap();
    util::runs::run(&rt, &sandbox, &lesson, IsolationLevel::ReadCommitted)
}

#[test]
fn every_pool_variant_behaves_as_its_lesson_expects() {
    for demo in DEMOS {
        let group = catalog::demo_group(demo);
        assert!(group.len() >= 2, "{demo}: a broken variant and fixes");
        for lesson in group {
            let run = run(&lesson.id);
            let verdict = run.verdict.as_ref().expect("pool lessons have verdicts");
            assert!(
                verdict.matches_expectation(),
                "{}: {:?} ({:?}): {}",
                lesson.id,
                verdict.outcome,
                verdict.how,
                verdict.detail
            );
        }
    }
}

#[test]
fn pool_lessons_give_the_same_timeline_twenty_runs_in_a_row() {
    let rt = util::runtime();
    let sandbox = util::sandbox();
    for demo in DEMOS {
        for lesson in catalog::demo_group(demo) {
            let mut first: Option<Vec<String>> = None;
            for round in 1..=ROUNDS {
                let run = util::runs::run(&rt, &sandbox, &lesson, IsolationLevel::ReadCommitted);
                let run = normalise(run, Layout::Timeline);
                let signature = run.timeline.signature();
                match &first {
                    None => first = Some(signature),
                    Some(f) => assert_eq!(
                        &signature, f,
                        "{}: round {round} differs from round 1",
                        lesson.id
                    ),
                }
            }
        }
    }
}

#[test]
fn the_pool_deadlock_has_no_waiter_on_the_server() {
    let run = run("pool-deadlock-broken");
    let verdict = run.verdict.as_ref().unwrap();
    assert_eq!(verdict.outcome, Outcome::Occurred, "{}", verdict.detail);
    assert!(
        verdict.detail.starts_with(
            "t1 and t2 each hold one of the pool's 2 connections and wait for another; \
             the server saw no lock wait"
        ),
        "{}",
        verdict.detail
    );
    let pool_waits: Vec<_> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::PoolWaiting {
                size,
                in_use,
                holders,
                server_waiters,
            } => Some((e.session, *size, *in_use, holders.clone(), *server_waiters)),
            _ => None,
        })
        .collect();
    assert_eq!(
        pool_waits,
        vec![
            (Some(0), 2, 2, vec![0, 1], 0),
            (Some(1), 2, 2, vec![0, 1], 0)
        ]
    );
    // No lock wait at all, as the server saw it.
    assert!(!run.timeline.any_waiting());
    // The first task's checkout timed out; the other committed.
    let errors: Vec<(Option<usize>, String)> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Completed(c) => c.error.as_ref().map(|x| (e.session, x.sqlstate.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![(Some(0), "pool-timeout".to_string())]);
    assert!(verdict.detail.contains("balances ada 100.00, bo 90.00"));
}

#[test]
fn json_events_say_what_a_step_waited_for() {
    let broken = run("pool-deadlock-broken");
    let doc = json::document(&[broken], "PostgreSQL", None);
    let text = doc.to_string();
    let events: Vec<&serde_json::Value> = doc["results"][0]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {text}"))
        .iter()
        .filter(|e| e["kind"] == "blocked")
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    for e in events {
        assert_eq!(e["wait"], "pool", "{e}");
        assert_eq!(e["pool_size"], 2);
        assert_eq!(e["held_by"], serde_json::json!(["t1", "t2"]));
        assert_eq!(e["server_waiters"], 0);
    }
}

#[test]
fn an_idle_transaction_holds_others_up_on_a_lock_then_on_the_pool() {
    let run = run("idle-in-transaction-broken");
    let kinds: Vec<(Option<usize>, &str)> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Waiting { .. } => Some((e.session, "lock")),
            EventKind::PoolWaiting { holders, .. } => {
                assert_eq!(holders, &vec![0, 1]);
                Some((e.session, "pool"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![(Some(1), "lock"), (Some(2), "pool")]);
    let text = txlab::render::timeline::render(&run, &txlab::render::style::Style::plain(200));
    assert!(text.contains("waiting for t1's row lock"), "{text}");
}

#[test]
fn the_server_ends_the_idle_transaction_and_the_application_learns_it_next() {
    let run = run("idle-in-transaction-server-timeout");
    let kinds: Vec<String> = run
        .timeline
        .events
        .iter()
        .filter(|e| e.session == Some(0))
        .filter_map(|e| match &e.kind {
            EventKind::SessionEnded { conn } => Some(format!("ended {conn}")),
            EventKind::Completed(c) => c.error.as_ref().map(|x| format!("error {}", x.sqlstate)),
            _ => None,
        })
        .collect();
    // The session ends on the server first; the COMMIT sent afterwards finds it gone.
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0], "ended c");
    assert!(
        kinds[1] == "error 08006" || kinds[1] == "error 25P03",
        "{kinds:?}"
    );
    let verdict = run.verdict.unwrap();
    assert!(
        verdict.detail.contains("tickets left 9"),
        "{}",
        verdict.detail
    );
}

/// The step errors of task `task`, as `SQLSTATE` strings, in order.
fn task_errors(run: &LessonRun, task: usize) -> Vec<String> {
    run.timeline
        .events
        .iter()
        .filter(|e| e.session == Some(task))
        .filter_map(|e| match &e.kind {
            EventKind::Completed(c) => c.error.as_ref().map(|x| x.sqlstate.clone()),
            _ => None,
        })
        .collect()
}

/// The backends handed out, checkout by checkout.
fn checkout_pids(run: &LessonRun) -> Vec<i32> {
    run.timeline
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Acquired { .. }))
        .map(|e| e.pid)
        .collect()
}

#[test]
fn fast_recycling_hands_out_the_terminated_connection_and_the_statement_fails() {
    let run = run("stale-connection-broken");
    // The termination was observed before request 3 asked for a connection.
    let ended = run
        .timeline
        .events
        .iter()
        .position(|e| matches!(e.kind, EventKind::SessionEnded { .. }))
        .expect("the server ended the session");
    let third = run
        .timeline
        .events
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::Acquired { .. }))
        .unwrap();
    assert!(ended < third);
    // One backend throughout: the dead one was handed out again.
    let pids = checkout_pids(&run);
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| p == pids[0]), "{pids:?}");
    assert_eq!(task_errors(&run, 2), vec!["57P01".to_string()]);
    let verdict = run.verdict.as_ref().unwrap();
    assert_eq!(verdict.outcome, Outcome::Occurred, "{}", verdict.detail);
    assert!(
        verdict
            .detail
            .contains("57P01 terminating connection due to administrator command"),
        "{}",
        verdict.detail
    );
    assert!(
        verdict.detail.contains("Orders saved: 2"),
        "{}",
        verdict.detail
    );
}

#[test]
fn verified_recycling_replaces_the_terminated_connection_at_a_round_trip_per_checkout() {
    let fast = run("stale-connection-broken");
    let verified = run("stale-connection-verified");
    let pids = checkout_pids(&verified);
    assert_eq!(pids.len(), 3);
    assert_eq!(pids[0], pids[1], "request 2 reuses request 1's connection");
    assert_ne!(pids[1], pids[2], "request 3 gets a new connection");
    assert!(task_errors(&verified, 2).is_empty());
    let verdict = verified.verdict.as_ref().unwrap();
    assert_eq!(verdict.outcome, Outcome::Prevented, "{}", verdict.detail);
    assert!(
        verdict.detail.contains("Orders saved: 3"),
        "{}",
        verdict.detail
    );
    // What each costs, from the runs: request 2's checkout of a healthy, reused connection.
    let took = |run: &LessonRun| {
        run.timeline
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Acquired { took, .. } => *took,
                _ => None,
            })
            .nth(1)
            .expect("request 2's checkout was timed")
    };
    // Both are measured (their ratio is wall clock, so it is shown, not asserted).
    assert!(took(&fast) > std::time::Duration::ZERO);
    assert!(took(&verified) > std::time::Duration::ZERO);
    for run in [&fast, &verified] {
        let detail = &run.verdict.as_ref().unwrap().detail;
        let figure = detail
            .split("handing out a connection the pool already had took ")
            .nth(1)
            .and_then(|rest| rest.split(" ms on average").next())
            .and_then(|ms| ms.parse::<f64>().ok());
        assert!(figure.is_some_and(|ms| ms > 0.0), "{detail}");
    }
    let doc = json::document(&[verified], "PostgreSQL", None);
    let acquired: Vec<&serde_json::Value> = doc["results"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "acquired")
        .collect();
    assert_eq!(acquired.len(), 3);
    assert!(
        acquired.iter().all(|e| e["checkout_ms"].is_number()),
        "{doc}"
    );
}

#[test]
fn json_names_the_error_the_stale_connection_gave() {
    let run = run("stale-connection-broken");
    let doc = json::document(&[run], "PostgreSQL", None);
    let events = doc["results"][0]["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["kind"] == "session-ended"), "{doc}");
    let text = doc.to_string();
    assert!(text.contains("57P01"), "{text}");
}

#[test]
fn with_locks_the_pool_deadlock_is_a_cycle_through_the_pool_in_the_events_and_the_json() {
    let rt = util::runtime();
    let sandbox = util::sandbox();
    let lesson = catalog::find("pool-deadlock-broken").unwrap();
    let options = txlab::engine::RunOptions {
        inspect: txlab::engine::Inspect {
            locks: true,
            versions: false,
        },
        ..txlab::engine::RunOptions::default()
    };
    let run = util::runs::run_with(
        &rt,
        &sandbox,
        &lesson,
        IsolationLevel::ReadCommitted,
        &options,
    );
    let reports: Vec<_> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Locks(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 2, "one report per task seen waiting");
    // No waiter on the server, both times; the second report closes the cycle.
    assert!(
        reports
            .iter()
            .all(|r| r.waits.is_empty() && r.cycle.is_none())
    );
    assert_eq!(reports[0].pool_waits.len(), 1);
    assert_eq!(reports[0].task_cycle, None);
    let tasks: Vec<usize> = reports[1]
        .task_cycle
        .as_ref()
        .expect("a cycle through the pool")
        .iter()
        .map(|h| h.task)
        .collect();
    assert_eq!(tasks, vec![0, 1]);
    let doc = json::document(&[run], "PostgreSQL", None);
    let locks: Vec<&serde_json::Value> = doc["results"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "locks")
        .collect();
    assert_eq!(locks.len(), 2, "{doc}");
    let last = &locks[1]["locks"];
    assert_eq!(last["task_cycle"][0]["via"], "pool", "{last}");
    assert_eq!(last["pool_waits"][1]["holders"], serde_json::json!([0, 1]));
}
