//! `--record` and `txlab replay` (issue 13): a replay prints exactly what the live run printed,
//! for every built-in lesson in text, markdown and html, and for the isolation matrix; a broken
//! or foreign file gives one `error:` line and a hint; replay needs no server at all.

use std::path::{Path, PathBuf};

use txlab::engine::catalog;

use crate::util::{output, txlab};

/// A directory of this test's own, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "txlab-replay-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// `txlab replay FILE ARGS` with no server anywhere: no DATABASE_URL and no server binaries.
pub(crate) fn replay(file: &Path, args: &[&str]) -> crate::util::Output {
    let mut cmd = txlab();
    cmd.env_remove("DATABASE_URL")
        .env("TXLAB_PG_BINDIR", "/nonexistent")
        .env("PATH", "/nonexistent")
        .arg("replay")
        .arg(file)
        .args(args)
        .args(["--color", "never"]);
    output(&mut cmd)
}

#[test]
fn every_builtin_lesson_replays_byte_for_byte_in_text_markdown_and_html() {
    let dir = TempDir::new();
    let mut checked = 0;
    for lesson in catalog::builtin() {
        let level = lesson
            .default_levels
            .first()
            .map(|l| l.slug().to_string())
            .unwrap_or_else(|| "read-committed".into());
        let file = lessons_dir().join(format!("{}.toml", lesson.id));
        assert!(file.exists(), "{} has no file of its name", lesson.id);
        for format in ["text", "markdown", "html"] {
            let rec = dir.path().join(format!("{}-{format}.json", lesson.id));
            let live = output(txlab().arg("run").arg(&file).args([
                "-l",
                &level,
                "--format",
                format,
                "--color",
                "never",
                "--record",
                rec.to_str().unwrap(),
            ]));
            assert_eq!(live.code, 0, "{} {format}: {}", lesson.id, live.stderr);
            let again = replay(&rec, &["--format", format]);
            assert_eq!(again.code, 0, "{} {format}: {}", lesson.id, again.stderr);
            assert_eq!(again.stdout, live.stdout, "{} {format}", lesson.id);
            checked += 1;
        }
    }
    assert!(checked >= 3 * 40, "only {checked} lesson replays checked");
}

#[test]
fn the_isolation_matrix_replays_byte_for_byte_and_as_json() {
    let dir = TempDir::new();
    let rec = dir.path().join("matrix.json");
    let live = output(txlab().args([
        "demo",
        "isolation",
        "--color",
        "never",
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(live.stdout.contains("READ COMMITTED"));
    let again = replay(&rec, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, live.stdout);
    let json = replay(&rec, &["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 44);
}

#[test]
fn locks_versions_and_quiz_travel_in_the_recording() {
    let dir = TempDir::new();
    let rec = dir.path().join("lost.json");
    let live = output(txlab().args([
        "demo",
        "lost-update",
        "-l",
        "read-committed",
        "--locks",
        "--versions",
        "--color",
        "never",
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(text.contains("\"format_version\": 1"));
    assert!(text.contains("\"Versions\""), "versions snapshots recorded");
    assert!(
        text.contains("\"quiz\""),
        "the lesson's quiz is in the recording"
    );
    let again = replay(&rec, &[]);
    assert_eq!(again.stdout, live.stdout);
}

#[test]
fn a_broken_foreign_or_newer_file_is_one_error_and_a_hint() {
    let dir = TempDir::new();
    let cases = [
        (
            "truncated.json",
            "{\"format_version\": 1, \"runs\": [",
            "truncated",
        ),
        (
            "foreign.json",
            "{\"name\": \"left-pad\"}",
            "not a txlab recording",
        ),
        (
            "output.json",
            "{\"txlab_version\": \"0.1.0\", \"server\": \"x\", \"results\": []}",
            "`--format json` output",
        ),
        (
            "newer.json",
            "{\"format_version\": 99}",
            "format version 99",
        ),
    ];
    for (name, body, says) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, body).unwrap();
        let out = replay(&file, &[]);
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

#[test]
fn stepping_a_recording_goes_back_one_step() {
    let dir = TempDir::new();
    let rec = dir.path().join("lost.json");
    let live = output(txlab().args([
        "demo",
        "lost-update",
        "-l",
        "read-committed",
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    let mut cmd = txlab();
    cmd.env_remove("DATABASE_URL").args([
        "replay",
        rec.to_str().unwrap(),
        "--step",
        "--color",
        "never",
    ]);
    // Forward three, back one, forward, quit.
    let out = crate::util::output_with_input(&mut cmd, "\n\n\nb\n\nq\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("▸ next · step "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(steps, ["1", "2", "3", "4", "3", "4"]);
}

/// The stepped handout in headless Chromium: `#step=2` opens at step 2 (later rows and the
/// verdict hidden, the controls shown); arrow keys (dispatched by a probe the test adds) move one
/// step; with no script the page is the whole run (no `hidden` rows in the file itself).
#[test]
fn the_html_handout_steps_in_headless_chromium() {
    use std::process::{Command, Stdio};
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
        crate::util::skipped(format_args!(
            "no chromium on PATH (apt-get install chromium)"
        ));
        return;
    };
    let dir = TempDir::new();
    let rec = dir.path().join("lost.json");
    let live = output(txlab().args([
        "demo",
        "lost-update",
        "-l",
        "read-committed",
        "--locks",
        "--record",
        rec.to_str().unwrap(),
    ]));
    assert_eq!(live.code, 0, "{}", live.stderr);
    let page = replay(&rec, &["--format", "html"]).stdout;
    assert!(
        !page.contains("hidden=\"\""),
        "without scripts every row shows"
    );
    assert!(page.contains("<nav class=\"stepper\" hidden>"));
    let dump = |file: &Path, fragment: &str| {
        let profile = dir.path().join(format!("profile{}", fragment.len()));
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(format!("file://{}{fragment}", file.display()))
            .stderr(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = dir.path().join("handout.html");
    std::fs::write(&plain, &page).unwrap();
    let dom = dump(&plain, "#step=2");
    assert!(dom.contains("data-at=\"2\""), "{dom}");
    assert!(dom.contains("<tr data-step=\"2\">"), "{dom}");
    assert!(dom.contains("<tr data-step=\"3\" hidden=\"\">"), "{dom}");
    assert!(dom.contains("<div class=\"verdict\" hidden=\"\">"), "{dom}");
    assert!(dom.contains("<nav class=\"stepper\">"), "controls shown");
    assert!(dom.contains("step 2 of 8"));
    // Keys: → → ← from step 2 is step 3.
    let probe = "<script>for (const k of ['ArrowRight', 'ArrowRight', 'ArrowLeft']) { document.dispatchEvent(new KeyboardEvent('keydown', { key: k })); }</script>";
    let keyed = dir.path().join("keyed.html");
    std::fs::write(&keyed, page.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let dom = dump(&keyed, "#step=2");
    assert!(dom.contains("data-at=\"3\""), "{dom}");
    assert!(dom.contains("<tr data-step=\"3\">"), "{dom}");
    assert!(dom.contains("<tr data-step=\"4\" hidden=\"\">"), "{dom}");
}

#[test]
fn recording_both_engines_at_once_is_refused_before_anything_runs() {
    let dir = TempDir::new();
    let file = dir.path().join("both.json");
    let out = txlab()
        .args(["demo", "dirty-read", "--engine", "all", "--record"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: --record saves the runs of one engine"),
        "{stderr}"
    );
    assert!(lines[1].starts_with("hint: "), "{stderr}");
    assert!(!file.exists(), "no file written");
}
