//! What txlab reads from a step's SQL text without asking the server: whether it opens or ends a
//! transaction, and `{{name}}` substitution. Plain functions over strings, so the scheduler, the
//! quiz and the runner can all use them without importing each other.

use std::collections::BTreeMap;

use crate::model::TxEnd;

/// Whether a step opens a transaction block.
pub fn starts_transaction(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("BEGIN") || upper.starts_with("START TRANSACTION")
}

/// Whether a step is a single transaction-ending statement — or one followed only by releasing
/// MariaDB named locks (`COMMIT; DO RELEASE_LOCK('k')`): `GET_LOCK` outlives the transaction, so
/// an application releases it right after COMMIT, as PostgreSQL's `pg_advisory_xact_lock` does.
pub fn tx_control(sql: &str) -> Option<TxEnd> {
    let body = sql.trim().trim_end_matches(';').trim();
    if let Some((first, rest)) = body.split_once(';') {
        let releases = rest.split(';').all(|stmt| {
            let upper = stmt.trim().to_ascii_uppercase();
            upper.is_empty()
                || ["DO ", "SELECT "].iter().any(|verb| {
                    upper.strip_prefix(verb).is_some_and(|f| {
                        let f = f.trim_start();
                        f.starts_with("RELEASE_LOCK(") || f.starts_with("RELEASE_ALL_LOCKS(")
                    })
                })
        });
        return if releases { tx_control(first) } else { None };
    }
    let upper = body.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    match words.as_slice() {
        ["COMMIT" | "END", rest @ ..] if rest.first() != Some(&"PREPARED") => Some(TxEnd::Commit),
        ["ROLLBACK" | "ABORT", rest @ ..]
            if !matches!(rest.first(), Some(&"PREPARED") | Some(&"TO")) =>
        {
            Some(TxEnd::Rollback)
        }
        _ => None,
    }
}

/// Replaces `{{name}}` with a captured value as the server printed it; a value that was never
/// captured (the step that reads it failed or found no row) becomes `NULL`.
///
/// ```
/// use std::collections::BTreeMap;
/// use txlab::engine::scheduler::substitute;
///
/// let vars = BTreeMap::from([("balance".to_string(), Some("100.00".to_string()))]);
/// assert_eq!(substitute("SET balance = {{balance}} + 10", &vars), "SET balance = 100.00 + 10");
/// assert_eq!(substitute("{{missing}}", &vars), "NULL");
/// ```
pub fn substitute(sql: &str, vars: &BTreeMap<String, Option<String>>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        out.push_str(&rest[..start]);
        match vars.get(name) {
            Some(Some(value)) => out.push_str(value),
            _ => out.push_str("NULL"),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_captured_values_and_null_for_missing_ones() {
        let mut vars = BTreeMap::new();
        vars.insert("bal".to_string(), Some("100.00".to_string()));
        vars.insert("gone".to_string(), None);
        assert_eq!(
            substitute("SET balance = {{bal}} + 10", &vars),
            "SET balance = 100.00 + 10"
        );
        assert_eq!(
            substitute("x = {{ gone }} and {{never}}", &vars),
            "x = NULL and NULL"
        );
        assert_eq!(substitute("no braces {{ here", &vars), "no braces {{ here");
    }

    #[test]
    fn recognises_transaction_ends_but_not_savepoints_or_prepared() {
        assert_eq!(tx_control("COMMIT;"), Some(TxEnd::Commit));
        assert_eq!(tx_control("end"), Some(TxEnd::Commit));
        assert_eq!(tx_control("ROLLBACK"), Some(TxEnd::Rollback));
        assert_eq!(tx_control("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(tx_control("COMMIT PREPARED 'x'"), None);
        assert_eq!(tx_control("SELECT 1; COMMIT"), None);
        assert_eq!(
            tx_control("COMMIT; DO RELEASE_LOCK('account-1')"),
            Some(TxEnd::Commit)
        );
        assert_eq!(
            tx_control("ROLLBACK; SELECT RELEASE_ALL_LOCKS()"),
            Some(TxEnd::Rollback)
        );
        assert_eq!(tx_control("COMMIT; SELECT 1"), None);
        assert!(starts_transaction("  begin isolation level serializable"));
        assert!(!starts_transaction("SELECT 1"));
    }
}
