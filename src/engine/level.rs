//! The four SQL isolation levels. The engine, not the lesson, applies the level (it rewrites a bare
//! `BEGIN`), so one lesson file runs at every level.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::TxlabError;

/// An isolation level as a user names it on the command line and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl IsolationLevel {
    /// All levels, weakest first: the column order of the matrix.
    pub const ALL: [IsolationLevel; 4] = [
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ];

    /// The SQL spelling, as in `BEGIN ISOLATION LEVEL …`.
    pub fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }

    /// The command-line and JSON spelling.
    pub fn slug(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read-uncommitted",
            IsolationLevel::ReadCommitted => "read-committed",
            IsolationLevel::RepeatableRead => "repeatable-read",
            IsolationLevel::Serializable => "serializable",
        }
    }

    /// Rewrites a bare `BEGIN` / `START TRANSACTION` to open a transaction at this level; any
    /// other statement, or one that names its own level, is left as written.
    ///
    /// ```
    /// use txlab::engine::IsolationLevel;
    ///
    /// let rr: IsolationLevel = "repeatable-read".parse().unwrap();
    /// assert_eq!(rr.apply_to("BEGIN"), "BEGIN ISOLATION LEVEL REPEATABLE READ");
    /// assert_eq!(rr.apply_to("BEGIN ISOLATION LEVEL SERIALIZABLE"), "BEGIN ISOLATION LEVEL SERIALIZABLE");
    /// ```
    pub fn apply_to(self, sql: &str) -> String {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        let upper = trimmed.to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let bare = matches!(
            words.as_slice(),
            ["BEGIN"] | ["BEGIN", "TRANSACTION"] | ["BEGIN", "WORK"] | ["START", "TRANSACTION"]
        );
        if bare {
            format!("{trimmed} ISOLATION LEVEL {}", self.sql())
        } else {
            sql.to_string()
        }
    }
}

impl IsolationLevel {
    /// MariaDB's wording: its `BEGIN` / `START TRANSACTION` take no level, so a session sets the
    /// level of its later transactions instead.
    ///
    /// ```
    /// use txlab::engine::IsolationLevel;
    ///
    /// let ru: IsolationLevel = "read-uncommitted".parse().unwrap();
    /// assert_eq!(ru.mariadb_session_sql(), "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    /// ```
    pub fn mariadb_session_sql(self) -> String {
        format!("SET SESSION TRANSACTION ISOLATION LEVEL {}", self.sql())
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

impl FromStr for IsolationLevel {
    type Err = TxlabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '_' || c == ' ' { '-' } else { c })
            .collect();
        match norm.as_str() {
            "read-uncommitted" | "ru" => Ok(IsolationLevel::ReadUncommitted),
            "read-committed" | "rc" => Ok(IsolationLevel::ReadCommitted),
            "repeatable-read" | "rr" | "snapshot" => Ok(IsolationLevel::RepeatableRead),
            "serializable" | "ser" | "sr" => Ok(IsolationLevel::Serializable),
            _ => Err(TxlabError::UnknownLevel(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_sql_and_short_spellings() {
        assert_eq!(
            "repeatable-read".parse::<IsolationLevel>().unwrap(),
            IsolationLevel::RepeatableRead
        );
        assert_eq!(
            "READ COMMITTED".parse::<IsolationLevel>().unwrap(),
            IsolationLevel::ReadCommitted
        );
        assert_eq!(
            "ser".parse::<IsolationLevel>().unwrap(),
            IsolationLevel::Serializable
        );
        assert!("chaos".parse::<IsolationLevel>().is_err());
    }

    #[test]
    fn rewrites_only_bare_begin() {
        let rr = IsolationLevel::RepeatableRead;
        assert_eq!(
            rr.apply_to("BEGIN"),
            "BEGIN ISOLATION LEVEL REPEATABLE READ"
        );
        assert_eq!(
            rr.apply_to("begin;"),
            "begin ISOLATION LEVEL REPEATABLE READ"
        );
        assert_eq!(
            rr.apply_to("START TRANSACTION"),
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        );
        assert_eq!(
            rr.apply_to("BEGIN ISOLATION LEVEL SERIALIZABLE"),
            "BEGIN ISOLATION LEVEL SERIALIZABLE"
        );
        assert_eq!(rr.apply_to("SELECT 1"), "SELECT 1");
    }
}
