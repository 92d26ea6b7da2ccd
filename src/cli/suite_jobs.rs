//! The databases of a suite's jobs (`--jobs N`): job 0's `isolation_regression` opened before
//! anything runs, the others created while the first specs (the ones that run alone, in job 0)
//! are running, and all of them dropped together at the end. Creating and dropping a database
//! takes 0.1–0.2 s on a disk with fsync; done one after the other around the run, three extra
//! jobs cost ~0.6 s of a ~20 s suite (docs/specs.md).

use tokio::sync::OnceCell;

use crate::db::postgres::{Sandbox, Server};
use crate::engine::suite::{REGRESSION_DATABASE, SuiteDatabase};
use crate::error::Result;

/// One database per job, each opened once, on first need or ahead of it.
pub struct JobDatabases<'a> {
    server: &'a Server,
    sandbox: &'a Sandbox,
    cells: Vec<OnceCell<SuiteDatabase>>,
}

impl<'a> JobDatabases<'a> {
    /// Opens job 0's database; the others are opened by [`JobDatabases::prepare`] or on first
    /// use. A role that may not create databases gets one schema and one job.
    pub async fn open(server: &'a Server, sandbox: &'a Sandbox, jobs: usize) -> Result<Self> {
        let first = SuiteDatabase::open(server, sandbox, Some(REGRESSION_DATABASE)).await?;
        let jobs = if jobs > 1 && first.in_schema() {
            eprintln!(
                "note: this role may not create databases, so the suite runs one spec at a time in a schema (--jobs needs a database per job)"
            );
            1
        } else {
            jobs.max(1)
        };
        let cells: Vec<OnceCell<SuiteDatabase>> = std::iter::once(OnceCell::new_with(Some(first)))
            .chain((1..jobs).map(|_| OnceCell::new()))
            .collect();
        Ok(JobDatabases {
            server,
            sandbox,
            cells,
        })
    }

    /// How many jobs there are (at least one).
    pub fn jobs(&self) -> usize {
        self.cells.len()
    }

    /// Job `job`'s database, created now if it is not yet.
    pub async fn get(&self, job: usize) -> Result<&SuiteDatabase> {
        self.cells[job]
            .get_or_try_init(|| SuiteDatabase::open(self.server, self.sandbox, None))
            .await
    }

    /// Creates every job's database that is not there yet, at the same time. A failure is left
    /// for the job's first spec to report (it tries again).
    pub async fn prepare(&self) {
        futures_util::future::join_all((0..self.jobs()).map(|job| self.get(job))).await;
    }

    /// Drops every database that was created, at the same time.
    pub async fn close(self) -> Result<()> {
        let sandbox = self.sandbox;
        let closed = futures_util::future::join_all(
            self.cells
                .into_iter()
                .filter_map(OnceCell::into_inner)
                .map(|db| db.close(sandbox)),
        )
        .await;
        closed.into_iter().collect()
    }
}
