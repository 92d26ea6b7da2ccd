//! The one place txlab listens for signals: Ctrl-C (SIGINT) and SIGTERM. [`install`] runs first
//! thing, before a server is resolved or a throwaway cluster started, so from then on a signal never
//! kills the process by the default handler: it is recorded, and whoever is working races
//! [`received`] (the lab, start-up) or a [`Listener`] (bench, which tells a first Ctrl-C from a
//! second) and unwinds, cleaning up as after any error. The exit code says which signal it was.

use std::sync::OnceLock;

use tokio::sync::watch;

use crate::error::TxlabError;

/// A signal that asks txlab to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C at the terminal.
    Interrupt,
    /// SIGTERM: a service manager or `kill` asking politely.
    Terminate,
}

impl Signal {
    /// The error a run stopped by this signal unwinds with (the edge maps it to 130 or 143).
    pub fn error(self) -> TxlabError {
        match self {
            Signal::Interrupt => TxlabError::Interrupted,
            Signal::Terminate => TxlabError::Terminated,
        }
    }
}

/// Every signal received so far, in order; published by the listening task.
static HEARD: OnceLock<watch::Receiver<Vec<Signal>>> = OnceLock::new();

/// Starts listening for SIGINT and SIGTERM (idempotent). Call it inside the runtime before
/// anything that needs cleaning up is created.
pub fn install() -> std::io::Result<()> {
    if HEARD.get().is_some() {
        return Ok(());
    }
    let (tx, rx) = watch::channel(Vec::new());
    listen(tx)?;
    let _ = HEARD.set(rx);
    Ok(())
}

#[cfg(unix)]
fn listen(tx: watch::Sender<Vec<Signal>>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let heard = tokio::select! {
                Some(()) = interrupt.recv() => Signal::Interrupt,
                Some(()) = terminate.recv() => Signal::Terminate,
                else => return,
            };
            tx.send_modify(|all| all.push(heard));
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn listen(tx: watch::Sender<Vec<Signal>>) -> std::io::Result<()> {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            tx.send_modify(|all| all.push(Signal::Interrupt));
        }
    });
    Ok(())
}

/// Resolves with the first signal received since [`install`], at once if one already arrived.
/// Never resolves when nothing was installed (library callers and tests keep the default
/// handlers).
pub async fn received() -> Signal {
    Listener::default().next().await
}

/// Signals one at a time, for a caller that treats the second differently from the first.
#[derive(Debug, Default)]
pub struct Listener {
    seen: usize,
}

impl Listener {
    /// The next signal this listener has not returned yet; counting starts at [`install`], so a
    /// signal that arrived before the listener was made is its first.
    pub async fn next(&mut self) -> Signal {
        let Some(heard) = HEARD.get() else {
            return std::future::pending().await;
        };
        let mut heard = heard.clone();
        let seen = self.seen;
        match heard.wait_for(|all| all.len() > seen).await {
            Ok(all) => {
                self.seen += 1;
                all[seen]
            }
            // The listening task is gone (its runtime ended): nothing more will arrive.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_unwinds_with_its_own_error() {
        assert!(matches!(Signal::Interrupt.error(), TxlabError::Interrupted));
        assert!(matches!(Signal::Terminate.error(), TxlabError::Terminated));
    }

    #[tokio::test]
    async fn a_listener_sees_signals_in_order_and_received_sees_the_first() {
        install().unwrap();
        // SAFETY: raise(3) on this process; the handler installed above catches it.
        unsafe { libc::raise(libc::SIGTERM) };
        let mut listener = Listener::default();
        assert_eq!(listener.next().await, Signal::Terminate);
        unsafe { libc::raise(libc::SIGINT) };
        assert_eq!(listener.next().await, Signal::Interrupt);
        assert_eq!(received().await, Signal::Terminate);
    }
}
