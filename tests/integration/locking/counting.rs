//! Demos about counting right under concurrency: no lost like, no overbooked campaign, no
//! duplicate version number.

use super::harness::{check_comparison, check_demo, occurred};

#[test]
fn counter_loses_no_like() {
    let runs = check_demo(
        "counter",
        |_| "SELECT json_build_object('likes', likes) FROM post WHERE id = 1",
        |seen| {
            let committed = seen.committed("a") as u8 + seen.committed("b") as u8;
            let exact = seen.num("likes") == 41.0 + committed as f64;
            assert_eq!(occurred(seen), !exact, "{}", seen.what());
            if !occurred(seen) && seen.retries() > 0 {
                assert_eq!(
                    seen.num("likes"),
                    43.0,
                    "a retried like counts: {}",
                    seen.what()
                );
            }
        },
    );
    check_comparison(
        "counter",
        &runs,
        &[
            "LOST LIKE OCCURRED",
            "1 retry",
            "optimistic conflict",
            "40001",
        ],
    );
}

#[test]
fn overbooking_respects_the_limit() {
    let runs = check_demo(
        "overbooking",
        |_| {
            "SELECT json_build_object('participants', (SELECT count(*) FROM participant), \
             'limit', max_participants) FROM campaign WHERE id = 1"
        },
        |seen| {
            let over = seen.num("participants") > seen.num("limit");
            assert_eq!(occurred(seen), over, "{}", seen.what());
            if !over {
                assert_eq!(seen.num("participants"), 3.0, "the last seat is taken");
            }
        },
    );
    check_comparison(
        "overbooking",
        &runs,
        &["OVERBOOKED OCCURRED", "23514", "1 retry"],
    );
}

#[test]
fn version_race_gives_distinct_versions() {
    let runs = check_demo(
        "version-race",
        |_| {
            "SELECT json_build_object('versions', json_agg(version ORDER BY version)) \
             FROM model_version WHERE model_id = 1"
        },
        |seen| {
            let versions: Vec<i64> = seen.state["versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            let mut distinct = versions.clone();
            distinct.dedup();
            assert_eq!(occurred(seen), distinct != versions, "{}", seen.what());
            if seen.run.lesson_id == "version-race-constraint" {
                assert_eq!(versions, [1, 2, 3, 4], "the retry registered 4");
                assert!(seen.errors().iter().any(|e| e == "23505" || e == "40001"));
            }
        },
    );
    check_comparison(
        "version-race",
        &runs,
        &["DUPLICATE VERSION OCCURRED", "23505", "1 retry"],
    );
}
