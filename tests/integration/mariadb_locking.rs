//! The locking demos on MariaDB (issue 12): every locking lesson has a MariaDB part; every demo
//! runs at every level against its `[mariadb.expect]` (`--check`), three times with the same
//! outcomes and the same event order; `--locks` names waiter and holder for row, named and
//! metadata locks; `--versions` is refused in words. Without `mariadbd` these tests say so and pass.

use serde_json::Value;
use txlab::db::mariadb::binaries::find_mariadb_binaries;
use txlab::engine::catalog;
use txlab::model::Engine;

use crate::util::{offline, skipped};

fn have_mariadb() -> bool {
    let found = find_mariadb_binaries().is_some();
    if !found {
        skipped(format_args!(
            "mariadbd not found, MariaDB locking demos not run (apt-get install mariadb-server)"
        ));
    }
    found
}

/// The demos of topic `locking`, each once.
fn locking_demos() -> Vec<String> {
    let mut demos: Vec<String> = catalog::builtin()
        .into_iter()
        .filter(|l| l.topic == "locking")
        .filter_map(|l| l.demo)
        .collect();
    demos.sort();
    demos.dedup();
    demos
}

/// Runs `args` with `--format json` and returns the results.
fn results(args: &[&str]) -> Vec<Value> {
    let out = offline()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    json["results"].as_array().cloned().unwrap_or_default()
}

/// What must be the same every run: lesson, level, outcome, how, and the order of events by
/// session, step and kind (times left out).
fn signature(result: &Value) -> String {
    let events: Vec<String> = result["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}:{}:{}", e["session"], e["step"], e["kind"]))
        .collect();
    format!(
        "{} {} {} {} [{}]",
        result["lesson"],
        result["level"],
        result["outcome"],
        result["how"],
        events.join(" ")
    )
}

#[test]
fn every_locking_lesson_has_a_mariadb_part() {
    let missing: Vec<String> = catalog::builtin()
        .into_iter()
        .filter(|l| l.topic == "locking" && l.unsupported_on(Engine::Mariadb).is_some())
        .map(|l| l.id)
        .collect();
    assert!(missing.is_empty(), "no MariaDB variant: {missing:?}");
}

#[test]
fn every_locking_demo_matches_its_mariadb_expectations_the_same_way_three_times() {
    if !have_mariadb() {
        return;
    }
    let demos = locking_demos();
    assert!(demos.len() >= 11, "{demos:?}");
    for demo in demos {
        let args = [
            "demo", &demo, "--engine", "mariadb", "-l", "ru", "-l", "rc", "-l", "rr", "-l", "ser",
            "--check",
        ];
        let first: Vec<String> = results(&args).iter().map(signature).collect();
        assert!(!first.is_empty(), "{demo}: nothing ran");
        for run in 2..=3 {
            let again: Vec<String> = results(&args).iter().map(signature).collect();
            assert_eq!(first, again, "{demo}: run {run} differs from run 1");
        }
    }
}

/// The `locks` reports of a run: (waiter session, holder session, locktype, relation).
fn lock_edges(result: &Value) -> Vec<(String, String, String, String)> {
    let name_of = |pid: &Value| -> String {
        result["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["pid"] == *pid)
            .map(|s| s["name"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| format!("pid {pid}"))
    };
    result["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "locks")
        .flat_map(|e| e["locks"]["waits"].as_array().cloned().unwrap_or_default())
        .map(|w| {
            (
                name_of(&w["waiter"]),
                name_of(&w["holder"]),
                w["locktype"].as_str().unwrap_or_default().to_string(),
                w["relation"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn locks_on_mariadb_name_waiter_and_holder_for_row_named_and_metadata_locks() {
    if !have_mariadb() {
        return;
    }
    let edge = |w: &str, h: &str, t: &str, r: &str| {
        (w.to_string(), h.to_string(), t.to_string(), r.to_string())
    };
    let row = results(&["demo", "deadlock", "--engine", "mariadb", "--locks"]);
    let edges = lock_edges(&row[0]);
    assert!(
        edges.contains(&edge("a", "b", "record", "accounts")),
        "alice waits for bob's row lock: {edges:?}"
    );
    let named = results(&[
        "demo",
        "withdrawals-advisory-lock",
        "--engine",
        "mariadb",
        "--locks",
    ]);
    let edges = lock_edges(&named[0]);
    assert!(
        edges.contains(&edge("b", "a", "user", "'account-1'")),
        "the withdrawal waits for the broker's GET_LOCK: {edges:?}"
    );
    let mdl = results(&[
        "demo",
        "for-share-table-queue",
        "--engine",
        "mariadb",
        "--locks",
    ]);
    let edges = lock_edges(&mdl[0]);
    assert!(
        edges.contains(&edge("b", "a", "metadata", "product")),
        "the ALTER waits for the open transaction's metadata lock: {edges:?}"
    );
    assert!(
        edges.contains(&edge("c", "b", "metadata", "product")),
        "the SELECT queues behind the ALTER: {edges:?}"
    );
}

#[test]
fn locks_on_mariadb_are_drawn_in_the_timeline() {
    if !have_mariadb() {
        return;
    }
    let out = offline()
        .args(["demo", "deadlock", "--engine", "mariadb", "--locks"])
        .args(["--color", "never"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("⚑ alice's transfer waits for bob's transfer: wants X (record only)"),
        "{stdout}"
    );
    assert!(stdout.contains("lock wait (InnoDB monitor"), "{stdout}");
}

#[test]
fn versions_on_mariadb_are_refused_with_a_hint() {
    // Refused before any server starts, so this runs without mariadbd too.
    let out = offline()
        .args(["demo", "lost-update", "--engine", "mariadb", "--versions"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.contains("undo log"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("--engine postgres"),
        "{stderr}"
    );
}
