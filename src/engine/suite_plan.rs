//! In what order a suite's specs start when `--jobs N` lets several run at once, and in which
//! job's database: the decision alone, without a server, so that it can be tested.
//!
//! Specs start in the schedule's order and never overtake each other. A spec that may share the
//! server starts as soon as a job is free; one that must run alone (`spec::alone`) waits until
//! every running spec has finished, runs in job 0 (the suite's `isolation_regression`, which
//! some specs name), and nothing starts beside it. With one job that is pg_isolation_regress's
//! order: one spec after the other.

/// Which spec to start next, and where.
#[derive(Debug)]
pub struct SuitePlan {
    alone: Vec<bool>,
    next: usize,
    free: Vec<usize>,
    running: usize,
    alone_running: bool,
}

impl SuitePlan {
    /// A plan for specs that must (`true`) or need not run alone, over `jobs` databases.
    pub fn new(alone: Vec<bool>, jobs: usize) -> SuitePlan {
        SuitePlan {
            alone,
            next: 0,
            // Popped from the end: job 0 is handed out first.
            free: (0..jobs.max(1)).rev().collect(),
            running: 0,
            alone_running: false,
        }
    }

    /// The next spec that may start now and the job to run it in; `None` until something
    /// finishes (or when every spec has started).
    pub fn start(&mut self) -> Option<(usize, usize)> {
        let spec = self.next;
        if spec >= self.alone.len() || self.alone_running {
            return None;
        }
        let job = if self.alone[spec] {
            if self.running > 0 {
                return None;
            }
            self.alone_running = true;
            self.free.retain(|&j| j != 0);
            0
        } else {
            self.free.pop()?
        };
        self.next += 1;
        self.running += 1;
        Some((spec, job))
    }

    /// The spec running in `job` has finished.
    pub fn finished(&mut self, job: usize) {
        self.running = self.running.saturating_sub(1);
        if self.alone_running {
            self.alone_running = false;
        }
        self.free.push(job);
        // Keep job 0 (the suite's own database) first in line.
        self.free.sort_unstable_by(|a, b| b.cmp(a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_startable(plan: &mut SuitePlan) -> Vec<(usize, usize)> {
        std::iter::from_fn(|| plan.start()).collect()
    }

    #[test]
    fn one_job_runs_one_spec_after_the_other() {
        let mut plan = SuitePlan::new(vec![false, true, false], 1);
        assert_eq!(all_startable(&mut plan), vec![(0, 0)]);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(1, 0)]);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(2, 0)]);
        plan.finished(0);
        assert_eq!(plan.start(), None);
    }

    #[test]
    fn specs_that_share_fill_every_job_in_order() {
        let mut plan = SuitePlan::new(vec![false; 5], 3);
        assert_eq!(all_startable(&mut plan), vec![(0, 0), (1, 1), (2, 2)]);
        plan.finished(1);
        assert_eq!(all_startable(&mut plan), vec![(3, 1)]);
    }

    #[test]
    fn a_spec_that_runs_alone_waits_for_the_others_and_holds_back_the_next() {
        let mut plan = SuitePlan::new(vec![false, false, true, false], 2);
        assert_eq!(all_startable(&mut plan), vec![(0, 0), (1, 1)]);
        plan.finished(1);
        // Spec 2 must run alone: nothing starts while spec 0 runs, and spec 3 may not overtake.
        assert_eq!(plan.start(), None);
        plan.finished(0);
        assert_eq!(plan.start(), Some((2, 0)));
        assert_eq!(plan.start(), None);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(3, 0)]);
    }

    #[test]
    fn an_alone_spec_runs_in_job_0_even_when_another_job_finished_last() {
        let mut plan = SuitePlan::new(vec![false, false, true], 2);
        assert_eq!(all_startable(&mut plan), vec![(0, 0), (1, 1)]);
        plan.finished(0);
        plan.finished(1);
        assert_eq!(plan.start(), Some((2, 0)));
    }
}
