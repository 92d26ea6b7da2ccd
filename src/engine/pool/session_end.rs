//! Sessions the server ends under a pool lesson's tasks: waiting until it has ended one on its
//! own clock (`idle_in_transaction_session_timeout`), and ending one on purpose
//! (`pg_terminate_backend`, as a failover would). Either way the end is *observed* by asking the
//! server until it no longer lists the backend, never slept.

use std::time::Instant;

use super::schedule::PoolScheduler;
use crate::error::{Result, TxlabError};
use crate::model::event::EventKind;

impl PoolScheduler<'_> {
    /// Asks the server until it no longer lists the connection's backend; records the end.
    pub(super) async fn await_session_end(
        &mut self,
        task: usize,
        step: usize,
        conn: String,
    ) -> Result<()> {
        let pid = self.pid_of(task, &conn);
        let started = Instant::now();
        while self.control.backend_alive(pid).await? {
            if started.elapsed() > self.settings.step_timeout {
                return Err(TxlabError::StepTimeout {
                    step: self.steps[step].name.clone(),
                    session: format!("task {}", task + 1),
                    seconds: self.settings.step_timeout.as_secs(),
                });
            }
            tokio::task::yield_now().await;
        }
        self.events.record(
            Instant::now(),
            Some(task),
            pid,
            Some(step),
            EventKind::SessionEnded { conn },
        );
        Ok(())
    }

    /// Has the server end the backend of the task's connection `conn` and waits until it is
    /// gone. The pool's links go quiet first, so a connection resting in the pool is not told
    /// (see `db::postgres::relay`); that is safe only while no step is in flight.
    pub(super) async fn terminate(&mut self, task: usize, step: usize, conn: String) -> Result<()> {
        if !self.order.is_empty() {
            return Err(TxlabError::Schedule(format!(
                "step {} terminates a connection while another step is in flight; \
                 put it where every earlier step has finished",
                self.steps[step].name
            )));
        }
        let pid = self.pid_of(task, &conn);
        if pid == 0 {
            return Err(TxlabError::Schedule(format!(
                "step {}: task {} never had a connection '{conn}' to terminate",
                self.steps[step].name,
                task + 1
            )));
        }
        self.pool.quiet_links();
        if !self.control.terminate_backend(pid).await? {
            return Err(TxlabError::Schedule(format!(
                "step {}: the server refused to terminate backend {pid}",
                self.steps[step].name
            )));
        }
        self.await_session_end(task, step, conn).await
    }
}
