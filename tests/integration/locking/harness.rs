//! Running one locking variant and reading what it did: the verdict, the final state of its tables
//! (from this test's own query), its waits, errors and retries; and the checks every demo shares.

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

use IsolationLevel::{RepeatableRead, Serializable};

use crate::util;

/// Runs are serialized across test threads: several lessons measure waits against thresholds (a
/// 200 ms pg_sleep, a 50 ms lock_timeout), and two cores are not much to share.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(util::sandbox)
}

/// One run of a lesson, with the final state of its tables as the test's own query saw it.
pub struct Observed {
    pub level: IsolationLevel,
    pub run: LessonRun,
    pub state: Value,
}

impl Observed {
    pub fn outcome(&self) -> Outcome {
        self.run.verdict.as_ref().unwrap().outcome
    }

    pub fn how(&self) -> Option<&How> {
        self.run.verdict.as_ref().unwrap().how.as_ref()
    }

    fn detail(&self) -> &str {
        &self.run.verdict.as_ref().unwrap().detail
    }

    pub fn num(&self, key: &str) -> f64 {
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
    pub fn waited(&self, name: &str) -> Duration {
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

    /// Whether one of the session's lock waits spanned the named step whole (the scheduler's
    /// order, not a duration).
    pub fn waited_through(&self, name: &str, step: &str) -> bool {
        let s = self.session(name);
        let k = self
            .run
            .steps
            .iter()
            .position(|d| d.name == step)
            .unwrap_or_else(|| panic!("{}: no step {step}", self.run.lesson_id));
        self.run.timeline.waited_through(s, k)
    }

    /// Who the session's first lock wait was reported waiting for, by session name.
    pub fn first_blockers(&self, name: &str) -> Vec<String> {
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
    pub fn committed(&self, name: &str) -> bool {
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
    pub fn errors(&self) -> Vec<String> {
        self.run
            .timeline
            .errors()
            .map(|e| e.sqlstate.clone())
            .collect()
    }

    pub fn retries(&self) -> usize {
        self.run.timeline.retries()
    }

    pub fn what(&self) -> String {
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
    util::runtime()
        .block_on(run_lesson(
            util::server(),
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
pub fn check_demo(
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
pub fn check_comparison(demo: &str, runs: &[LessonRun], must_mention: &[&str]) -> String {
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

pub fn occurred(seen: &Observed) -> bool {
    seen.outcome() == Outcome::Occurred
}
