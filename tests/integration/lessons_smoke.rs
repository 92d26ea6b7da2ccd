//! A first end-to-end check: the lost-update lesson at every level matches PostgreSQL's
//! documented behaviour on a real server.

use txlab::engine::{IsolationLevel, RunOptions, catalog, run_lesson};

use crate::util;

#[test]
fn lost_update_matches_documented_behaviour_at_every_level() {
    let rt = util::runtime();
    let server = util::server();
    let sandbox = util::sandbox();
    let lesson = catalog::find("lost-update").unwrap();
    rt.block_on(async {
        for level in IsolationLevel::ALL {
            let run = run_lesson(
                server,
                &sandbox,
                &lesson,
                Some(level),
                &RunOptions::default(),
            )
            .await
            .unwrap();
            let v = run.verdict.unwrap();
            assert!(v.matches_expectation(), "{level}: {v:?}");
        }
    });
}
