//! Where the client tasks run: `--threads N` OS threads, each driving a current-thread tokio
//! runtime of its own with a share of the clients — the way `pgbench -j N` splits its clients
//! over threads, each with its own event loop — or the command's own runtime (`--threads 0`).
//!
//! Why not one multi-thread runtime (what txlab did before, docs/bench.md "Is the client the
//! bottleneck?"): on a work-stealing runtime a wake-up can land on another worker thread through
//! a futex. On a shard, a client, its connections (registered with the shard's reactor) and its
//! pool all live on one thread, and a thread sleeps only in `epoll_wait`, as a `pgbench -j`
//! thread sleeps in `select`/`poll`.
//!
//! A shard's runtime has I/O but no timer: with one, every park checks the timer wheel and reads
//! the clock (~1,000 instructions per counter transaction). The few things a client times — a
//! retry's backoff, think time, a connect timeout — go through [`timer`], which runs them on the
//! command's runtime (the caller of [`ClientThreads::start`]); the hot path uses no timer at all.

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::db::postgres::wire::timer;
use crate::error::{Result, TxlabError};

/// One client thread: where to spawn its tasks, and how to tell it to end.
struct Shard {
    handle: Handle,
    /// Dropping (or sending on) this ends the thread's runtime.
    _stop: Option<oneshot::Sender<()>>,
}

/// The client threads of one bench run, alive until dropped.
pub struct ClientThreads(Vec<Shard>);

impl ClientThreads {
    /// `threads` client threads, or one shard on the caller's runtime for 0. The caller's runtime
    /// (which must have time enabled) runs the client threads' timers.
    pub fn start(threads: usize) -> Result<ClientThreads> {
        if threads == 0 {
            return Ok(ClientThreads(vec![Shard {
                handle: Handle::current(),
                _stop: None,
            }]));
        }
        let timers = Handle::current();
        let mut shards = Vec::with_capacity(threads);
        for i in 0..threads {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .map_err(|e| cannot_start(&e))?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let timers = timers.clone();
            std::thread::Builder::new()
                .name(format!("txlab-bench-client-{i}"))
                // The runtime runs every task spawned on its handle until the run ends (the
                // sender is dropped); dropping it then cancels whatever is left.
                .spawn(move || {
                    timer::install(timers);
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })
                .map_err(|e| cannot_start(&e))?;
            shards.push(Shard {
                handle,
                _stop: Some(stop),
            });
        }
        Ok(ClientThreads(shards))
    }

    /// How many shards clients are spread over (at least 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: there is at least one shard.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where to spawn the tasks of shard `i` (taken modulo the shard count).
    pub fn handle(&self, i: usize) -> Handle {
        self.0[i % self.0.len()].handle.clone()
    }
}

/// How `n` things (clients, or pooled connections) split over `shards`: round robin, so shards
/// differ by at most one, and the first shards get the extra ones.
pub fn split(n: usize, shards: usize) -> Vec<usize> {
    let shards = shards.max(1);
    (0..shards)
        .map(|s| n / shards + usize::from(s < n % shards))
        .collect()
}

/// How many shards a point uses: no more than there are clients, or connections to give each
/// shard at least one of its own (a connection never moves between threads).
pub fn shards_for(threads: usize, clients: usize, pool_size: usize) -> usize {
    threads.min(clients).min(pool_size).max(1)
}

fn cannot_start(e: &std::io::Error) -> TxlabError {
    TxlabError::Database(format!("cannot start client threads: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_connections_split_alike() {
        assert_eq!(split(8, 2), vec![4, 4]);
        assert_eq!(split(5, 2), vec![3, 2]);
        assert_eq!(split(3, 0), vec![3]);
        assert_eq!(shards_for(2, 8, 8), 2);
        assert_eq!(shards_for(4, 3, 8), 3);
        assert_eq!(shards_for(2, 8, 1), 1);
        assert_eq!(shards_for(0, 8, 8), 1);
        // Fewer connections than clients: each shard's pool is no larger than its clients.
        let (c, p) = (split(8, 3), split(5, 3));
        assert!(c.iter().zip(&p).all(|(c, p)| p <= c && *p >= 1));
    }

    #[test]
    fn tasks_run_on_their_shard_thread() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let threads = ClientThreads::start(2).unwrap();
            assert_eq!(threads.len(), 2);
            let name = |i| {
                threads
                    .handle(i)
                    .spawn(async { std::thread::current().name().map(str::to_owned) })
            };
            let (a, b) = (name(0).await.unwrap(), name(1).await.unwrap());
            assert_eq!(a.as_deref(), Some("txlab-bench-client-0"));
            assert_eq!(b.as_deref(), Some("txlab-bench-client-1"));
            // No timer on a shard (a park goes straight to epoll); the caller's runs its sleeps.
            let tokio_sleep = threads
                .handle(0)
                .spawn(async { tokio::time::sleep(std::time::Duration::from_millis(1)).await });
            assert!(tokio_sleep.await.unwrap_err().is_panic());
            let slept = threads.handle(1).spawn(async {
                let started = std::time::Instant::now();
                timer::sleep(std::time::Duration::from_millis(5)).await;
                started.elapsed()
            });
            assert!(slept.await.unwrap() >= std::time::Duration::from_millis(5));
        });
    }
}
