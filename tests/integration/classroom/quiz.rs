//! Quizzes: the right answer is judged from what the run observed, and piped answers are counted.

use std::collections::BTreeMap;

use txlab::engine::event::TxEnd;
use txlab::engine::{Inspect, IsolationLevel, LessonRun, catalog};

use super::run;
use crate::util::{self, txlab};

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
fn quiz_counts_the_class_answers() {
    // At READ COMMITTED: Bob waits (1 right), his UPDATE overwrites (2 wrong), he commits (1 right).
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
            "--quiz",
            "--color",
            "never",
        ]),
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
