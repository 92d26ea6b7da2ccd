//! The lab a command works in: the server (given or started), the sandbox, and the guarantee that
//! whatever happens — success, error, Ctrl-C, SIGTERM — the schemas are dropped, txlab's
//! connections are ended and a throwaway cluster is stopped and removed.

use std::future::Future;

use crate::db::privileges::Privileges;
use crate::db::{Sandbox, Server, postgres};
use crate::error::{Result, TxlabError};
use crate::model::Engine;
use crate::signal;

/// How long a cleanup may wait for the server: an interrupted run must end even when the server
/// hangs, and then says it could not confirm the removal.
pub const CLEANUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A server and the sandbox txlab keeps on it.
pub struct Lab {
    pub server: Server,
    pub sandbox: Sandbox,
    /// On a PostgreSQL server named by `--database-url`: the grants txlab had (asked of the
    /// server once, when the lab opens). `None` on txlab's own throwaway cluster.
    pub privileges: Option<Privileges>,
}

impl Lab {
    /// Resolves the server. Starting a local cluster runs on a blocking thread, raced against the
    /// signals: a signal during start-up lets the start-up finish and then drops the server it
    /// produced (which stops and removes the cluster) before returning the signal's error.
    pub async fn open(database_url: Option<&str>) -> Result<Lab> {
        Lab::open_engine(database_url, Engine::Postgres).await
    }

    /// [`Lab::open`] for a given engine (a `mysql://` URL selects MariaDB whatever it says).
    pub async fn open_engine(database_url: Option<&str>, engine: Engine) -> Result<Lab> {
        let url = database_url.map(str::to_string);
        let mut startup =
            tokio::task::spawn_blocking(move || Server::resolve(url.as_deref(), engine));
        let server = tokio::select! {
            started = &mut startup => started.map_err(|e| TxlabError::LocalCluster(e.to_string()))??,
            heard = signal::received() => {
                // A blocking start-up cannot be cut short; what it started is dropped here.
                drop(startup.await);
                return Err(heard.error());
            }
        };
        crate::leftovers::opened();
        let sandbox = Sandbox::for_server(&server);
        let given = server
            .postgres()
            .is_some_and(|s| s.local_cluster().is_none());
        let mut lab = Lab {
            server,
            sandbox,
            privileges: None,
        };
        if given {
            lab.privileges = lab.run(lab.ask_privileges()).await?;
        }
        Ok(lab)
    }

    /// Which grants txlab has on the server (a connection that fails is the run's error).
    async fn ask_privileges(&self) -> Result<Option<Privileges>> {
        let conn = self.sandbox.checkout(&self.server, None).await?;
        let privileges = Privileges::ask(&conn).await;
        self.sandbox.give_back(conn).await;
        Ok(privileges)
    }

    /// Ends txlab's sessions and drops the places still alive (after an error or a signal), and
    /// records what it could confirm for the message a signal prints.
    /// A server that does not answer (stopped, or a network gone) is given [`CLEANUP_LIMIT`].
    pub async fn cleanup(&self) {
        let unreachable =
            match tokio::time::timeout(CLEANUP_LIMIT, self.sandbox.cleanup(&self.server)).await {
                Ok(unreachable) => unreachable,
                Err(_) => Some(format!(
                    "the server did not answer within {} s",
                    CLEANUP_LIMIT.as_secs()
                )),
            };
        crate::leftovers::cleaned_up(self.sandbox.live(), unreachable);
    }

    /// Prints the privileges line on stderr, once per run on a given server; not when `quiet`
    /// (JSON, whose document carries them as `privileges`; isolationtester's format, whose
    /// stderr is part of the output compared).
    pub fn announce_privileges(&self, quiet: bool) {
        if let (Some(p), false) = (&self.privileges, quiet) {
            eprintln!("{}", p.line());
        }
    }

    /// The PostgreSQL server and sandbox, for PostgreSQL-only tools (`what` names the tool).
    pub fn postgres(&self, what: &str) -> Result<(&postgres::Server, &postgres::Sandbox)> {
        match (self.server.postgres(), self.sandbox.postgres()) {
            (Some(server), Some(sandbox)) => Ok((server, sandbox)),
            _ => Err(TxlabError::PostgresOnly(what.to_string())),
        }
    }

    /// Runs `work`, racing it against the signals. On a signal or an error the in-flight work is
    /// dropped and the sandbox cleaned up before returning.
    pub async fn run<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = tokio::select! {
            r = work => r,
            heard = signal::received() => Err(heard.error()),
        };
        if result.is_err() {
            self.cleanup().await;
        }
        self.sandbox.close_idle().await;
        result
    }
}
