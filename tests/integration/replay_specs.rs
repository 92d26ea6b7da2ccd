//! Issue 13's rest: a `.spec` run recorded and replayed byte for byte (isolationtester format,
//! timelines, the `--all-permutations` table, JSON); `--format json` output replayed like a
//! recording; recordings made as a plain role; broken JSON output refused with one error and a
//! hint. The specs come from `TXLAB_PG_ISOLATION_DIR` (default `../shared/pg-isolation`).

use std::path::{Path, PathBuf};

use txlab::engine::catalog;

use crate::replay::{TempDir, lessons_dir, replay};
use crate::util::{self, Output, output, txlab};

/// The shared specs' directory, or `None` (said) when absent.
fn specs_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TXLAB_PG_ISOLATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pg-isolation"));
    if dir.join("deadlock-simple.spec").is_file() {
        Some(dir)
    } else {
        util::skipped(format_args!(
            "no PostgreSQL isolation specs in {} (set TXLAB_PG_ISOLATION_DIR)",
            dir.display()
        ));
        None
    }
}

/// `txlab run SPEC ARGS --record REC --color never` on the shared server.
fn record_spec(spec: &Path, rec: &Path, args: &[&str]) -> Output {
    let mut cmd = txlab();
    cmd.env_remove("PGAPPNAME")
        .arg("run")
        .arg(spec)
        .args(args)
        .args(["--color", "never", "--record"])
        .arg(rec);
    output(&mut cmd)
}

#[test]
fn a_spec_recording_replays_the_isolationtester_output_byte_for_byte() {
    let Some(specs) = specs_dir() else { return };
    let dir = TempDir::new();
    // deadlock-simple: a deadlock at once; deadlock-hard: eight sessions waiting, markers.
    for name in ["deadlock-simple", "deadlock-hard"] {
        let rec = dir.path().join(format!("{name}.json"));
        let spec = specs.join(format!("{name}.spec"));
        let live = record_spec(&spec, &rec, &["--format", "isolationtester"]);
        assert_eq!(live.code, 0, "{name}: {}", live.stderr);
        let expected = std::fs::read_to_string(specs.join(format!("{name}.out"))).unwrap();
        assert_eq!(live.stdout, expected, "{name}: the live run conforms");
        let text = std::fs::read_to_string(&rec).unwrap();
        assert!(text.contains("\"format_version\": 2"), "{name}");
        let again = replay(&rec, &["--format", "isolationtester"]);
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        assert_eq!(again.stdout, live.stdout, "{name}");
        if name == "deadlock-hard" {
            assert!(again.stdout.contains("<waiting ...>"), "{name} has waits");
        }
        // The recording renders the other formats of a spec too, and refuses a handout.
        let json = replay(&rec, &["--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(doc["results"].as_array().unwrap().len(), 1, "{name}");
        let html = replay(&rec, &["--format", "html"]);
        assert_eq!(html.code, 2, "{name}");
        assert!(
            html.stderr
                .contains(".spec prints text, json or isolationtester")
        );
    }
}

#[test]
fn spec_timelines_json_and_the_permutation_table_replay_as_printed() {
    let Some(specs) = specs_dir() else { return };
    let dir = TempDir::new();
    let nowait = specs.join("nowait.spec");
    let cases: [(&str, &[&str]); 3] = [
        ("text", &[]),
        ("json", &["--format", "json"]),
        ("table", &["--all-permutations", "--step-timeout", "2"]),
    ];
    for (what, args) in cases {
        let rec = dir.path().join(format!("nowait-{what}.json"));
        let live = record_spec(&nowait, &rec, args);
        assert_eq!(live.code, 0, "{what}: {}", live.stderr);
        let format = if what == "json" { "json" } else { "text" };
        let again = replay(&rec, &["--format", format]);
        assert_eq!(again.code, 0, "{what}: {}", again.stderr);
        assert_eq!(again.stdout, live.stdout, "{what}");
        if what == "json" {
            // The spec's JSON output is itself replayable: same isolationtester text.
            let out = dir.path().join("nowait-output.json");
            std::fs::write(&out, &live.stdout).unwrap();
            let from_output = replay(&out, &["--format", "isolationtester"]);
            let from_record = replay(&rec, &["--format", "isolationtester"]);
            assert_eq!(from_output.code, 0, "{}", from_output.stderr);
            assert!(
                from_output
                    .stdout
                    .starts_with("Parsed test spec with 2 sessions")
            );
            assert_eq!(from_output.stdout, from_record.stdout);
        }
    }
}

#[test]
fn a_suite_refuses_record_with_one_error_and_a_hint() {
    let Some(specs) = specs_dir() else { return };
    let dir = TempDir::new();
    let rec = dir.path().join("suite.json");
    let out = output(
        txlab()
            .arg("run")
            .arg(specs.join("nowait.spec"))
            .arg(specs.join("deadlock-simple.spec"))
            .arg("--expected")
            .arg(&specs)
            .arg("--record")
            .arg(&rec),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(lines[0].starts_with("error: ") && lines[0].contains("a suite is not recorded"));
    assert!(lines[1].starts_with("hint: "));
    assert!(!rec.exists());
}

/// `--format json` output replays as the live text. One live run per lesson prints JSON and
/// records: the JSON replays to the recording's text, and to itself as JSON. A text run's JSON
/// (replayed) replays to that run's live text, so the chain ends at what a user saw.
#[test]
fn json_output_of_every_builtin_lesson_replays_as_the_live_text() {
    let dir = TempDir::new();
    let mut checked = 0;
    for lesson in catalog::builtin() {
        let level = lesson
            .default_levels
            .first()
            .map(|l| l.slug().to_string())
            .unwrap_or_else(|| "read-committed".into());
        let file = lessons_dir().join(format!("{}.toml", lesson.id));
        let rec = dir.path().join(format!("{}.rec.json", lesson.id));
        let live = output(txlab().arg("run").arg(&file).args([
            "-l",
            &level,
            "--format",
            "json",
            "--record",
            rec.to_str().unwrap(),
        ]));
        assert_eq!(live.code, 0, "{}: {}", lesson.id, live.stderr);
        let doc: serde_json::Value = serde_json::from_str(&live.stdout).unwrap();
        assert!(
            doc["results"][0]["events"].is_array(),
            "documented fields stay"
        );
        let out = dir.path().join(format!("{}.out.json", lesson.id));
        std::fs::write(&out, &live.stdout).unwrap();
        let from_output = replay(&out, &[]);
        assert_eq!(from_output.code, 0, "{}: {}", lesson.id, from_output.stderr);
        assert_eq!(
            from_output.stdout,
            replay(&rec, &[]).stdout,
            "{}",
            lesson.id
        );
        assert_eq!(
            replay(&out, &["--format", "json"]).stdout,
            live.stdout,
            "{}",
            lesson.id
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} lessons checked");
    // From what a user saw: a text run, its JSON, and that JSON replayed.
    let rec = dir.path().join("lost.json");
    let live = output(txlab().args([
        "demo",
        "lost-update",
        "-l",
        "read-committed",
        "--color",
        "never",
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    let out = dir.path().join("lost-output.json");
    std::fs::write(&out, replay(&rec, &["--format", "json"]).stdout).unwrap();
    assert_eq!(replay(&out, &[]).stdout, live.stdout);
}

#[test]
fn recordings_made_as_a_plain_role_replay() {
    let Some(url) = crate::plain_role::plain_url() else {
        return;
    };
    let dir = TempDir::new();
    let rec = dir.path().join("plain.json");
    let live = output(txlab().args([
        "demo",
        "deadlock",
        "-l",
        "read-committed",
        "--color",
        "never",
        "--database-url",
        &url,
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(
        live.stdout.contains("deadlock_timeout"),
        "a plain role's note"
    );
    let again = replay(&rec, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, live.stdout);
    // A spec as a plain role runs in a schema of its own; that travels too.
    let Some(specs) = specs_dir() else { return };
    let rec = dir.path().join("plain-spec.json");
    let live = record_spec(
        &specs.join("deadlock-simple.spec"),
        &rec,
        &["--database-url", &url],
    );
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(live.stdout.contains("not as superuser"), "{}", live.stdout);
    assert_eq!(replay(&rec, &[]).stdout, live.stdout);
}

#[test]
fn broken_json_output_is_one_error_and_a_hint() {
    let dir = TempDir::new();
    let rec = dir.path().join("lost.json");
    let live = output(txlab().args([
        "demo",
        "lost-update",
        "-l",
        "read-committed",
        "--format",
        "json",
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    let whole = live.stdout;
    let mut wrong_inside: serde_json::Value = serde_json::from_str(&whole).unwrap();
    wrong_inside["recording"]["runs"] = serde_json::json!("not runs");
    let mut too_new: serde_json::Value = serde_json::from_str(&whole).unwrap();
    too_new["recording"]["format_version"] = serde_json::json!(99);
    let cases = [
        (
            "half.json",
            whole[..whole.len() / 2].to_string(),
            "truncated",
        ),
        (
            "wrong.json",
            wrong_inside.to_string(),
            "not a recording this txlab understands",
        ),
        ("newer.json", too_new.to_string(), "format version 99"),
        (
            "old.json",
            "{\"txlab_version\": \"0.1.0\", \"server\": \"x\", \"results\": [{\"lesson\": \"x\"}]}"
                .to_string(),
            "carries no recording",
        ),
    ];
    for (name, body, says) in cases {
        std::fs::write(&rec, body).unwrap();
        let out = replay(&rec, &[]);
        assert_eq!(out.code, 2, "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: {}", out.stderr);
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(says),
            "{name}: {}",
            lines[0]
        );
        assert!(lines[1].starts_with("hint: "), "{name}");
    }
}
