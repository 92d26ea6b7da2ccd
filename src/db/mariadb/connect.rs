//! Connections to MariaDB: from a `mysql://` or `mariadb://` URL (TCP, or a unix socket with
//! `?socket=PATH`) or to the throwaway server. A [`MariadbSession`] sends statement text that may
//! hold several statements (the multi-statement protocol, like PostgreSQL's simple query) and
//! returns each statement's rows or affected-row count, stopping at the first error with the
//! server's code, SQLSTATE and message.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};

use super::errors::{MariadbLevel, ServerError};
use super::server::LocalMariadb;
use super::tls::{MariadbTls, split_tls};
use crate::db::redact::redact;
use crate::error::{Result, TxlabError};

/// Whether a URL names a MariaDB/MySQL server rather than PostgreSQL.
pub fn is_mariadb_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("mysql://") || lower.starts_with("mariadb://")
}

/// A MariaDB server txlab may connect to.
#[derive(Debug, Clone)]
pub struct MariadbTarget {
    opts: Opts,
    /// `ssl-mode` / `ssl-ca` from the URL (issue 16).
    tls: MariadbTls,
    /// Shown to the user: the URL with any password masked, or "throwaway local MariaDB …".
    pub description: String,
}

impl MariadbTarget {
    /// A server the user runs, from `mysql://USER:PASS@HOST:PORT/DB` or `mariadb://…`, with
    /// `?socket=PATH` for a unix socket.
    pub fn from_url(url: &str) -> Result<MariadbTarget> {
        let trimmed = url.trim();
        let rest = trimmed
            .strip_prefix("mariadb://")
            .or_else(|| trimmed.strip_prefix("mysql://"))
            .ok_or_else(|| {
                TxlabError::BadUrl(format!("{}: not a mysql:// or mariadb:// URL", redact(url)))
            })?;
        let (rest, tls) = split_tls(rest)?;
        let opts = Opts::from_url(&format!("mysql://{rest}"))
            .map_err(|e| TxlabError::BadUrl(format!("{}: {e}", redact(url))))?;
        // No silent reconnect to a socket the server names: connect where the user said (a
        // socket would also drop TLS).
        let opts = OptsBuilder::from_opts(opts)
            .prefer_socket(false)
            .ssl_opts(tls.ssl_opts())
            .into();
        Ok(MariadbTarget {
            opts,
            tls,
            description: redact(url),
        })
    }

    /// The throwaway server txlab started.
    pub fn local(server: &LocalMariadb) -> MariadbTarget {
        let opts = OptsBuilder::default()
            .socket(Some(server.socket().to_string_lossy().into_owned()))
            .user(Some(server.user()))
            .prefer_socket(false)
            .into();
        MariadbTarget {
            opts,
            tls: MariadbTls::default(),
            description: format!("throwaway local MariaDB {} server", server.binaries.version),
        }
    }

    /// The database named in the URL, if any.
    pub fn database(&self) -> Option<&str> {
        self.opts.db_name()
    }

    /// Opens a session, working in `database` when given (else the URL's).
    pub async fn connect(&self, database: Option<&str>) -> Result<MariadbSession> {
        let mut builder = OptsBuilder::from_opts(self.opts.clone());
        if let Some(db) = database {
            builder = builder.db_name(Some(db));
        }
        let conn = Conn::new(builder).await.map_err(|e| {
            if let Some(tls_error) = self.tls.explain(&e, &self.description) {
                return tls_error;
            }
            TxlabError::MariadbUnreachable {
                target: self.description.clone(),
                reason: match ServerError::from_driver(e) {
                    ServerError {
                        code: 0, message, ..
                    } => message,
                    e => e.to_string(),
                },
            }
        })?;
        let (major, minor, patch) = conn.server_version();
        Ok(MariadbSession {
            id: conn.id(),
            version: format!("{major}.{minor}.{patch}"),
            conn,
            rolled_back: false,
        })
    }
}

/// One statement's outcome: its rows (values as text, `None` for NULL) or, for a statement
/// without a result set, the number of rows it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultSet {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    Affected(u64),
}

/// Everything a statement text produced, up to and including its first error.
#[derive(Debug, Clone, Default)]
pub struct StatementOutcome {
    pub sets: Vec<ResultSet>,
    pub error: Option<ServerError>,
    /// Warnings and notes of the text's last statement (`SHOW WARNINGS`), only asked for when the
    /// server said there were some.
    pub warnings: Vec<Warning>,
}

/// A `SHOW WARNINGS` row: level (Note, Warning, Error), code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: String,
    pub code: u16,
    pub message: String,
}

/// An open session with its thread id (MariaDB's backend id, `CONNECTION_ID()`).
pub struct MariadbSession {
    conn: Conn,
    id: u32,
    /// The server's version, e.g. `10.11.19`.
    pub version: String,
    /// The server rolled back this session's transaction (a deadlock) and no transaction
    /// statement has been sent since.
    rolled_back: bool,
}

impl MariadbSession {
    /// The thread id the server knows this session by: what `KILL`, the process list and
    /// `SHOW ENGINE INNODB STATUS` call it.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether this session's transaction has already failed: MariaDB never keeps a failed
    /// transaction open (PostgreSQL's 25P02); a deadlock rolls the whole transaction back at once,
    /// so the statements after it run in autocommit and a COMMIT commits nothing. Known from the
    /// session's own errors, without asking the server; reset by the next BEGIN/COMMIT/ROLLBACK.
    pub fn transaction_failed(&self) -> bool {
        self.rolled_back
    }

    /// Sends a statement text (one or several statements) and collects every result set until
    /// the first error.
    pub async fn run(&mut self, sql: &str) -> StatementOutcome {
        let outcome = self.run_inner(sql).await;
        match &outcome.error {
            Some(e) if e.rolls_back_transaction(false) => self.rolled_back = true,
            _ if ends_transaction_state(sql) => self.rolled_back = false,
            _ => {}
        }
        outcome
    }

    async fn run_inner(&mut self, sql: &str) -> StatementOutcome {
        let mut outcome = StatementOutcome::default();
        let mut warned = false;
        let mut result = match self.conn.query_iter(sql).await {
            Ok(result) => result,
            Err(e) => {
                outcome.error = Some(ServerError::from_driver(e));
                return outcome;
            }
        };
        loop {
            let Some(columns) = result.columns() else {
                // No set pending: the end, or a later statement's error the driver keeps as the
                // pending result (`columns()` hides it; `next()` hands it over).
                if let Err(e) = result.next().await {
                    outcome.error = Some(ServerError::from_driver(e));
                }
                break;
            };
            warned |= result.warnings() > 0;
            let set = if columns.is_empty() {
                ResultSet::Affected(result.affected_rows())
            } else {
                ResultSet::Rows {
                    columns: columns.iter().map(|c| c.name_str().into_owned()).collect(),
                    rows: Vec::new(),
                }
            };
            outcome.sets.push(set);
            // Reads the set's rows; past its end the driver reads the next statement's answer,
            // which is where a later statement's error surfaces.
            loop {
                match result.next().await {
                    Ok(Some(row)) => {
                        if let Some(ResultSet::Rows { rows, .. }) = outcome.sets.last_mut() {
                            rows.push(row.unwrap().into_iter().map(text).collect());
                        }
                    }
                    Ok(None) => {
                        // A result set's warning count arrives with its last packet.
                        warned |= result.warnings() > 0;
                        break;
                    }
                    Err(e) => {
                        outcome.error = Some(ServerError::from_driver(e));
                        drop(result);
                        return outcome;
                    }
                }
            }
        }
        drop(result);
        if warned {
            outcome.warnings = self.warnings().await;
        }
        outcome
    }

    /// The first row's first value of a one-value query (`None` on error or no rows).
    pub async fn scalar(&mut self, sql: &str) -> Option<String> {
        match self.run(sql).await.sets.into_iter().next()? {
            ResultSet::Rows { rows, .. } => rows.into_iter().next()?.into_iter().next()?,
            ResultSet::Affected(_) => None,
        }
    }

    /// The warnings and notes of the session's last statement.
    pub async fn warnings(&mut self) -> Vec<Warning> {
        let rows: Vec<(String, u16, String)> =
            self.conn.query("SHOW WARNINGS").await.unwrap_or_default();
        rows.into_iter()
            .map(|(level, code, message)| Warning {
                level,
                code,
                message,
            })
            .collect()
    }

    /// Sets the isolation level of the session's later transactions.
    pub async fn set_isolation(&mut self, level: MariadbLevel) -> Result<()> {
        self.simple(&level.set_session_sql()).await
    }

    /// Makes a used session as good as new for the next run (`COM_RESET_CONNECTION`): an open
    /// transaction is rolled back, locks (also `GET_LOCK`'s) released, session variables, user
    /// variables and temporary tables dropped; the current database stays. False when the session
    /// could not be reset (close it then).
    pub async fn reset(&mut self) -> bool {
        self.rolled_back = false;
        matches!(self.conn.reset().await, Ok(true))
    }

    /// Cancels the statement another session is running (`KILL QUERY`); MariaDB has no protocol
    /// cancel, so this is sent from a second connection (the control session). The cancelled
    /// statement fails with error 1317; its transaction stays open.
    pub async fn cancel(&mut self, thread_id: u32) -> Result<()> {
        self.simple(&format!("KILL QUERY {thread_id}")).await
    }

    /// Ends another session (`KILL`): its transaction is rolled back and its locks released.
    pub async fn kill(&mut self, thread_id: u32) -> Result<()> {
        self.simple(&format!("KILL {thread_id}")).await
    }

    /// Runs statements whose failure is txlab's problem, not the lesson's.
    pub async fn simple(&mut self, sql: &str) -> Result<()> {
        match self.run(sql).await.error {
            None => Ok(()),
            Some(e) => Err(TxlabError::Database(format!("{sql}: {e}"))),
        }
    }

    /// Closes the connection politely, so the server ends the session at once.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// Whether a statement text starts or ends a transaction (after which an earlier rollback by the
/// server no longer matters).
fn ends_transaction_state(sql: &str) -> bool {
    sql.split(';').any(|stmt| {
        let first = stmt
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        matches!(
            first.as_str(),
            "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "XA"
        )
    })
}

/// A text-protocol value as text; NULL as `None`.
fn text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_statements_are_recognised() {
        assert!(ends_transaction_state("begin"));
        assert!(ends_transaction_state("UPDATE t SET v = 1; COMMIT"));
        assert!(ends_transaction_state("  START TRANSACTION READ ONLY"));
        assert!(!ends_transaction_state("SELECT 'COMMIT'"));
    }

    #[test]
    fn recognises_both_schemes() {
        assert!(is_mariadb_url("mysql://root@localhost/x"));
        assert!(is_mariadb_url("MariaDB://root@localhost/x"));
        assert!(!is_mariadb_url("postgres://u@h/x"));
    }

    #[test]
    fn reads_socket_urls_and_rejects_others() {
        let target =
            MariadbTarget::from_url("mariadb://u:pw@localhost/test?socket=/tmp/s.sock").unwrap();
        assert_eq!(target.database(), Some("test"));
        assert_eq!(target.opts.socket(), Some("/tmp/s.sock"));
        assert_eq!(
            target.description,
            "mariadb://u:***@localhost/test?socket=/tmp/s.sock"
        );
        assert!(matches!(
            MariadbTarget::from_url("postgres://u@h/x"),
            Err(TxlabError::BadUrl(_))
        ));
        let err = MariadbTarget::from_url("mysql://u:topsecret@h/x?bogus=1").unwrap_err();
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }
}
