//! A real connection pool (deadpool-postgres) for the pool lessons (issue 15), behind a small
//! engine-neutral interface: the engine asks for a connection, runs SQL on it, gives it back,
//! and reads the pool's status to *see* a task waiting for a connection. Nothing above `db/`
//! names deadpool or tokio_postgres. A pool may run through a [`Relay`] (the stale-connection
//! lesson), so that a connection resting in it does not learn that its session ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, ObjectId, Pool, RecyclingMethod, Runtime, Timeouts,
};
use tokio_postgres::config::Host;

use super::answer::run_sql;
use super::connect::Server;
use super::relay::{Relay, Target};
use crate::db::seam::{PoolSettings, PoolStatus, Recycling};
use crate::error::{Result, TxlabError};
use crate::model::{BackendId, ErrorInfo, StepAnswer};

/// The SQLSTATE-like code a checkout that timed out reports: a client-side failure, so no server
/// code exists for it.
pub const POOL_TIMEOUT: &str = "pool-timeout";

/// A pool of connections that work in one run's schema.
#[derive(Clone)]
pub struct ConnectionPool {
    pool: Pool,
    settings: PoolSettings,
    /// Each connection's backend, asked once when it was opened: a checkout of a connection the
    /// pool already had asks the server nothing more than the recycling method does.
    pids: Arc<Mutex<HashMap<ObjectId, BackendId>>>,
    relay: Option<Arc<Relay>>,
}

/// A connection checked out of a [`ConnectionPool`]; dropping it gives it back.
pub struct PooledConnection {
    object: Object,
    pid: BackendId,
}

impl ConnectionPool {
    /// A pool of `settings.size` connections to `server`, each with `search_path` = `schema` and
    /// `application_name` (so cleanup finds them). Connections are opened on first use. With
    /// `relayed` they go through a local [`Relay`] (must be called inside the tokio runtime).
    pub fn new(
        server: &Server,
        application_name: &str,
        schema: &str,
        settings: PoolSettings,
        relayed: bool,
    ) -> Result<ConnectionPool> {
        let (mut config, relay) = match relayed {
            false => (server.config().clone(), None),
            true => {
                let (config, relay) = through_relay(server.config())?;
                (config, Some(Arc::new(relay)))
            }
        };
        config.application_name(application_name);
        config.connect_timeout(std::time::Duration::from_secs(10));
        config.options(format!("-c search_path={schema}"));
        let recycling_method = match settings.recycling {
            Recycling::Fast => RecyclingMethod::Fast,
            Recycling::Verified => RecyclingMethod::Verified,
        };
        let manager = Manager::from_config(
            config,
            server.tls().clone(),
            ManagerConfig { recycling_method },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.wait_timeout))
            .build()
            .map_err(|e| TxlabError::Database(format!("could not build the pool: {e}")))?;
        Ok(ConnectionPool {
            pool,
            settings,
            pids: Arc::default(),
            relay,
        })
    }

    /// From now on the connections resting in the pool are not told what the server sends them
    /// until they are next used (see [`Relay`]); nothing happens for a pool without a relay.
    pub fn quiet_links(&self) {
        if let Some(relay) = &self.relay {
            relay.quiet();
        }
    }

    /// Checks a connection out, waiting at most `wait` (the pool's own timeout when `None`).
    /// A timeout or a failed connection is an answer, not a run error: the lesson shows it.
    pub async fn get(
        &self,
        wait: Option<std::time::Duration>,
    ) -> std::result::Result<PooledConnection, ErrorInfo> {
        let timeouts = Timeouts {
            wait: Some(wait.unwrap_or(self.settings.wait_timeout)),
            ..Timeouts::default()
        };
        match self.pool.timeout_get(&timeouts).await {
            Ok(object) => {
                let id = Object::id(&object);
                let known = self.pids.lock().ok().and_then(|p| p.get(&id).copied());
                if let Some(pid) = known {
                    return Ok(PooledConnection { object, pid });
                }
                match object.query_one("SELECT pg_backend_pid()", &[]).await {
                    Ok(row) => {
                        let pid: BackendId = row.get(0);
                        if let Ok(mut pids) = self.pids.lock() {
                            pids.insert(id, pid);
                        }
                        Ok(PooledConnection { pid, object })
                    }
                    Err(e) => Err(super::answer::error_info(&e)),
                }
            }
            Err(deadpool_postgres::PoolError::Timeout(_)) => Err(ErrorInfo {
                sqlstate: POOL_TIMEOUT.into(),
                severity: "ERROR".into(),
                message: format!(
                    "timed out after {} ms waiting for a connection from the pool",
                    wait.unwrap_or(self.settings.wait_timeout).as_millis()
                ),
                detail: None,
            }),
            Err(deadpool_postgres::PoolError::Backend(e)) => Err(super::answer::error_info(&e)),
            Err(e) => Err(ErrorInfo {
                sqlstate: "08006".into(),
                severity: "ERROR".into(),
                message: format!("the pool could not hand out a connection: {e}"),
                detail: None,
            }),
        }
    }

    /// The pool's state right now; never waits.
    pub fn status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            size: self.settings.size,
            in_use: s.size.saturating_sub(s.available),
            // While the pool is still opening connections a new user counts as waiting for the
            // one being opened; only a full pool makes a checkout wait for someone else.
            waiting: if s.size >= s.max_size { s.waiting } else { 0 },
        }
    }

    /// Closes every connection the pool holds (in use ones close when given back).
    pub fn close(&self) {
        self.pool.close();
    }
}

impl PooledConnection {
    /// The server's id for this connection.
    pub fn pid(&self) -> BackendId {
        self.pid
    }

    /// Runs SQL and reports the answer (see [`run_sql`]).
    pub async fn run(&self, sql: &str) -> StepAnswer {
        run_sql(&self.object, sql).await
    }

    /// Whether the driver knows the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.object.is_closed()
    }
}

/// A copy of `config` pointed at a new relay to the server it names (its first host).
fn through_relay(config: &tokio_postgres::Config) -> Result<(tokio_postgres::Config, Relay)> {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let target = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => Target::Tcp {
            host: host.clone(),
            port,
        },
        Some(Host::Unix(dir)) => Target::Unix(dir.join(format!(".s.PGSQL.{port}"))),
        None => Target::Tcp {
            host: "localhost".into(),
            port,
        },
    };
    let relay = Relay::start(target)?;
    let mut relayed = tokio_postgres::Config::new();
    relayed.host("127.0.0.1").port(relay.port());
    if let Some(user) = config.get_user() {
        relayed.user(user);
    }
    if let Some(password) = config.get_password() {
        relayed.password(password);
    }
    if let Some(dbname) = config.get_dbname() {
        relayed.dbname(dbname);
    }
    relayed.ssl_mode(config.get_ssl_mode());
    Ok((relayed, relay))
}

impl super::connect::Connected {
    /// Ends backend `pid` (`pg_terminate_backend`, which a plain role may do to its own role's
    /// backends): how the stale-connection lesson plays a failover. True when the server agreed.
    pub async fn terminate_backend(&self, pid: BackendId) -> Result<bool> {
        let row = self
            .client
            .query_one("SELECT pg_catalog.pg_terminate_backend($1)", &[&pid])
            .await
            .map_err(|e| TxlabError::Database(format!("pg_terminate_backend: {e}")))?;
        Ok(row.get(0))
    }

    /// Whether the server still lists backend `pid` (pg_stat_activity): how a lesson observes
    /// that the server ended a session (idle_in_transaction_session_timeout), never by a timer.
    pub async fn backend_alive(&self, pid: BackendId) -> Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) > 0 FROM pg_catalog.pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .map_err(|e| TxlabError::Database(format!("pg_stat_activity: {e}")))?;
        Ok(row.get(0))
    }
}
