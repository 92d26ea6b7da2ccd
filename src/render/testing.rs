//! A hand-made run for renderer unit tests: two sessions (pids 101 and 102), a blocked UPDATE
//! with its lock report, row versions and a quiz, so renderers are tested without a server.

use std::time::Duration;

use crate::engine::lesson::StepDef;
use crate::engine::level::IsolationLevel;
use crate::engine::quiz::{Answer, Quiz};
use crate::engine::run::{LessonRun, SessionInfo};
use crate::engine::verdict::{Outcome, Verdict};
use crate::model::event::{Completion, Event, EventKind, StatementResult, Timeline, TxEnd};
use crate::model::inspect::{
    LockReport, LockWait, RowVersion, SessionView, TableVersions, VersionsReport, View,
};

fn step(name: &str, session: usize, sql: &str, say: Option<&str>) -> StepDef {
    StepDef {
        name: name.into(),
        session,
        sql: sql.into(),
        say: say.map(str::to_string),
        capture: Vec::new(),
        capture_rows: None,
        quiz: None,
        expect_rows: None,
    }
}

fn done(results: Vec<StatementResult>, tx_end: Option<TxEnd>, waited: Option<u64>) -> EventKind {
    EventKind::Completed(Completion {
        results,
        error: None,
        tx_end,
        waited: waited.map(Duration::from_millis),
        conflict: None,
    })
}

fn sees(xid: Option<&str>, balance: &str, xmax: &str) -> View {
    View::Sees {
        snapshot: "740:740:".into(),
        xid: xid.map(str::to_string),
        isolation: "read committed".into(),
        rows_read: true,
        tables: vec![TableVersions {
            table: "account".into(),
            columns: vec!["id".into(), "balance".into()],
            rows: vec![RowVersion {
                ctid: "(0,1)".into(),
                xmin: "739".into(),
                xmax: xmax.into(),
                values: vec![Some("1".into()), Some(balance.into())],
            }],
        }],
    }
}

/// Alice updates, Bob's update waits for her, Alice commits, Bob's update goes through.
pub fn two_session_run() -> LessonRun {
    let mut steps = vec![
        step(
            "a1",
            0,
            "UPDATE account SET balance = balance + 10 WHERE id = 1",
            Some("Alice deposits 10."),
        ),
        step(
            "b1",
            1,
            "UPDATE account SET balance = balance + 20 WHERE id = 1",
            Some("Bob deposits 20 | at once."),
        ),
        step("a2", 0, "COMMIT", None),
        step("b2", 1, "SELECT balance FROM account WHERE id = 1", None),
    ];
    steps[1].quiz = Some(Quiz {
        ask: "Will Bob's UPDATE block?".into(),
        answers: vec![
            Answer {
                text: "It waits for Alice".into(),
                when: "blocked".parse().unwrap(),
            },
            Answer {
                text: "It goes through at once".into(),
                when: "not blocked".parse().unwrap(),
            },
        ],
        about: 1,
        explain: Some("Alice holds the row lock until she commits.".into()),
    });
    let ev = |ms: u64, session: Option<usize>, step: Option<usize>, kind: EventKind| Event {
        t: Duration::from_millis(ms),
        session,
        pid: session.map(|s| 101 + s as i32).unwrap_or(0),
        step,
        kind,
    };
    let events = vec![
        ev(
            0,
            Some(0),
            Some(0),
            EventKind::Launch {
                sql: steps[0].sql.clone(),
            },
        ),
        ev(
            1,
            Some(0),
            Some(0),
            done(
                vec![StatementResult::Command { rows_affected: 1 }],
                None,
                None,
            ),
        ),
        ev(
            2,
            None,
            None,
            EventKind::Versions(VersionsReport {
                views: vec![
                    SessionView {
                        session: 0,
                        view: sees(Some("741"), "110.00", "0"),
                    },
                    SessionView {
                        session: 1,
                        view: sees(None, "100.00", "741"),
                    },
                ],
            }),
        ),
        ev(
            3,
            Some(1),
            Some(1),
            EventKind::Launch {
                sql: steps[1].sql.clone(),
            },
        ),
        ev(
            4,
            Some(1),
            Some(1),
            EventKind::Waiting {
                blockers: vec![101],
                forced: false,
            },
        ),
        ev(
            4,
            Some(1),
            Some(1),
            EventKind::Locks(LockReport {
                waits: vec![LockWait {
                    waiter: 102,
                    holder: 101,
                    locktype: "transactionid".into(),
                    wanted: "ShareLock".into(),
                    held: vec!["ExclusiveLock".into()],
                    relation: None,
                    tuple: None,
                    transaction: Some("741".into()),
                    row: Some("(0,1) of account".into()),
                }],
                cycle: None,
                ..LockReport::default()
            }),
        ),
        ev(
            5,
            Some(0),
            Some(2),
            EventKind::Launch {
                sql: "COMMIT".into(),
            },
        ),
        ev(6, Some(0), Some(2), done(vec![], Some(TxEnd::Commit), None)),
        ev(
            7,
            Some(1),
            Some(1),
            done(
                vec![StatementResult::Command { rows_affected: 1 }],
                None,
                Some(4),
            ),
        ),
        ev(
            8,
            Some(1),
            Some(3),
            EventKind::Launch {
                sql: steps[3].sql.clone(),
            },
        ),
        ev(
            9,
            Some(1),
            Some(3),
            done(
                vec![StatementResult::Rows {
                    columns: vec!["balance".into()],
                    rows: vec![vec![Some("130.00".into())]],
                }],
                None,
                None,
            ),
        ),
    ];
    LessonRun {
        lesson_id: "two-deposits".into(),
        title: "Two deposits".into(),
        anomaly: Some("P4".into()),
        anomaly_name: "LOST UPDATE".into(),
        summary: "Two deposits into one account <at once>.".into(),
        explanation: "Both add to the balance in SQL, so the second waits and adds to the first."
            .into(),
        demo: None,
        variant: None,
        levels_shown: 1,
        level: Some(IsolationLevel::ReadCommitted),
        sessions: vec![
            SessionInfo {
                name: "a".into(),
                label: "alice's phone".into(),
                pid: 101,
            },
            SessionInfo {
                name: "b".into(),
                label: "bob's laptop".into(),
                pid: 102,
            },
        ],
        steps,
        timeline: Timeline { events },
        verdict: Some(Verdict {
            outcome: Outcome::Prevented,
            how: Some(crate::engine::verdict::How::Blocked),
            detail: "final balance 130.00".into(),
            expected: Some("prevented".parse().unwrap()),
        }),
        why: Some("Bob's UPDATE re-read the row after Alice committed.".into()),
        notes: vec!["a note".into()],
        schedule_time: Duration::from_millis(9),
        total_time: Duration::from_millis(20),
        engine: crate::model::Engine::Postgres,
        server_version: None,
    }
}
