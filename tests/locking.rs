//! Issue 4: the locking-strategy demos (`txlab demo withdrawals`, `counter`, `overbooking`, …) on a
//! real server. For every variant, at every level its lesson states an expectation for:
//! - the observed outcome is the one PostgreSQL documents;
//! - the invariant the demo is about (money conserved, no overdraft, every job once, participants
//!   within the limit, distinct versions…) is asserted from the tables' final state, read by this
//!   test's own query next to the lesson's verdict check, and from the timeline's waits;
//! - staged conflicts really went through the retry wrapper (`retries()`, `conflicts()`);
//! - a second run gives the same event order.
//!
//! The comparison block under each demo must report what each variant cost.

mod common;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use txlab::db::Sandbox;
use txlab::engine::event::TxEnd;
use txlab::engine::verdict::{How, Outcome};
use txlab::engine::{
    EventKind, IsolationLevel, Lesson, LessonRun, RunOptions, catalog, run_lesson,
};
use txlab::render::{Style, compare};

use IsolationLevel::{ReadCommitted, ReadUncommitted, RepeatableRead, Serializable};

/// Runs are serialized across test threads: several lessons measure waits against thresholds (a
/// 200 ms pg_sleep, a 50 ms lock_timeout), and two cores are not much to share.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(common::sandbox)
}

/// One run of a lesson, with the final state of its tables as the test's own query saw it.
struct Observed {
    level: IsolationLevel,
    run: LessonRun,
    state: Value,
}

impl Observed {
    fn outcome(&self) -> Outcome {
        self.run.verdict.as_ref().unwrap().outcome
    }

    fn how(&self) -> Option<&How> {
        self.run.verdict.as_ref().unwrap().how.as_ref()
    }

    fn detail(&self) -> &str {
        &self.run.verdict.as_ref().unwrap().detail
    }

    fn num(&self, key: &str) -> f64 {
        let v = &self.state[key];
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| panic!("{}: no number {key} in {}", self.run.lesson_id, self.state))
    }

    fn session(&self, name: &str) -> usize {
        self.run
            .sessions
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("{}: no session {name}", self.run.lesson_id))
    }

    /// How long the session's steps waited for locks in all.
    fn waited(&self, name: &str) -> Duration {
        let s = self.session(name);
        self.run
            .timeline
            .events
            .iter()
            .filter(|e| e.session == Some(s))
            .filter_map(|e| match &e.kind {
                EventKind::Completed(c) => c.waited,
                _ => None,
            })
            .sum()
    }

    /// Who the session's first lock wait was reported waiting for, by session name.
    fn first_blockers(&self, name: &str) -> Vec<String> {
        let s = self.session(name);
        let blockers = self
            .run
            .timeline
            .events
            .iter()
            .filter(|e| e.session == Some(s))
            .find_map(|e| match &e.kind {
                EventKind::Waiting { blockers, .. } => Some(blockers.clone()),
                _ => None,
            })
            .unwrap_or_default();
        blockers
            .iter()
            .filter_map(|pid| self.run.sessions.iter().find(|i| i.pid == *pid))
            .map(|i| i.name.clone())
            .collect()
    }

    /// Whether the session's last transaction ended in a real commit.
    fn committed(&self, name: &str) -> bool {
        let s = self.session(name);
        let last = self
            .run
            .timeline
            .events
            .iter()
            .rev()
            .filter(|e| e.session == Some(s))
            .find_map(|e| match &e.kind {
                EventKind::Completed(c) if c.tx_end.is_some() || c.error.is_some() => {
                    Some(c.tx_end)
                }
                _ => None,
            });
        last == Some(Some(TxEnd::Commit))
    }

    /// The SQLSTATEs of the errors the steps got, in order.
    fn errors(&self) -> Vec<String> {
        self.run
            .timeline
            .errors()
            .map(|e| e.sqlstate.clone())
            .collect()
    }

    fn retries(&self) -> usize {
        self.run.timeline.retries()
    }

    fn what(&self) -> String {
        format!(
            "{} at {}: {:?} {:?} ({}), state {}",
            self.run.lesson_id,
            self.level,
            self.outcome(),
            self.how(),
            self.detail(),
            self.state
        )
    }
}

/// Runs `lesson` at `level`; `state` is a query returning one json value, run right after the
/// lesson's verdict check, before the schema is dropped.
fn observe(lesson: &Lesson, level: IsolationLevel, state: &str) -> Observed {
    let mut probe = lesson.clone();
    let rule = probe
        .verdict
        .as_mut()
        .expect("locking lessons have a verdict");
    let check = rule.check.take().expect("locking lessons have a check");
    rule.check = Some(format!(
        "SELECT c.occurred, coalesce(c.detail, '') || chr(10) || ({state})::text \
         FROM ({check}) AS c(occurred, detail)"
    ));
    let mut run = run(&probe, level);
    let verdict = run.verdict.as_mut().unwrap();
    let (detail, state) = verdict
        .detail
        .rsplit_once('\n')
        .map(|(d, s)| (d.to_string(), s.to_string()))
        .unwrap_or_else(|| panic!("{} at {level}: no state in {:?}", lesson.id, verdict.detail));
    verdict.detail = detail;
    let state = serde_json::from_str(&state)
        .unwrap_or_else(|e| panic!("{} at {level}: state {state:?}: {e}", lesson.id));
    Observed { level, run, state }
}

fn run(lesson: &Lesson, level: IsolationLevel) -> LessonRun {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    common::runtime()
        .block_on(run_lesson(
            common::server(),
            sandbox(),
            lesson,
            Some(level),
            &RunOptions::default(),
        ))
        .unwrap_or_else(|e| panic!("{} at {level}: {e}", lesson.id))
}

/// Every variant of `demo` at every level with an expectation: outcome as documented, the
/// invariant held (or broken, where the anomaly occurred), retries where conflicts are staged, and
/// the same event order on a second run. Returns the runs at each lesson's default levels.
fn check_demo(
    demo: &str,
    state: fn(&str) -> &'static str,
    invariant: fn(&Observed),
) -> Vec<LessonRun> {
    let lessons = catalog::demo_group(demo);
    assert!(lessons.len() >= 2, "demo {demo} has too few variants");
    assert!(
        lessons[0].variant.as_deref() == Some("broken") || demo == "for-share",
        "demo {demo} starts with its broken variant"
    );
    let mut shown = Vec::new();
    for lesson in &lessons {
        assert_eq!(lesson.topic, "locking", "{}", lesson.id);
        assert_eq!(lesson.demo.as_deref(), Some(demo), "{}", lesson.id);
        assert!(
            lesson.expect.len() == 4,
            "{}: an expectation at every level",
            lesson.id
        );
        for level in &lesson.default_levels {
            assert!(lesson.expect.contains_key(level), "{}", lesson.id);
        }
        for (&level, expected) in &lesson.expect {
            let seen = observe(lesson, level, state(&lesson.id));
            let verdict = seen.run.verdict.as_ref().unwrap();
            assert!(
                verdict.matches_expectation(),
                "{}: expected {expected}",
                seen.what()
            );
            invariant(&seen);
            check_retries(&seen);
            let again = run(lesson, level);
            assert_eq!(
                seen.run.timeline.signature(),
                again.timeline.signature(),
                "{} at {level}: the event order changed between two runs",
                lesson.id
            );
            if lesson.default_levels.contains(&level) {
                shown.push(seen.run);
            }
        }
    }
    shown
}

/// Lessons that stage a conflict for a retry wrapper must show the retry; lessons without a
/// wrapper never retry.
fn check_retries(seen: &Observed) {
    let id = seen.run.lesson_id.as_str();
    let lvl = seen.level;
    let snapshot_levels = matches!(lvl, RepeatableRead | Serializable);
    let staged = match id {
        "transfer-optimistic"
        | "counter-optimistic"
        | "version-race-constraint"
        | "retry-deadlock" => true,
        "counter-serializable"
        | "retry-serializable"
        | "long-lock-broken"
        | "long-lock-after-commit" => snapshot_levels,
        "overbooking-serializable" => lvl == Serializable,
        _ => false,
    };
    if staged {
        assert!(seen.retries() > 0, "{}: no retry", seen.what());
    } else {
        assert_eq!(seen.retries(), 0, "{}: unexpected retry", seen.what());
    }
    if matches!(id, "transfer-optimistic" | "counter-optimistic") && !snapshot_levels {
        assert!(
            seen.run.timeline.conflicts() > 0,
            "{}: no optimistic conflict",
            seen.what()
        );
        assert_eq!(seen.how(), Some(&How::Conflict), "{}", seen.what());
    }
}

/// The comparison block names every variant and says what each cost.
fn check_comparison(demo: &str, runs: &[LessonRun], must_mention: &[&str]) -> String {
    let text = compare::render(demo, runs, &Style::plain(100));
    assert!(
        text.contains(&format!("{demo}: what each variant did")),
        "{text}"
    );
    for run in runs {
        assert!(text.contains(run.variant.as_deref().unwrap()), "{text}");
    }
    let cost_lines = text
        .lines()
        .filter(|l| l.contains("retry") || l.contains("retries"))
        .count();
    assert!(cost_lines >= runs.len(), "a cost line per variant:\n{text}");
    assert!(text.contains("wait"), "{text}");
    for needle in must_mention {
        assert!(
            text.contains(needle),
            "comparison lacks {needle:?}:\n{text}"
        );
    }
    text
}

fn occurred(seen: &Observed) -> bool {
    seen.outcome() == Outcome::Occurred
}

#[test]
fn every_builtin_lesson_parses() {
    assert_eq!(catalog::broken_builtins(), Vec::<String>::new());
}

#[test]
fn fixed_variants_say_when_to_pick_them() {
    for lesson in catalog::by_topic("locking") {
        if lesson
            .variant
            .as_deref()
            .is_some_and(|v| v.starts_with("broken"))
        {
            continue;
        }
        assert!(
            lesson.explanation.to_lowercase().contains("pick"),
            "{}: the explanation should end with when to pick which",
            lesson.id
        );
        assert!(!lesson.why.is_empty(), "{}: why-texts", lesson.id);
    }
}

#[test]
fn transfer_conserves_money() {
    let runs = check_demo(
        "transfer",
        |_| "SELECT json_build_object('total', sum(balance), 'min', min(balance)) FROM account",
        |seen| {
            let conserved = seen.num("total") == 300.0 && seen.num("min") >= 0.0;
            assert_eq!(occurred(seen), !conserved, "{}", seen.what());
        },
    );
    check_comparison(
        "transfer",
        &runs,
        &["1 retry", "optimistic conflict", "waited"],
    );
}

#[test]
fn withdrawals_never_overdraw() {
    let runs = check_demo(
        "withdrawals",
        |id| match id {
            "withdrawals-broken" | "withdrawals-account-lock" => {
                "SELECT json_build_object('balance', balance, 'reserved', 0, \
                 'paid_out', (SELECT coalesce(sum(amount), 0) FROM payout)) FROM account WHERE id = 1"
            }
            _ => {
                "SELECT json_build_object('balance', balance, \
                 'reserved', (SELECT coalesce(sum(reserved), 0) FROM buy_order), \
                 'paid_out', (SELECT coalesce(sum(amount), 0) FROM payout)) FROM account WHERE id = 1"
            }
        },
        |seen| {
            let (balance, reserved, paid) = (
                seen.num("balance"),
                seen.num("reserved"),
                seen.num("paid_out"),
            );
            assert_eq!(balance, 100.0 - paid, "payouts = debits: {}", seen.what());
            assert_eq!(occurred(seen), balance - reserved < 0.0, "{}", seen.what());
            if seen.run.lesson_id == "withdrawals-advisory-timeout" {
                let waited = seen.waited("b");
                assert!(
                    waited >= Duration::from_millis(45),
                    "the loser waits for lock_timeout: {waited:?}"
                );
                assert!(seen.errors().contains(&"55P03".to_string()));
                assert!(!seen.committed("b") && seen.committed("a"));
            }
        },
    );
    check_comparison(
        "withdrawals",
        &runs,
        &["OVERDRAFT OCCURRED", "55P03", "waited"],
    );
}

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
fn retry_wrapper_saves_the_deadlock_victim() {
    let runs = check_demo(
        "retry",
        |_| {
            "SELECT json_build_object('alice', (SELECT balance FROM account WHERE id = 1), \
             'bob', (SELECT balance FROM account WHERE id = 2))"
        },
        |seen| {
            let both = seen.committed("a") && seen.committed("b");
            let serial = seen.num("alice") == 90.0 && seen.num("bob") == 110.0;
            assert_eq!(occurred(seen), !(both && serial), "{}", seen.what());
            assert_eq!(
                seen.num("alice") + seen.num("bob"),
                200.0,
                "{}",
                seen.what()
            );
            match seen.run.lesson_id.as_str() {
                "retry-broken" => {
                    assert_eq!(seen.errors()[0], "40P01", "{}", seen.what());
                    assert!(!seen.committed("b"), "the victim is not retried");
                }
                "retry-deadlock" => {
                    assert_eq!(seen.errors()[0], "40P01", "{}", seen.what());
                    assert!(both && serial, "the victim retried and committed");
                    assert_eq!(seen.retries(), 1);
                }
                _ => {}
            }
        },
    );
    check_comparison(
        "retry",
        &runs,
        &["TRANSFER LOST OCCURRED", "40P01", "1 retry"],
    );
}

#[test]
fn savepoints_keep_the_account() {
    let runs = check_demo(
        "savepoints",
        |_| {
            "SELECT json_build_object('account', EXISTS (SELECT 1 FROM app_user WHERE email = 'dana@example.org'), \
             'newsletter', (SELECT count(*) FROM newsletter))"
        },
        |seen| {
            let kept = seen.state["account"] == true;
            assert_eq!(occurred(seen), !kept, "{}", seen.what());
            assert_eq!(seen.num("newsletter"), 1.0);
            let errors = seen.errors();
            if seen.run.lesson_id == "savepoints-broken" {
                assert_eq!(errors, ["23503", "25P02"], "{}", seen.what());
            } else {
                assert_eq!(errors, ["23503", "23505"], "{}", seen.what());
                assert!(seen.committed("a"));
            }
        },
    );
    check_comparison(
        "savepoints",
        &runs,
        &["ACCOUNT LOST OCCURRED", "23503, 23505"],
    );
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
                if seen.run.lesson_id == "long-lock-broken" {
                    assert!(seen.waited(s) >= slow, "{s} waited: {}", seen.what());
                } else {
                    // The verdict's line between "waited for the slow work" and not.
                    let short = Duration::from_millis(150);
                    assert!(seen.waited(s) < short, "{s} waited: {}", seen.what());
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

#[test]
fn demo_groups_cover_issue_4() {
    let mut variants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for lesson in catalog::by_topic("locking") {
        variants
            .entry(
                lesson
                    .demo
                    .clone()
                    .expect("every locking lesson is in a demo"),
            )
            .or_default()
            .push(
                lesson
                    .variant
                    .clone()
                    .expect("every locking lesson is a variant"),
            );
    }
    for demo in [
        "transfer",
        "withdrawals",
        "counter",
        "overbooking",
        "version-race",
        "nowait",
        "skip-locked",
        "for-share",
        "retry",
        "savepoints",
        "long-lock",
    ] {
        assert!(
            variants.contains_key(demo),
            "demo {demo} is missing: {variants:?}"
        );
    }
    assert_eq!(variants["counter"].len(), 5, "{:?}", variants["counter"]);
    assert_eq!(
        variants["withdrawals"].len(),
        5,
        "{:?}",
        variants["withdrawals"]
    );
}
