//! The markdown and HTML handouts: snapshots of real runs (normalised), and the HTML page loaded
//! in headless Chromium.

use std::process::{Command, Stdio};

use txlab::engine::{Inspect, IsolationLevel, catalog};
use txlab::render;

use super::run;
use crate::util::normalise::{Layout, normalise};
use crate::util::{self, fixture, txlab};

const SERVER: &str = "throwaway local PostgreSQL cluster";

#[test]
fn markdown_handout_snapshots() {
    let lesson = catalog::find("lost-update").unwrap();
    let rc = normalise(
        run(&lesson, IsolationLevel::ReadCommitted, Inspect::default()),
        Layout::Handout,
    );
    insta::assert_snapshot!(
        "lost_update_read_committed_markdown",
        render::markdown::document(&[rc], SERVER)
    );
    let deadlock = catalog::load_file(&fixture("deadlock.toml")).unwrap();
    let locks = Inspect {
        locks: true,
        versions: false,
    };
    let dl = normalise(
        run(&deadlock, IsolationLevel::ReadCommitted, locks),
        Layout::Handout,
    );
    insta::assert_snapshot!(
        "deadlock_with_locks_markdown",
        render::markdown::document(&[dl], SERVER)
    );
}

#[test]
fn html_page_snapshot() {
    let lesson = catalog::find("lost-update").unwrap();
    let rr = normalise(
        run(&lesson, IsolationLevel::RepeatableRead, Inspect::default()),
        Layout::Handout,
    );
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
        util::skipped(format_args!(
            "no chromium on PATH (Debian: apt-get install chromium)"
        ));
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
