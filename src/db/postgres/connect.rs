//! Where the server is and how to open connections to it. A user either names a server
//! (`--database-url` / `DATABASE_URL`) or gets a throwaway local cluster; everything downstream
//! only sees a [`Server`], which hands out configured connections.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, Config};

use super::binaries::find_server_binaries;
use super::cluster::LocalCluster;
use super::tls::{PgTls, ServerTls};
use crate::db::redact::redact;
use crate::error::{Result, TxlabError};

/// A PostgreSQL server txlab may use, and what it is allowed to do there.
pub struct Server {
    config: Config,
    /// Shown to the user: the URL without its password, or "local cluster …".
    pub description: String,
    /// Kept alive for as long as the server is used; dropping it stops the cluster.
    cluster: Option<LocalCluster>,
    /// `sslmode`/`sslrootcert` and the connector built from them (issue 16).
    tls: ServerTls,
}

/// A `NOTIFY` delivered to a connection that listens on its channel.
#[derive(Debug, Clone)]
pub struct ServerNotification {
    pub at: std::time::Instant,
    pub channel: String,
    pub payload: String,
    /// The backend that sent it.
    pub sender_pid: i32,
}

/// A notice or warning the server sent on a connection, with the moment it arrived.
#[derive(Debug, Clone)]
pub struct ServerNotice {
    pub at: std::time::Instant,
    pub severity: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Server {
    /// Uses the given URL, or starts a local cluster when there is none.
    pub fn resolve(database_url: Option<&str>) -> Result<Server> {
        match database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => Server::from_url(url),
            None => Server::local(),
        }
    }

    /// A server the user runs.
    pub fn from_url(url: &str) -> Result<Server> {
        let (config, tls) = ServerTls::from_conninfo(url)?;
        Ok(Server {
            description: redact(url),
            config,
            cluster: None,
            tls,
        })
    }

    /// A throwaway cluster from the installed server binaries.
    pub fn local() -> Result<Server> {
        let binaries = find_server_binaries().ok_or(TxlabError::NoPostgres)?;
        let cluster = LocalCluster::start(binaries)?;
        let mut config = Config::new();
        config
            .host_path(cluster.socket_dir())
            .port(cluster.port())
            .user(cluster.superuser())
            .dbname("postgres");
        let description = format!(
            "throwaway local PostgreSQL {} cluster",
            cluster.binaries.version
        );
        Ok(Server {
            config,
            description,
            cluster: Some(cluster),
            tls: ServerTls::plain(),
        })
    }

    /// The local cluster, when txlab started one.
    pub fn local_cluster(&self) -> Option<&LocalCluster> {
        self.cluster.as_ref()
    }

    /// The connection settings, for callers that build their own pools.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The role txlab logs in as, when the settings name one (the scratch database is per role).
    pub fn user(&self) -> Option<&str> {
        self.config.get_user()
    }

    /// The TLS connector connections to this server (and their pools) must use.
    pub fn tls(&self) -> &PgTls {
        &self.tls.connector
    }

    /// The TLS settings with their connector, for connections txlab opens on its own socket
    /// (the bench's, [`super::wire`]).
    pub fn server_tls(&self) -> &ServerTls {
        &self.tls
    }

    /// A copy of the settings pointed at another database on the same server.
    pub fn config_for_database(&self, dbname: &str) -> Config {
        let mut config = self.config.clone();
        config.dbname(dbname);
        config
    }

    /// Opens one connection. `search_path` (when given) is set at connection start, so every
    /// statement of the session runs in txlab's private schema.
    pub async fn connect(&self, opts: &SessionOptions<'_>) -> Result<Connected> {
        let mut config = opts
            .database
            .map(|db| self.config_for_database(db))
            .unwrap_or_else(|| self.config.clone());
        config.application_name(opts.application_name);
        config.connect_timeout(Duration::from_secs(10));
        let mut options = String::new();
        if let Some(schema) = opts.search_path {
            options.push_str(&format!("-c search_path={schema} "));
        }
        for (name, value) in opts.settings {
            options.push_str(&format!("-c {name}={} ", value.replace(' ', "\\ ")));
        }
        if !options.is_empty() {
            config.options(options.trim_end());
        }
        let (client, mut connection) = config
            .connect(self.tls.connector.clone())
            .await
            .map_err(|e| self.connect_error(e))?;
        let (notice_tx, notices) = mpsc::unbounded_channel();
        let (notification_tx, notifications) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notice(n)) => {
                        let _ = notice_tx.send(ServerNotice {
                            at: std::time::Instant::now(),
                            severity: n.severity().to_string(),
                            message: n.message().to_string(),
                            detail: n.detail().map(str::to_string),
                            hint: n.hint().map(str::to_string),
                        });
                    }
                    Ok(AsyncMessage::Notification(n)) => {
                        let _ = notification_tx.send(ServerNotification {
                            at: std::time::Instant::now(),
                            channel: n.channel().to_string(),
                            payload: n.payload().to_string(),
                            sender_pid: n.process_id(),
                        });
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(|e| TxlabError::Database(e.to_string()))?
            .get::<_, i32>(0);
        Ok(Connected {
            client,
            pid,
            notices,
            notifications,
            driver,
            tls: self.tls.connector.clone(),
        })
    }

    fn connect_error(&self, e: tokio_postgres::Error) -> TxlabError {
        let target = self.description.clone();
        if let Some(tls_error) = self.tls.explain(&e, &target) {
            return tls_error;
        }
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            if code.starts_with("28") || code == "3D000" || code == "42501" {
                return TxlabError::LoginRefused {
                    target,
                    reason: db.message().to_string(),
                };
            }
        }
        let reason = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        if reason.contains("password") || reason.contains("authentication") {
            return TxlabError::LoginRefused { target, reason };
        }
        TxlabError::Unreachable { target, reason }
    }
}

/// What a connection is for: its application name (to find txlab's backends), the schema it
/// works in and any per-session settings.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions<'a> {
    pub application_name: &'a str,
    pub search_path: Option<&'a str>,
    pub database: Option<&'a str>,
    pub settings: &'a [(String, String)],
}

/// An open connection with its backend pid and the notices the server sends on it.
pub struct Connected {
    pub client: Client,
    pub pid: i32,
    pub notices: mpsc::UnboundedReceiver<ServerNotice>,
    pub notifications: mpsc::UnboundedReceiver<ServerNotification>,
    pub driver: tokio::task::JoinHandle<()>,
    /// The server's TLS connector, which cancel requests must use too.
    pub tls: PgTls,
}

impl Connected {
    /// Closes the connection and waits until the socket is gone, so the server ends the session.
    pub async fn close(self) {
        drop(self.client);
        let _ = self.driver.await;
    }
}
