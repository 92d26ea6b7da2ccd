//! Issue 9: how txlab ends. A failed write to stdout unwinds like any error (cleanup first), a
//! closed pipe is a quiet success, and a signal at any moment — start-up included — leaves no
//! throwaway cluster behind and exits 130 (SIGINT) or 143 (SIGTERM) with one line on stderr.
//!
//! These tests start their own throwaway clusters through the binary; they use no shared server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::offline as txlab;

/// A lesson whose last step sleeps for a minute: a signal always lands before the run ends.
const SLOW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slow.toml");

/// The run or initdb directories a txlab process with this pid left in the run parent directory.
fn leftovers(pid: u32) -> Vec<String> {
    let prefixes = [format!("txlab-run-{pid}-"), format!("txlab-initdb-{pid}-")];
    std::fs::read_dir(txlab::db::cluster::run_parent_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .collect()
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
    }
    text
}

#[test]
fn a_full_disk_on_stdout_is_one_error_and_exit_2_after_cleanup() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = txlab()
        .args(["demo", "isolation"])
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = stderr_of(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: cannot write to standard output"),
        "{stderr}"
    );
    assert!(stderr.lines().any(|l| l.starts_with("hint: ")), "{stderr}");
    assert_eq!(leftovers(child.id()), Vec::<String>::new());
}

#[test]
fn a_closed_pipe_is_a_quiet_exit_0_after_cleanup() {
    // `txlab demo isolation | head -1`: the reader goes away after the first line.
    let mut child = txlab()
        .args(["demo", "isolation"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "no output before the pipe closed");
    let stderr = stderr_of(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The privileges line (on a server given by URL) comes before the run, not from the pipe.
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("privileges: "))
        .collect();
    assert!(
        said.is_empty(),
        "a closed pipe is not worth a word: {stderr}"
    );
    assert_eq!(leftovers(child.id()), Vec::<String>::new());
}

/// Sends `signal` while the throwaway cluster is starting — as soon as its run directory appears,
/// at least 80 ms after start — and returns the exit code, stderr and what was left behind.
fn signal_during_startup(signal: i32) -> (Option<i32>, String, Vec<String>) {
    let start = Instant::now();
    let mut child = txlab()
        .args(["run", SLOW, "--step-timeout", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run directory exists only after the handlers are installed, so a signal sent now is
    // txlab's to handle; before this change SIGTERM here killed it and left the directory.
    let pid = child.id();
    let prefix = format!("txlab-run-{pid}-");
    while start.elapsed() < Duration::from_millis(80)
        || !leftovers(pid).iter().any(|d| d.starts_with(&prefix))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no cluster started"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: kill(2) on the child we just spawned.
    unsafe { libc::kill(child.id() as i32, signal) };
    let stderr = stderr_of(&mut child);
    let status = child.wait().unwrap();
    (status.code(), stderr, leftovers(child.id()))
}

#[test]
fn sigterm_during_startup_exits_143_and_removes_the_cluster() {
    let (code, stderr, left) = signal_during_startup(libc::SIGTERM);
    assert_eq!(code, Some(143), "killed by the default handler? {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: terminated (SIGTERM); "),
        "{stderr}"
    );
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn sigint_during_startup_exits_130_and_removes_the_cluster() {
    let (code, stderr, left) = signal_during_startup(libc::SIGINT);
    assert_eq!(code, Some(130), "killed by the default handler? {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: interrupted; "), "{stderr}");
    assert_eq!(left, Vec::<String>::new());
}
