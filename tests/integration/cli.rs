//! The binary as a user meets it: bad input gets one `error:` line and a `hint:`, exit 2, never a
//! panic; output for scripts is clean; Ctrl-C leaves nothing behind.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::util::{self, Output, fixture, offline, output, txlab};

/// A lesson whose last step sleeps for a minute: an interrupt always lands mid-run.
const SLOW: &str = "slow.toml";

/// The binary with no server configured, as a user first meets it: bad input must be reported
/// without a server, and a command that needs one starts its own throwaway cluster.
/// One error line, one hint line, exit 2, no panic or backtrace.
fn assert_clean_error(out: &Output, needle: &str) {
    assert_eq!(out.code, 2, "exit code; stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "exactly an error and a hint line: {:?}",
        out.stderr
    );
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{:?}",
        lines[0]
    );
    assert!(lines[1].starts_with("hint: "), "{:?}", lines[1]);
    assert!(!out.stderr.contains("panicked") && !out.stderr.contains("backtrace"));
}

#[test]
fn list_shows_lessons_grouped_with_ids() {
    let out = output(offline().arg("list"));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("lost-update") && out.stdout.contains("P4"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Anomalies"));
}

#[test]
fn help_has_examples() {
    let out = output(offline().arg("--help"));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Examples:") && out.stdout.contains("txlab demo deadlock"));
}

#[test]
fn unknown_lesson_is_a_clean_error() {
    assert_clean_error(
        &output(offline().args(["demo", "no-such-lesson"])),
        "unknown lesson 'no-such-lesson'",
    );
}

#[test]
fn unknown_level_is_a_clean_error() {
    assert_clean_error(
        &output(offline().args(["demo", "lost-update", "--level", "chaos"])),
        "unknown isolation level 'chaos'",
    );
}

#[test]
fn malformed_lesson_file_names_file_and_line() {
    let out = output(offline().arg("run").arg(fixture("malformed.toml")));
    assert_clean_error(&out, "malformed.toml:8: no session named 'b'");
}

#[test]
fn missing_lesson_file_is_a_clean_error() {
    assert_clean_error(
        &output(offline().args(["run", "/nonexistent/lesson.toml"])),
        "cannot read /nonexistent/lesson.toml",
    );
}

#[test]
fn unreachable_server_is_a_clean_error() {
    let out = output(txlab().args([
        "demo",
        "lost-update",
        "--database-url",
        "postgres://txlab@127.0.0.1:1/txlab",
    ]));
    assert_clean_error(
        &out,
        "cannot reach PostgreSQL at postgres://txlab@127.0.0.1:1/txlab",
    );
    assert!(out.stderr.contains("docker compose up -d"));
}

#[test]
fn bad_url_is_a_clean_error() {
    assert_clean_error(
        &output(txlab().args([
            "demo",
            "lost-update",
            "--database-url",
            "postgres://:@:notaport/",
        ])),
        "invalid database URL",
    );
}

#[test]
fn wrong_password_is_a_clean_error() {
    let server = util::server();
    let Some(cluster) = server.postgres().and_then(|s| s.local_cluster()) else {
        util::skipped(format_args!(
            "needs the local cluster to require a password for one role"
        ));
        return;
    };
    let rt = util::runtime();
    rt.block_on(async {
        let (client, conn) = server.postgres().unwrap().config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("DROP ROLE IF EXISTS txlab_pw_check; CREATE ROLE txlab_pw_check LOGIN PASSWORD 'right'")
            .await
            .unwrap();
        let hba = cluster.data_dir().join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).unwrap();
        if !old.contains("txlab_pw_check") {
            std::fs::write(&hba, format!("local all txlab_pw_check scram-sha-256\n{old}")).unwrap();
        }
        client.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    });
    let url = format!(
        "postgresql://txlab_pw_check:wrong@/postgres?host={}&port={}",
        cluster.socket_dir().display(),
        cluster.port()
    );
    let out = output(txlab().args([
        "demo",
        "lost-update",
        "--level",
        "rc",
        "--database-url",
        &url,
    ]));
    assert_clean_error(&out, "refused the login");
}

#[test]
fn json_output_parses_and_has_the_documented_fields() {
    let out = output(txlab().args([
        "demo",
        "lost-update",
        "--level",
        "read-committed",
        "--format",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    let result = &doc["results"][0];
    assert_eq!(result["lesson"], "lost-update");
    assert_eq!(result["anomaly"], "P4");
    assert_eq!(result["level"], "read-committed");
    assert_eq!(result["outcome"], "occurred");
    assert_eq!(result["expected"], "occurred");
    let events = result["events"].as_array().unwrap();
    for field in ["t_ms", "session", "pid", "kind", "sql", "rows", "error"] {
        assert!(
            events.iter().all(|e| e.get(field).is_some()),
            "every event has {field}"
        );
    }
    assert!(
        events.iter().any(|e| e["kind"] == "blocked"),
        "bob's update was observed blocked"
    );
    assert!(events.iter().any(|e| e["kind"] == "commit"));
}

#[test]
fn piped_output_has_no_escape_codes_unless_forced() {
    let plain = output(txlab().args(["demo", "lost-update", "--level", "rc"]));
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(plain.stdout.contains("LOST UPDATE OCCURRED"));
    assert!(!plain.stdout.contains('\x1b') && !plain.stderr.contains('\x1b'));
    let forced =
        output(txlab().args(["demo", "lost-update", "--level", "rc", "--color", "always"]));
    assert!(forced.stdout.contains('\x1b'));
    let no_color = output(
        txlab()
            .args(["demo", "lost-update", "--level", "rc"])
            .env("NO_COLOR", "1"),
    );
    assert!(!no_color.stdout.contains('\x1b'));
}

#[test]
fn check_flag_exits_zero_when_runs_match_documentation() {
    let out = output(txlab().args(["demo", "lost-update", "--check"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Waits (polling the server, bounded) until `pred` holds.
async fn wait_until(client: &tokio_postgres::Client, sql: &str, pattern: &str, want: bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let n: i64 = client.query_one(sql, &[&pattern]).await.unwrap().get(0);
        if (n > 0) == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

#[test]
fn sigint_mid_demo_leaves_no_schema_and_no_backend() {
    let server = util::server();
    let rt = util::runtime();
    let mut child = txlab()
        .args([
            "run",
            &fixture(SLOW).display().to_string(),
            "--step-timeout",
            "120",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let schemas = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1";
    let backends = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";
    rt.block_on(async {
        let (client, conn) = server.postgres().unwrap().config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        assert!(
            wait_until(&client, schemas, &format!("txlab\\_{pid}\\_%"), true).await,
            "the demo never created its schema"
        );
        let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%'";
        assert!(
            wait_until(&client, sleeping, &format!("txlab-{pid}"), true).await,
            "the slow step never started"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid as i32, libc::SIGINT) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "interrupted runs exit 130");
        let n: i64 = client
            .query_one(schemas, &[&format!("txlab\\_{pid}\\_%")])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "schema left behind");
        assert!(
            wait_until(&client, backends, &format!("txlab-{pid}"), false).await,
            "txlab backends left behind"
        );
    });
}

#[test]
fn sigint_mid_demo_removes_the_throwaway_cluster() {
    let mut child = offline()
        .arg("run")
        .arg(fixture(SLOW))
        .args(["--step-timeout", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let prefix = format!("txlab-run-{pid}-");
    let find_run_dir = || {
        std::fs::read_dir(txlab::db::cluster::run_parent_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .filter(|dir| {
                // Complete once the server has written that it is ready.
                std::fs::read_to_string(dir.join("data/postmaster.pid"))
                    .is_ok_and(|t| t.lines().nth(7).map(str::trim) == Some("ready"))
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_dir = loop {
        if let Some(dir) = find_run_dir() {
            break dir;
        }
        assert!(Instant::now() < deadline, "no cluster directory appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    let postmaster: i32 = std::fs::read_to_string(run_dir.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        !run_dir.exists(),
        "cluster directory left behind: {}",
        run_dir.display()
    );
    // SAFETY: signal 0 only checks whether the postmaster still exists.
    let alive = unsafe { libc::kill(postmaster, 0) } == 0;
    assert!(!alive, "postmaster {postmaster} still running");
}
