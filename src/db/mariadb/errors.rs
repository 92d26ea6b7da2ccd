//! MariaDB's error codes, named for what a lesson teaches, and how an isolation level is set.
//! A deadlock (1213) rolls the whole transaction back; a lock-wait timeout (1205) only the
//! statement (unless the server runs with `innodb_rollback_on_timeout`), so the transaction goes on.

use std::fmt;

/// An error as the server reported it (or, with code 0 or 2013, as the client saw the link fail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// MariaDB's error number, e.g. 1213; client-side codes (2006, 2013) for a lost connection.
    pub code: u16,
    /// The SQLSTATE, e.g. `40001`; `HY000` for errors without a specific one.
    pub sqlstate: String,
    pub message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code, self.sqlstate, self.message
        )
    }
}

/// The cases a lesson or the scheduler tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 1213 / 40001: chosen as the deadlock victim; the whole transaction was rolled back.
    Deadlock,
    /// 1205: gave up waiting for a row lock (`innodb_lock_wait_timeout`), or would have had to
    /// wait under `NOWAIT` (MariaDB's NOWAIT is a zero timeout); only the statement was rolled back.
    LockWaitTimeout,
    /// 1020: "Record has changed since last read" — a lost update refused under
    /// `innodb_snapshot_isolation=ON` (REPEATABLE READ as snapshot isolation).
    RecordChanged,
    /// 3572: MySQL's `NOWAIT` error (MariaDB reports 1205 instead).
    LockNotAvailable,
    /// 1317: the statement was cancelled (`KILL QUERY`).
    Cancelled,
    /// 1062 / 23000: a duplicate key.
    UniqueViolation,
    /// 1451, 1452: a foreign key refused the change.
    ForeignKeyViolation,
    /// 1044, 1045, 1142, 1227: not allowed.
    AccessDenied,
    /// 2006, 2013, or a broken link: the session is gone.
    ConnectionLost,
    /// Anything else (syntax errors, unknown tables, …).
    Other,
}

impl ServerError {
    /// Converts a driver error: server errors keep their code and SQLSTATE; I/O failures and a
    /// closed connection become 2013 "Lost connection"; anything else keeps its text with code 0.
    pub fn from_driver(e: mysql_async::Error) -> ServerError {
        match e {
            mysql_async::Error::Server(s) => ServerError {
                code: s.code,
                sqlstate: s.state,
                message: s.message,
            },
            mysql_async::Error::Io(io) => lost(io.to_string()),
            mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
                lost("the connection is closed".into())
            }
            other => ServerError {
                code: 0,
                sqlstate: "HY000".into(),
                message: other.to_string(),
            },
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            1213 => ErrorKind::Deadlock,
            1205 => ErrorKind::LockWaitTimeout,
            1020 => ErrorKind::RecordChanged,
            3572 => ErrorKind::LockNotAvailable,
            1317 => ErrorKind::Cancelled,
            1062 => ErrorKind::UniqueViolation,
            1451 | 1452 => ErrorKind::ForeignKeyViolation,
            1044 | 1045 | 1142 | 1227 => ErrorKind::AccessDenied,
            2006 | 2013 => ErrorKind::ConnectionLost,
            _ if self.sqlstate == "40001" => ErrorKind::Deadlock,
            _ => ErrorKind::Other,
        }
    }

    /// Whether the server has already rolled back the session's whole transaction, so later
    /// statements run outside it (autocommit) and a COMMIT commits nothing. True for a deadlock;
    /// for a lock-wait timeout only when the server runs with `innodb_rollback_on_timeout=ON`.
    pub fn rolls_back_transaction(&self, rollback_on_timeout: bool) -> bool {
        match self.kind() {
            ErrorKind::Deadlock | ErrorKind::ConnectionLost => true,
            ErrorKind::LockWaitTimeout => rollback_on_timeout,
            _ => false,
        }
    }
}

fn lost(message: String) -> ServerError {
    ServerError {
        code: 2013,
        sqlstate: "HY000".into(),
        message: format!("Lost connection to server: {message}"),
    }
}

/// The four SQL levels, as MariaDB spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MariadbLevel {
    /// Real on MariaDB: a plain SELECT reads other sessions' uncommitted rows.
    ReadUncommitted,
    ReadCommitted,
    /// InnoDB's default: a read view per transaction for plain SELECTs; locking reads and writes
    /// see the newest committed row (lost updates pass unless `innodb_snapshot_isolation=ON`).
    RepeatableRead,
    /// REPEATABLE READ whose plain SELECTs (in a transaction) take shared locks: it prevents by
    /// blocking and deadlocking, not by aborting at commit.
    Serializable,
}

impl MariadbLevel {
    /// The level's SQL name.
    pub fn sql_name(self) -> &'static str {
        match self {
            MariadbLevel::ReadUncommitted => "READ UNCOMMITTED",
            MariadbLevel::ReadCommitted => "READ COMMITTED",
            MariadbLevel::RepeatableRead => "REPEATABLE READ",
            MariadbLevel::Serializable => "SERIALIZABLE",
        }
    }

    /// Sets the level for every later transaction of the session (send once, before `BEGIN`).
    pub fn set_session_sql(self) -> String {
        format!(
            "SET SESSION TRANSACTION ISOLATION LEVEL {}",
            self.sql_name()
        )
    }

    /// Sets the level for the session's next transaction only (must come before its `BEGIN`;
    /// inside a transaction MariaDB refuses it with error 1568).
    pub fn set_next_transaction_sql(self) -> String {
        format!("SET TRANSACTION ISOLATION LEVEL {}", self.sql_name())
    }

    /// Parses `read-committed`, `READ COMMITTED`, `read_committed`, … (for the CLI and lessons).
    pub fn parse(text: &str) -> Option<MariadbLevel> {
        let norm: String = text
            .trim()
            .chars()
            .map(|c| {
                if c == '-' || c == '_' {
                    ' '
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        [
            MariadbLevel::ReadUncommitted,
            MariadbLevel::ReadCommitted,
            MariadbLevel::RepeatableRead,
            MariadbLevel::Serializable,
        ]
        .into_iter()
        .find(|l| l.sql_name() == norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u16, state: &str) -> ServerError {
        ServerError {
            code,
            sqlstate: state.into(),
            message: String::new(),
        }
    }

    #[test]
    fn names_the_codes_lessons_meet() {
        assert_eq!(err(1213, "40001").kind(), ErrorKind::Deadlock);
        assert_eq!(err(1205, "HY000").kind(), ErrorKind::LockWaitTimeout);
        assert_eq!(err(1020, "HY000").kind(), ErrorKind::RecordChanged);
        assert_eq!(err(1142, "42000").kind(), ErrorKind::AccessDenied);
        assert_eq!(err(2013, "HY000").kind(), ErrorKind::ConnectionLost);
        assert_eq!(err(1064, "42000").kind(), ErrorKind::Other);
        assert_eq!(err(9999, "40001").kind(), ErrorKind::Deadlock);
    }

    #[test]
    fn only_deadlocks_end_the_transaction_by_default() {
        assert!(err(1213, "40001").rolls_back_transaction(false));
        assert!(!err(1205, "HY000").rolls_back_transaction(false));
        assert!(err(1205, "HY000").rolls_back_transaction(true));
        assert!(!err(1062, "23000").rolls_back_transaction(true));
    }

    #[test]
    fn levels_parse_and_spell() {
        assert_eq!(
            MariadbLevel::parse("read-uncommitted"),
            Some(MariadbLevel::ReadUncommitted)
        );
        assert_eq!(
            MariadbLevel::parse("REPEATABLE READ"),
            Some(MariadbLevel::RepeatableRead)
        );
        assert_eq!(MariadbLevel::parse("snapshot"), None);
        assert_eq!(
            MariadbLevel::Serializable.set_session_sql(),
            "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE"
        );
    }
}
