//! Snapshots of what a user sees: timelines and the matrix rendered from real runs at a fixed
//! width with colour off. Only the volatile parts are normalised (`util::normalise`, the timeline
//! layout) — backend pids (and transaction ids in deadlock details) become 1001, 1002… and 901,
//! 902…, event times become the event's position in milliseconds, retry backoffs 1 ms — so a
//! snapshot changes only when what is shown changes.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test integration
//! render_snapshots::`, review the diff of tests/integration/snapshots/, commit.

use txlab::engine::{IsolationLevel, LessonRun, catalog};
use txlab::render::{self, Style};

use crate::util;
use crate::util::normalise::{Layout, normalise};

const WIDTH: usize = 100;

/// Runs a built-in lesson at a level and normalises the run.
fn run(id: &str, level: IsolationLevel) -> LessonRun {
    let rt = util::runtime();
    let sandbox = util::sandbox();
    let lesson = catalog::find(id).unwrap();
    normalise(
        util::runs::run(&rt, &sandbox, &lesson, level),
        Layout::Timeline,
    )
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
    let rt = util::runtime();
    let sandbox = util::sandbox();
    let runs: Vec<LessonRun> = util::runs::isolation_matrix()
        .iter()
        .map(|(lesson, level)| {
            normalise(
                util::runs::run(&rt, &sandbox, lesson, *level),
                Layout::Timeline,
            )
        })
        .collect();
    insta::assert_snapshot!(
        "matrix",
        render::matrix::render(&runs, &Style::plain(WIDTH))
    );
}

/// `--locks` in a pool lesson: the server sees no lock wait; the pool's waits and the cycle
/// through the pool are drawn from the pool's own state (issue 15).
#[test]
fn pool_deadlock_with_locks() {
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
    let run = normalise(
        util::runs::run_with(
            &rt,
            &sandbox,
            &lesson,
            IsolationLevel::ReadCommitted,
            &options,
        ),
        Layout::Timeline,
    );
    insta::assert_snapshot!("pool_deadlock_locks", timeline(&run));
}

/// The stale connection handed out by fast recycling, and the error its statement got.
#[test]
fn stale_connection_with_fast_recycling() {
    let mut run = run("stale-connection-broken", IsolationLevel::ReadCommitted);
    // The checkout time measured in the run is wall clock: shown as N.NNN.
    let verdict = run.verdict.as_mut().unwrap();
    let (before, after) = verdict
        .detail
        .split_once(" took ")
        .expect("the verdict shows the checkout time");
    let (_, rest) = after.split_once(" ms on average").unwrap();
    verdict.detail = format!("{before} took N.NNN ms on average{rest}");
    insta::assert_snapshot!("stale_connection_broken", timeline(&run));
}
