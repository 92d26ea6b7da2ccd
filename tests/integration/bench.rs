//! `txlab bench` against a real server: every strategy keeps the invariants, optimistic retries
//! under contention, a strategy without protection is caught, and every output format has the
//! documented shape. Each run is a fraction of a second; the figures are not checked, only the
//! facts that hold at any speed.

use std::process::Stdio;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::watch;
use txlab::bench::options::{BenchPlan, Contention, Stop, Strategy, Workload};
use txlab::bench::progress::LiveBars;
use txlab::bench::report::BenchReport;

use crate::util::{self, txlab};

fn plan(workload: Workload, strategies: &[Strategy], clients: usize, k: u32) -> BenchPlan {
    BenchPlan {
        workload,
        strategies: strategies.to_vec(),
        clients,
        pool_size: clients,
        contention: Contention::Fixed(k),
        stop: Stop::After(Duration::from_millis(300)),
        warmup: Duration::from_millis(50),
        think: Duration::ZERO,
        initial_balance: Decimal::from(1_000_000),
        seed: 7,
        max_attempts: 50,
        client_threads: 0,
    }
}

fn run(plan: &BenchPlan) -> BenchReport {
    let rt = util::runtime();
    let server = util::pg();
    let sandbox = util::pg_sandbox();
    // The sender goes away at once: nobody will ask this run to stop early.
    let (_, stop_rx) = watch::channel(false);
    rt.block_on(txlab::bench::run::run(
        server,
        &sandbox,
        plan,
        &LiveBars::hidden(&plan.strategies),
        stop_rx,
    ))
    .expect("bench run")
}

#[test]
fn every_strategy_keeps_the_transfer_invariants_on_hot_accounts() {
    // Four accounts of 50.00 and transfers of up to 100.00: most transfers must be declined,
    // so "no negative balance" is really exercised, not just trivially true.
    let mut p = plan(Workload::Transfer, &Strategy::ALL, 4, 4);
    p.initial_balance = Decimal::from(50);
    let report = run(&p);
    assert_eq!(report.results.len(), Strategy::ALL.len());
    for r in &report.results {
        assert!(r.invariants_ok, "{}: {:?}", r.strategy, r.invariants);
        assert!(r.committed > 0, "{} committed nothing", r.strategy);
        assert!(r.declined > 0, "{} declined nothing", r.strategy);
        assert_eq!(r.invariants.len(), 4);
        // Locks are taken in id order: no strategy may ever deadlock.
        assert!(
            !r.aborts.contains_key("40P01"),
            "{}: {:?}",
            r.strategy,
            r.aborts
        );
    }
    assert!(report.invariants_ok);
}

#[test]
fn every_strategy_keeps_the_counter_invariants() {
    let report = run(&plan(Workload::Counter, &Strategy::ALL, 4, 1));
    for r in &report.results {
        assert!(r.invariants_ok, "{}: {:?}", r.strategy, r.invariants);
        assert!(r.committed > 0, "{} committed nothing", r.strategy);
        assert_eq!(r.accounts, 1);
    }
}

#[test]
fn optimistic_retries_under_high_contention() {
    // On two worker threads, as the CLI runs clients by default.
    let mut p = plan(Workload::Counter, &[Strategy::Optimistic], 8, 1);
    p.client_threads = 2;
    let report = run(&p);
    let r = &report.results[0];
    assert!(r.invariants_ok, "{:?}", r.invariants);
    assert!(r.conflicts > 0, "8 clients on one row never conflicted");
    assert!(r.retries > 0 && r.retries_per_commit > 0.0);
}

#[test]
fn serializable_retries_on_40001() {
    let report = run(&plan(Workload::Counter, &[Strategy::Serializable], 8, 1));
    let r = &report.results[0];
    assert!(r.invariants_ok, "{:?}", r.invariants);
    assert!(
        r.aborts.get("40001").copied().unwrap_or(0) > 0,
        "{:?}",
        r.aborts
    );
    assert!(r.retries > 0);
}

#[test]
fn clients_queue_for_a_small_pool_on_client_threads() {
    // Six clients, two connections, two client threads: every check-out but one per connection
    // finds it lent, so the pool's wait is measured (through the pool's queue, not its fast path)
    // and the pool never opens more than it may.
    let mut p = plan(Workload::Counter, &[Strategy::Atomic], 6, 1);
    p.pool_size = 2;
    p.client_threads = 2;
    let r = &run(&p).results[0];
    assert!(r.invariants_ok, "{:?}", r.invariants);
    assert!(r.committed > 0);
    assert_eq!((r.pool.max_size, r.pool.size), (2, 2));
    assert!(r.pool.gets >= r.committed);
    assert!(r.pool.wait_ms_total > 0.0, "{:?}", r.pool);
}

#[test]
fn transactions_mode_measures_exactly_that_many() {
    let mut p = plan(Workload::Transfer, &[Strategy::Atomic], 4, 100);
    p.stop = Stop::Transactions(150);
    let r = &run(&p).results[0];
    assert_eq!(r.committed + r.declined + r.failed + r.gave_up, 150);
    assert!(r.invariants_ok);
}

#[test]
fn a_sweep_measures_every_strategy_at_every_k() {
    let mut p = plan(
        Workload::Transfer,
        &[Strategy::Pessimistic, Strategy::Optimistic],
        4,
        0,
    );
    p.contention = Contention::Sweep(vec![2, 64]);
    p.stop = Stop::After(Duration::from_millis(200));
    let report = run(&p);
    let points: Vec<(Strategy, u32)> = report
        .results
        .iter()
        .map(|r| (r.strategy, r.accounts))
        .collect();
    assert_eq!(
        points,
        vec![
            (Strategy::Pessimistic, 2),
            (Strategy::Optimistic, 2),
            (Strategy::Pessimistic, 64),
            (Strategy::Optimistic, 64),
        ]
    );
    assert!(report.invariants_ok);
}

#[test]
fn naive_read_modify_write_breaks_an_invariant_and_exits_1() {
    let out = txlab()
        .args(["bench", "counter", "--strategy", "naive", "--clients", "8"])
        .args(["--duration", "300ms", "--warmup", "0ms", "--think", "1ms"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: invariant broken"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVARIANTS BROKEN"));
}

#[test]
fn json_parses_and_has_the_documented_fields() {
    let out = txlab()
        .args(["bench", "counter", "--strategy", "atomic,optimistic"])
        .args(["--clients", "4", "--duration", "200ms", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["invariants_ok"], true);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        for field in [
            "strategy",
            "workload",
            "clients",
            "accounts",
            "committed",
            "tps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "retries",
        ] {
            assert!(r[field].is_string() || r[field].is_number(), "{field}: {r}");
        }
        assert!(r["aborts"].is_object());
        assert_eq!(r["workload"], "counter");
        assert_eq!(r["clients"], 4);
    }
    assert_eq!(results[0]["strategy"], "atomic");
    assert_eq!(results[1]["strategy"], "optimistic");
}

#[test]
fn csv_and_markdown_have_the_expected_columns() {
    let csv = txlab()
        .args([
            "bench",
            "transfer",
            "--strategy",
            "atomic,advisory",
            "--accounts",
            "10",
        ])
        .args(["--clients", "2", "--duration", "150ms", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let text = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        &header[..6],
        [
            "strategy",
            "workload",
            "clients",
            "accounts",
            "committed",
            "tps"
        ]
    );
    for column in [
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "retries",
        "aborts",
        "lock_wait_ms",
    ] {
        assert!(header.contains(&column), "{column}");
    }
    assert!(lines[1].starts_with("atomic,transfer,2,10,"));
    assert!(lines[2].starts_with("advisory,transfer,2,10,"));
    assert!(lines.iter().all(|l| l.split(',').count() == header.len()));

    let md = txlab()
        .args(["bench", "counter", "--strategy", "pessimistic"])
        .args([
            "--clients",
            "2",
            "--duration",
            "150ms",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    assert!(md.status.success());
    let text = String::from_utf8(md.stdout).unwrap();
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 3, "{text}");
    assert!(table[0].starts_with("| strategy | accounts | clients | committed | tx/s |"));
    assert!(table[2].starts_with("| pessimistic | 1 | 2 |"));
}

#[test]
fn ctrl_c_stops_cleanly_and_prints_partial_results() {
    let child = txlab()
        .args(["bench", "transfer", "--strategy", "all", "--clients", "2"])
        .args(["--duration", "10s", "--warmup", "100ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(1200));
    // SAFETY: kill(2) on the child we just spawned.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(stdout.contains("pessimistic"), "{stdout}");
    assert!(
        !stdout.contains("optimistic "),
        "stopped after the first point: {stdout}"
    );
    assert!(stdout.contains("invariants hold"), "{stdout}");

    // Nothing left behind: no schema, no backend of that process.
    let leftovers: (i64, i64) = util::runtime().block_on(async {
        let conn = util::pg()
            .connect(&txlab::db::SessionOptions {
                application_name: "txlab-test-probe",
                ..Default::default()
            })
            .await
            .unwrap();
        let row = conn
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1),
                        (SELECT count(*) FROM pg_stat_activity WHERE application_name = $2)",
                &[&format!("txlab\\_{pid}\\_%"), &format!("txlab-{pid}")],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    });
    assert_eq!(leftovers, (0, 0));
}

#[test]
fn bad_flags_are_errors_with_a_hint() {
    let out = txlab()
        .args(["bench", "counter", "--contention", "sweep"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: invalid --contention 'sweep'"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}
