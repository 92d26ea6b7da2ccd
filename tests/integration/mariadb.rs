//! MariaDB, the second engine, against a real server: the throwaway server starts through
//! txlab's own code (`src/db/mariadb`), and every test says plainly and passes when `mariadbd`
//! is not installed (`apt-get install mariadb-server` runs them).

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use txlab::db::mariadb::binaries::find_mariadb_binaries;
use txlab::db::mariadb::connect::{MariadbSession, MariadbTarget, ResultSet, StatementOutcome};
use txlab::db::mariadb::errors::ErrorKind;
use txlab::db::mariadb::probe::{MariadbProbe, Wait};
use txlab::db::mariadb::sandbox::MariadbSandbox;
use txlab::db::mariadb::server::LocalMariadb;

/// A fresh throwaway server, or `None` (with a note) where MariaDB is not installed.
fn server() -> Option<LocalMariadb> {
    let Some(binaries) = find_mariadb_binaries() else {
        eprintln!("mariadbd not found: skipping (apt-get install mariadb-server)");
        return None;
    };
    Some(LocalMariadb::start(binaries).expect("throwaway MariaDB starts"))
}

/// A server, a database of its own with table t(id, v) = (1,10),(2,20), and the sandbox.
async fn lab() -> Option<(LocalMariadb, MariadbTarget, MariadbSandbox, String)> {
    let server = server()?;
    let target = MariadbTarget::local(&server);
    let sandbox = MariadbSandbox::new();
    let mut control = target.connect(None).await.unwrap();
    let db = sandbox.create_database(&mut control).await.unwrap();
    let setup = control
        .run(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
             INSERT INTO `{db}`.t VALUES (1, 10), (2, 20)"
        ))
        .await;
    assert!(setup.error.is_none(), "{:?}", setup.error);
    control.close().await;
    Some((server, target, sandbox, db))
}

/// Runs a statement on a session in the background (it may block); the session comes back.
fn launch(mut s: MariadbSession, sql: &str) -> JoinHandle<(MariadbSession, StatementOutcome)> {
    let sql = sql.to_string();
    tokio::spawn(async move {
        let out = s.run(&sql).await;
        (s, out)
    })
}

async fn ok(s: &mut MariadbSession, sql: &str) -> Vec<ResultSet> {
    let out = s.run(sql).await;
    assert!(out.error.is_none(), "{sql}: {:?}", out.error);
    out.sets
}

/// Asks the probe back to back until it says blocked; the time it took.
async fn until_blocked(probe: &mut MariadbProbe, id: u32) -> Duration {
    let start = Instant::now();
    while !probe.is_blocked(id).await.unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "session {id} never seen blocked"
        );
    }
    start.elapsed()
}

#[tokio::test]
async fn the_throwaway_server_starts_answers_and_leaves_nothing() {
    // A killed run's directory: its owner pid is gone, so the next start sweeps it.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let leftover = txlab::db::mariadb::dirs::run_parent_dir().join(format!(
        "{}run-{dead_pid}-0",
        txlab::db::mariadb::dirs::RUN_PREFIX
    ));
    std::fs::create_dir_all(leftover.join("data")).unwrap();
    let Some(server) = server() else {
        let _ = std::fs::remove_dir_all(&leftover);
        return;
    };
    assert!(!leftover.exists(), "{} was not swept", leftover.display());
    let socket = server.socket();
    let run_dir = socket.parent().unwrap().to_path_buf();
    let mut s = MariadbTarget::local(&server).connect(None).await.unwrap();
    assert!(
        s.version.starts_with("10.") || s.version.starts_with("11."),
        "{}",
        s.version
    );
    assert_eq!(
        s.scalar("SELECT CURRENT_USER()").await.as_deref(),
        Some("txlab@localhost")
    );
    assert_eq!(s.scalar("SELECT @@log_bin").await.as_deref(), Some("0"));
    assert_eq!(
        s.scalar("SELECT CONNECTION_ID()").await,
        Some(s.id().to_string())
    );
    s.close().await;
    drop(server);
    assert!(!run_dir.exists(), "{} left behind", run_dir.display());
}

#[tokio::test]
async fn a_text_of_several_statements_returns_each_result_until_the_first_error() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut s = target.connect(Some(&db)).await.unwrap();
    let out = s
        .run("UPDATE t SET v = v + 1; SELECT id, v, NULL FROM t ORDER BY id; SELECT nosuch FROM t; SELECT 1")
        .await;
    assert_eq!(out.sets[0], ResultSet::Affected(2));
    let ResultSet::Rows { columns, rows } = &out.sets[1] else {
        panic!("{:?}", out.sets)
    };
    assert_eq!(columns, &["id", "v", "NULL"]);
    assert_eq!(rows[0], vec![Some("1".into()), Some("11".into()), None]);
    assert_eq!(out.sets.len(), 2, "nothing after the error runs");
    let err = out.error.unwrap();
    assert_eq!((err.code, err.sqlstate.as_str()), (1054, "42S22"), "{err}");
    // The session is still usable, and warnings are collected when there are some.
    let out = s.run("SELECT CAST('x' AS SIGNED)").await;
    assert!(out.error.is_none());
    assert_eq!(
        out.warnings.first().map(|w| w.code),
        Some(1292),
        "{:?}",
        out.warnings
    );
}

#[tokio::test]
async fn a_row_lock_wait_is_seen_at_once_and_a_sleep_never() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let b = target.connect(Some(&db)).await.unwrap();
    let c = target.connect(Some(&db)).await.unwrap();
    let (a_id, b_id, c_id) = (a.id(), b.id(), c.id());
    let mut probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a_id, b_id, c_id]);

    ok(&mut a, "BEGIN; UPDATE t SET v = v + 1 WHERE id = 1").await;
    let waiter = launch(b, "UPDATE t SET v = v + 5 WHERE id = 1");
    let took = until_blocked(&mut probe, b_id).await;
    assert!(took < Duration::from_millis(500), "seen after {took:?}");
    assert_eq!(probe.waiting(b_id).await.unwrap(), Some(Wait::RowLock));
    assert_eq!(probe.blockers(b_id).await, vec![a_id]);
    assert!(!probe.is_blocked(a_id).await.unwrap());

    // Slow is never blocked: asked over and over while the sleep runs.
    let sleeper = launch(c, "SELECT SLEEP(0.3)");
    let mut asked = 0;
    while !sleeper.is_finished() {
        assert!(
            !probe.is_blocked(c_id).await.unwrap(),
            "a sleeping session reported blocked"
        );
        asked += 1;
    }
    assert!(asked > 3, "asked only {asked} times");

    ok(&mut a, "COMMIT").await;
    let (_, out) = waiter.await.unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(!probe.is_blocked(b_id).await.unwrap());
}

#[tokio::test]
async fn metadata_lock_and_get_lock_waits_are_reported_with_their_holder() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let b = target.connect(Some(&db)).await.unwrap();
    let c = target.connect(Some(&db)).await.unwrap();
    let (a_id, b_id, c_id) = (a.id(), b.id(), c.id());
    let mut probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a_id, b_id, c_id]);

    ok(
        &mut a,
        "BEGIN; SELECT * FROM t; SELECT GET_LOCK('txlab-k', 10)",
    )
    .await;
    let ddl = launch(b, "ALTER TABLE t ADD COLUMN w INT");
    until_blocked(&mut probe, b_id).await;
    assert!(
        matches!(probe.waiting(b_id).await.unwrap(), Some(Wait::MetadataLock(s)) if s.contains("metadata"))
    );
    let named = launch(c, "SELECT GET_LOCK('txlab-k', 10)");
    until_blocked(&mut probe, c_id).await;
    assert_eq!(probe.waiting(c_id).await.unwrap(), Some(Wait::UserLock));
    let user_lock_holders = probe.blockers(c_id).await;
    let metadata_holders = probe.blockers(b_id).await;
    ok(&mut a, "COMMIT; SELECT RELEASE_LOCK('txlab-k')").await;
    assert!(ddl.await.unwrap().1.error.is_none());
    assert!(named.await.unwrap().1.error.is_none());
    // Holders come from the metadata_lock_info plugin, which Debian's server package ships.
    if std::path::Path::new("/usr/lib/mysql/plugin/metadata_lock_info.so").exists() {
        assert_eq!(user_lock_holders, vec![a_id]);
        assert!(metadata_holders.contains(&a_id), "{metadata_holders:?}");
    }
}

#[tokio::test]
async fn a_deadlock_rolls_back_the_session_that_closes_the_cycle() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let mut b = target.connect(Some(&db)).await.unwrap();
    let b_id = b.id();
    let mut probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a.id(), b_id]);
    ok(&mut a, "BEGIN; UPDATE t SET v = 1 WHERE id = 1").await;
    ok(&mut b, "BEGIN; UPDATE t SET v = 2 WHERE id = 2").await;
    let first = launch(b, "UPDATE t SET v = 2 WHERE id = 1");
    until_blocked(&mut probe, b_id).await;
    let closing = a.run("UPDATE t SET v = 1 WHERE id = 2").await;
    let err = closing.error.expect("the session closing the cycle loses");
    assert_eq!(
        (err.code, err.sqlstate.as_str(), err.kind()),
        (1213, "40001", ErrorKind::Deadlock)
    );
    assert!(a.transaction_failed());
    // The whole transaction is gone: the next statement runs in autocommit.
    assert_eq!(
        a.scalar("SELECT @@in_transaction").await.as_deref(),
        Some("0")
    );
    let (mut b, out) = first.await.unwrap();
    assert!(out.error.is_none());
    ok(&mut b, "COMMIT").await;
    ok(&mut a, "ROLLBACK").await;
    assert!(!a.transaction_failed());
    let rows = ok(&mut a, "SELECT v FROM t ORDER BY id").await;
    assert_eq!(
        rows[0],
        ResultSet::Rows {
            columns: vec!["v".into()],
            rows: vec![vec![Some("2".into())], vec![Some("2".into())]]
        }
    );
}

#[tokio::test]
async fn kill_query_cancels_a_waiting_statement_and_keeps_the_transaction() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let mut b = target.connect(Some(&db)).await.unwrap();
    let b_id = b.id();
    let mut probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a.id(), b_id]);
    ok(&mut a, "BEGIN; UPDATE t SET v = 1 WHERE id = 1").await;
    ok(&mut b, "BEGIN; UPDATE t SET v = 2 WHERE id = 2").await;
    let waiter = launch(b, "UPDATE t SET v = 2 WHERE id = 1");
    until_blocked(&mut probe, b_id).await;
    probe.control().cancel(b_id).await.unwrap();
    let (mut b, out) = waiter.await.unwrap();
    let err = out.error.expect("cancelled");
    assert_eq!(
        (err.code, err.kind()),
        (1317, ErrorKind::Cancelled),
        "{err}"
    );
    assert!(!b.transaction_failed());
    assert_eq!(
        b.scalar("SELECT @@in_transaction").await.as_deref(),
        Some("1")
    );
    ok(&mut b, "ROLLBACK").await;
    ok(&mut a, "ROLLBACK").await;
}

#[tokio::test]
async fn the_sandbox_drops_its_database_and_cleans_up_after_an_interrupt() {
    let Some((_server, target, sandbox, db)) = lab().await else {
        return;
    };
    let mut control = target.connect(None).await.unwrap();
    assert_eq!(sandbox.live(), vec![db.clone()]);
    assert!(db.starts_with(&format!("txlab_{}_", std::process::id())));
    // An "interrupted" run: a session of the sandbox holds a lock in a second database.
    let second = sandbox.create_database(&mut control).await.unwrap();
    let mut holder = sandbox.connect(&target, Some(&db)).await.unwrap();
    let holder_id = holder.id();
    ok(&mut holder, "BEGIN; UPDATE t SET v = 0 WHERE id = 1").await;
    sandbox.cleanup(&target).await;
    assert!(sandbox.live().is_empty());
    let left = control
        .scalar(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('{db}', '{second}')"
        ))
        .await;
    assert_eq!(left.as_deref(), Some("0"));
    let alive = control
        .scalar(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {holder_id}"
        ))
        .await;
    assert_eq!(
        alive.as_deref(),
        Some("0"),
        "the holder's session was killed"
    );
    let err = holder
        .run("SELECT 1")
        .await
        .error
        .expect("a killed session fails");
    assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
}

#[tokio::test]
async fn a_bad_url_and_an_unreachable_server_say_what_to_do() {
    let err = MariadbTarget::from_url("mysql://root:hunter2@localhost/x?socket=/nonexistent/sock")
        .unwrap()
        .connect(None)
        .await
        .err()
        .expect("nothing listens there");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.hint().contains("mysql://"), "{}", err.hint());
    assert!(
        txlab::error::TxlabError::NoMariadb
            .hint()
            .contains("mariadb-server")
    );
    assert!(
        txlab::error::TxlabError::NoMariadb
            .hint()
            .contains("docker compose")
    );
}

/// Two sessions at `level` in the lab's database, and a probe over them.
async fn pair(
    target: &MariadbTarget,
    db: &str,
    level: &str,
) -> (MariadbSession, MariadbSession, MariadbProbe) {
    let mut a = target.connect(Some(db)).await.unwrap();
    let mut b = target.connect(Some(db)).await.unwrap();
    for s in [&mut a, &mut b] {
        ok(
            s,
            &format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}"),
        )
        .await;
    }
    let probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a.id(), b.id()]);
    (a, b, probe)
}

#[tokio::test]
async fn read_uncommitted_really_reads_uncommitted_rows() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let (mut a, mut b, _) = pair(&target, &db, "READ UNCOMMITTED").await;
    ok(&mut a, "BEGIN; UPDATE t SET v = 99 WHERE id = 1").await;
    assert_eq!(
        b.scalar("SELECT v FROM t WHERE id = 1").await.as_deref(),
        Some("99"),
        "G1a: dirty read"
    );
    ok(
        &mut b,
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    )
    .await;
    assert_eq!(
        b.scalar("SELECT v FROM t WHERE id = 1").await.as_deref(),
        Some("10")
    );
    ok(&mut a, "ROLLBACK").await;
}

#[tokio::test]
async fn repeatable_read_lets_a_lost_update_through() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let (mut a, mut b, mut probe) = pair(&target, &db, "REPEATABLE READ").await;
    let b_id = b.id();
    ok(&mut a, "BEGIN; SELECT v INTO @x FROM t WHERE id = 1").await;
    ok(&mut b, "BEGIN; SELECT v INTO @x FROM t WHERE id = 1").await;
    ok(&mut a, "UPDATE t SET v = @x + 1 WHERE id = 1").await;
    let second = launch(b, "UPDATE t SET v = @x + 1 WHERE id = 1");
    until_blocked(&mut probe, b_id).await;
    ok(&mut a, "COMMIT").await;
    let (mut b, out) = second.await.unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    ok(&mut b, "COMMIT").await;
    // Both committed +1 from 10: one increment is lost (PostgreSQL refuses the second with 40001).
    assert_eq!(
        a.scalar("SELECT v FROM t WHERE id = 1").await.as_deref(),
        Some("11")
    );
}

#[tokio::test]
async fn serializable_turns_a_select_in_a_transaction_into_a_locking_read() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let (mut a, mut b, mut probe) = pair(&target, &db, "SERIALIZABLE").await;
    let b_id = b.id();
    ok(&mut a, "BEGIN; UPDATE t SET v = 11 WHERE id = 1").await;
    // Outside a transaction (autocommit) a SELECT stays a plain consistent read.
    assert_eq!(
        b.scalar("SELECT v FROM t WHERE id = 1").await.as_deref(),
        Some("10")
    );
    ok(&mut b, "BEGIN").await;
    let reader = launch(b, "SELECT v FROM t WHERE id = 1");
    until_blocked(&mut probe, b_id).await;
    assert_eq!(probe.blockers(b_id).await, vec![a.id()]);
    ok(&mut a, "COMMIT").await;
    let (mut b, out) = reader.await.unwrap();
    assert_eq!(
        out.sets[0],
        ResultSet::Rows {
            columns: vec!["v".into()],
            rows: vec![vec![Some("11".into())]]
        }
    );
    ok(&mut b, "COMMIT").await;
}

#[tokio::test]
async fn write_skew_passes_repeatable_read_and_deadlocks_under_serializable() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    for (level, skew) in [("REPEATABLE READ", true), ("SERIALIZABLE", false)] {
        let (mut a, mut b, mut probe) = pair(&target, &db, level).await;
        let a_id = a.id();
        ok(&mut a, "UPDATE t SET v = 1").await;
        ok(&mut a, "BEGIN; SELECT SUM(v) INTO @s FROM t").await;
        ok(&mut b, "BEGIN; SELECT SUM(v) INTO @s FROM t").await;
        // Each takes one row off duty if both are on duty.
        let first = launch(a, "UPDATE t SET v = 0 WHERE id = 1 AND @s >= 2");
        let a_blocked = !skew && {
            until_blocked(&mut probe, a_id).await;
            true
        };
        let second = b.run("UPDATE t SET v = 0 WHERE id = 2 AND @s >= 2").await;
        let (mut a, out) = first.await.unwrap();
        assert!(out.error.is_none(), "{level}: {:?}", out.error);
        if skew {
            assert!(second.error.is_none());
            ok(&mut b, "COMMIT").await;
        } else {
            assert!(a_blocked);
            assert_eq!(
                second.error.map(|e| e.code),
                Some(1213),
                "{level}: the closer loses"
            );
            assert!(b.transaction_failed());
            ok(&mut b, "ROLLBACK").await;
        }
        ok(&mut a, "COMMIT").await;
        let on_duty = a.scalar("SELECT SUM(v) FROM t").await;
        assert_eq!(
            on_duty.as_deref(),
            Some(if skew { "0" } else { "1" }),
            "{level}"
        );
    }
}

fn median_p95_max(mut xs: Vec<Duration>) -> String {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = xs[((xs.len() as f64 * 0.95).ceil() as usize).min(xs.len()) - 1];
    format!(
        "median {:.2} ms, p95 {:.2} ms, max {:.2} ms (n = {})",
        ms(xs[xs.len() / 2]),
        ms(p95),
        ms(xs[xs.len() - 1]),
        xs.len()
    )
}

/// The figures in docs/mariadb.md: `cargo test --release --test mariadb measure -- --ignored
/// --nocapture` (alone: it points the template cache at a temporary directory).
#[tokio::test]
#[ignore = "measurement, run by hand"]
async fn measure() {
    let Some(binaries) = find_mariadb_binaries() else {
        return;
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());

    let mut inits = Vec::new();
    let real_cache = std::env::var_os("TXLAB_CACHE_DIR");
    for round in 0..3 {
        let cache = std::env::temp_dir().join(format!(
            "txlab-measure-cache-{}-{round}",
            std::process::id()
        ));
        // SAFETY: this test runs alone (see its doc); nothing else reads the environment now.
        unsafe { std::env::set_var("TXLAB_CACHE_DIR", &cache) };
        let server = LocalMariadb::start(binaries.clone()).unwrap();
        inits.push(server.timings.init);
        drop(server);
        let _ = std::fs::remove_dir_all(&cache);
    }
    // SAFETY: as above.
    unsafe {
        match real_cache {
            Some(dir) => std::env::set_var("TXLAB_CACHE_DIR", dir),
            None => std::env::remove_var("TXLAB_CACHE_DIR"),
        }
    }
    println!(
        "template init (mariadb-install-db): {}",
        median_p95_max(inits)
    );

    let mut starts = Vec::new();
    for _ in 0..10 {
        let server = LocalMariadb::start(binaries.clone()).unwrap();
        starts.push(server.timings.start);
    }
    println!(
        "warm start (copy template + start until it greets): {}",
        median_p95_max(starts)
    );

    let Some((server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let mut b = target.connect(Some(&db)).await.unwrap();
    let b_id = b.id();
    let mut probe = MariadbProbe::new(target.connect(None).await.unwrap(), vec![a.id(), b_id]);
    let mut idle = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        assert!(!probe.is_blocked(b_id).await.unwrap());
        idle.push(t.elapsed());
    }
    println!(
        "probe round trip on an idle session: {}",
        median_p95_max(idle)
    );
    let mut detect = Vec::new();
    for _ in 0..50 {
        ok(&mut a, "BEGIN; UPDATE t SET v = v + 1 WHERE id = 1").await;
        let launched = Instant::now();
        let waiter = launch(b, "UPDATE t SET v = v + 1 WHERE id = 1");
        while !probe.is_blocked(b_id).await.unwrap() {}
        detect.push(launched.elapsed());
        ok(&mut a, "COMMIT").await;
        let (s, out) = waiter.await.unwrap();
        assert!(out.error.is_none());
        b = s;
    }
    println!(
        "blocked detection, launch -> probe says blocked: {}",
        median_p95_max(detect)
    );
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    println!(
        "mariadbd peak RSS after the waits: {}",
        hwm.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}

#[tokio::test]
async fn nowait_and_a_level_change_inside_a_transaction_fail_with_their_codes() {
    let Some((_server, target, _sandbox, db)) = lab().await else {
        return;
    };
    let mut a = target.connect(Some(&db)).await.unwrap();
    let mut b = target.connect(Some(&db)).await.unwrap();
    ok(&mut a, "BEGIN; UPDATE t SET v = 1 WHERE id = 1").await;
    let out = b
        .run("BEGIN; SELECT v FROM t WHERE id = 1 FOR UPDATE NOWAIT")
        .await;
    let err = out.error.expect("NOWAIT does not wait");
    // MariaDB implements NOWAIT as a zero lock-wait timeout: 1205, not MySQL's 3572.
    assert_eq!(
        (err.code, err.kind()),
        (1205, ErrorKind::LockWaitTimeout),
        "{err}"
    );
    assert!(!b.transaction_failed(), "only the statement failed");
    let skipped = ok(&mut b, "SELECT id FROM t FOR UPDATE SKIP LOCKED").await;
    assert_eq!(
        skipped[0],
        ResultSet::Rows {
            columns: vec!["id".into()],
            rows: vec![vec![Some("2".into())]]
        }
    );
    let err = b
        .run("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        .await
        .error
        .expect("refused in a transaction");
    assert_eq!(err.code, 1568, "{err}");
    ok(&mut b, "ROLLBACK").await;
    ok(&mut a, "ROLLBACK").await;
}

#[tokio::test]
async fn resolve_starts_a_server_and_a_reset_session_is_as_good_as_new() {
    if find_mariadb_binaries().is_none() {
        return;
    }
    let server = txlab::db::mariadb::resolve::MariadbServer::resolve(None).unwrap();
    assert!(
        server.description().starts_with("throwaway local MariaDB"),
        "{}",
        server.description()
    );
    assert!(server.local().unwrap().timings.start > Duration::ZERO);
    let mut s = server.target.connect(Some("mysql")).await.unwrap();
    s.set_isolation(txlab::db::mariadb::errors::MariadbLevel::ReadUncommitted)
        .await
        .unwrap();
    ok(
        &mut s,
        "SET @x = 1; BEGIN; SELECT GET_LOCK('txlab-reset', 1)",
    )
    .await;
    assert!(s.reset().await);
    assert_eq!(
        s.scalar("SELECT @@in_transaction").await.as_deref(),
        Some("0")
    );
    assert_eq!(s.scalar("SELECT @x").await, None);
    assert_eq!(
        s.scalar("SELECT @@tx_isolation").await.as_deref(),
        Some("REPEATABLE-READ")
    );
    assert_eq!(
        s.scalar("SELECT IS_FREE_LOCK('txlab-reset')")
            .await
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        s.scalar("SELECT DATABASE()").await.as_deref(),
        Some("mysql")
    );
}

/// Not a test on its own: the child process of `the_server_dies_with_a_killed_txlab`. It starts a
/// server, prints its pid and blocks on stdin until it is killed.
#[test]
fn child_that_holds_a_server() {
    if std::env::var_os("TXLAB_MARIADB_TEST_CHILD").is_none() {
        return;
    }
    let Some(server) = server() else { return };
    // libtest prints this after "test child_that_holds_a_server ... " on the same line.
    println!("server pid {}", server.pid());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn the_server_dies_with_a_killed_txlab() {
    use std::io::BufRead;
    if find_mariadb_binaries().is_none() {
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "mariadb::child_that_holds_a_server",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TXLAB_MARIADB_TEST_CHILD", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let pid: i32 = stdout
        .lines()
        .map_while(|l| l.ok())
        .find_map(|l| l.split("server pid ").nth(1)?.trim().parse().ok())
        .expect("the child started a server");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    child.kill().unwrap(); // SIGKILL: no destructor runs, only the parent-death signal is left.
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // A zombie until its parent (the dead child's reaper) collects it: check its state too.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.split(") ")
                    .nth(1)
                    .is_some_and(|rest| rest.starts_with('Z'))
            })
            .unwrap_or(true)
    };
    while !gone() {
        assert!(
            Instant::now() < deadline,
            "mariadbd {pid} outlived the txlab that started it"
        );
        std::thread::yield_now();
    }
}
