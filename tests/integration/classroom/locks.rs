//! `--locks` on a real server: who waits for whom, what each holds, and the wait-for cycle of a
//! deadlock, both in the run's events and as the timeline and the JSON show them.

use txlab::engine::event::EventKind;
use txlab::engine::{Inspect, IsolationLevel, catalog};
use txlab::render::{self, Style};

use super::run;
use crate::util::{fixture, txlab};

#[test]
fn locks_show_the_waiter_the_holder_and_the_deadlock_cycle() {
    let lesson = catalog::load_file(&fixture("deadlock.toml")).unwrap();
    let run = run(
        &lesson,
        IsolationLevel::ReadCommitted,
        Inspect {
            locks: true,
            versions: false,
        },
    );
    let (alice, bob) = (run.sessions[0].pid, run.sessions[1].pid);
    let reports: Vec<_> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Locks(r) => Some((e.session, r)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reports.len(),
        2,
        "one report per observed block: {reports:#?}"
    );

    // Alice's credit waits for Bob's transaction (a row lock): waiter Alice, holder Bob.
    let (session, first) = &reports[0];
    assert_eq!(*session, Some(0));
    assert_eq!(first.waits.len(), 1, "{first:#?}");
    let w = &first.waits[0];
    assert_eq!((w.waiter, w.holder), (alice, bob));
    assert_eq!(w.locktype, "transactionid");
    assert_eq!(w.wanted, "ShareLock");
    assert_eq!(w.held, vec!["ExclusiveLock".to_string()]);
    assert_eq!(w.row.as_deref(), Some("(0,2) of account"));
    assert_eq!(first.cycle, None);

    // Then Bob waits for Alice: both edges and the cycle, before the detector breaks it.
    let (session, second) = &reports[1];
    assert_eq!(*session, Some(1));
    let edges: Vec<(i32, i32)> = second.waits.iter().map(|w| (w.waiter, w.holder)).collect();
    assert_eq!(edges, vec![(alice, bob), (bob, alice)]);
    assert_eq!(second.cycle, Some(vec![alice, bob]));
    // ...and the detector did break it, aborting the chosen victim.
    assert!(run.timeline.errors().any(|e| e.sqlstate == "40P01"));

    let text = render::timeline::render(&run, &Style::plain(100));
    assert!(
        text.contains(
            "⚑ alice's transfer waits for bob's transfer: wants ShareLock on transaction"
        ),
        "{text}"
    );
    assert!(
        text.contains("bob's transfer holds ExclusiveLock on its own"),
        "{text}"
    );
    assert!(
        text.contains("alice's transfer ──waits for──▶ bob's transfer ──waits for──┐"),
        "{text}"
    );
    assert!(text.contains("└"), "{text}");
}

/// The built-in `deadlock` lesson marks the victim's step `(*)` (reported waiting without asking
/// the server); --locks still records the wait-for cycle once the server sees it.
#[test]
fn locks_in_the_built_in_deadlock_lesson_name_waiter_holder_and_cycle() {
    let out = txlab()
        .args(["demo", "deadlock", "--locks", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &doc["results"][0];
    let pids: Vec<i64> = result["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pid"].as_i64().unwrap())
        .collect();
    let victim = pids[1];
    let reports: Vec<&serde_json::Value> = result["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "locks")
        .collect();
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let edge =
        |w: &serde_json::Value| (w["waiter"].as_i64().unwrap(), w["holder"].as_i64().unwrap());
    let first: Vec<_> = reports[0]["locks"]["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(edge)
        .collect();
    assert_eq!(first, vec![(pids[0], victim)]);
    let last = &reports[1]["locks"];
    let edges: Vec<_> = last["waits"].as_array().unwrap().iter().map(edge).collect();
    assert_eq!(edges, vec![(pids[0], victim), (victim, pids[0])]);
    assert_eq!(last["cycle"], serde_json::json!([pids[0], victim]));
    assert!(
        last["waits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["locktype"] == "transactionid"
                && w["wanted"] == "ShareLock"
                && w["held"] == serde_json::json!(["ExclusiveLock"]))
    );
}
