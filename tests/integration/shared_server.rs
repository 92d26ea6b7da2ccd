//! Issue 10: a class on one shared server. Twenty students with roles of their own run the same
//! demo at the same moment and get the same verdicts, leaving nothing behind; a server that is
//! stopped mid-run gives one clear error, quickly, without a panic.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::NoTls;

use crate::util::{self, txlab};

/// The shared server's URL with another user.
fn url_as(user: &str) -> String {
    let url = util::database_url();
    match url.split_once("user=") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map(|(_, r)| r).unwrap_or("");
            format!("{head}user={user} {rest}").trim().to_string()
        }
        None => format!("{url} user={user}"),
    }
}

/// Every (lesson, level, outcome) of a JSON document, in document order.
fn verdicts(doc: &Value, out: &mut Vec<String>) {
    match doc {
        Value::Object(map) => {
            if let (Some(lesson), Some(outcome)) = (map.get("lesson"), map.get("outcome")) {
                out.push(format!(
                    "{lesson} {} {outcome} {}",
                    map.get("level").unwrap_or(&Value::Null),
                    map.get("matches_expectation").unwrap_or(&Value::Null)
                ));
            }
            map.values().for_each(|v| verdicts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| verdicts(v, out)),
        _ => {}
    }
}

#[test]
fn twenty_students_with_plain_roles_get_identical_verdicts_and_leave_nothing() {
    if std::env::var("TXLAB_TEST_DATABASE_URL").is_ok() {
        util::skipped(format_args!("creates roles: needs the test's own cluster"));
        return;
    }
    const STUDENTS: usize = 20;
    let rt = util::runtime();
    let server = util::pg();
    rt.block_on(async {
        let conn = server.connect(&Default::default()).await.unwrap();
        for i in 1..=STUDENTS {
            conn.client
                .batch_execute(&format!(
                    "DO $$ BEGIN
                       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'txlab_student_{i}') THEN
                         CREATE ROLE txlab_student_{i} LOGIN NOSUPERUSER;
                       END IF;
                     END $$;
                     GRANT CREATE ON DATABASE postgres TO txlab_student_{i};"
                ))
                .await
                .unwrap();
        }
        conn.close().await;
    });
    let children: Vec<_> = (1..=STUDENTS)
        .map(|i| {
            txlab()
                .args(["demo", "isolation", "--format", "json", "--check"])
                .arg("--database-url")
                .arg(url_as(&format!("txlab_student_{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut pids = Vec::new();
    let mut all = Vec::new();
    for child in children {
        pids.push(child.id());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut v = Vec::new();
        verdicts(&doc, &mut v);
        assert!(!v.is_empty(), "no verdicts in {doc}");
        all.push(v);
    }
    for (i, v) in all.iter().enumerate() {
        assert_eq!(v, &all[0], "student {} saw other verdicts", i + 1);
    }
    rt.block_on(async {
        let (client, conn) = server.config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        for pid in &pids {
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1),
                            (SELECT count(*) FROM pg_stat_activity WHERE application_name = $2),
                            (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                              WHERE a.application_name = $2)",
                    &[&format!("txlab\\_{pid}\\_%"), &format!("txlab-{pid}")],
                )
                .await
                .unwrap();
            let (schemas, backends, locks): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            assert_eq!((schemas, backends, locks), (0, 0, 0), "left by {pid}");
        }
    });
}

#[test]
fn a_server_stopped_mid_run_is_one_clear_error_within_five_seconds() {
    // A server of this test's own: stopping it must not disturb the other tests.
    let own = txlab::db::postgres::Server::resolve(None).expect("a throwaway cluster");
    let config = own.config().clone();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
    };
    let url = format!(
        "host={host} port={} user={} dbname=postgres",
        config.get_ports()[0],
        config.get_user().unwrap()
    );
    let mut child = txlab()
        .arg("run")
        .arg(util::fixture("slow.toml"))
        .args(["--step-timeout", "120", "--database-url", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = util::runtime();
    rt.block_on(async {
        let (client, conn) = config.connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND application_name LIKE 'txlab-%'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the slow step never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    drop(own); // stops the cluster (immediate shutdown) and removes it
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("txlab still runs 5 s after the server stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: the server closed the connection"),
        "{stderr}"
    );
    assert!(!stderr.contains("try it in psql"), "{stderr}");
    assert!(!stderr.contains("--database-url"), "{stderr}");
}
