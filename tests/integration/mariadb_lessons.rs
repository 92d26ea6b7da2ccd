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
fn engine_all_runs_both_and_skips_unported_lessons_with_a_reason() {
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
    assert!(stderr.contains("skipped on MariaDB:"), "{stderr}");
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
