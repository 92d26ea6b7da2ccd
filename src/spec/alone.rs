//! Which specs of a suite must have the server to themselves when `--jobs N` runs others side by
//! side (docs/specs.md, "Side by side").
//!
//! Specs running at once each get a database of their own, which keeps their tables, locks
//! and row versions apart. It does not keep apart what the whole server shares: the xmin horizon
//! VACUUM and HOT pruning look at, prepared transactions (max_prepared_transactions and their
//! names), roles, statistics and the cluster-wide views, the suite's database name, a
//! `DEFERRABLE` transaction's wait for every serializable transaction, and timing (a timeout or a
//! `deadlock_timeout` measured while another spec takes the CPU). A spec whose SQL mentions any
//! of those runs alone, in the suite's `isolation_regression`, after the specs before it have
//! finished and before the ones after it start. The rule reads words, not meaning, so it errs
//! on the side of running alone: a false "alone" costs some speed, a false "together" a diff.

use crate::engine::lesson::Lesson;

/// Words that make a spec run alone, and why.
const WORDS: &[(&str, &str)] = &[
    ("vacuum", "VACUUM depends on the server-wide xmin horizon"),
    ("analyze", "ANALYZE depends on the server-wide xmin horizon"),
    ("cluster", "CLUSTER depends on the server-wide xmin horizon"),
    (
        "deferrable",
        "a DEFERRABLE transaction waits for serializable transactions of every database",
    ),
    ("isolation_regression", "it names the suite's database"),
    ("current_database", "it names the suite's database"),
    ("current_catalog", "it names the suite's database"),
    ("database", "it works on a database, not in one"),
    ("role", "roles belong to the whole server"),
    ("authorization", "roles belong to the whole server"),
    ("tablespace", "tablespaces belong to the whole server"),
    ("checkpoint", "a checkpoint is the whole server's"),
    ("pg_locks", "pg_locks shows every database's locks"),
    (
        "pg_prepared_xacts",
        "prepared transactions belong to the whole server",
    ),
    ("pg_terminate_backend", "it signals backends"),
    ("pg_cancel_backend", "it signals backends"),
    ("pg_reload_conf", "it changes the whole server's settings"),
    ("pg_sleep", "it depends on timing"),
    (
        "deadlock_timeout",
        "it depends on timing (deadlock_timeout)",
    ),
    ("lock_timeout", "it depends on timing (lock_timeout)"),
    (
        "statement_timeout",
        "it depends on timing (statement_timeout)",
    ),
    (
        "idle_in_transaction_session_timeout",
        "it depends on timing",
    ),
    ("idle_session_timeout", "it depends on timing"),
];

/// Word prefixes that make a spec run alone, and why.
const PREFIXES: &[(&str, &str)] = &[
    (
        "pg_stat",
        "statistics and pg_stat_* views are the whole server's",
    ),
    ("pg_create_", "replication slots belong to the whole server"),
    (
        "pg_drop_replication",
        "replication slots belong to the whole server",
    ),
];

/// Two words in a row that make a spec run alone, and why.
const PAIRS: &[(&str, &str, &str)] = &[
    (
        "prepare",
        "transaction",
        "prepared transactions belong to the whole server",
    ),
    (
        "commit",
        "prepared",
        "prepared transactions belong to the whole server",
    ),
    (
        "rollback",
        "prepared",
        "prepared transactions belong to the whole server",
    ),
    ("alter", "system", "it changes the whole server's settings"),
];

/// Why `lesson` (a compiled spec) must run with no other spec on the server, or `None` when it
/// may share it.
pub fn reason(lesson: &Lesson) -> Option<&'static str> {
    all_sql(lesson).find_map(reason_in)
}

fn all_sql(lesson: &Lesson) -> impl Iterator<Item = &str> {
    lesson
        .setup
        .iter()
        .map(String::as_str)
        .chain(lesson.teardown.as_deref())
        .chain(lesson.sessions.iter().flat_map(|s| {
            s.setup
                .iter()
                .map(String::as_str)
                .chain(s.teardown.as_deref())
        }))
        .chain(lesson.steps.iter().map(|s| s.sql.as_str()))
}

/// Why this SQL text must run alone, if it must.
pub fn reason_in(sql: &str) -> Option<&'static str> {
    let words = words(sql);
    for (i, word) in words.iter().enumerate() {
        if let Some((_, why)) = WORDS.iter().find(|(w, _)| w == word) {
            return Some(why);
        }
        if let Some((_, why)) = PREFIXES.iter().find(|(p, _)| word.starts_with(p)) {
            return Some(why);
        }
        if let Some(next) = words.get(i + 1)
            && let Some((_, _, why)) = PAIRS.iter().find(|(a, b, _)| a == word && b == next)
        {
            return Some(why);
        }
    }
    None
}

/// The words of an SQL text, lower-cased, `--` comments left out.
fn words(sql: &str) -> Vec<String> {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .flat_map(|line| line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_row_work_may_share_the_server() {
        assert_eq!(
            reason_in("UPDATE accounts SET balance = balance - 10 WHERE id = 1"),
            None
        );
        assert_eq!(reason_in("SELECT * FROM foo FOR UPDATE"), None);
        assert_eq!(reason_in("BEGIN ISOLATION LEVEL SERIALIZABLE"), None);
        // A word inside another word is not that word.
        assert_eq!(
            reason_in("SELECT vacuumed, roles_seen FROM stats_table"),
            None
        );
    }

    #[test]
    fn what_the_whole_server_shares_runs_alone() {
        assert!(reason_in("VACUUM (FREEZE) tab").is_some());
        assert!(reason_in("vacuum analyze t").is_some());
        assert!(reason_in("PREPARE TRANSACTION 'foo'").is_some());
        assert!(reason_in("COMMIT PREPARED 'foo'").is_some());
        assert!(reason_in("GRANT TEMP ON DATABASE isolation_regression TO r").is_some());
        assert!(reason_in("SET ROLE regress_role").is_some());
        assert!(reason_in("SELECT pg_stat_force_next_flush()").is_some());
        assert!(reason_in("SET deadlock_timeout = '10ms'").is_some());
        assert!(reason_in("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE").is_some());
        assert!(reason_in("SELECT pg_terminate_backend(pid)").is_some());
    }

    #[test]
    fn comments_do_not_count() {
        assert_eq!(reason_in("-- we used to VACUUM here\nSELECT 1"), None);
    }
}
