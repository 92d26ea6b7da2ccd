//! Server-wide chores the spec runner asks for: who we are, and a database of the spec's own.

use super::answer::error_info;
use super::connect::Connected;
use crate::error::{Result, TxlabError};

/// What happened to a `CREATE DATABASE`.
pub enum CreatedDatabase {
    Created,
    /// The role may not create databases; the server's words.
    NotPermitted(String),
}

impl Connected {
    /// Whether this connection's role is a superuser.
    pub async fn is_superuser(&self) -> bool {
        self.client
            .query_one("SELECT current_setting('is_superuser') = 'on'", &[])
            .await
            .map(|row| row.get::<_, bool>(0))
            .unwrap_or(false)
    }

    /// Whether a database of that name is on the server (anyone's): txlab creates only names
    /// that are free, so that it never registers, and never drops, a database it did not create.
    pub async fn database_exists(&self, name: &str) -> Result<bool> {
        self.client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .map(|row| row.is_some())
            .map_err(|e| {
                TxlabError::Database(format!(
                    "could not look for database {name}: {}",
                    error_info(&e).message
                ))
            })
    }

    /// `CREATE DATABASE name TEMPLATE template0`; a missing privilege is an answer, not an error.
    pub async fn create_database(&self, name: &str) -> Result<CreatedDatabase> {
        match self
            .client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .await
        {
            Ok(()) => Ok(CreatedDatabase::Created),
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
            {
                Ok(CreatedDatabase::NotPermitted(error_info(&e).message))
            }
            Err(e) => Err(TxlabError::Database(format!(
                "could not create the spec's database {name}: {}",
                error_info(&e).message
            ))),
        }
    }

    /// `DROP DATABASE IF EXISTS … WITH (FORCE)`: also after an interruption, when connections
    /// may still be open.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        self.client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map_err(|e| {
                TxlabError::Database(format!(
                    "could not drop the spec's database {name}: {}",
                    error_info(&e).message
                ))
            })
    }
}
