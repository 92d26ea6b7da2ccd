//! What a server error means for the user, beyond its own words: a lost connection is one error
//! ("the server closed the connection") whatever step was running, and a refused privilege says
//! which privilege is missing. Matched on SQLSTATE classes, never on message text.

use crate::error::TxlabError;

/// The kinds of server failure txlab explains in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFailure {
    /// Class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
    /// 57P03 cannot_connect_now: the session is gone.
    ConnectionLost,
    /// 42501 insufficient_privilege.
    InsufficientPrivilege,
}

impl ServerFailure {
    /// The named case for a SQLSTATE, if txlab explains it.
    pub fn of(sqlstate: &str) -> Option<ServerFailure> {
        match sqlstate {
            s if s.starts_with("08") => Some(ServerFailure::ConnectionLost),
            "57P01" | "57P02" | "57P03" => Some(ServerFailure::ConnectionLost),
            "42501" => Some(ServerFailure::InsufficientPrivilege),
            _ => None,
        }
    }
}

/// The error for a statement that failed while txlab was doing `during` (e.g. "the lesson's
/// setup SQL"), or `None` when the failure is not one txlab explains specially.
pub fn explain(during: &str, message: &str, sqlstate: &str) -> Option<TxlabError> {
    match ServerFailure::of(sqlstate)? {
        ServerFailure::ConnectionLost => Some(TxlabError::ConnectionLost {
            during: during.to_string(),
            reason: format!("{message} ({sqlstate})"),
        }),
        ServerFailure::InsufficientPrivilege => Some(TxlabError::MissingPrivilege {
            during: during.to_string(),
            reason: format!("{message} ({sqlstate})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_loss_in_every_form_is_one_case() {
        for code in ["08006", "08003", "08000", "57P01", "57P02", "57P03"] {
            assert_eq!(
                ServerFailure::of(code),
                Some(ServerFailure::ConnectionLost),
                "{code}"
            );
            let e = explain("the lesson's setup SQL", "connection closed", code).unwrap();
            assert!(
                e.to_string()
                    .starts_with("the server closed the connection"),
                "{e}"
            );
            assert!(!e.hint().contains("psql"), "{}", e.hint());
            assert!(!e.hint().contains("--database-url"), "{}", e.hint());
        }
        assert_eq!(ServerFailure::of("40P01"), None);
        assert!(explain("x", "deadlock", "40P01").is_none());
    }

    #[test]
    fn a_refused_create_schema_names_the_privilege() {
        let e = explain(
            "creating the run's schema",
            "permission denied for database postgres",
            "42501",
        )
        .unwrap();
        assert!(e.to_string().contains("permission denied"), "{e}");
        assert!(
            e.hint().contains("GRANT CREATE ON DATABASE"),
            "{}",
            e.hint()
        );
    }
}
