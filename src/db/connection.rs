//! An open connection behind the seam, whichever engine it reaches: [`Connected`] (with its
//! backend id and the notices the server sends) and its working half [`Link`], owned by a session
//! task. Each method is one `match` over the engines, like [`super::engines`]'s.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::mariadb::connect::{MariadbSession, MariadbTarget};
use super::mariadb::seam::{self as my, MariadbCancel, MariadbLockProbe};
use super::postgres::{self, ServerNotice, ServerNotification};
use super::seam::{CancelStatement, LockProbe};
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, Engine, LockWait, StepAnswer};

pub(super) enum Inner {
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
    pub(super) inner: Inner,
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

    pub(super) fn from_mariadb(session: MariadbSession, target: MariadbTarget) -> Connected {
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
