//! The words a verdict is made of: whether an anomaly occurred, how it was prevented, and what
//! PostgreSQL's documentation expects at a level. Shared by lessons (which state expectations)
//! and verdicts (which judge runs), so neither imports the other's module back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Did the anomaly happen in this run?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Occurred,
    Prevented,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Occurred => "occurred",
            Outcome::Prevented => "prevented",
        })
    }
}

/// What prevented an anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum How {
    /// A session waited for another's lock, then saw its committed result.
    Blocked,
    /// A session was aborted with this SQLSTATE (40001, 40P01, 23505…).
    Aborted(String),
    /// Snapshots hid the other transaction's changes; nobody waited or failed.
    Snapshot,
    /// Optimistic locking noticed the row had changed (a versioned UPDATE touched no row).
    Conflict,
    /// Nobody waited, failed or conflicted, in a lesson that is not about isolation (a locking or
    /// pool demo): the fix kept the sessions out of each other's way (SKIP LOCKED, a sequence, a
    /// pre-ping). Saying "snapshot" there would name a cause the run did not show.
    NoClash,
}

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            How::Blocked => f.write_str("blocked"),
            How::Aborted(code) => write!(f, "aborted-{code}"),
            How::Snapshot => f.write_str("snapshot"),
            How::Conflict => f.write_str("conflict"),
            How::NoClash => f.write_str("no clash"),
        }
    }
}

impl Serialize for How {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for How {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for How {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "blocked" => Ok(How::Blocked),
            "snapshot" => Ok(How::Snapshot),
            "conflict" => Ok(How::Conflict),
            "no clash" => Ok(How::NoClash),
            other => match other.strip_prefix("aborted-") {
                Some(code) if code.len() == 5 => Ok(How::Aborted(code.to_ascii_uppercase())),
                _ => Err(format!(
                    "'{other}' is not blocked, snapshot, conflict, no clash or aborted-<SQLSTATE>"
                )),
            },
        }
    }
}

/// What PostgreSQL's documentation says should happen at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    pub outcome: Outcome,
    /// When given, prevention must happen this way too.
    pub how: Option<How>,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.how {
            Some(how) => write!(f, "{} ({how})", self.outcome),
            None => write!(f, "{}", self.outcome),
        }
    }
}

impl FromStr for Expectation {
    type Err = String;

    /// `occurred`, `prevented` or `prevented (aborted-40001)`, as lesson files write them.
    ///
    /// ```
    /// use txlab::engine::verdict::{Expectation, How, Outcome};
    ///
    /// let e: Expectation = "prevented (aborted-40001)".parse().unwrap();
    /// assert_eq!(e.outcome, Outcome::Prevented);
    /// assert_eq!(e.how, Some(How::Aborted("40001".into())));
    /// assert!("occurred (blocked)".parse::<Expectation>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (word, how) = match s.split_once('(') {
            Some((word, rest)) => (
                word.trim(),
                Some(rest.trim_end_matches(')').parse::<How>()?),
            ),
            None => (s, None),
        };
        let outcome = match word {
            "occurred" => Outcome::Occurred,
            "prevented" => Outcome::Prevented,
            other => return Err(format!("'{other}' is neither 'occurred' nor 'prevented'")),
        };
        if outcome == Outcome::Occurred && how.is_some() {
            return Err(
                "an anomaly that occurred was not prevented by anything; write just 'occurred'"
                    .into(),
            );
        }
        Ok(Expectation { outcome, how })
    }
}
