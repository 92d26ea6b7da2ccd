//! txlab never touches a user's own objects: every run works in a schema of its own, created here
//! and dropped at the end. The registry remembers which schemas are still alive so that an
//! interrupted run (Ctrl-C, an error half-way) can still drop them and end its connections.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU32, Ordering};

use super::connect::{Connected, Server, SessionOptions};
use crate::error::{Result, TxlabError};

/// Numbers schemas for the whole process, not per sandbox: two sandboxes in one process (tests run
/// side by side) must never pick the same schema name.
static SCHEMA_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The schemas and connections this process has created on one server.
pub struct Sandbox {
    application_name: String,
    /// Idle connections of earlier runs, reset and ready: opening a backend costs milliseconds,
    /// and a matrix of 44 runs would open 150 of them.
    /// Each is tagged with the thread whose runtime drives it: a connection's driver task lives on
    /// that runtime, so it is only handed out there (tests run one runtime per thread).
    idle: tokio::sync::Mutex<Vec<(std::thread::ThreadId, Connected)>>,
    /// The server was checked for what txlab needs.
    pub checked: AtomicBool,
    live: Mutex<Vec<String>>,
    /// Databases this run is creating or has created (a suite's, `spec_place`), registered before
    /// `CREATE DATABASE` so that an interruption at any point still drops them.
    databases: Mutex<Vec<String>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            application_name: format!("txlab-{}", std::process::id()),
            live: Mutex::new(Vec::new()),
            databases: Mutex::new(Vec::new()),
            idle: tokio::sync::Mutex::new(Vec::new()),
            checked: AtomicBool::new(false),
        }
    }

    /// The `application_name` every connection of this process carries; how cleanup finds them.
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// A connection working in `schema` (its `search_path`): an idle one from an earlier run when
    /// there is one, a new one otherwise.
    pub async fn checkout(&self, server: &Server, schema: Option<&str>) -> Result<Connected> {
        let here = std::thread::current().id();
        let reused = {
            let mut idle = self.idle.lock().await;
            idle.retain(|(_, c)| !c.client.is_closed());
            idle.iter()
                .rposition(|(t, _)| *t == here)
                .map(|i| idle.remove(i).1)
        };
        let conn = match reused {
            Some(conn) => conn,
            None => {
                server
                    .connect(&SessionOptions {
                        application_name: &self.application_name,
                        ..Default::default()
                    })
                    .await?
            }
        };
        let path = schema.unwrap_or("public");
        conn.client
            .batch_execute(&format!("SET search_path = {path}"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!("could not set search_path: {}", db_message(&e)))
            })?;
        Ok(conn)
    }

    /// Takes a connection back after a run: whatever the run left open is rolled back and the
    /// session reset (`DISCARD ALL`: settings, prepared statements, temporary tables, locks), so
    /// the next run starts as if on a new connection. A connection that fails this is closed.
    pub async fn give_back(&self, mut conn: Connected) {
        // Two statements, not one string: a multi-statement query is an implicit transaction
        // block, and DISCARD ALL refuses to run inside one.
        let reset = match conn.client.batch_execute("ROLLBACK").await {
            Ok(()) => conn.client.batch_execute("DISCARD ALL").await,
            Err(e) => Err(e),
        };
        while conn.notices.try_recv().is_ok() {}
        if reset.is_ok() && !conn.client.is_closed() {
            self.idle
                .lock()
                .await
                .push((std::thread::current().id(), conn));
        } else {
            conn.close().await;
        }
    }

    /// Closes the idle connections (before the server goes away).
    pub async fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().await);
        for (_, conn) in idle {
            conn.close().await;
        }
    }

    /// Creates a fresh, uniquely named schema.
    pub async fn create_schema(&self, control: &Connected) -> Result<String> {
        let n = SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("txlab_{}_{}", std::process::id(), n);
        // Registered before the statement is sent: a signal that lands while CREATE SCHEMA is
        // on its way (or committed but not yet answered) must still find the name to drop.
        // Cleanup drops with IF EXISTS, so a name whose CREATE never ran costs nothing.
        self.live
            .lock()
            .expect("sandbox registry")
            .push(name.clone());
        if let Err(e) = control
            .client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
        {
            self.live
                .lock()
                .expect("sandbox registry")
                .retain(|s| *s != name);
            let info = super::answer::error_info(&e);
            let during = format!("creating the run's schema {name}");
            return Err(
                crate::db::failure::explain(&during, &info.message, &info.sqlstate).unwrap_or_else(
                    || {
                        TxlabError::Database(format!(
                            "could not create schema {name}: {}",
                            db_message(&e)
                        ))
                    },
                ),
            );
        }
        Ok(name)
    }

    /// Drops a schema this sandbox created, with everything in it.
    pub async fn drop_schema(&self, control: &Connected, name: &str) -> Result<()> {
        control
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!("could not drop schema {name}: {}", db_message(&e)))
            })?;
        self.live
            .lock()
            .expect("sandbox registry")
            .retain(|s| s != name);
        Ok(())
    }

    /// After an interruption: ends this process's other connections (they may hold locks on the
    /// schema's tables) and drops every schema still alive. Best effort; never fails: returns why
    /// the server could not be reached, if it could not ([`Sandbox::live`] then says what is left).
    pub async fn cleanup(&self, server: &Server) -> Option<String> {
        let remaining: Vec<String> = self.live();
        let conn = match server
            .connect(&SessionOptions {
                application_name: "txlab-cleanup",
                ..Default::default()
            })
            .await
        {
            Ok(conn) => conn,
            Err(e) => return Some(e.to_string()),
        };
        let _ = conn
            .client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&self.application_name],
            )
            .await;
        for name in remaining {
            let _ = self.drop_schema(&conn, &name).await;
        }
        let databases = self.databases.lock().expect("sandbox registry").clone();
        for name in databases {
            if conn.drop_database(&name).await.is_ok() {
                self.forget_database(&name);
            }
        }
        conn.close().await;
        None
    }

    /// The schemas and databases still alive: registered (created, or being created) and not
    /// dropped.
    pub fn live(&self) -> Vec<String> {
        let mut live = self.live.lock().expect("sandbox registry").clone();
        live.extend(
            self.databases
                .lock()
                .expect("sandbox registry")
                .iter()
                .cloned(),
        );
        live
    }

    /// A database is about to be created for this run: from now on cleanup drops it. Call
    /// [`Sandbox::forget_database`] when it was not created after all, or once it is dropped.
    pub fn register_database(&self, name: &str) {
        self.databases
            .lock()
            .expect("sandbox registry")
            .push(name.to_string());
    }

    /// A registered database was dropped, or never created: cleanup leaves that name alone.
    pub fn forget_database(&self, name: &str) {
        self.databases
            .lock()
            .expect("sandbox registry")
            .retain(|d| d != name);
    }
}

/// The server's own words for an error, without tokio-postgres' "db error: " prefix.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}
