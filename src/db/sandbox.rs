//! txlab never touches a user's own objects: every run works in a schema of its own, created here
//! and dropped at the end. The registry remembers which schemas are still alive so that an
//! interrupted run (Ctrl-C, an error half-way) can still drop them and end its connections.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::Client;

use super::connect::{Server, SessionOptions};
use crate::error::{Result, TxlabError};

/// The schemas and connections this process has created on one server.
#[derive(Debug)]
pub struct Sandbox {
    application_name: String,
    live: Mutex<Vec<String>>,
}

/// Numbers schemas across every sandbox of the process, so two sandboxes (concurrent tests, or a
/// command that opens several) never pick the same name.
static SCHEMA_COUNTER: AtomicU32 = AtomicU32::new(0);

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
        }
    }

    /// The `application_name` every connection of this process carries; how cleanup finds them.
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// Creates a fresh, uniquely named schema.
    pub async fn create_schema(&self, control: &Client) -> Result<String> {
        let n = SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("txlab_{}_{}", std::process::id(), n);
        control
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!(
                    "could not create schema {name}: {}",
                    db_message(&e)
                ))
            })?;
        self.live
            .lock()
            .expect("sandbox registry")
            .push(name.clone());
        Ok(name)
    }

    /// Drops a schema this sandbox created, with everything in it.
    pub async fn drop_schema(&self, control: &Client, name: &str) -> Result<()> {
        control
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
    /// schema's tables) and drops every schema still alive. Best effort; never fails.
    pub async fn cleanup(&self, server: &Server) {
        let remaining: Vec<String> = self.live.lock().expect("sandbox registry").clone();
        let Ok(conn) = server
            .connect(&SessionOptions {
                application_name: "txlab-cleanup",
                ..Default::default()
            })
            .await
        else {
            return;
        };
        let _ = conn
            .client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&self.application_name],
            )
            .await;
        for name in remaining {
            let _ = self.drop_schema(&conn.client, &name).await;
        }
        conn.close().await;
    }
}

/// The server's own words for an error, without tokio-postgres' "db error: " prefix.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}
