//! Every interleaving of a lesson's steps that keeps each session's own order, in the order
//! PostgreSQL's isolationtester runs them when a spec lists no permutations: take the next step of
//! the first session that has one left, recurse, then try the next session.

use super::lesson::{Lesson, Schedule, ScheduledStep};

/// How many interleavings there are (the multinomial coefficient), or `None` if more than `u64`.
pub fn count(lesson: &Lesson) -> Option<u64> {
    let mut total: u64 = 1;
    let mut placed: u64 = 0;
    for pile in piles(lesson) {
        // Choose the positions of this session's steps among those placed so far: C(placed+k, k),
        // computed step by step so every intermediate value is an integer.
        for k in 1..=pile.len() as u64 {
            placed += 1;
            total = total.checked_mul(placed)? / k;
        }
    }
    Some(total)
}

/// Every interleaving, as schedules without markers.
pub fn all(lesson: &Lesson) -> Vec<Schedule> {
    let piles = piles(lesson);
    let total: usize = piles.iter().map(Vec::len).sum();
    let mut taken = vec![0; piles.len()];
    let mut current = Vec::with_capacity(total);
    let mut out = Vec::new();
    recurse(&piles, &mut taken, &mut current, total, &mut out);
    out
}

/// Each session's steps, in the session's own order.
fn piles(lesson: &Lesson) -> Vec<Vec<usize>> {
    let mut piles = vec![Vec::new(); lesson.sessions.len()];
    for (i, step) in lesson.steps.iter().enumerate() {
        piles[step.session].push(i);
    }
    piles
}

fn recurse(
    piles: &[Vec<usize>],
    taken: &mut [usize],
    current: &mut Vec<usize>,
    total: usize,
    out: &mut Vec<Schedule>,
) {
    if current.len() == total {
        out.push(Schedule {
            steps: current
                .iter()
                .map(|&step| ScheduledStep {
                    step,
                    blockers: Vec::new(),
                })
                .collect(),
        });
        return;
    }
    for s in 0..piles.len() {
        if taken[s] < piles[s].len() {
            current.push(piles[s][taken[s]]);
            taken[s] += 1;
            recurse(piles, taken, current, total, out);
            taken[s] -= 1;
            current.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::lesson::{SessionDef, StepDef};

    fn lesson(steps_per_session: &[usize]) -> Lesson {
        let mut sessions = Vec::new();
        let mut steps = Vec::new();
        for (s, &n) in steps_per_session.iter().enumerate() {
            sessions.push(SessionDef {
                name: format!("s{s}"),
                label: format!("s{s}"),
                setup: Vec::new(),
                teardown: None,
            });
            for k in 0..n {
                steps.push(StepDef {
                    name: format!("s{s}_{k}"),
                    session: s,
                    sql: String::new(),
                    say: None,
                    capture: Vec::new(),
                    capture_rows: None,
                });
            }
        }
        Lesson {
            id: "t".into(),
            title: "t".into(),
            anomaly: None,
            topic: "t".into(),
            summary: String::new(),
            explanation: String::new(),
            setup: Vec::new(),
            teardown: None,
            sessions,
            steps,
            schedules: Vec::new(),
            verdict: None,
            expect: Default::default(),
            why: Default::default(),
            default_levels: Vec::new(),
            deadlock_victim: None,
            origin: "test".into(),
        }
    }

    fn names(l: &Lesson, s: &Schedule) -> String {
        s.steps
            .iter()
            .map(|p| l.steps[p.step].name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn follows_isolationtesters_order() {
        let l = lesson(&[2, 1]);
        let all: Vec<String> = all(&l).iter().map(|s| names(&l, s)).collect();
        assert_eq!(
            all,
            vec!["s0_0 s0_1 s1_0", "s0_0 s1_0 s0_1", "s1_0 s0_0 s0_1"]
        );
    }

    #[test]
    fn counts_match_the_multinomial() {
        for (shape, expected) in [
            (vec![3, 3], 20u64),
            (vec![2, 2, 3], 210),
            (vec![2, 2], 6),
            (vec![1], 1),
        ] {
            let l = lesson(&shape);
            assert_eq!(count(&l), Some(expected), "{shape:?}");
            assert_eq!(all(&l).len() as u64, expected, "{shape:?}");
        }
        assert_eq!(count(&lesson(&[40, 40, 40])), None);
    }
}
