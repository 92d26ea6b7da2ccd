//! The seam's types with one variant per engine: [`Server`], [`Sandbox`], and (in
//! [`super::connection`]) [`Connected`] and [`Link`]. Each method is one `match`; the engine, the
//! lab and the renderers call these and never learn which driver answers. PostgreSQL-only tools (isolationtester specs, `bench`) take the
//! PostgreSQL types from [`postgres`] through [`Server::postgres`] / [`Sandbox::postgres`].

use std::sync::atomic::AtomicBool;

use super::connection::Inner;
pub use super::connection::{Connected, Link};
use super::mariadb::resolve::MariadbServer;
use super::mariadb::sandbox::MariadbSandbox;
use super::postgres;
use crate::db::cluster::StartTimings;
use crate::error::{Result, TxlabError};
use crate::model::Engine;

/// A server txlab uses for one process; dropping it stops a throwaway server. One exists per
/// engine per process, so the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Server {
    Postgres(postgres::Server),
    Mariadb(MariadbServer),
}

impl Server {
    /// The server a URL names, or a throwaway one of `engine`. A `mysql://` / `mariadb://` URL
    /// selects MariaDB whatever `engine` says.
    pub fn resolve(url: Option<&str>, engine: Engine) -> Result<Server> {
        let url = url.filter(|u| !u.trim().is_empty());
        match (url, engine) {
            (Some(u), _) if super::mariadb::connect::is_mariadb_url(u) => {
                Ok(Server::Mariadb(MariadbServer::resolve(Some(u))?))
            }
            (_, Engine::Postgres) => Ok(Server::Postgres(postgres::Server::resolve(url)?)),
            (Some(u), Engine::Mariadb) => Err(TxlabError::BadUrl(format!(
                "--engine mariadb needs a mysql:// or mariadb:// URL, not {}",
                u.split("://").next().unwrap_or(u)
            ))),
            (None, Engine::Mariadb) => Ok(Server::Mariadb(MariadbServer::resolve(None)?)),
        }
    }

    /// Which engine this server runs.
    pub fn engine(&self) -> Engine {
        match self {
            Server::Postgres(_) => Engine::Postgres,
            Server::Mariadb(_) => Engine::Mariadb,
        }
    }

    /// What to call the server in messages (no password).
    pub fn description(&self) -> &str {
        match self {
            Server::Postgres(s) => &s.description,
            Server::Mariadb(s) => s.description(),
        }
    }

    /// The PostgreSQL server, for PostgreSQL-only tools.
    pub fn postgres(&self) -> Option<&postgres::Server> {
        match self {
            Server::Postgres(s) => Some(s),
            Server::Mariadb(_) => None,
        }
    }

    /// A throwaway PostgreSQL cluster's start-up timings (JSON output).
    pub fn local_timings(&self) -> Option<StartTimings> {
        self.postgres()?.local_cluster().map(|c| c.timings)
    }
}

/// The places txlab creates on a server (a schema per run on PostgreSQL, a database per run on
/// MariaDB) and the connections it keeps.
pub enum Sandbox {
    Postgres(postgres::Sandbox),
    Mariadb(MariadbSandbox, AtomicBool),
}

impl Sandbox {
    /// A sandbox for `server`'s engine.
    pub fn for_server(server: &Server) -> Sandbox {
        match server {
            Server::Postgres(_) => Sandbox::Postgres(postgres::Sandbox::new()),
            Server::Mariadb(_) => Sandbox::Mariadb(MariadbSandbox::new(), AtomicBool::new(false)),
        }
    }

    /// The PostgreSQL sandbox, for PostgreSQL-only tools.
    pub fn postgres(&self) -> Option<&postgres::Sandbox> {
        match self {
            Sandbox::Postgres(s) => Some(s),
            Sandbox::Mariadb(..) => None,
        }
    }

    /// Whether the server was already checked for what txlab needs.
    pub fn checked(&self) -> &AtomicBool {
        match self {
            Sandbox::Postgres(s) => &s.checked,
            Sandbox::Mariadb(_, checked) => checked,
        }
    }

    /// A connection working in `schema` (the server's default place with `None`).
    pub async fn checkout(&self, server: &Server, schema: Option<&str>) -> Result<Connected> {
        match (self, server) {
            (Sandbox::Postgres(s), Server::Postgres(server)) => {
                Ok(Connected::from_postgres(s.checkout(server, schema).await?))
            }
            (Sandbox::Mariadb(s, _), Server::Mariadb(server)) => {
                let mut session = s.connect(&server.target, schema).await?;
                // `||` concatenates, as in the SQL standard and PostgreSQL, so a lesson's checks
                // read the same on both engines.
                session
                    .simple("SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')")
                    .await?;
                Ok(Connected::from_mariadb(session, server.target.clone()))
            }
            _ => Err(mismatch()),
        }
    }

    /// Takes a connection back after a run (PostgreSQL keeps it for reuse; MariaDB closes it).
    pub async fn give_back(&self, conn: Connected) {
        match (self, conn.inner) {
            (Sandbox::Postgres(s), Inner::Postgres(mut c)) => {
                c.notices = conn.notices;
                c.notifications = conn.notifications;
                s.give_back(c).await
            }
            (Sandbox::Mariadb(s, _), Inner::Mariadb { session, .. }) => {
                let session = session.into_inner();
                s.forget(session.id());
                session.close().await;
            }
            (_, Inner::Postgres(c)) => c.close().await,
            (_, Inner::Mariadb { session, .. }) => session.into_inner().close().await,
        }
    }

    /// Closes idle connections (before the server goes away).
    pub async fn close_idle(&self) {
        if let Sandbox::Postgres(s) = self {
            s.close_idle().await
        }
    }

    /// Creates a fresh, uniquely named place for one run (a schema, or a MariaDB database).
    pub async fn create_schema(&self, control: &Connected) -> Result<String> {
        match (self, &control.inner) {
            (Sandbox::Postgres(s), Inner::Postgres(c)) => s.create_schema(c).await,
            (Sandbox::Mariadb(s, _), Inner::Mariadb { session, .. }) => {
                s.create_database(&mut *session.lock().await).await
            }
            _ => Err(mismatch()),
        }
    }

    /// Drops a place this sandbox created, with everything in it.
    pub async fn drop_schema(&self, control: &Connected, name: &str) -> Result<()> {
        match (self, &control.inner) {
            (Sandbox::Postgres(s), Inner::Postgres(c)) => s.drop_schema(c, name).await,
            (Sandbox::Mariadb(s, _), Inner::Mariadb { session, .. }) => {
                s.drop_database(&mut *session.lock().await, name).await
            }
            _ => Err(mismatch()),
        }
    }

    /// After an interruption or error: ends txlab's other sessions and drops every place still
    /// alive. Best effort; never fails: returns why the server could not be reached, if so.
    pub async fn cleanup(&self, server: &Server) -> Option<String> {
        match (self, server) {
            (Sandbox::Postgres(s), Server::Postgres(server)) => s.cleanup(server).await,
            (Sandbox::Mariadb(s, _), Server::Mariadb(server)) => s.cleanup(&server.target).await,
            _ => Some("a sandbox was used with another engine's server".into()),
        }
    }

    /// The places (schemas, databases) still alive: created and not confirmed dropped.
    pub fn live(&self) -> Vec<String> {
        match self {
            Sandbox::Postgres(s) => s.live(),
            Sandbox::Mariadb(s, _) => s.live(),
        }
    }
}

fn mismatch() -> TxlabError {
    TxlabError::Database("a sandbox was used with another engine's server".into())
}
