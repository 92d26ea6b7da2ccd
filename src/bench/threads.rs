//! Where the client tasks run: a multi-thread tokio runtime of their own (the default: N worker
//! threads, the CPU count up to 4), or the command's own current-thread runtime (`--threads 0`).
//!
//! Measured on the 2-core development machine (docs/bench.md, "Is the client the bottleneck?"):
//! one thread driving 8 clients on a hot row reached about half of pgbench's throughput; two
//! worker threads matched it. Splitting the clients over per-thread current-thread runtimes, the
//! way `pgbench -j` does, was no better than the multi-thread runtime, and needed a pool per
//! thread, so it was not kept.

use tokio::runtime::{Handle, Runtime};

use crate::error::{Result, TxlabError};

/// The client runtime of one bench run, alive until dropped.
pub struct ClientThreads(Option<Runtime>);

impl ClientThreads {
    /// `threads` worker threads, or none (the caller's runtime) for 0.
    pub fn start(threads: usize) -> Result<ClientThreads> {
        if threads == 0 {
            return Ok(ClientThreads(None));
        }
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("txlab-bench-client")
            .enable_all()
            .build()
            .map(|rt| ClientThreads(Some(rt)))
            .map_err(|e| TxlabError::Database(format!("cannot start client threads: {e}")))
    }

    /// Where to spawn client tasks.
    pub fn handle(&self) -> Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => Handle::current(),
        }
    }
}

impl Drop for ClientThreads {
    /// A runtime may not be dropped (which blocks) inside another; its tasks are finished or
    /// aborted by now, so it is left to wind down in the background.
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
