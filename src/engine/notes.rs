//! Every note the engine attaches to a run (`LessonRun::notes`), in one place: facts the reader
//! should know about how the run was made. They are data handed to renderers, which print them
//! as they are; keeping the wording here keeps it out of the code that runs things.

use crate::model::ErrorInfo;

/// A run at READ UNCOMMITTED on PostgreSQL.
pub const READ_UNCOMMITTED: &str = "PostgreSQL accepts READ UNCOMMITTED but runs it as READ COMMITTED: no statement ever sees rows another \
     transaction has not committed (manual, \"Transaction Isolation\").";

/// `--versions`: how the row versions were read.
pub const VERSIONS: &str = "--versions: after each step every idle session read the lesson's tables itself, inside its own \
     transaction; transactions without a snapshot yet were not read (that would take the snapshot early), \
     and SERIALIZABLE ones show their snapshot only (reading rows would add predicate locks)";

/// The server refused to set `deadlock_timeout`, so the victim is not chosen.
pub fn deadlock_timeout_refused(message: &str) -> String {
    format!(
        "could not set deadlock_timeout ({message}): the server default applies, so the deadlock detector runs after \
         about a second and the session that has waited longest first is aborted; run as a superuser (or GRANT \
         SET ON PARAMETER deadlock_timeout) to choose the victim"
    )
}

/// Who the deadlock victim is, and why.
pub fn deadlock_victim(label: &str, victim_timeout: &str, survivor_timeout: &str) -> String {
    format!(
        "deadlock_timeout is {victim_timeout} for {label} and {survivor_timeout} for the others, so {label} runs the \
         deadlock detector first and is the one aborted"
    )
}

/// A spec permutation whose setup (global, or of the named session) failed.
pub fn setup_failed(session: Option<&str>, error: &ErrorInfo) -> String {
    format!(
        "setup{} failed: {} {}: {}",
        session
            .map(|name| format!(" of session {name}"))
            .unwrap_or_default(),
        error.severity,
        error.sqlstate,
        error.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_victim_twice_and_the_failed_session_once() {
        assert_eq!(
            deadlock_victim("Alice", "20ms", "10s"),
            "deadlock_timeout is 20ms for Alice and 10s for the others, so Alice runs the deadlock detector first \
             and is the one aborted"
        );
        let error = ErrorInfo {
            sqlstate: "42P01".into(),
            severity: "ERROR".into(),
            message: "relation \"t\" does not exist".into(),
            detail: None,
        };
        assert_eq!(
            setup_failed(Some("s1"), &error),
            "setup of session s1 failed: ERROR 42P01: relation \"t\" does not exist"
        );
        assert_eq!(
            setup_failed(None, &error),
            "setup failed: ERROR 42P01: relation \"t\" does not exist"
        );
    }
}
