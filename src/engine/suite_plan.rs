//! In what order a suite's specs start when `--jobs N` lets several run at once, and in which
//! job's database: the decision alone, without a server, so that it can be tested.
//!
//! With one job the specs run in the schedule's order, one after the other, as
//! pg_isolation_regress runs them. With more, the specs that must run alone (`spec::alone`) go
//! first, one by one in job 0 (the suite's `isolation_regression`, which some specs name) with
//! nothing beside them; then the others, in the schedule's order, each as soon as a job is free.
//! Running the lone specs first rather than where the schedule has them saves a wait for every
//! job to finish before each (PostgreSQL 15's suite has 27 such specs; docs/specs.md, "Side by
//! side"), and the reports, printed in the schedule's order, then flow
//! as the shared specs finish instead of all at the end.

/// Which spec to start next, and where.
#[derive(Debug)]
pub struct SuitePlan {
    alone: Vec<bool>,
    /// The specs in the order they start.
    order: Vec<usize>,
    next: usize,
    free: Vec<usize>,
    running: usize,
    alone_running: bool,
}

impl SuitePlan {
    /// A plan for specs that must (`true`) or need not run alone, over `jobs` databases.
    pub fn new(alone: Vec<bool>, jobs: usize) -> SuitePlan {
        let specs = 0..alone.len();
        let order = if jobs <= 1 {
            specs.collect()
        } else {
            let (lone, shared): (Vec<usize>, Vec<usize>) = specs.partition(|&i| alone[i]);
            lone.into_iter().chain(shared).collect()
        };
        SuitePlan {
            alone,
            order,
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
        let &spec = self.order.get(self.next)?;
        if self.alone_running {
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
    fn one_job_runs_one_spec_after_the_other_in_the_schedules_order() {
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
    fn lone_specs_go_first_one_by_one_in_job_0_then_the_others_side_by_side() {
        let mut plan = SuitePlan::new(vec![false, true, false, true, false], 2);
        assert_eq!(all_startable(&mut plan), vec![(1, 0)]);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(3, 0)]);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(0, 0), (2, 1)]);
        plan.finished(1);
        assert_eq!(all_startable(&mut plan), vec![(4, 1)]);
        plan.finished(0);
        plan.finished(1);
        assert_eq!(plan.start(), None);
    }

    #[test]
    fn nothing_starts_beside_a_lone_spec() {
        let mut plan = SuitePlan::new(vec![true, false, false], 3);
        assert_eq!(all_startable(&mut plan), vec![(0, 0)]);
        assert_eq!(plan.start(), None);
        plan.finished(0);
        assert_eq!(all_startable(&mut plan), vec![(1, 0), (2, 1)]);
    }
}
