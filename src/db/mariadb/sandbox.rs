//! txlab never touches a user's own objects: every run works in a database of its own (MariaDB's
//! schema is a database), created here and dropped at the end. A name is registered *before* its
//! `CREATE DATABASE` is sent, so an interrupt between the two still has it swept; the sessions the
//! sandbox opened are remembered so cleanup can end them (they may hold locks on the tables).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use super::connect::{MariadbSession, MariadbTarget};
use crate::error::{Result, TxlabError};

/// Numbers databases for the whole process: two sandboxes side by side never pick the same name.
static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The databases and sessions this process has created on one server.
#[derive(Debug, Default)]
pub struct MariadbSandbox {
    live: Mutex<Vec<String>>,
    sessions: Mutex<Vec<u32>>,
}

impl MariadbSandbox {
    pub fn new() -> MariadbSandbox {
        MariadbSandbox::default()
    }

    /// Opens a session (in `database` when given) and remembers its thread id for cleanup.
    pub async fn connect(
        &self,
        target: &MariadbTarget,
        database: Option<&str>,
    ) -> Result<MariadbSession> {
        let session = target.connect(database).await?;
        self.sessions
            .lock()
            .expect("sandbox sessions")
            .push(session.id());
        Ok(session)
    }

    /// Forgets a session that was closed normally.
    pub fn forget(&self, thread_id: u32) {
        self.sessions
            .lock()
            .expect("sandbox sessions")
            .retain(|&id| id != thread_id);
    }

    /// Creates a fresh database `txlab_<pid>_<n>`, registered before the statement is sent.
    pub async fn create_database(&self, control: &mut MariadbSession) -> Result<String> {
        let n = DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("txlab_{}_{}", std::process::id(), n);
        self.live
            .lock()
            .expect("sandbox registry")
            .push(name.clone());
        let outcome = control
            .run(&format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .await;
        match outcome.error {
            None => Ok(name),
            Some(e) => {
                self.unregister(&name);
                Err(TxlabError::Database(format!(
                    "could not create database {name}: {e}"
                )))
            }
        }
    }

    /// Drops a database this sandbox created, with everything in it.
    pub async fn drop_database(&self, control: &mut MariadbSession, name: &str) -> Result<()> {
        if let Some(e) = control
            .run(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .error
        {
            return Err(TxlabError::Database(format!(
                "could not drop database {name}: {e}"
            )));
        }
        self.unregister(name);
        Ok(())
    }

    /// The databases still alive (created or being created, not yet dropped).
    pub fn live(&self) -> Vec<String> {
        self.live.lock().expect("sandbox registry").clone()
    }

    fn unregister(&self, name: &str) {
        self.live
            .lock()
            .expect("sandbox registry")
            .retain(|s| s != name);
    }

    /// After an interruption: ends this process's other sessions (`KILL`: their transactions roll
    /// back and their locks go) and drops every database still alive. Best effort; never fails.
    pub async fn cleanup(&self, target: &MariadbTarget) -> Option<String> {
        let mut conn = match target.connect(None).await {
            Ok(conn) => conn,
            Err(e) => return Some(e.to_string()),
        };
        let sessions = std::mem::take(&mut *self.sessions.lock().expect("sandbox sessions"));
        let own = conn.id();
        for id in sessions.into_iter().filter(|&id| id != own) {
            // 1094 "Unknown thread id" for sessions already gone: fine.
            let _ = conn.kill(id).await;
        }
        for name in self.live() {
            let _ = self.drop_database(&mut conn, &name).await;
        }
        conn.close().await;
        None
    }
}
