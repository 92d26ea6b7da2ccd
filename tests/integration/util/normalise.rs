//! Makes a finished run snapshot-stable: what differs from run to run (backend pids, transaction
//! ids, times) is replaced with stand-ins, so a snapshot changes only when what is shown changes.
//! Pids become 1001, 1002… in session order, everywhere they appear: events, blockers, lock
//! reports, and the server's own words (error messages, notices, the verdict, notes). Transaction
//! ids become numbers counted from a fixed start in order of appearance. Retry backoffs (random
//! jitter) become 1 ms.
//!
//! Times have two layouts, because the committed snapshots pin both: timelines and the matrix
//! (tests/integration/render_snapshots.rs) and the markdown and HTML handouts
//! (tests/integration/classroom/handouts.rs).

use std::collections::HashMap;
use std::time::Duration;

use txlab::engine::LessonRun;
use txlab::engine::event::EventKind;

/// Where the stand-in times and transaction ids come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// Setup at 0, then each event 1 ms after the previous; a wait lasts from its step's launch
    /// to its completion in those ticks; transaction ids from 901; the schedule took all ticks.
    Timeline,
    /// Every event 0.1 ms after the previous, setup included; every wait 5 ms; transaction ids
    /// from 9001; the schedule took 1 ms, the run 2 ms.
    Handout,
}

impl Layout {
    fn first_xid(self) -> u64 {
        match self {
            Layout::Timeline => 901,
            Layout::Handout => 9001,
        }
    }
}

/// Replaces what differs from run to run (pids, transaction ids, times) with stable values.
pub fn normalise(mut run: LessonRun, layout: Layout) -> LessonRun {
    let mut ids = Ids::new(layout);
    for (i, session) in run.sessions.iter_mut().enumerate() {
        // A pool lesson's tasks have no backend (pid 0); their connections are numbered below.
        if session.pid == 0 {
            continue;
        }
        let stable = 1001 + i as i32;
        ids.pids.insert(session.pid, stable);
        session.pid = stable;
    }
    // Pooled connections become 2001, 2002… in the order tasks first took them.
    for event in &run.timeline.events {
        if matches!(event.kind, EventKind::Acquired { .. }) && !ids.pids.contains_key(&event.pid) {
            let stable = 2001 + ids.pids.len() as i32;
            ids.pids.insert(event.pid, stable);
        }
    }
    let mut launched: HashMap<usize, Duration> = HashMap::new();
    let mut tick = 0;
    for (i, event) in run.timeline.events.iter_mut().enumerate() {
        event.pid = ids.pid(event.pid);
        event.t = match (layout, &event.kind) {
            (Layout::Handout, _) => Duration::from_micros(100 * i as u64),
            (Layout::Timeline, EventKind::Setup { .. }) => Duration::ZERO,
            (Layout::Timeline, _) => {
                tick += 1;
                Duration::from_millis(tick)
            }
        };
        match &mut event.kind {
            EventKind::Launch { .. } => {
                if let Some(step) = event.step {
                    launched.insert(step, event.t);
                }
            }
            EventKind::Waiting { blockers, .. } => {
                for pid in blockers.iter_mut() {
                    *pid = ids.pid(*pid);
                }
            }
            EventKind::Completed(c) => {
                if c.waited.is_some() {
                    c.waited = Some(match layout {
                        Layout::Handout => Duration::from_millis(5),
                        Layout::Timeline => {
                            let since = event.step.and_then(|s| launched.get(&s)).copied();
                            event.t - since.unwrap_or_default()
                        }
                    });
                }
            }
            EventKind::Acquired { waited, .. } => {
                if waited.is_some() {
                    *waited = Some(Duration::from_millis(5));
                }
            }
            EventKind::Released { .. }
            | EventKind::PoolWaiting { .. }
            | EventKind::SessionEnded { .. } => {}
            // Backoff has random jitter.
            EventKind::Retry { backoff, .. } => *backoff = Duration::from_millis(1),
            // Only recorded with --locks: every waiter and holder is a session of this run.
            EventKind::Locks(report) => {
                for w in &mut report.waits {
                    w.waiter = ids.session_pid(w.waiter);
                    w.holder = ids.session_pid(w.holder);
                    if let Some(t) = &w.transaction {
                        w.transaction = Some(ids.xid(t));
                    }
                }
                if let Some(cycle) = &mut report.cycle {
                    for pid in cycle {
                        *pid = ids.session_pid(*pid);
                    }
                }
            }
            // Notices are the server's words (below); versions are only recorded with --versions
            // (not snapshotted), cancels and notifications only in isolation specs.
            EventKind::Setup { .. }
            | EventKind::Notice { .. }
            | EventKind::Versions(_)
            | EventKind::Canceled { .. }
            | EventKind::Notification { .. } => {}
        }
    }
    // The server's words, once every lock report has given its transactions their stand-ins.
    for event in &mut run.timeline.events {
        match &mut event.kind {
            EventKind::Completed(c) => {
                if let Some(error) = &mut c.error {
                    error.message = ids.text(&error.message);
                    error.detail = error.detail.as_deref().map(|d| ids.text(d));
                }
            }
            EventKind::Notice { message, .. } => *message = ids.text(message),
            _ => {}
        }
    }
    if let Some(verdict) = &mut run.verdict {
        verdict.detail = ids.text(&verdict.detail);
    }
    run.notes = run.notes.iter().map(|n| ids.text(n)).collect();
    (run.schedule_time, run.total_time) = match layout {
        Layout::Timeline => (Duration::from_millis(tick), Duration::ZERO),
        Layout::Handout => (Duration::from_millis(1), Duration::from_millis(2)),
    };
    run
}

/// Stable stand-ins for the backend pids and transaction ids of one run.
struct Ids {
    pids: HashMap<i32, i32>,
    xids: HashMap<String, String>,
    first_xid: u64,
}

impl Ids {
    fn new(layout: Layout) -> Ids {
        Ids {
            pids: HashMap::new(),
            xids: HashMap::new(),
            first_xid: layout.first_xid(),
        }
    }

    fn pid(&self, pid: i32) -> i32 {
        self.pids.get(&pid).copied().unwrap_or(pid)
    }

    /// The stand-in of a pid that must be one of the run's sessions.
    fn session_pid(&self, pid: i32) -> i32 {
        *self
            .pids
            .get(&pid)
            .unwrap_or_else(|| panic!("pid {pid} is not a session of this run"))
    }

    fn xid(&mut self, real: &str) -> String {
        let next = format!("{}", self.first_xid + self.xids.len() as u64);
        self.xids.entry(real.to_string()).or_insert(next).clone()
    }

    /// Rewrites the numbers in server text: a run's pid → its stand-in, and the number after
    /// "transaction " → its stand-in, in order of appearance.
    fn text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
            let len = rest[start..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - start);
            let number = &rest[start..start + len];
            out.push_str(&rest[..start]);
            let is_word = !rest[..start].ends_with(|c: char| c.is_alphanumeric() || c == '.');
            let pid = number.parse::<i32>().ok().and_then(|p| self.pids.get(&p));
            if let (true, Some(pid)) = (is_word, pid) {
                out.push_str(&pid.to_string());
            } else if out.ends_with("transaction ") {
                let xid = self.xid(number);
                out.push_str(&xid);
            } else {
                out.push_str(number);
            }
            rest = &rest[start + len..];
        }
        out.push_str(rest);
        out
    }
}

#[test]
fn normalising_rewrites_pids_and_transaction_ids_in_server_text() {
    let mut ids = Ids::new(Layout::Timeline);
    ids.pids.insert(18323, 1002);
    ids.pids.insert(18322, 1001);
    assert_eq!(
        ids.text("Process 18323 waits for ShareLock on transaction 726; blocked by process 18322."),
        "Process 1002 waits for ShareLock on transaction 901; blocked by process 1001."
    );
    assert_eq!(
        ids.text(
            "Process 18322 waits for ShareLock on transaction 727; transaction 726 and 100.00"
        ),
        "Process 1001 waits for ShareLock on transaction 902; transaction 901 and 100.00"
    );
}

/// A transaction id seen in a lock report keeps its stand-in in the server's text.
#[test]
fn lock_report_and_error_text_share_transaction_stand_ins() {
    let mut ids = Ids::new(Layout::Handout);
    ids.pids.insert(18322, 1001);
    assert_eq!(ids.xid("727"), "9001");
    assert_eq!(
        ids.text("Process 18322 waits for ShareLock on transaction 726; transaction 727."),
        "Process 1001 waits for ShareLock on transaction 9002; transaction 9001."
    );
}
