//! Stepping: the engine's step gate paces a run and stops it cleanly, and `--step` reads keys
//! from a pipe as well as from a terminal (the terminal itself: `step_tmux`).

use tokio_postgres::NoTls;
use txlab::engine::{IsolationLevel, RunOptions, StepGate, catalog, run_lesson};

use crate::util::{self, txlab};

#[test]
fn a_gate_paces_the_run_and_a_stop_cleans_up() {
    let mut lesson = catalog::find("lost-update").unwrap();
    // Tests beside this one run lessons in schemas of this same process: a table only this test
    // creates tells which schema is this run's.
    lesson
        .setup
        .push("CREATE TABLE gate_stop_marker ()".to_string());
    let rt = util::runtime();
    let server = util::server();
    let sandbox = util::sandbox();
    rt.block_on(async {
        let (client, conn) = server
            .postgres()
            .unwrap()
            .config()
            .connect(NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
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
            let mut schema = None;
            while let Some(request) = requests.recv().await {
                seen.push((request.position, request.step, request.sql.clone()));
                if request.position == 5 {
                    schema = Some(schema_of_the_marker(&client).await);
                    request.stop();
                    break;
                } else {
                    request.go();
                }
            }
            (seen, schema)
        };
        let (result, (seen, schema)) = tokio::join!(run, driver);
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
        let schema = schema.expect("the run paused before its sixth step");
        assert!(
            schema.starts_with(&format!("txlab_{}_", std::process::id())),
            "the run works in a schema of its own, not {schema}"
        );
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                &[&schema],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "a stopped run leaves no schema ({schema})");
    });
}

/// The one schema holding the table `gate_stop_marker`, while the run that created it is paused.
async fn schema_of_the_marker(client: &tokio_postgres::Client) -> String {
    let rows = client
        .query(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = 'gate_stop_marker'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one paused run, one marker table");
    rows[0].get(0)
}

#[test]
fn step_reads_lines_when_stdin_is_not_a_terminal() {
    let util::Output {
        code,
        stdout: out,
        stderr: err,
    } = util::output_with_input(
        txlab().args([
            "demo",
            "lost-update",
            "-l",
            "read-committed",
            "--step",
            "--color",
            "never",
        ]),
        "\n\n\nr\n\nq\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("▸ next · step 1 of 8 · alice's phone"),
        "{out}"
    );
    assert!(out.contains("[Enter/space] run it · [b] back · [r] replay from the start · [q] quit"));
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
