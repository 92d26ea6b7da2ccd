//! The lab a command works in: the server (given or started), the sandbox, and the guarantee that
//! whatever happens — success, error, Ctrl-C — the schemas are dropped, txlab's connections are
//! ended and a throwaway cluster is stopped and removed.

use std::future::Future;

use crate::db::{Sandbox, Server};
use crate::error::{Result, TxlabError};

/// A server and the sandbox txlab keeps on it.
pub struct Lab {
    pub server: Server,
    pub sandbox: Sandbox,
}

impl Lab {
    /// Resolves the server (may start a local cluster; that work runs on a blocking thread so a
    /// Ctrl-C during startup is still noticed).
    pub async fn open(database_url: Option<&str>) -> Result<Lab> {
        let url = database_url.map(str::to_string);
        let server = tokio::task::spawn_blocking(move || Server::resolve(url.as_deref()))
            .await
            .map_err(|e| TxlabError::LocalCluster(e.to_string()))??;
        Ok(Lab {
            server,
            sandbox: Sandbox::new(),
        })
    }

    /// Runs `work`, racing it against Ctrl-C and SIGTERM. On interruption or error the in-flight
    /// work is dropped and the sandbox cleaned up before returning.
    pub async fn run<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = tokio::select! {
            r = work => r,
            _ = interrupted() => Err(TxlabError::Interrupted),
        };
        if result.is_err() {
            self.sandbox.cleanup(&self.server).await;
        }
        self.sandbox.close_idle().await;
        result
    }
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
