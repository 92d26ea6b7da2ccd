//! Issue 10: safe on a real shared server. No password is printed in any spelling of the
//! connection string, and a signal at any moment leaves no schema behind.

use std::process::Stdio;
use std::time::Duration;

use tokio_postgres::NoTls;

use crate::util::{self, txlab};

/// The shared server's socket directory and port, for building URLs of every spelling.
fn host_and_port() -> (String, u16) {
    let config = util::pg().config();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

#[test]
fn a_password_is_never_printed_in_any_spelling_or_format() {
    if std::env::var("TXLAB_TEST_DATABASE_URL").is_ok() {
        util::skipped(format_args!("needs the test's own trust-auth cluster"));
        return;
    }
    let (host, port) = host_and_port();
    let user = util::pg()
        .config()
        .get_user()
        .unwrap_or("postgres")
        .to_string();
    let spellings = [
        format!("postgres://{user}@/postgres?host={host}&port={port}&password=s3cret"),
        format!("postgres://{user}:s3cret@/postgres?host={host}&port={port}"),
        format!("host={host} port={port} user={user} dbname=postgres password=s3cret"),
        format!("host={host} port={port} user={user} dbname=postgres password='s3cret x'"),
    ];
    for url in &spellings {
        for format in ["html", "json", "markdown", "text"] {
            let out = txlab()
                .args([
                    "demo",
                    "lost-update",
                    "-l",
                    "read-committed",
                    "--format",
                    format,
                ])
                .arg("--database-url")
                .arg(url)
                .output()
                .unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{url} {format}: {all}");
            assert!(
                !all.contains("s3cret"),
                "{url} --format {format} printed it:\n{all}"
            );
        }
    }
    // An error message names the server too: a URL that cannot be reached.
    let out = txlab()
        .args(["demo", "lost-update", "--database-url"])
        .arg("postgres://u@/db?host=/nonexistent&password=s3cret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

/// A small deterministic generator (64-bit LCG): the same moments every run of the suite.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Defect 2: the schema was registered for cleanup only after CREATE SCHEMA returned, so a
/// signal in between left an empty schema behind. Thirty signals at moments between 0 and
/// 300 ms after the start, SIGINT and SIGTERM alternating, against a server given by URL.
#[test]
fn signals_at_random_moments_leave_no_schema_on_a_given_server() {
    let mut rng = Lcg(10);
    let runs = 30;
    let mut pids = Vec::new();
    for i in 0..runs {
        let signal = if i % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let delay = Duration::from_millis(rng.next() % 300);
        let mut child = txlab()
            .args(["demo", "isolation"])
            .arg("--database-url")
            .arg(util::database_url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        // A signal that lands before `main` installed its handlers (the first few ms after
        // exec, before anything exists) ends the process by the signal itself.
        use std::os::unix::process::ExitStatusExt;
        assert!(
            matches!(status.code(), Some(0 | 130 | 143)) || status.signal() == Some(signal),
            "run {i}: {status:?}"
        );
        pids.push(child.id());
    }
    let rt = util::runtime();
    let left: i64 = rt.block_on(async {
        let (client, conn) = util::pg().config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        let mut left = 0;
        for pid in &pids {
            let n: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1",
                    &[&format!("txlab\\_{pid}\\_%")],
                )
                .await
                .unwrap()
                .get(0);
            left += n;
        }
        left
    });
    assert_eq!(left, 0, "schemas left behind by {runs} interrupted runs");
}

/// Defect 8: a lesson's setup SQL had no time limit (a `pg_sleep(100)` ran 100 s).
#[test]
fn setup_sql_obeys_the_step_timeout() {
    let lesson = scratch_file("sleepy-setup.toml");
    let text = std::fs::read_to_string(util::fixture("slow.toml"))
        .unwrap()
        .replace(
            "setup = \"CREATE TABLE t",
            "setup = \"SELECT pg_sleep(100); CREATE TABLE t",
        );
    std::fs::write(&lesson, text).unwrap();
    let started = std::time::Instant::now();
    let out = txlab()
        .arg("run")
        .arg(&lesson)
        .args(["--step-timeout", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "setup ran {:?}",
        started.elapsed()
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
}

/// Defect 8, per-session setup: a session's own setup SQL had no time limit either (a
/// `pg_sleep(100)` there ran 100 s); it obeys `--step-timeout` like the lesson's setup, is
/// cancelled, and the run ends with one error naming the session, leaving no backend asleep.
#[test]
fn a_sessions_setup_sql_obeys_the_step_timeout() {
    let lesson = scratch_file("sleepy-session-setup.toml");
    let text = std::fs::read_to_string(util::fixture("slow.toml"))
        .unwrap()
        .replace(
            "name = \"a\"",
            "name = \"a\"\nsetup = \"SELECT pg_sleep(100)\"",
        );
    assert!(text.contains("pg_sleep(100)"), "{text}");
    std::fs::write(&lesson, text).unwrap();
    let started = std::time::Instant::now();
    let out = txlab()
        .arg("run")
        .arg(&lesson)
        .args(["--step-timeout", "1"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(elapsed < Duration::from_secs(20), "setup ran {elapsed:?}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        ["error: session a's setup SQL did not finish within 1 s; it was cancelled"],
        "{stderr}"
    );
    let asleep: i64 = util::runtime().block_on(async {
        let conn = util::pg().connect(&Default::default()).await.unwrap();
        let row = conn
            .client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(100)' AND state = 'active'",
                &[],
            )
            .await
            .unwrap();
        conn.close().await;
        row.get(0)
    });
    assert_eq!(asleep, 0, "the cancelled setup statement still runs");
}

/// Defect 8: `--step-timeout 0` was silently turned into 1 s.
#[test]
fn a_step_timeout_of_zero_is_refused_and_help_says_what_obeys_it() {
    let out = txlab()
        .args(["demo", "isolation", "--step-timeout", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--step-timeout"), "{stderr}");
    let help = txlab().args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("setup, teardown and verdict checks"),
        "{help}"
    );
    assert!(help.contains("PGISOLATIONTIMEOUT"), "{help}");
}

/// Defect 10: a file that is not UTF-8 was answered with "check the path".
#[test]
fn a_file_that_is_not_utf8_is_called_so() {
    let lesson = scratch_file("latin1.toml");
    std::fs::write(&lesson, b"title = \"caf\xe9\"\n").unwrap();
    let out = txlab().arg("run").arg(&lesson).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert!(!stderr.contains("check the path"), "{stderr}");
}

/// A path of this test process's own in the temporary directory.
fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("txlab-safety-{}-{name}", std::process::id()))
}

/// A teacher's lesson whose order cannot go on (a session's next step is due while it waits for a
/// lock only a later step releases) is told so, in the server's terms, not that the step
/// "neither completed nor blocked": the server showed it blocked.
#[test]
fn a_lesson_order_that_cannot_go_on_is_named_as_such() {
    let out = txlab()
        .arg("run")
        .arg(util::fixture("wrong-order.toml"))
        .args(["--step-timeout", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("hint:"))
        .collect();
    assert_eq!(
        lines[0],
        "error: step b4 waits for a lock that only a later step can release, so step b5 cannot run after it",
        "{stderr}"
    );
    assert!(
        lines[1].contains("move a step that releases the lock"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("neither completed nor blocked"),
        "{stderr}"
    );
}
