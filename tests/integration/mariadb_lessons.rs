//! Lessons on MariaDB through the CLI and the same throwaway-server code a user gets: every
//! lesson with a MariaDB part at every level against its MariaDB expectations (`--check`), the
//! dirty read happening at READ UNCOMMITTED, and `--engine all`. Without `mariadbd` these tests
//! say so and pass.

use txlab::db::mariadb::binaries::find_mariadb_binaries;
use txlab::engine::catalog;
use txlab::model::Engine;

use crate::util::{offline, skipped};

fn have_mariadb() -> bool {
    let found = find_mariadb_binaries().is_some();
    if !found {
        skipped(format_args!(
            "mariadbd not found, MariaDB lessons not run (apt-get install mariadb-server)"
        ));
    }
    found
}

#[test]
fn every_mariadb_lesson_matches_its_mariadb_expectations_at_every_level() {
    if !have_mariadb() {
        return;
    }
    let ported: Vec<String> = catalog::builtin()
        .into_iter()
        .filter(|l| l.unsupported_on(Engine::Mariadb).is_none())
        .map(|l| l.id)
        .collect();
    assert!(ported.len() >= 2, "lessons with a MariaDB part: {ported:?}");
    for id in ported {
        let out = offline()
            .args([
                "demo", &id, "--engine", "mariadb", "--check", "--color", "never",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{id} on MariaDB differs from its expectations:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A lesson whose only default level is skipped on MariaDB (retry-serializable) runs
        // nothing and says why.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("MariaDB") || stderr.contains("skipped on MariaDB at "),
            "{id}: the title names the engine"
        );
    }
}

#[test]
fn the_dirty_read_happens_on_mariadb_at_read_uncommitted() {
    if !have_mariadb() {
        return;
    }
    let out = offline()
        .args([
            "demo",
            "dirty-read",
            "--engine",
            "mariadb",
            "-l",
            "read-uncommitted",
        ])
        .args(["--color", "never"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("→ balance = 1000.00"), "{stdout}");
    assert!(stdout.contains("DIRTY READ OCCURRED"), "{stdout}");
}

#[test]
fn engine_all_runs_both_engines_and_every_anomaly_on_mariadb() {
    if !have_mariadb() {
        return;
    }
    let out = offline()
        .args(["demo", "isolation", "--engine", "all", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"engine\": \"postgres\""), "{stdout}");
    assert!(stdout.contains("\"engine\": \"mariadb\""), "{stdout}");
    // Every anomaly lesson has a MariaDB variant at every level: nothing is skipped.
    assert!(!stderr.contains("skipped on MariaDB"), "{stderr}");
}

#[test]
fn engine_all_prints_one_matrix_with_the_engines_side_by_side() {
    if !have_mariadb() {
        return;
    }
    let out = offline()
        .args(["demo", "isolation", "--engine", "all", "--color", "never"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("PostgreSQL | MariaDB"), "{stdout}");
    let dirty = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("dirty-read "))
        .unwrap_or_default();
    assert!(dirty.contains("snapshot | OCCURRED"), "{dirty}");
}

/// Every anomaly and deadlock lesson with a MariaDB part, at every level it expects something
/// for on MariaDB, several rounds on one throwaway server: the verdict (outcome, how, expected)
/// and the order of events never change, and each run matches its MariaDB expectation. The
/// SERIALIZABLE runs with a MariaDB step order (`[mariadb.order]`) and the deadlock-decided ones
/// (G1c, G2, G2-item) are the ones this guards most.
#[test]
fn every_mariadb_anomaly_run_is_the_same_every_round() {
    if !have_mariadb() {
        return;
    }
    const ROUNDS: usize = 4;
    let rt = crate::util::runtime();
    let server = txlab::db::Server::resolve(None, Engine::Mariadb).expect("a MariaDB server");
    let sandbox = txlab::db::Sandbox::for_server(&server);
    let mut plan = Vec::new();
    for lesson in catalog::builtin() {
        if lesson.topic != "anomalies" && lesson.topic != "deadlocks" {
            continue;
        }
        let Ok(on_mariadb) = lesson.for_engine(Engine::Mariadb) else {
            continue;
        };
        for level in txlab::engine::IsolationLevel::ALL {
            if on_mariadb.expect.contains_key(&level)
                && lesson.skipped_at(Engine::Mariadb, Some(level)).is_none()
            {
                plan.push((lesson.clone(), level));
            }
        }
    }
    assert!(plan.len() >= 40, "{} MariaDB runs planned", plan.len());
    let mut first = Vec::new();
    for round in 0..ROUNDS {
        for (i, (lesson, level)) in plan.iter().enumerate() {
            let run = rt
                .block_on(txlab::engine::run_lesson(
                    &server,
                    &sandbox,
                    lesson,
                    Some(*level),
                    &txlab::engine::RunOptions::default(),
                ))
                .unwrap_or_else(|e| panic!("{} at {level} on MariaDB did not run: {e}", lesson.id));
            let verdict = run.verdict.expect("an anomaly lesson has a verdict");
            assert!(
                verdict.matches_expectation(),
                "{} at {level} on MariaDB, round {round}: {:?} {:?}, expected {:?} ({})",
                lesson.id,
                verdict.outcome,
                verdict.how,
                verdict.expected,
                verdict.detail
            );
            let print = (
                verdict.outcome,
                verdict.how,
                verdict.expected,
                run.timeline.signature(),
            );
            if round == 0 {
                first.push(print);
            } else {
                assert_eq!(
                    print, first[i],
                    "{} at {level} on MariaDB: round {round} differs from round 0",
                    lesson.id
                );
            }
        }
    }
}

/// Every anomaly lesson runs on MariaDB at all four levels, expects something at each and says
/// why, and a level it runs in its own order (`[mariadb.order]`) is one it expects something at.
#[test]
fn every_anomaly_lesson_expects_and_explains_all_four_levels_on_mariadb() {
    use txlab::engine::IsolationLevel;
    for lesson in catalog::builtin() {
        if lesson.topic != "anomalies" {
            continue;
        }
        let on_mariadb = lesson
            .for_engine(Engine::Mariadb)
            .unwrap_or_else(|reason| panic!("{} does not run on MariaDB: {reason}", lesson.id));
        let part = lesson.mariadb.as_deref().expect("a [mariadb] part");
        for level in IsolationLevel::ALL {
            assert!(
                on_mariadb.expect.contains_key(&level),
                "{}: no MariaDB expectation at {level}",
                lesson.id
            );
            assert!(
                on_mariadb.why.get(&level).is_some_and(|w| w.len() > 40),
                "{}: no MariaDB why at {level}",
                lesson.id
            );
            assert!(
                lesson.skipped_at(Engine::Mariadb, Some(level)).is_none(),
                "{}: skipped on MariaDB at {level}",
                lesson.id
            );
        }
        for level in part.order.keys() {
            let why = &on_mariadb.why[level];
            assert!(
                why.contains("MariaDB's own step order"),
                "{} at {level}: the why should say the run uses MariaDB's order: {why}",
                lesson.id
            );
        }
    }
}
