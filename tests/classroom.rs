//! Classroom mode on a real server (issue 6): the step gate paces and stops runs, `--locks`
//! names the waiter and the holder of a deadlock, `--versions` never changes an outcome, quiz
//! answers are judged from what the run observed, piped keys drive `--step` and `--quiz`, and the
//! markdown and HTML exports are snapshot-tested (pids, times and xids normalised) and loaded in
//! headless Chromium.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use tokio_postgres::NoTls;
use txlab::engine::event::{EventKind, TxEnd};
use txlab::engine::inspect::View;
use txlab::engine::{
    Inspect, IsolationLevel, Lesson as TxlabLesson, LessonRun, RunOptions, StepGate, catalog,
    run_lesson,
};
use txlab::render::{self, Style};

/// Tests here that look for leftover schemas must not see each other's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(lesson: &TxlabLesson, level: IsolationLevel, inspect: Inspect) -> LessonRun {
    let rt = common::runtime();
    rt.block_on(run_lesson(
        common::server(),
        &common::sandbox(),
        lesson,
        Some(level),
        &RunOptions {
            inspect,
            ..Default::default()
        },
    ))
    .unwrap()
}

fn txlab() -> Command {
    let mut cmd = Command::cargo_bin("txlab").unwrap();
    cmd.env_remove("DATABASE_URL")
        .env_remove("NO_COLOR")
        .env("CI", "true")
        .env("COLUMNS", "100")
        .args(["--database-url", &common::database_url()]);
    cmd
}

/// Runs the binary with `input` on stdin; (exit code, stdout, stderr).
fn txlab_with_input(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = txlab()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn locks_show_the_waiter_the_holder_and_the_deadlock_cycle() {
    let lesson = catalog::load_file(&fixture("deadlock.toml")).unwrap();
    let run = run(
        &lesson,
        IsolationLevel::ReadCommitted,
        Inspect {
            locks: true,
            versions: false,
        },
    );
    let (alice, bob) = (run.sessions[0].pid, run.sessions[1].pid);
    let reports: Vec<_> = run
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Locks(r) => Some((e.session, r)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reports.len(),
        2,
        "one report per observed block: {reports:#?}"
    );

    // Alice's credit waits for Bob's transaction (a row lock): waiter Alice, holder Bob.
    let (session, first) = &reports[0];
    assert_eq!(*session, Some(0));
    assert_eq!(first.waits.len(), 1, "{first:#?}");
    let w = &first.waits[0];
    assert_eq!((w.waiter, w.holder), (alice, bob));
    assert_eq!(w.locktype, "transactionid");
    assert_eq!(w.wanted, "ShareLock");
    assert_eq!(w.held, vec!["ExclusiveLock".to_string()]);
    assert_eq!(w.row.as_deref(), Some("(0,2) of account"));
    assert_eq!(first.cycle, None);

    // Then Bob waits for Alice: both edges and the cycle, before the detector breaks it.
    let (session, second) = &reports[1];
    assert_eq!(*session, Some(1));
    let edges: Vec<(i32, i32)> = second.waits.iter().map(|w| (w.waiter, w.holder)).collect();
    assert_eq!(edges, vec![(alice, bob), (bob, alice)]);
    assert_eq!(second.cycle, Some(vec![alice, bob]));
    // ...and the detector did break it, aborting the chosen victim.
    assert!(run.timeline.errors().any(|e| e.sqlstate == "40P01"));

    let text = render::timeline::render(&run, &Style::plain(100));
    assert!(
        text.contains(
            "⚑ alice's transfer waits for bob's transfer: wants ShareLock on transaction"
        ),
        "{text}"
    );
    assert!(
        text.contains("bob's transfer holds ExclusiveLock on its own"),
        "{text}"
    );
    assert!(
        text.contains("alice's transfer ──waits for──▶ bob's transfer ──waits for──┐"),
        "{text}"
    );
    assert!(text.contains("└"), "{text}");
}

#[test]
fn versions_are_shown_without_changing_any_outcome() {
    let lesson = catalog::find("lost-update").unwrap();
    for level in IsolationLevel::ALL {
        let run = run(
            &lesson,
            level,
            Inspect {
                locks: false,
                versions: true,
            },
        );
        let v = run.verdict.clone().unwrap();
        assert!(v.matches_expectation(), "{level}: {v:?}");
        let reports: Vec<_> = run
            .timeline
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Versions(r) => Some(r),
                _ => None,
            })
            .collect();
        assert!(!reports.is_empty(), "{level}");
        // Right after Alice's BEGIN, before her first query.
        let alice_first = &reports[0].views[0].view;
        match level {
            IsolationLevel::ReadUncommitted | IsolationLevel::ReadCommitted => {
                assert!(
                    matches!(
                        alice_first,
                        View::Sees {
                            rows_read: true,
                            ..
                        }
                    ),
                    "{level}: {alice_first:?}"
                )
            }
            _ => assert_eq!(alice_first, &View::NoSnapshotYet, "{level}"),
        }
        // Once Alice has updated, Bob (at READ COMMITTED) sees the old version with her xid as xmax.
        if level == IsolationLevel::ReadCommitted {
            let after_update = reports
                .iter()
                .find_map(|r| match &r.views[0].view {
                    View::Sees { xid: Some(xid), .. } => Some((xid.clone(), &r.views[1].view)),
                    _ => None,
                })
                .expect("a report after Alice's UPDATE");
            let (alice_xid, bob_view) = after_update;
            let View::Sees { tables, .. } = bob_view else {
                panic!("{bob_view:?}")
            };
            let row = &tables[0].rows[0];
            assert_eq!(row.xmax, alice_xid);
            assert_eq!(row.values.last().unwrap().as_deref(), Some("100.00"));
        }
        if level == IsolationLevel::Serializable {
            assert!(reports.iter().all(|r| r.views.iter().all(|v| !matches!(
                &v.view,
                View::Sees {
                    rows_read: true,
                    isolation,
                    ..
                } if isolation == "serializable"
            ))));
        }
    }
}

#[test]
fn quiz_answers_are_judged_from_what_the_run_observed() {
    let lesson = catalog::find("lost-update").unwrap();
    let quizzes: BTreeMap<usize, _> = lesson
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.quiz.clone().map(|q| (i, q)))
        .collect();
    assert_eq!(quizzes.len(), 3, "lost-update has three quiz points");
    let right = |run: &LessonRun| -> Vec<Vec<usize>> {
        quizzes
            .values()
            .map(|q| q.reveal(&run.timeline).expect("settled by the end"))
            .collect()
    };
    let none = Inspect::default();
    let rc = run(&lesson, IsolationLevel::ReadCommitted, none);
    assert_eq!(right(&rc), vec![vec![0], vec![0], vec![0]]);
    let rr = run(&lesson, IsolationLevel::RepeatableRead, none);
    assert_eq!(right(&rr), vec![vec![0], vec![1], vec![1]]);
    // The last quiz is about a COMMIT that PostgreSQL turned into a rollback.
    assert!(
        rr.timeline
            .completions()
            .any(|(_, c)| c.tx_end == Some(TxEnd::CommitBecameRollback))
    );
}

#[test]
fn a_gate_paces_the_run_and_a_stop_cleans_up() {
    let _serial = serial();
    let lesson = catalog::find("lost-update").unwrap();
    let rt = common::runtime();
    let server = common::server();
    let sandbox = common::sandbox();
    rt.block_on(async {
        let (gate, mut requests) = StepGate::channel();
        let options = RunOptions {
            gate: Some(gate),
            ..Default::default()
        };
        let run = run_lesson(
            server,
            &sandbox,
            &lesson,
            Some(IsolationLevel::ReadCommitted),
            &options,
        );
        let driver = async {
            let mut seen = Vec::new();
            while let Some(request) = requests.recv().await {
                seen.push((request.position, request.step, request.sql.clone()));
                if request.position == 5 {
                    request.stop();
                    break;
                } else {
                    request.go();
                }
            }
            seen
        };
        let (result, seen) = tokio::join!(run, driver);
        assert!(
            matches!(result, Err(txlab::TxlabError::Stopped)),
            "{result:?}"
        );
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[0].2, "BEGIN ISOLATION LEVEL READ COMMITTED");
        // Captured values are substituted before the gate shows the SQL.
        assert_eq!(
            seen[5].2,
            "UPDATE account SET balance = 100.00 + 20 WHERE id = 1"
        );
        let (client, conn) = server.config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1",
                &[&format!("txlab\\_{}\\_%", std::process::id())],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "a stopped run leaves no schema");
    });
}

#[test]
fn step_reads_lines_when_stdin_is_not_a_terminal() {
    let _serial = serial();
    let (code, out, err) = txlab_with_input(
        &[
            "demo",
            "lost-update",
            "-l",
            "read-committed",
            "--step",
            "--color",
            "never",
        ],
        "\n\n\nb\n\nq\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("▸ next · step 1 of 8 · alice's phone"),
        "{out}"
    );
    assert!(out.contains("[Enter/space] run it · [b] replay from the start · [q] quit"));
    assert!(
        out.contains("» Alice's app reads the balance to add 10 to it."),
        "{out}"
    );
    assert!(
        out.contains("↺ Lost update: replaying from the start"),
        "{out}"
    );
    assert_eq!(out.matches("━━ Lost update (P4)").count(), 2, "{out}");
    assert!(!out.contains("verdict"), "quit before the end: {out}");
}

#[test]
fn quiz_counts_the_class_answers() {
    // At READ COMMITTED: Bob waits (1 right), his UPDATE overwrites (2 wrong), he commits (1 right).
    let (code, out, err) = txlab_with_input(
        &[
            "demo",
            "lost-update",
            "-l",
            "read-committed",
            "--quiz",
            "--color",
            "never",
        ],
        "1\n2\n1\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  ? Alice has updated the row but not committed."),
        "{out}"
    );
    assert!(
        out.contains("  ✓ right: It waits for Alice's transaction to end"),
        "{out}"
    );
    assert!(
        out.contains(
            "  ✗ the class said \"It fails with a serialization error (40001)\"; what happened: It writes 120.00"
        ),
        "{out}"
    );
    assert!(out.contains("quiz: the class got 2 of 3 right"), "{out}");
    // Every reveal comes before the verdict.
    let verdict = out
        .find("verdict  LOST UPDATE OCCURRED")
        .expect("a verdict");
    assert!(
        out.find("  ✓ right: Yes, it commits").unwrap() < verdict,
        "{out}"
    );
}

#[test]
fn step_and_quiz_only_go_with_text_output() {
    let out = txlab()
        .args(["demo", "lost-update", "--step", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --step and --quiz cannot be combined"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

/// Replaces pids, times and transaction ids with stable stand-ins, so exports can be snapshotted.
fn normalise(mut run: LessonRun) -> LessonRun {
    let mut names: Vec<(String, String)> = Vec::new();
    for (i, s) in run.sessions.iter_mut().enumerate() {
        let fake = 1001 + i as i32;
        names.push((s.pid.to_string(), fake.to_string()));
        s.pid = fake;
    }
    let pid_map: BTreeMap<i32, i32> = names
        .iter()
        .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
        .collect();
    let mut xids: Vec<(String, String)> = Vec::new();
    let xid = |real: &str, xids: &mut Vec<(String, String)>| -> String {
        if let Some((_, fake)) = xids.iter().find(|(r, _)| r == real) {
            return fake.clone();
        }
        let fake = format!("{}", 9001 + xids.len());
        xids.push((real.to_string(), fake.clone()));
        fake
    };
    for (i, e) in run.timeline.events.iter_mut().enumerate() {
        e.t = Duration::from_micros(100 * i as u64);
        e.pid = pid_map.get(&e.pid).copied().unwrap_or(e.pid);
        match &mut e.kind {
            EventKind::Waiting { blockers, .. } => {
                for b in blockers {
                    *b = pid_map.get(b).copied().unwrap_or(*b);
                }
            }
            EventKind::Completed(c) if c.waited.is_some() => {
                c.waited = Some(Duration::from_millis(5));
            }
            EventKind::Locks(report) => {
                for w in &mut report.waits {
                    w.waiter = pid_map[&w.waiter];
                    w.holder = pid_map[&w.holder];
                    if let Some(t) = &w.transaction {
                        w.transaction = Some(xid(t, &mut xids));
                    }
                }
                if let Some(cycle) = &mut report.cycle {
                    for p in cycle {
                        *p = pid_map[p];
                    }
                }
            }
            _ => {}
        }
    }
    // Error messages name pids and transactions in words.
    for e in run.timeline.events.iter_mut() {
        if let EventKind::Completed(c) = &mut e.kind
            && let Some(err) = &mut c.error
        {
            for text in [&mut err.message].into_iter().chain(err.detail.as_mut()) {
                for (real, fake) in names.iter().chain(xids.iter()) {
                    *text = text.replace(real.as_str(), fake.as_str());
                }
            }
        }
    }
    for note in &mut run.notes {
        for (real, fake) in &names {
            *note = note.replace(real.as_str(), fake.as_str());
        }
    }
    run.schedule_time = Duration::from_millis(1);
    run.total_time = Duration::from_millis(2);
    run
}

const SERVER: &str = "throwaway local PostgreSQL cluster";

#[test]
fn markdown_handout_snapshots() {
    let lesson = catalog::find("lost-update").unwrap();
    let rc = normalise(run(
        &lesson,
        IsolationLevel::ReadCommitted,
        Inspect::default(),
    ));
    insta::assert_snapshot!(
        "lost_update_read_committed_markdown",
        render::markdown::document(&[rc], SERVER)
    );
    let deadlock = catalog::load_file(&fixture("deadlock.toml")).unwrap();
    let locks = Inspect {
        locks: true,
        versions: false,
    };
    let dl = normalise(run(&deadlock, IsolationLevel::ReadCommitted, locks));
    insta::assert_snapshot!(
        "deadlock_with_locks_markdown",
        render::markdown::document(&[dl], SERVER)
    );
}

#[test]
fn html_page_snapshot() {
    let lesson = catalog::find("lost-update").unwrap();
    let rr = normalise(run(
        &lesson,
        IsolationLevel::RepeatableRead,
        Inspect::default(),
    ));
    insta::assert_snapshot!(
        "lost_update_repeatable_read_html",
        render::html::document(&[rr], SERVER)
    );
}

/// Loads the HTML export of the deadlock lesson in headless Chromium and reads the page back:
/// the content is there, and the palette's colours are really applied.
#[test]
fn html_export_loads_in_headless_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    else {
        eprintln!(
            "SKIPPED html_export_loads_in_headless_chromium: no chromium on PATH (Debian: apt-get install chromium)"
        );
        return;
    };
    let out = txlab()
        .args(["run"])
        .arg(fixture("deadlock.toml"))
        .args(["--locks", "--format", "html"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout).unwrap();
    // The test (not the page) adds a probe that writes computed colours where --dump-dom shows them.
    let probe = "<script>for (const m of ['waiting', 'aborted', 'anomaly']) { const el = document.querySelector('.m-' + m); document.body.dataset[m] = el ? getComputedStyle(el).color : 'missing'; }</script>";
    let probed = page.replace("</body>", &format!("{probe}</body>"));
    let dir = std::env::temp_dir().join(format!("txlab-html-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deadlock.html");
    std::fs::write(&file, probed).unwrap();
    let profile = dir.join("profile");
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", file.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<h1>Deadlock · READ COMMITTED</h1>"), "{dom}");
    assert!(
        dom.contains("alice's transfer <span class=\"pid\">"),
        "{dom}"
    );
    assert!(dom.contains("bob's transfer <span class=\"pid\">"), "{dom}");
    assert!(
        dom.contains("⚑ bob's transfer waits for alice's transfer: wants ShareLock"),
        "{dom}"
    );
    assert!(dom.contains("<pre class=\"drawing m-aborted\">"), "{dom}");
    assert!(
        dom.contains("DEADLOCK OCCURRED: deadlock detected"),
        "{dom}"
    );
    assert!(dom.contains("What happens to Alice's UPDATE?"), "{dom}");
    // Colours as the palette's CSS says (waiting yellow, aborted red, anomaly white on red).
    assert!(dom.contains("data-waiting=\"rgb(245, 197, 66)\""), "{dom}");
    assert!(dom.contains("data-aborted=\"rgb(255, 97, 97)\""), "{dom}");
    assert!(dom.contains("data-anomaly=\"rgb(255, 255, 255)\""), "{dom}");
}

/// The built-in `deadlock` lesson marks the victim's step `(*)` (reported waiting without asking
/// the server); --locks still records the wait-for cycle once the server sees it.
#[test]
fn locks_in_the_built_in_deadlock_lesson_name_waiter_holder_and_cycle() {
    let out = txlab()
        .args(["demo", "deadlock", "--locks", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &doc["results"][0];
    let pids: Vec<i64> = result["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pid"].as_i64().unwrap())
        .collect();
    let victim = pids[1];
    let reports: Vec<&serde_json::Value> = result["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "locks")
        .collect();
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let edge =
        |w: &serde_json::Value| (w["waiter"].as_i64().unwrap(), w["holder"].as_i64().unwrap());
    let first: Vec<_> = reports[0]["locks"]["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(edge)
        .collect();
    assert_eq!(first, vec![(pids[0], victim)]);
    let last = &reports[1]["locks"];
    let edges: Vec<_> = last["waits"].as_array().unwrap().iter().map(edge).collect();
    assert_eq!(edges, vec![(pids[0], victim), (victim, pids[0])]);
    assert_eq!(last["cycle"], serde_json::json!([pids[0], victim]));
    assert!(
        last["waits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["locktype"] == "transactionid"
                && w["wanted"] == "ShareLock"
                && w["held"] == serde_json::json!(["ExclusiveLock"]))
    );
}
