//! PostgreSQL's own isolation specs, run by `txlab run X.spec --format isolationtester` against
//! the test server, must print exactly what PostgreSQL 15's isolationtester prints (the `.out`
//! files beside them). The pairs live outside the repository: in `TXLAB_PG_ISOLATION_DIR`, or
//! `../shared/pg-isolation` next to the checkout; without them these tests say so and skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::{self, txlab};

/// Where the spec/expected pairs are, or `None` (after saying why) when they are not there.
fn pairs_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TXLAB_PG_ISOLATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pg-isolation"));
    if dir.join("deadlock-simple.spec").is_file() {
        Some(dir)
    } else {
        util::skipped(format_args!(
            "no PostgreSQL isolation specs in {} (set TXLAB_PG_ISOLATION_DIR to the directory holding the .spec/.out pairs)",
            dir.display()
        ));
        None
    }
}

/// `txlab` without colour, as isolationtester prints none; on the shared server as its superuser
/// unless a `--database-url` names another role.
fn uncoloured() -> Command {
    let mut cmd = txlab();
    cmd.args(["--color", "never"]);
    cmd
}

/// Runs one spec as the superuser and compares stdout with the expected file, byte for byte.
fn conforms(name: &str) {
    let Some(dir) = pairs_dir() else { return };
    let expected = std::fs::read(dir.join(format!("{name}.out"))).unwrap();
    let out = uncoloured()
        .arg("run")
        .arg(dir.join(format!("{name}.spec")))
        .arg("--format")
        .arg("isolationtester")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: txlab failed: {stderr}");
    // pg_regress compares isolationtester's stdout and stderr together: nothing of txlab's own
    // (a progress bar, the privileges line on a server given by URL) may appear there.
    assert!(
        stderr.is_empty(),
        "{name}: stderr is part of the output: {stderr}"
    );
    if out.stdout != expected {
        let got = String::from_utf8_lossy(&out.stdout);
        let want = String::from_utf8_lossy(&expected);
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{name}: output differs from {name}.out at line {}:\n  got:  {:?}\n  want: {:?}\n(stderr: {stderr})",
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

#[test]
fn deadlock_simple_is_byte_identical() {
    conforms("deadlock-simple");
}

#[test]
fn deadlock_hard_is_byte_identical() {
    conforms("deadlock-hard");
}

#[test]
fn classroom_scheduling_is_byte_identical() {
    conforms("classroom-scheduling");
}

#[test]
fn receipt_report_is_byte_identical() {
    conforms("receipt-report");
}

#[test]
fn skip_locked_is_byte_identical() {
    conforms("skip-locked");
}

#[test]
fn nowait_is_byte_identical() {
    conforms("nowait");
}

#[test]
fn eval_plan_qual_is_byte_identical() {
    conforms("eval-plan-qual");
}

/// A role that may log in and create databases, but is no superuser; `None` (after saying why)
/// when the test server's user may not create it. Created once per test process: two tests
/// creating it at the same moment would trip over each other.
fn non_superuser_url() -> Option<String> {
    static CREATED: OnceLock<Result<(), String>> = OnceLock::new();
    let created = CREATED.get_or_init(|| {
        let rt = util::runtime();
        let server = util::server();
        rt.block_on(async {
            let conn = server
                .postgres()
                .unwrap()
                .connect(&Default::default())
                .await
                .unwrap();
            let result = conn
                .client
                .batch_execute(
                    "DO $$ BEGIN
                       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'txlab_plain') THEN
                         CREATE ROLE txlab_plain LOGIN CREATEDB NOSUPERUSER;
                       END IF;
                     END $$",
                )
                .await;
            conn.close().await;
            result.map_err(|e| e.to_string())
        })
    });
    if let Err(e) = created {
        util::skipped(format_args!(
            "cannot create the non-superuser role txlab_plain: {e}"
        ));
        return None;
    }
    let url = util::database_url();
    Some(match url.split_once("user=") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map(|(_, r)| r).unwrap_or("");
            format!("{head}user=txlab_plain {rest}").trim().to_string()
        }
        None => format!("{url} user=txlab_plain"),
    })
}

#[test]
fn as_non_superuser_a_step_needing_superuser_shows_postgres_error() {
    let Some(dir) = pairs_dir() else { return };
    let Some(url) = non_superuser_url() else {
        return;
    };
    let out = uncoloured()
        .arg("--database-url")
        .arg(&url)
        .arg("run")
        .arg(dir.join("eval-plan-qual.spec"))
        .arg("--format")
        .arg("isolationtester")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    // The permutations updating pg_class get PostgreSQL's own error in the output…
    assert!(
        stdout.contains(
            "step sys1: \n\tUPDATE pg_class SET reltuples = 123 WHERE oid = 'accounts'::regclass;\n\nERROR:  permission denied for table pg_class\n"
        ),
        "{stdout}"
    );
    // …and the run goes on to the last permutation, as isolationtester would.
    assert_eq!(stdout.matches("starting permutation:").count(), 52);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn as_non_superuser_a_setup_needing_superuser_fails_cleanly_with_postgres_error() {
    let Some(url) = non_superuser_url() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("txlab-spec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("needs-superuser.spec");
    std::fs::write(
        &spec,
        "setup { ALTER SYSTEM SET work_mem = '4MB'; }\nsession s1\nstep s1a { SELECT 1; }\n",
    )
    .unwrap();
    let out = uncoloured()
        .arg("--database-url")
        .arg(&url)
        .arg("run")
        .arg(&spec)
        .arg("--format")
        .arg("isolationtester")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stdout,
        "Parsed test spec with 1 sessions\n\nstarting permutation: s1a\n"
    );
    assert!(
        stderr.contains(
            "error: setup SQL failed: ERROR:  permission denied to set parameter \"work_mem\""
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_spec_is_reported_with_file_line_and_what_was_expected() {
    let dir = std::env::temp_dir().join(format!("txlab-spec-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("bad.spec");
    std::fs::write(
        &spec,
        "setup { CREATE TABLE t (); }\n\nsession s1\nstep a { SELECT 1; }\npermutation a(b\n",
    )
    .unwrap();
    let out = txlab().arg("run").arg(&spec).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("bad.spec:5: expected ',' or ')' in the markers, found the end of the file"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn all_permutations_of_a_lesson_are_classified() {
    let out = uncoloured()
        .arg("run")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/lost-update.toml"))
        .arg("--all-permutations")
        .arg("--level")
        .arg("read-committed")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Lost update at READ COMMITTED: 70 interleavings of 8 steps\n"),
        "{stdout}"
    );
    // Both serial orders are correct; the anomaly shows in some interleavings, and the orders in
    // which a waiting session would have to run its next step are classified, not run.
    assert!(
        stdout.contains(" 1  a1 a3 a5 a7 b2 b4 b_write b8  serial  prevented"),
        "{stdout}"
    );
    assert!(
        stdout.contains("70  b2 b4 b_write b8 a1 a3 a5 a7  serial  prevented"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" 3  a1 a3 a5 b2 b4 a7 b_write b8          OCCURRED"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" 5  a1 a3 a5 b2 b4 b_write b8 a7          impossible"),
        "{stdout}"
    );
    assert!(
        stdout.contains("70 interleavings: 10 prevented (snapshot) · 40 OCCURRED · 20 impossible"),
        "{stdout}"
    );
}

#[test]
fn all_permutations_of_a_spec_are_classified_by_what_happened() {
    let Some(dir) = pairs_dir() else { return };
    let out = uncoloured()
        .arg("run")
        .arg(dir.join("receipt-report.spec"))
        .arg("--all-permutations")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The spec's own comment: "There are only six permutations which must cause a serialization
    // failure."
    assert!(
        stdout.contains("210 interleavings: 204 no wait, no error · 6 aborted-40001\n"),
        "{stdout}"
    );
}

/// Orders that cannot happen (a step due on a session that waits for a lock only a later step
/// releases) are classified at once, without the step timeout: deadlock-simple's 20 interleavings
/// took over ten minutes before, waiting out PGISOLATIONTIMEOUT for each impossible one.
#[test]
fn impossible_orders_of_a_spec_are_classified_not_waited_out() {
    let Some(dir) = pairs_dir() else { return };
    let started = std::time::Instant::now();
    let out = uncoloured()
        .arg("run")
        .arg(dir.join("deadlock-simple.spec"))
        .arg("--all-permutations")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(" 3  s1as s1ae s2as s2ae s1c s2c          impossible"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "20 interleavings: 2 no wait, no error · 2 waited, no error · 8 impossible · 8 aborted-40P01\n"
        ),
        "{stdout}"
    );
    // Not a timing assertion: the default step timeout is 300 s, so waiting out even one
    // impossible order would take that long.
    assert!(started.elapsed() < std::time::Duration::from_secs(240));
}
