//! Suite mode (`txlab run A.spec B.spec --expected DIR`, `--schedule`): PostgreSQL's shared specs
//! identical in suite mode and one by one, a wrong expected file reported `not ok` with a diff and
//! exit 1, and the three differences issue 11 found (application_name, a VACUUM (FREEZE) waiting,
//! a terminated backend) each checked by a small spec of our own whose expected output was taken
//! from PostgreSQL 15's real isolationtester (tests/fixtures/isolation).

use std::path::{Path, PathBuf};

use crate::util::{self, fixture, output, txlab};

const SHARED: [&str; 7] = [
    "classroom-scheduling",
    "deadlock-hard",
    "deadlock-simple",
    "eval-plan-qual",
    "nowait",
    "receipt-report",
    "skip-locked",
];

const CLASSES: [&str; 3] = ["appname", "terminated", "vacuum-freeze-wait"];

/// The shared pairs' directory, or `None` (said) when absent.
fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TXLAB_PG_ISOLATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pg-isolation"));
    if dir.join("deadlock-simple.spec").is_file() {
        Some(dir)
    } else {
        util::skipped(format_args!("no isolation specs in {}", dir.display()));
        None
    }
}

/// `txlab run --color never` without a `PGAPPNAME` from the developer's shell.
fn run() -> std::process::Command {
    let mut cmd = txlab();
    cmd.env_remove("PGAPPNAME")
        .args(["--color", "never", "run"]);
    cmd
}

fn specs(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(format!("{n}.spec")))
        .collect()
}

/// Every spec's line says `ok`, the summary counts them all, exit 0.
fn assert_all_ok(out: &util::Output, names: &[&str]) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for (i, name) in names.iter().enumerate() {
        let line = format!("ok {} - {name} ", i + 1);
        assert!(
            out.stdout.lines().any(|l| l.starts_with(&line)),
            "no `{line}` in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains(&format!("# All {} tests passed", names.len())),
        "{}",
        out.stdout
    );
}

#[test]
fn the_shared_specs_are_identical_in_suite_mode() {
    let Some(dir) = shared_dir() else { return };
    let out = output(run().args(specs(&dir, &SHARED)).arg("--expected").arg(&dir));
    assert_all_ok(&out, &SHARED);
    assert!(out.stdout.contains("1..7\n"), "{}", out.stdout);
}

#[test]
fn a_schedule_file_names_the_suite() {
    let Some(dir) = shared_dir() else { return };
    let tmp = tempdir("schedule");
    std::fs::write(
        tmp.join("schedule"),
        "# two of them\ntest: deadlock-simple\ntest: nowait\n",
    )
    .unwrap();
    let out = output(
        run()
            .arg("--schedule")
            .arg(tmp.join("schedule"))
            .arg("--specs")
            .arg(&dir)
            .arg("--expected")
            .arg(&dir),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_all_ok(&out, &["deadlock-simple", "nowait"]);
}

#[test]
fn a_wrong_expected_file_is_not_ok_with_a_diff_and_exit_1() {
    let Some(dir) = shared_dir() else { return };
    let tmp = tempdir("wrong");
    let right = std::fs::read_to_string(dir.join("deadlock-simple.out")).unwrap();
    let wrong = right.replace("step s1c: COMMIT;", "step s1c: ROLLBACK;");
    assert_ne!(right, wrong, "the expected file changed upstream");
    std::fs::write(tmp.join("deadlock-simple.out"), wrong).unwrap();
    std::fs::copy(dir.join("nowait.out"), tmp.join("nowait.out")).unwrap();
    let out = output(
        run()
            .args(specs(&dir, &["deadlock-simple", "nowait"]))
            .arg("--expected")
            .arg(&tmp),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("not ok 1 - deadlock-simple "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("-step s1c: ROLLBACK;\n+step s1c: COMMIT;\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\nok 2 - nowait "), "{}", out.stdout);
    assert!(
        out.stdout.contains("# 1 of 2 tests failed"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_missing_expected_file_is_an_error_exit_2() {
    let tmp = tempdir("missing");
    let out = output(
        run()
            .arg(fixture("isolation/appname.spec"))
            .arg("--expected")
            .arg(&tmp),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("not ok 1 - appname"), "{}", out.stdout);
    assert!(
        out.stdout.contains("# error: no expected output"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_spec_that_leaves_objects_behind_is_reported() {
    let tmp = tempdir("leftover");
    std::fs::write(
        tmp.join("litter.spec"),
        "setup { CREATE TABLE litter (id int); }\nsession s1\nstep a { SELECT 1 AS one; }\n",
    )
    .unwrap();
    let got = output(
        run()
            .arg(tmp.join("litter.spec"))
            .args(["--format", "isolationtester"]),
    );
    assert_eq!(got.code, 0, "{}", got.stderr);
    std::fs::write(tmp.join("litter.out"), &got.stdout).unwrap();
    let out = output(
        run()
            .arg(tmp.join("litter.spec"))
            .arg("--expected")
            .arg(&tmp),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("# litter left behind: relation public.litter"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 left objects behind"),
        "{}",
        out.stdout
    );
}

/// The three classes, in suite mode and then one by one (sequentially: the VACUUM spec creates a
/// role, which is global to the server).
#[test]
fn appname_vacuum_wait_and_terminated_backend_match_isolationtester() {
    let dir = fixture("isolation");
    let out = output(
        run()
            .args(specs(&dir, &CLASSES))
            .arg("--expected")
            .arg(&dir),
    );
    assert_all_ok(&out, &CLASSES);
    for name in CLASSES {
        let expected = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
        let single = output(
            run()
                .arg(dir.join(format!("{name}.spec")))
                .args(["--format", "isolationtester"]),
        );
        assert_eq!(single.code, 0, "{name}: {}", single.stderr);
        assert_eq!(single.stdout, expected, "{name} in single-spec mode");
    }
}

#[test]
fn the_shared_specs_are_identical_one_by_one() {
    let Some(dir) = shared_dir() else { return };
    for name in SHARED {
        let expected = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
        let single = output(
            run()
                .arg(dir.join(format!("{name}.spec")))
                .args(["--format", "isolationtester"]),
        );
        assert_eq!(single.code, 0, "{name}: {}", single.stderr);
        assert_eq!(single.stdout, expected, "{name} in single-spec mode");
    }
}

/// `--jobs 3`: the shared specs and the three classes side by side (the ones touching what the
/// whole server shares — VACUUM, a role, `pg_stat_activity`, `deadlock_timeout`,
/// `pg_terminate_backend` — run alone), every output identical and reported in the order given.
#[test]
fn side_by_side_jobs_give_the_same_outputs_in_the_same_order() {
    let Some(dir) = shared_dir() else { return };
    let classes = fixture("isolation");
    let tmp = tempdir("jobs");
    for (from, name) in SHARED
        .iter()
        .map(|n| (&dir, n))
        .chain(CLASSES.iter().map(|n| (&classes, n)))
    {
        std::fs::copy(
            from.join(format!("{name}.out")),
            tmp.join(format!("{name}.out")),
        )
        .unwrap();
    }
    let all: Vec<&str> = SHARED.iter().chain(CLASSES.iter()).copied().collect();
    let out = output(
        run()
            .args(specs(&dir, &SHARED))
            .args(specs(&classes, &CLASSES))
            .arg("--expected")
            .arg(&tmp)
            .args(["--jobs", "3"]),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_all_ok(&out, &all);
    let numbers: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let in_order: Vec<String> = (1..=all.len()).map(|i| i.to_string()).collect();
    assert_eq!(numbers, in_order, "{}", out.stdout);
}

#[test]
fn side_by_side_a_wrong_expected_file_is_still_not_ok_and_exit_1() {
    let Some(dir) = shared_dir() else { return };
    let tmp = tempdir("jobs-wrong");
    for name in ["deadlock-simple", "nowait", "skip-locked"] {
        std::fs::copy(
            dir.join(format!("{name}.out")),
            tmp.join(format!("{name}.out")),
        )
        .unwrap();
    }
    let right = std::fs::read_to_string(dir.join("nowait.out")).unwrap();
    std::fs::write(tmp.join("nowait.out"), right.replace("s1a", "s9a")).unwrap();
    let out = output(
        run()
            .args(specs(&dir, &["deadlock-simple", "nowait", "skip-locked"]))
            .arg("--expected")
            .arg(&tmp)
            .args(["--jobs", "2"]),
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("\nnot ok 2 - nowait "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nok 3 - skip-locked "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("# 1 of 3 tests failed"),
        "{}",
        out.stdout
    );
}

#[test]
fn jobs_on_one_spec_is_refused_with_a_hint() {
    let out = output(run().arg(fixture("isolation/appname.spec")).args([
        "--format",
        "isolationtester",
        "--jobs",
        "2",
    ]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.starts_with("error: --jobs runs a suite"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("\nhint: "), "{}", out.stderr);
}

/// A suite interrupted at any moment, with three jobs, drops every database it created: each is
/// registered with the sandbox before `CREATE DATABASE` (the suite's `isolation_regression` was
/// left behind before, since the cleanup had already ended the connection meant to drop it).
#[test]
fn an_interrupted_suite_with_jobs_leaves_no_database() {
    use std::os::unix::process::ExitStatusExt;
    let Some(dir) = shared_dir() else { return };
    let mut pids = Vec::new();
    for (i, ms) in [40u64, 120, 250, 400, 700, 1200].into_iter().enumerate() {
        let signal = if i % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let mut child = run()
            .args(specs(&dir, &SHARED))
            .arg("--expected")
            .arg(&dir)
            .args(["--jobs", "3"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(
            matches!(status.code(), Some(0 | 130 | 143)) || status.signal() == Some(signal),
            "after {ms} ms: {status:?}"
        );
        pids.push(child.id());
    }
    let left: Vec<String> = util::runtime().block_on(async {
        let (client, conn) = util::pg()
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut left = Vec::new();
        for pid in &pids {
            for row in client
                .query(
                    "SELECT datname FROM pg_database WHERE datname LIKE $1",
                    &[&format!("txlab\\_spec\\_{pid}\\_%")],
                )
                .await
                .unwrap()
            {
                left.push(row.get(0));
            }
        }
        left
    });
    assert!(left.is_empty(), "databases left behind: {left:?}");
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("txlab-suite-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
