//! `--step` as a teacher uses it (issue 6): txlab runs in a real terminal (tmux), keys are sent
//! with send-keys and the screen read with capture-pane. Checks the prompt, that the timeline
//! grows a step at a time, replay, quit, Ctrl-C, and that the terminal is restored (canonical mode
//! and echo back on) and nothing is left on the server.
//!
//! Needs tmux (Debian: apt-get install tmux); skipped with a message when it is absent.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use crate::util;

/// One tmux server of our own (its own socket), so tests never touch anyone else's sessions.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    /// `name` keeps the tests of this binary (which run in parallel) on separate servers.
    fn start(name: &str) -> Option<Tmux> {
        let available = Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            util::skipped(format_args!(
                "tmux is not installed (Debian: apt-get install tmux)"
            ));
            return None;
        }
        let socket = format!("txlab-test-{}-{name}", std::process::id());
        let dir = std::env::temp_dir().join(&socket);
        std::fs::create_dir_all(&dir).unwrap();
        Some(Tmux { socket, dir })
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap()
    }

    /// Starts `txlab ARGS` in a 110×60 window; afterwards the shell prints the exit code and the
    /// terminal settings, and the txlab pid goes to a file.
    fn run_txlab(&self, window: &str, args: &[&str]) {
        let bin = env!("CARGO_BIN_EXE_txlab");
        let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        let pid_file = self.dir.join(format!("{window}.pid"));
        let script = format!(
            "sh -c 'echo $$ > {pid}; exec \"$0\" \"$@\"' {bin} {args}; echo EXIT=$?; stty -a | tr '\\n' ' '; echo; echo STTY-DONE; sleep 300",
            pid = shell_quote(&pid_file.display().to_string()),
            bin = shell_quote(bin),
            args = quoted.join(" ")
        );
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            window,
            "-x",
            "110",
            "-y",
            "60",
            "-e",
            "CI=true",
            "-e",
            "COLUMNS=100",
            &script,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pid(&self, window: &str) -> u32 {
        let file = self.dir.join(format!("{window}.pid"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "txlab never started");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The whole window, including what scrolled off.
    fn screen(&self, window: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-2000", "-t", window]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the window shows now, without the scrollback.
    fn visible(&self, window: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-t", window]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `pred` holds for the visible window (bounded), and returns it.
    fn wait_for_visible(&self, window: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.visible(window);
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `pred` holds for the screen (bounded), and returns it.
    fn wait_for(&self, window: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(window);
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one key.
    fn press(&self, window: &str, key: &str) {
        let out = self.tmux(&["send-keys", "-t", window, key]);
        assert!(out.status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const PROMPT: &str = "[Enter/space] run it · [b] back · [r] replay from the start · [q] quit";

fn prompt_for_step(n: usize) -> String {
    format!("▸ next · step {n} of 8")
}

/// The stty line printed after txlab exited: canonical mode and echo are back on.
fn assert_terminal_restored(screen: &str) {
    let stty = screen
        .lines()
        .find(|l| l.contains("icanon"))
        .unwrap_or_else(|| panic!("no stty output:\n{screen}"));
    let flags: Vec<&str> = stty.split_whitespace().collect();
    assert!(flags.contains(&"icanon"), "canonical mode left off: {stty}");
    assert!(flags.contains(&"echo"), "echo left off: {stty}");
    assert!(flags.contains(&"isig"), "signals left off: {stty}");
}

fn leftovers(pid: u32) -> (i64, i64) {
    let rt = util::runtime();
    rt.block_on(async {
        let (client, conn) = util::pg().config().connect(NoTls).await.unwrap();
        tokio::spawn(conn);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let schemas: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1",
                    &[&format!("txlab\\_{pid}\\_%")],
                )
                .await
                .unwrap()
                .get(0);
            let backends: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[&format!("txlab-{pid}")],
                )
                .await
                .unwrap()
                .get(0);
            if (schemas, backends) == (0, 0) || Instant::now() > deadline {
                return (schemas, backends);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[test]
fn step_runs_replays_and_quits_in_a_real_terminal() {
    let Some(tmux) = Tmux::start("step") else {
        return;
    };
    let url = util::database_url();
    tmux.run_txlab(
        "step",
        &[
            "demo",
            "lost-update",
            "--level",
            "read-committed",
            "--step",
            "--database-url",
            &url,
        ],
    );
    let pid = tmux.pid("step");

    // Before anything runs: the heading, the first step and a one-line prompt.
    let screen = tmux.wait_for("step", "the first prompt", |s| s.contains(PROMPT));
    assert!(
        screen.contains("━━ Lost update (P4) · READ COMMITTED"),
        "{screen}"
    );
    assert!(screen.contains(&prompt_for_step(1)), "{screen}");
    assert!(
        screen.contains("BEGIN ISOLATION LEVEL READ COMMITTED"),
        "{screen}"
    );
    assert!(!screen.contains("✓ BEGIN"), "nothing ran yet:\n{screen}");

    // Enter runs step 1; the timeline grows by that step, the prompt moves to step 2.
    tmux.press("step", "Enter");
    let screen = tmux.wait_for("step", "step 2's prompt", |s| {
        s.contains(&prompt_for_step(2))
    });
    assert_eq!(screen.matches("✓ BEGIN").count(), 1, "{screen}");
    assert!(
        !screen.contains(&prompt_for_step(1)),
        "the old prompt is erased:\n{screen}"
    );
    assert_eq!(screen.matches(PROMPT).count(), 1, "{screen}");

    // Space works like Enter; step 3 shows its narration and SQL before it runs.
    tmux.press("step", "Space");
    let screen = tmux.wait_for("step", "step 3's prompt", |s| {
        s.contains(&prompt_for_step(3))
    });
    assert_eq!(screen.matches("✓ BEGIN").count(), 2, "{screen}");
    assert!(
        screen.contains("» Alice's app reads the balance to add 10 to it."),
        "{screen}"
    );
    assert!(!screen.contains("→ balance = 100.00"), "{screen}");
    tmux.press("step", "Enter");
    let screen = tmux.wait_for("step", "step 4's prompt", |s| {
        s.contains(&prompt_for_step(4))
    });
    assert!(screen.contains("→ balance = 100.00"), "{screen}");

    // r: the lesson starts over from scratch (a new heading, step 1 again).
    tmux.press("step", "r");
    let screen = tmux.wait_for("step", "the replay", |s| {
        s.contains("replaying from the start") && s.contains(&prompt_for_step(1))
    });
    assert_eq!(screen.matches("━━ Lost update (P4)").count(), 2, "{screen}");

    // q: a clean exit, terminal restored, nothing left behind.
    tmux.press("step", "q");
    let screen = tmux.wait_for("step", "the exit", |s| s.contains("STTY-DONE"));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains("error:"), "{screen}");
    assert_terminal_restored(&screen);
    assert_eq!(leftovers(pid), (0, 0), "schemas, backends left behind");
}

#[test]
fn ctrl_c_at_a_prompt_restores_the_terminal_and_cleans_up() {
    let Some(tmux) = Tmux::start("ctrlc") else {
        return;
    };
    let url = util::database_url();
    tmux.run_txlab(
        "ctrlc",
        &[
            "demo",
            "lost-update",
            "--level",
            "read-committed",
            "--step",
            "--database-url",
            &url,
        ],
    );
    let pid = tmux.pid("ctrlc");
    // Run up to Bob's blocked UPDATE, so a session is waiting on a lock when Ctrl-C comes.
    for n in 1..=6 {
        tmux.wait_for("ctrlc", "a prompt", |s| s.contains(&prompt_for_step(n)));
        tmux.press("ctrlc", "Enter");
    }
    let screen = tmux.wait_for("ctrlc", "step 7's prompt", |s| {
        s.contains(&prompt_for_step(7))
    });
    assert!(screen.contains("‖ waiting for alice's phone"), "{screen}");
    tmux.press("ctrlc", "C-c");
    let screen = tmux.wait_for("ctrlc", "the exit", |s| s.contains("STTY-DONE"));
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(screen.contains("error: interrupted"), "{screen}");
    assert_terminal_restored(&screen);
    assert_eq!(leftovers(pid), (0, 0), "schemas, backends left behind");
}

/// Issue 13: Backspace and `b` go back one step on a live run, re-showing what was recorded (the
/// read's result disappears again, nothing is undone); Enter goes forward through the recorded
/// steps to the live one, then runs the next step.
#[test]
fn step_goes_back_and_forward_again_on_a_live_run() {
    let Some(tmux) = Tmux::start("back") else {
        return;
    };
    let url = util::database_url();
    tmux.run_txlab(
        "back",
        &[
            "demo",
            "lost-update",
            "--level",
            "read-committed",
            "--step",
            "--database-url",
            &url,
        ],
    );
    tmux.wait_for("back", "the first prompt", |s| s.contains(PROMPT));
    for n in 2..=4 {
        tmux.press("back", "Enter");
        tmux.wait_for_visible("back", "the next prompt", |s| {
            s.contains(&prompt_for_step(n))
        });
    }
    let screen = tmux.visible("back");
    assert!(screen.contains("→ balance = 100.00"), "{screen}");

    // Backspace: the screen before step 3 ran; its read has not happened there.
    tmux.press("back", "BSpace");
    let screen = tmux.wait_for_visible("back", "step 3 again", |s| s.contains(&prompt_for_step(3)));
    assert!(!screen.contains("→ balance = 100.00"), "{screen}");
    assert!(!screen.contains(&prompt_for_step(4)), "{screen}");
    // b: one more step back.
    tmux.press("back", "b");
    let screen = tmux.wait_for_visible("back", "step 2 again", |s| s.contains(&prompt_for_step(2)));
    assert_eq!(screen.matches("✓ BEGIN").count(), 1, "{screen}");

    // Forward through the recorded steps to the live one, then run step 4 for real.
    tmux.press("back", "Enter");
    tmux.wait_for_visible("back", "step 3 recorded", |s| {
        s.contains(&prompt_for_step(3))
    });
    tmux.press("back", "Enter");
    let screen = tmux.wait_for_visible("back", "the live step 4", |s| {
        s.contains(&prompt_for_step(4))
    });
    assert!(screen.contains("→ balance = 100.00"), "{screen}");
    tmux.press("back", "Enter");
    let screen = tmux.wait_for_visible("back", "step 5 after step 4 ran", |s| {
        s.contains(&prompt_for_step(5))
    });
    assert_eq!(screen.matches("→ balance = 100.00").count(), 2, "{screen}");
    tmux.press("back", "q");
}
