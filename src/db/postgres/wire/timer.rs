//! Sleeps and timeouts for the bench's client threads, whose runtimes have no timer.
//!
//! Why: a runtime with a time driver checks its timer wheel and reads the clock every time it
//! parks, and a bench client parks once or twice per statement — about 1,000 instructions per
//! counter transaction under callgrind (docs/bench.md, "Is the client the bottleneck?
//! (issue 14)"). The client threads (`src/bench/threads.rs`) therefore build their runtimes with
//! I/O only, so a park goes straight to `epoll_wait`, and [`install`] a handle to the command's
//! own runtime, which has a timer. What needs a timer there — a retry's backoff, think time, the
//! connect timeout — is rare, so it pays a cross-thread wake-up instead: [`sleep`] spawns
//! `tokio::time::sleep` on that runtime and awaits a oneshot. On any other thread (the command's
//! runtime, `--threads 0`, tests) [`sleep`] and [`timeout`] are tokio's own.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

thread_local! {
    /// The runtime that runs this thread's timers, when this thread's own runtime has none.
    static REMOTE: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// From now on, [`sleep`] and [`timeout`] called on this thread use the timer of `timers`' runtime
/// (which must have time enabled). Called once by each client thread before it runs its tasks.
pub fn install(timers: Handle) {
    REMOTE.with(|r| *r.borrow_mut() = Some(timers));
}

/// Waits `duration`: tokio's sleep, on the installed runtime when there is one. Ends early (as
/// tokio's sleep does not) only if that runtime is shutting down, i.e. the run is over.
pub async fn sleep(duration: Duration) {
    let Some(timers) = REMOTE.with(|r| r.borrow().clone()) else {
        return tokio::time::sleep(duration).await;
    };
    if duration.is_zero() {
        return tokio::task::yield_now().await;
    }
    let (mut done, wait) = oneshot::channel::<()>();
    timers.spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(duration) => {
                let _ = done.send(());
            }
            // The sleeper went away (its task was cancelled): free the timer now.
            () = done.closed() => {}
        }
    });
    let _ = wait.await;
}

/// `future`'s output, or `None` if it did not finish within `limit`.
pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = future => Some(out),
        () = sleep(limit) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A runtime without a time driver, on a thread of its own, with the test's runtime as its
    /// timer: what a bench client thread is.
    fn on_timerless_thread<T: Send + 'static>(
        f: impl Future<Output = T> + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let timers = Handle::current();
        std::thread::spawn(move || {
            install(timers);
            tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .unwrap()
                .block_on(f)
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn sleeps_on_a_runtime_without_timers() {
        let slept = on_timerless_thread(async {
            let started = Instant::now();
            sleep(Duration::from_millis(20)).await;
            sleep(Duration::ZERO).await;
            started.elapsed()
        });
        let slept = tokio::task::spawn_blocking(move || slept.join().unwrap())
            .await
            .unwrap();
        assert!(slept >= Duration::from_millis(20), "{slept:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn times_out_on_a_runtime_without_timers() {
        let outcomes = on_timerless_thread(async {
            let late = timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
            let quick = timeout(Duration::from_secs(60), async { 7 }).await;
            (late, quick)
        });
        let outcomes = tokio::task::spawn_blocking(move || outcomes.join().unwrap())
            .await
            .unwrap();
        assert_eq!(outcomes, (None, Some(7)));
    }

    #[tokio::test]
    async fn elsewhere_it_is_tokios_own() {
        let started = Instant::now();
        sleep(Duration::from_millis(5)).await;
        assert!(started.elapsed() >= Duration::from_millis(5));
        assert_eq!(timeout(Duration::from_secs(1), async { 1 }).await, Some(1));
        let late = timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
        assert_eq!(late, None);
    }
}
