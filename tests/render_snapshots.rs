//! Snapshots of what a user sees: timelines and the matrix rendered from real runs at a fixed
//! width with colour off. Only the volatile parts are normalised — backend pids (and transaction
//! ids in deadlock details) become 1001, 1002… and 901, 902…, event times become the event's
//! position in milliseconds, retry backoffs 1 ms — so a snapshot changes only when what is shown
//! changes.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test render_snapshots`, review the
//! diff of tests/snapshots/, commit.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use txlab::engine::event::EventKind;
use txlab::engine::{IsolationLevel, LessonRun, catalog};
use txlab::render::{self, Style};

const WIDTH: usize = 100;

/// Runs a built-in lesson at a level and normalises the run.
fn run(id: &str, level: IsolationLevel) -> LessonRun {
    let rt = common::runtime();
    let sandbox = common::sandbox();
    let lesson = catalog::find(id).unwrap();
    normalise(common::runs::run(&rt, &sandbox, &lesson, level))
}

/// Replaces what differs from run to run (pids, transaction ids, times) with stable values.
fn normalise(mut run: LessonRun) -> LessonRun {
    let mut ids = Ids::default();
    for (i, session) in run.sessions.iter_mut().enumerate() {
        let stable = 1001 + i as i32;
        ids.pids.insert(session.pid, stable);
        session.pid = stable;
    }
    let mut launched: HashMap<usize, Duration> = HashMap::new();
    let mut tick = 0;
    for event in &mut run.timeline.events {
        event.pid = ids.pid(event.pid);
        event.t = match event.kind {
            EventKind::Setup { .. } => Duration::ZERO,
            _ => {
                tick += 1;
                Duration::from_millis(tick)
            }
        };
        match &mut event.kind {
            EventKind::Launch { .. } => {
                if let Some(step) = event.step {
                    launched.insert(step, event.t);
                }
            }
            EventKind::Waiting { blockers, .. } => {
                for pid in blockers.iter_mut() {
                    *pid = ids.pid(*pid);
                }
            }
            EventKind::Completed(c) => {
                if c.waited.is_some() {
                    let since = event.step.and_then(|s| launched.get(&s)).copied();
                    c.waited = Some(event.t - since.unwrap_or_default());
                }
                if let Some(error) = &mut c.error {
                    error.message = ids.text(&error.message);
                    error.detail = error.detail.as_deref().map(|d| ids.text(d));
                }
            }
            EventKind::Notice { message, .. } => *message = ids.text(message),
            // Backoff has random jitter.
            EventKind::Retry { backoff, .. } => *backoff = Duration::from_millis(1),
            // Only recorded with --locks / --versions (tests/classroom.rs snapshots those).
            EventKind::Setup { .. } | EventKind::Locks(_) | EventKind::Versions(_) => {}
            // Only in isolation specs (tests/spec_conformance.rs).
            EventKind::Canceled { .. } | EventKind::Notification { .. } => {}
        }
    }
    if let Some(verdict) = &mut run.verdict {
        verdict.detail = ids.text(&verdict.detail);
    }
    run.notes = run.notes.iter().map(|n| ids.text(n)).collect();
    run.schedule_time = Duration::from_millis(tick);
    run.total_time = Duration::ZERO;
    run
}

/// Stable stand-ins for the backend pids and transaction ids of one run.
#[derive(Default)]
struct Ids {
    pids: HashMap<i32, i32>,
    xids: HashMap<String, String>,
}

impl Ids {
    fn pid(&self, pid: i32) -> i32 {
        self.pids.get(&pid).copied().unwrap_or(pid)
    }

    /// Rewrites the numbers in server text: a run's pid → its stand-in, and the number after
    /// "transaction " → 901, 902… in order of appearance.
    fn text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
            let len = rest[start..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - start);
            let number = &rest[start..start + len];
            out.push_str(&rest[..start]);
            let is_word = !rest[..start].ends_with(|c: char| c.is_alphanumeric() || c == '.');
            let pid = number.parse::<i32>().ok().and_then(|p| self.pids.get(&p));
            if let (true, Some(pid)) = (is_word, pid) {
                out.push_str(&pid.to_string());
            } else if out.ends_with("transaction ") {
                let next = format!("{}", 901 + self.xids.len());
                out.push_str(self.xids.entry(number.to_string()).or_insert(next));
            } else {
                out.push_str(number);
            }
            rest = &rest[start + len..];
        }
        out.push_str(rest);
        out
    }
}

fn timeline(run: &LessonRun) -> String {
    render::timeline::render(run, &Style::plain(WIDTH))
}

#[test]
fn lost_update_at_read_committed() {
    let run = run("lost-update", IsolationLevel::ReadCommitted);
    insta::assert_snapshot!("lost_update_read_committed", timeline(&run));
}

#[test]
fn lost_update_at_repeatable_read() {
    let run = run("lost-update", IsolationLevel::RepeatableRead);
    insta::assert_snapshot!("lost_update_repeatable_read", timeline(&run));
}

#[test]
fn deadlock_at_read_committed() {
    let run = run("deadlock", IsolationLevel::ReadCommitted);
    insta::assert_snapshot!("deadlock_read_committed", timeline(&run));
}

#[test]
fn dirty_read_at_read_uncommitted() {
    let run = run("dirty-read", IsolationLevel::ReadUncommitted);
    insta::assert_snapshot!("dirty_read_read_uncommitted", timeline(&run));
}

#[test]
fn the_full_matrix() {
    let rt = common::runtime();
    let sandbox = common::sandbox();
    let runs: Vec<LessonRun> = common::runs::isolation_matrix()
        .iter()
        .map(|(lesson, level)| normalise(common::runs::run(&rt, &sandbox, lesson, *level)))
        .collect();
    insta::assert_snapshot!(
        "matrix",
        render::matrix::render(&runs, &Style::plain(WIDTH))
    );
}

#[test]
fn normalising_rewrites_pids_and_transaction_ids_in_server_text() {
    let mut ids = Ids::default();
    ids.pids.insert(18323, 1002);
    ids.pids.insert(18322, 1001);
    assert_eq!(
        ids.text("Process 18323 waits for ShareLock on transaction 726; blocked by process 18322."),
        "Process 1002 waits for ShareLock on transaction 901; blocked by process 1001."
    );
    assert_eq!(
        ids.text(
            "Process 18322 waits for ShareLock on transaction 727; transaction 726 and 100.00"
        ),
        "Process 1001 waits for ShareLock on transaction 902; transaction 901 and 100.00"
    );
}
