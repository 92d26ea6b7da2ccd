//! The SQLSTATE codes a concurrency lesson is about, by name. Verdicts and retry rules match on
//! these, never on message text, which changes with the server's language and version.

/// A server error class txlab treats specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    /// 40001: the server refused an interleaving it cannot serialize; the application retries.
    SerializationFailure,
    /// 40P01: the deadlock detector aborted this transaction to break a wait-for cycle.
    DeadlockDetected,
    /// 55P03: NOWAIT or lock_timeout gave up on a lock.
    LockNotAvailable,
    /// 57014: statement_timeout or a cancel request stopped the statement.
    QueryCanceled,
    /// 23505: a unique index refused a duplicate.
    UniqueViolation,
    /// 23503: a foreign key refused a dangling reference.
    ForeignKeyViolation,
    /// 23514: a CHECK constraint refused the row.
    CheckViolation,
    /// 25P02: the transaction already failed; everything until ROLLBACK is ignored.
    InFailedTransaction,
}

impl SqlState {
    const ALL: [SqlState; 8] = [
        SqlState::SerializationFailure,
        SqlState::DeadlockDetected,
        SqlState::LockNotAvailable,
        SqlState::QueryCanceled,
        SqlState::UniqueViolation,
        SqlState::ForeignKeyViolation,
        SqlState::CheckViolation,
        SqlState::InFailedTransaction,
    ];

    /// The five-character code.
    pub fn code(self) -> &'static str {
        match self {
            SqlState::SerializationFailure => "40001",
            SqlState::DeadlockDetected => "40P01",
            SqlState::LockNotAvailable => "55P03",
            SqlState::QueryCanceled => "57014",
            SqlState::UniqueViolation => "23505",
            SqlState::ForeignKeyViolation => "23503",
            SqlState::CheckViolation => "23514",
            SqlState::InFailedTransaction => "25P02",
        }
    }

    /// PostgreSQL's condition name, as in the manual's appendix A.
    pub fn name(self) -> &'static str {
        match self {
            SqlState::SerializationFailure => "serialization_failure",
            SqlState::DeadlockDetected => "deadlock_detected",
            SqlState::LockNotAvailable => "lock_not_available",
            SqlState::QueryCanceled => "query_canceled",
            SqlState::UniqueViolation => "unique_violation",
            SqlState::ForeignKeyViolation => "foreign_key_violation",
            SqlState::CheckViolation => "check_violation",
            SqlState::InFailedTransaction => "in_failed_sql_transaction",
        }
    }

    /// The named case for a code, if txlab has one.
    pub fn from_code(code: &str) -> Option<SqlState> {
        SqlState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether an application would retry the whole transaction after this error.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            SqlState::SerializationFailure | SqlState::DeadlockDetected
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in SqlState::ALL {
            assert_eq!(SqlState::from_code(s.code()), Some(s));
        }
        assert_eq!(
            SqlState::from_code("40P01"),
            Some(SqlState::DeadlockDetected)
        );
        assert_eq!(SqlState::from_code("XX000"), None);
        assert!(SqlState::SerializationFailure.is_retryable());
        assert!(!SqlState::UniqueViolation.is_retryable());
    }
}
