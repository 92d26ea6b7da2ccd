//! Demos about who waits, for whom and how long: NOWAIT, SKIP LOCKED, FOR SHARE and friends, and a
//! lock held across slow work.

use std::time::Duration;

use super::harness::{check_comparison, check_demo, occurred};

use txlab::engine::IsolationLevel::{ReadCommitted, ReadUncommitted};

#[test]
fn nowait_answers_at_once() {
    let runs = check_demo(
        "nowait",
        |_| "SELECT json_build_object('sold_to', sold_to) FROM seat WHERE id = 12",
        |seen| {
            assert_eq!(seen.state["sold_to"], "alice", "{}", seen.what());
            if occurred(seen) {
                assert!(
                    seen.waited("b") >= Duration::from_millis(200),
                    "{}",
                    seen.what()
                );
                assert!(seen.waited_through("b", "slow_work"), "{}", seen.what());
            } else {
                assert_eq!(seen.waited("b"), Duration::ZERO, "{}", seen.what());
                assert_eq!(seen.errors()[0], "55P03", "{}", seen.what());
            }
        },
    );
    check_comparison(
        "nowait",
        &runs,
        &["USER KEPT WAITING OCCURRED", "55P03", "no waiting"],
    );
}

#[test]
fn skip_locked_does_every_job_exactly_once() {
    let runs = check_demo(
        "skip-locked",
        |_| {
            "SELECT json_agg(json_build_object('status', status, \
             'runs', (SELECT count(*) FROM job_run r WHERE r.job_id = j.id)) ORDER BY id) FROM job j"
        },
        |seen| {
            let jobs = seen.state.as_array().unwrap();
            let runs: Vec<i64> = jobs.iter().map(|j| j["runs"].as_i64().unwrap()).collect();
            assert_eq!(
                occurred(seen),
                runs.iter().any(|&r| r > 1),
                "{}",
                seen.what()
            );
            for job in jobs {
                let done = job["status"] == "done";
                if !occurred(seen) {
                    assert_eq!(done, job["runs"] == 1, "done iff run once: {}", seen.what());
                }
            }
            let fixed = seen.run.lesson_id != "skip-locked-broken";
            if fixed && matches!(seen.level, ReadUncommitted | ReadCommitted) {
                assert_eq!(runs, [1, 1, 1], "every job exactly once: {}", seen.what());
            }
            if seen.run.lesson_id == "skip-locked-skip-locked" {
                assert_eq!(seen.run.timeline.total_wait(), Duration::ZERO);
            }
        },
    );
    check_comparison(
        "skip-locked",
        &runs,
        &["JOB DONE MORE THAN ONCE OCCURRED", "no waiting"],
    );
}

#[test]
fn for_share_blocks_whom_the_manual_says() {
    let runs = check_demo(
        "for-share",
        |_| "SELECT json_build_object('price', price) FROM product WHERE id = 1",
        |seen| {
            let zero = Duration::ZERO;
            let who = |s: &str| seen.first_blockers(s);
            match seen.run.lesson_id.as_str() {
                "for-share-readers" => {
                    assert_eq!(seen.waited("b"), zero, "FOR SHARE + FOR SHARE");
                    assert!(seen.waited("c") > zero, "UPDATE after FOR SHARE");
                    assert_eq!(who("c"), ["a"]);
                    assert_eq!(seen.num("price"), 24.90);
                }
                "for-share-references" => {
                    assert_eq!(seen.waited("a"), zero);
                    assert_eq!(seen.waited("b"), zero, "NO KEY UPDATE + KEY SHARE");
                    assert!(seen.waited("c") > zero, "FOR UPDATE after both");
                    assert!(who("c").contains(&"a".to_string()), "{:?}", who("c"));
                }
                "for-share-table-lock" => {
                    assert_eq!(seen.waited("b"), zero, "ACCESS SHARE + SHARE");
                    assert!(seen.waited("c") > zero, "ROW EXCLUSIVE after SHARE");
                    assert_eq!(who("c"), ["a"]);
                }
                "for-share-table-queue" => {
                    assert_eq!(who("b"), ["a"], "ALTER TABLE waits for the reader");
                    assert_eq!(who("c"), ["b"], "the SELECT queues behind the ALTER");
                }
                other => panic!("unexpected for-share variant {other}"),
            }
            assert!(occurred(seen), "{}", seen.what());
        },
    );
    check_comparison("for-share", &runs, &["BLOCKING OCCURRED", "waited"]);
}

#[test]
fn long_lock_makes_everyone_wait_for_slow_work() {
    let runs = check_demo(
        "long-lock",
        |_| {
            "SELECT json_build_object('status', status, 'invoices', (SELECT count(*) FROM invoice), \
             'deliveries', (SELECT count(*) FROM delivery), 'notes', (SELECT count(*) FROM order_note)) \
             FROM orders WHERE id = 7"
        },
        |seen| {
            assert_eq!(seen.state["status"], "invoiced", "{}", seen.what());
            for key in ["invoices", "deliveries", "notes"] {
                assert_eq!(seen.num(key), 1.0, "{key}: {}", seen.what());
            }
            let slow = Duration::from_millis(200);
            for s in ["b", "c"] {
                let through = seen.waited_through(s, "slow_work");
                if seen.run.lesson_id == "long-lock-broken" {
                    assert!(through, "{s} waited through the slow work: {}", seen.what());
                    assert!(seen.waited(s) >= slow, "{s} waited: {}", seen.what());
                } else {
                    // Waited for the claim only: released before the slow work began, however
                    // long the claim took on this machine.
                    assert!(
                        !through,
                        "{s} waited through the slow work: {}",
                        seen.what()
                    );
                }
            }
        },
    );
    check_comparison(
        "long-lock",
        &runs,
        &["EVERYONE WAITED FOR SLOW WORK OCCURRED", "waited"],
    );
}
