//! The determinism promise: the same lesson at the same level gives the same verdict and the same
//! events in the same order, every run, however busy the machine. The whole matrix (every built-in
//! lesson at every level) runs 20 times in a row and every round must equal the first.

use std::io::Write as _;
use std::time::Instant;

use txlab::engine::verdict::{Expectation, How, Outcome};

use crate::util;

const ROUNDS: usize = 20;

/// What must not change between runs: the verdict (with its evidence) and the event order.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    run: String,
    verdict: Option<(Outcome, Option<How>, Option<Expectation>)>,
    signature: Vec<String>,
}

#[test]
fn the_full_matrix_twenty_times_gives_identical_verdicts_and_event_order() {
    let rt = util::runtime();
    let sandbox = util::sandbox();
    let matrix = util::runs::isolation_matrix();
    assert!(!matrix.is_empty(), "no built-in lessons");
    let started = Instant::now();
    let mut first: Vec<Fingerprint> = Vec::new();
    for round in 1..=ROUNDS {
        for (i, (lesson, level)) in matrix.iter().enumerate() {
            let run = util::runs::run(&rt, &sandbox, lesson, *level);
            let print = Fingerprint {
                run: format!("{} at {level}", lesson.id),
                // Outcome and how it was prevented; the detail sentence may quote measured
                // times (waited 5.1 ms), which are facts of one run, not of the schedule.
                verdict: run.verdict.map(|v| (v.outcome, v.how, v.expected)),
                signature: run.timeline.signature(),
            };
            if round == 1 {
                first.push(print);
                continue;
            }
            let expected = &first[i];
            assert_eq!(
                print.verdict, expected.verdict,
                "{}: round {round} judged differently from round 1",
                print.run
            );
            if let Some(at) = (0..print.signature.len().max(expected.signature.len()))
                .find(|&n| print.signature.get(n) != expected.signature.get(n))
            {
                panic!(
                    "{}: round {round} reported events in another order than round 1, from event {at}:\n\
                     round 1:      {:?}\nround {round}: {:?}\nfull round 1: {:#?}\nfull round {round}: {:#?}",
                    print.run,
                    expected.signature.get(at),
                    print.signature.get(at),
                    expected.signature,
                    print.signature
                );
            }
        }
    }
    let elapsed = started.elapsed();
    let lessons = matrix
        .iter()
        .map(|(l, _)| l.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    // Written past the test harness's capture, so the figure shows in every `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "determinism: the full matrix ({} runs: {lessons} lessons at their levels) {ROUNDS} times in {:.2} s, {:.1} ms per run",
        matrix.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / (ROUNDS * matrix.len()) as f64
    );
}
