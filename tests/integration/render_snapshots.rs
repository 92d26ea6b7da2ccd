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
