//! Every interleaving of a lesson's steps that keeps each session's own order, in the order
//! PostgreSQL's isolationtester runs them when a spec lists no permutations: take the next step of
//! the first session that has one left, recurse, then try the next session.

use super::event::Timeline;
use super::lesson::{Lesson, Schedule, ScheduledStep};
use super::level::IsolationLevel;
use super::runner::{LessonRun, RunOptions, run_lesson};
use super::verdict::{How, Outcome};
use crate::db::SqlState;
use crate::db::{Sandbox, Server};
use crate::error::{Result, TxlabError};

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

/// What one interleaving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// A lesson's verdict: the anomaly occurred or was prevented (and how).
    Verdict { outcome: Outcome, how: Option<How> },
    /// A spec has no verdict: the first error that aborted a step (not a follow-on 25P02), and
    /// whether any step waited for a lock.
    Observed {
        aborted: Option<String>,
        waited: bool,
    },
    /// A session was due to run a step while it still waited for a lock only a later step could
    /// release: this order of steps cannot happen.
    Impossible,
    /// The run could not be finished (a timeout, a lost connection…).
    Failed(String),
}

impl Classification {
    /// What a spec's steps did, read from its timeline.
    pub fn observed(timeline: &Timeline) -> Classification {
        let aborted = timeline
            .errors()
            .find(|e| SqlState::from_code(&e.sqlstate) != Some(SqlState::InFailedTransaction))
            .map(|e| e.sqlstate.clone());
        Classification::Observed {
            aborted,
            waited: timeline.any_waiting(),
        }
    }
}

/// One interleaving and what it did.
#[derive(Debug, Clone)]
pub struct InterleavingRun {
    pub schedule: Schedule,
    pub class: Classification,
    /// The finished run, when there was one (for a timeline or JSON).
    pub run: Option<Box<LessonRun>>,
}

/// Whether each session's steps run back to back: a serial schedule.
pub fn is_serial(lesson: &Lesson, schedule: &Schedule) -> bool {
    let mut seen = Vec::new();
    let mut last = None;
    for s in &schedule.steps {
        let session = lesson.steps[s.step].session;
        if last != Some(session) {
            if seen.contains(&session) {
                return false;
            }
            seen.push(session);
            last = Some(session);
        }
    }
    true
}

/// Runs a lesson once per interleaving of its steps at one level and classifies each run by its
/// verdict. Orders that cannot happen (a session due while it waits) are classified, not run to a
/// timeout. `on_done` is called after each one (progress bars).
pub async fn run_all(
    server: &Server,
    sandbox: &Sandbox,
    lesson: &Lesson,
    level: Option<IsolationLevel>,
    opts: &RunOptions,
    on_done: &mut dyn FnMut(&InterleavingRun),
) -> Result<Vec<InterleavingRun>> {
    let mut opts = opts.clone();
    opts.scheduler.reject_impossible = true;
    opts.live = None;
    let mut out = Vec::new();
    for schedule in all(lesson) {
        let mut one = lesson.clone();
        one.schedules = vec![schedule.clone()];
        let (class, run) = match run_lesson(server, sandbox, &one, level, &opts).await {
            Ok(run) => {
                let class = match &run.verdict {
                    Some(v) => Classification::Verdict {
                        outcome: v.outcome,
                        how: v.how.clone(),
                    },
                    None => Classification::observed(&run.timeline),
                };
                (class, Some(Box::new(run)))
            }
            Err(TxlabError::ImpossibleInterleaving { .. }) => (Classification::Impossible, None),
            Err(e @ (TxlabError::StepTimeout { .. } | TxlabError::Schedule(_))) => {
                (Classification::Failed(e.to_string()), None)
            }
            Err(e) => return Err(e),
        };
        let done = InterleavingRun {
            schedule,
            class,
            run,
        };
        on_done(&done);
        out.push(done);
    }
    Ok(out)
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
                retry: None,
            });
            for k in 0..n {
                steps.push(StepDef {
                    name: format!("s{s}_{k}"),
                    session: s,
                    sql: String::new(),
                    say: None,
                    capture: Vec::new(),
                    capture_rows: None,
                    expect_rows: None,
                    quiz: None,
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
            demo: None,
            variant: None,
            mariadb: None,
            pool: None,
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
    fn serial_means_each_session_runs_back_to_back() {
        let l = lesson(&[2, 1]);
        let serial: Vec<bool> = all(&l).iter().map(|s| is_serial(&l, s)).collect();
        assert_eq!(serial, vec![true, false, true]);
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
