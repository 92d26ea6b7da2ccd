//! The seam's types with one variant per engine: [`Server`], [`Sandbox`], [`Connected`] and
//! [`Link`]. Each method is one `match`; the engine, the lab and the renderers call these and never
//! learn which driver answers. PostgreSQL-only tools (isolationtester specs, `bench`) take the
//! PostgreSQL types from [`postgres`] through [`Server::postgres`] / [`Sandbox::postgres`].

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::mariadb::connect::{MariadbSession, MariadbTarget};
use super::mariadb::resolve::MariadbServer;
use super::mariadb::sandbox::MariadbSandbox;
use super::mariadb::seam::{self as my, MariadbCancel, MariadbLockProbe};
use super::postgres::{self, ServerNotice, ServerNotification};
use super::seam::{CancelStatement, LockProbe};
use crate::db::cluster::StartTimings;
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, Engine, LockWait, StepAnswer};

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

enum Inner {
    Postgres(postgres::Connected),
    Mariadb {
        session: tokio::sync::Mutex<MariadbSession>,
        target: MariadbTarget,
    },
}

/// An open connection with its backend id and the notices the server sends on it (MariaDB sends
/// none: its warnings are not delivered as they happen).
pub struct Connected {
    pub pid: BackendId,
    pub notices: mpsc::UnboundedReceiver<ServerNotice>,
    pub notifications: mpsc::UnboundedReceiver<ServerNotification>,
    inner: Inner,
}

fn closed_channel<T>() -> mpsc::UnboundedReceiver<T> {
    mpsc::unbounded_channel().1
}

impl Connected {
    /// Wraps a PostgreSQL connection.
    pub fn from_postgres(mut c: postgres::Connected) -> Connected {
        Connected {
            pid: c.pid,
            notices: std::mem::replace(&mut c.notices, closed_channel()),
            notifications: std::mem::replace(&mut c.notifications, closed_channel()),
            inner: Inner::Postgres(c),
        }
    }

    fn from_mariadb(session: MariadbSession, target: MariadbTarget) -> Connected {
        Connected {
            pid: my::backend_id(session.id()),
            notices: closed_channel(),
            notifications: closed_channel(),
            inner: Inner::Mariadb {
                session: tokio::sync::Mutex::new(session),
                target,
            },
        }
    }

    /// The PostgreSQL connection, for PostgreSQL-only tools.
    pub fn postgres(&self) -> Option<&postgres::Connected> {
        match &self.inner {
            Inner::Postgres(c) => Some(c),
            Inner::Mariadb { .. } => None,
        }
    }

    /// Whether the server side is known to be gone (PostgreSQL's driver notices a closed socket;
    /// on MariaDB a lost connection shows as the failing statement's own error instead).
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Inner::Postgres(c) => c.client.is_closed(),
            Inner::Mariadb { .. } => false,
        }
    }

    /// Whether the server still lists backend `pid` (a pool lesson waits, observed, for the
    /// server to end a session). PostgreSQL only.
    pub async fn backend_alive(&self, pid: BackendId) -> Result<bool> {
        match &self.inner {
            Inner::Postgres(c) => c.backend_alive(pid).await,
            Inner::Mariadb { .. } => Err(TxlabError::PostgresOnly(
                "waiting for a session to end".into(),
            )),
        }
    }

    /// Ends backend `pid` (`pg_terminate_backend`; a plain role may end its own role's
    /// backends), as the stale-connection lesson's failover. PostgreSQL only.
    pub async fn terminate_backend(&self, pid: BackendId) -> Result<bool> {
        match &self.inner {
            Inner::Postgres(c) => c.terminate_backend(pid).await,
            Inner::Mariadb { .. } => Err(TxlabError::PostgresOnly("terminating a session".into())),
        }
    }

    /// Which engine this connection talks to.
    pub fn engine(&self) -> Engine {
        match &self.inner {
            Inner::Postgres(_) => Engine::Postgres,
            Inner::Mariadb { .. } => Engine::Mariadb,
        }
    }

    /// Runs SQL and reports the answer, errors included (setup, checks, teardown).
    pub async fn run(&self, sql: &str) -> StepAnswer {
        match &self.inner {
            Inner::Postgres(c) => c.run(sql).await,
            Inner::Mariadb { session, .. } => my::run(&mut *session.lock().await, sql).await,
        }
    }

    /// Runs SQL whose results do not matter; an error becomes [`TxlabError::Database`].
    pub async fn execute(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Postgres(c) => c.execute(sql).await,
            Inner::Mariadb { session, .. } => session.lock().await.simple(sql).await,
        }
    }

    /// Makes `schema` (a MariaDB database) the place unqualified names resolve in.
    pub async fn use_schema(&self, schema: &str) -> Result<()> {
        match &self.inner {
            Inner::Postgres(c) => c.execute(&format!("SET search_path = {schema}")).await,
            Inner::Mariadb { session, .. } => {
                session
                    .lock()
                    .await
                    .simple(&format!("USE `{schema}`"))
                    .await
            }
        }
    }

    /// The blocked probe for the run's sessions.
    pub async fn probe(&self, pids: Vec<BackendId>) -> Result<Box<dyn LockProbe + '_>> {
        match &self.inner {
            Inner::Postgres(c) => Ok(Box::new(c.probe(pids).await?)),
            Inner::Mariadb { target, .. } => {
                Ok(Box::new(MariadbLockProbe::open(target, &pids).await?))
            }
        }
    }

    /// Whether the server can answer the probe's questions at all.
    pub async fn check_support(&self) -> Result<()> {
        match &self.inner {
            Inner::Postgres(c) => c.check_support().await,
            Inner::Mariadb { .. } => Ok(()),
        }
    }

    /// The server's version as it reports it (e.g. `15.8`, `10.11.19`).
    pub async fn server_version(&self) -> Option<String> {
        match &self.inner {
            Inner::Postgres(c) => c
                .run("SHOW server_version")
                .await
                .results
                .into_iter()
                .find_map(|r| match r {
                    crate::model::StatementResult::Rows { rows, .. } => {
                        rows.into_iter().next()?.into_iter().next()?
                    }
                    _ => None,
                }),
            Inner::Mariadb { session, .. } => Some(session.lock().await.version.clone()),
        }
    }

    /// The lesson's tables, for `--versions` (PostgreSQL only; empty on MariaDB).
    pub async fn table_names(&self, schema: &str) -> Result<Vec<String>> {
        match &self.inner {
            Inner::Postgres(c) => c.table_names(schema).await,
            Inner::Mariadb { .. } => Ok(Vec::new()),
        }
    }

    /// The snapshot query of `--versions` (PostgreSQL only).
    pub async fn snapshot_query(&self) -> Result<&'static str> {
        match &self.inner {
            Inner::Postgres(c) => c.snapshot_query().await,
            Inner::Mariadb { .. } => Err(TxlabError::Database(
                "--versions shows PostgreSQL's row versions; MariaDB keeps older versions in its undo log, which SQL cannot read".into(),
            )),
        }
    }

    /// Every lock wait among `pids` (`--locks`): `pg_locks` on PostgreSQL, the InnoDB monitor and
    /// metadata-lock table on MariaDB.
    pub async fn lock_waits(&self, pids: &[BackendId]) -> Option<Vec<LockWait>> {
        match &self.inner {
            Inner::Postgres(c) => c.lock_waits(pids).await,
            Inner::Mariadb { session, .. } => {
                let ids: Vec<u32> = pids.iter().map(|&p| my::thread_id(p)).collect();
                super::mariadb::lock_report::lock_waits(&mut *session.lock().await, &ids).await
            }
        }
    }

    /// What the server says about each session (PostgreSQL's `pg_stat_activity`; empty on
    /// MariaDB).
    pub async fn activity(&self, pids: &[BackendId]) -> Vec<postgres::inspect::Activity> {
        match &self.inner {
            Inner::Postgres(c) => c.activity(pids).await,
            Inner::Mariadb { .. } => Vec::new(),
        }
    }

    /// Closes the connection and waits until the server ends the session.
    pub async fn close(self) {
        match self.inner {
            Inner::Postgres(c) => c.close().await,
            Inner::Mariadb { session, .. } => session.into_inner().close().await,
        }
    }

    /// Splits the connection into the part a session task owns and the channels the scheduler
    /// reads.
    pub fn into_parts(
        self,
    ) -> (
        Link,
        BackendId,
        mpsc::UnboundedReceiver<ServerNotice>,
        mpsc::UnboundedReceiver<ServerNotification>,
    ) {
        let link = match self.inner {
            Inner::Postgres(c) => Link::Postgres(c.into_parts().0),
            Inner::Mariadb { session, target } => Link::Mariadb {
                session: session.into_inner(),
                target,
            },
        };
        (link, self.pid, self.notices, self.notifications)
    }

    /// Puts a connection split by [`Connected::into_parts`] back together.
    pub fn from_parts(
        link: Link,
        pid: BackendId,
        notices: mpsc::UnboundedReceiver<ServerNotice>,
        notifications: mpsc::UnboundedReceiver<ServerNotification>,
    ) -> Connected {
        let inner = match link {
            Link::Postgres(l) => Inner::Postgres(postgres::Connected::from_parts(
                l,
                pid,
                closed_channel(),
                closed_channel(),
            )),
            Link::Mariadb { session, target } => Inner::Mariadb {
                session: tokio::sync::Mutex::new(session),
                target,
            },
        };
        Connected {
            pid,
            notices,
            notifications,
            inner,
        }
    }
}

/// A connection's working half, owned by a session task while it runs the session's statements.
pub enum Link {
    Postgres(postgres::Link),
    Mariadb {
        session: MariadbSession,
        target: MariadbTarget,
    },
}

impl Link {
    /// Runs SQL and reports the answer.
    pub async fn run(&mut self, sql: &str) -> StepAnswer {
        match self {
            Link::Postgres(l) => l.run(sql).await,
            Link::Mariadb { session, .. } => my::run(session, sql).await,
        }
    }

    /// A handle that cancels this connection's running statement from outside it.
    pub fn canceller(&self) -> Box<dyn CancelStatement> {
        match self {
            Link::Postgres(l) => l.canceller(),
            Link::Mariadb { session, target } => Box::new(MariadbCancel {
                target: target.clone(),
                thread_id: session.id(),
            }),
        }
    }
}

/// Whether a connection was checked already (for callers that hold the flag).
pub fn mark_checked(flag: &AtomicBool) {
    flag.store(true, Ordering::Relaxed);
}
