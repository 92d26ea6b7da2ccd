//! Deciding, from what the run observed, whether the anomaly happened, and if not, what stopped
//! it. The lesson's expectation (PostgreSQL's documented behaviour) is compared with the
//! observation, never substituted for it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::event::Timeline;
use super::lesson::VerdictRule;
use crate::db::SqlState;

/// Did the anomaly happen in this run?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            How::Blocked => f.write_str("blocked"),
            How::Aborted(code) => write!(f, "aborted-{code}"),
            How::Snapshot => f.write_str("snapshot"),
            How::Conflict => f.write_str("conflict"),
        }
    }
}

impl Serialize for How {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for How {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "blocked" => Ok(How::Blocked),
            "snapshot" => Ok(How::Snapshot),
            "conflict" => Ok(How::Conflict),
            other => match other.strip_prefix("aborted-") {
                Some(code) if code.len() == 5 => Ok(How::Aborted(code.to_ascii_uppercase())),
                _ => Err(format!(
                    "'{other}' is not blocked, snapshot, conflict or aborted-<SQLSTATE>"
                )),
            },
        }
    }
}

/// What PostgreSQL's documentation says should happen at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The judgement of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub how: Option<How>,
    /// Evidence in words ("final balance 120, a serial order gives 130").
    pub detail: String,
    pub expected: Option<Expectation>,
}

impl Verdict {
    /// Whether the observation agrees with the documented expectation (true when there is none).
    pub fn matches_expectation(&self) -> bool {
        match &self.expected {
            None => true,
            Some(e) => e.outcome == self.outcome && (e.how.is_none() || e.how == self.how),
        }
    }
}

/// Judges a run. `check` is the row the rule's check query returned (occurred, detail), if any.
pub fn decide(
    rule: &VerdictRule,
    timeline: &Timeline,
    check: Option<(Option<bool>, Option<String>)>,
    expected: Option<Expectation>,
) -> Verdict {
    let mut detail = check
        .as_ref()
        .and_then(|(_, d)| d.clone())
        .unwrap_or_default();
    let by_check = check.as_ref().and_then(|(o, _)| *o).unwrap_or(false);
    let by_error = rule.sqlstate.as_deref().is_some_and(|code| {
        let hit = timeline.errors().find(|e| e.sqlstate == code);
        if let Some(e) = hit
            && detail.is_empty()
        {
            detail = e.message.clone();
        }
        hit.is_some()
    });
    let outcome = if by_check || by_error {
        Outcome::Occurred
    } else {
        Outcome::Prevented
    };
    let how = (outcome == Outcome::Prevented).then(|| prevention(timeline));
    Verdict {
        outcome,
        how,
        detail,
        expected,
    }
}

/// What stopped the anomaly: an abort beats a wait, a wait beats plain snapshots. Errors that only
/// follow from an earlier failure (25P02) say nothing new and are skipped.
fn prevention(timeline: &Timeline) -> How {
    let abort = timeline
        .errors()
        .find(|e| SqlState::from_code(&e.sqlstate) != Some(SqlState::InFailedTransaction));
    match abort {
        Some(e) => How::Aborted(e.sqlstate.clone()),
        None if timeline.conflicts() > 0 => How::Conflict,
        None if timeline.any_waiting() => How::Blocked,
        None => How::Snapshot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expectations() {
        let e: Expectation = "prevented (aborted-40001)".parse().unwrap();
        assert_eq!(
            e,
            Expectation {
                outcome: Outcome::Prevented,
                how: Some(How::Aborted("40001".into()))
            }
        );
        assert_eq!("occurred".parse::<Expectation>().unwrap().how, None);
        assert!("occurred (blocked)".parse::<Expectation>().is_err());
        assert!("maybe".parse::<Expectation>().is_err());
        assert!("prevented (luck)".parse::<Expectation>().is_err());
    }

    #[test]
    fn prevention_prefers_abort_over_wait_over_snapshot() {
        use crate::engine::event::{Completion, ErrorInfo, Event, EventKind};
        use std::time::Duration;
        let mut t = Timeline::default();
        assert_eq!(prevention(&t), How::Snapshot);
        t.events.push(Event {
            t: Duration::ZERO,
            session: Some(1),
            pid: 2,
            step: Some(3),
            kind: EventKind::Waiting {
                blockers: vec![1],
                forced: false,
            },
        });
        assert_eq!(prevention(&t), How::Blocked);
        let err = |code: &str| ErrorInfo {
            sqlstate: code.into(),
            severity: "ERROR".into(),
            message: "m".into(),
            detail: None,
        };
        let done = |e| {
            EventKind::Completed(Completion {
                results: vec![],
                error: Some(e),
                tx_end: None,
                waited: None,
                conflict: None,
            })
        };
        t.events.push(Event {
            t: Duration::ZERO,
            session: Some(1),
            pid: 2,
            step: Some(4),
            kind: done(err("25P02")),
        });
        assert_eq!(prevention(&t), How::Blocked);
        t.events.push(Event {
            t: Duration::ZERO,
            session: Some(1),
            pid: 2,
            step: Some(5),
            kind: done(err("40001")),
        });
        assert_eq!(prevention(&t), How::Aborted("40001".into()));
    }

    #[test]
    fn verdict_matches_only_when_outcome_and_given_how_agree() {
        let v = Verdict {
            outcome: Outcome::Prevented,
            how: Some(How::Blocked),
            detail: String::new(),
            expected: Some("prevented".parse().unwrap()),
        };
        assert!(v.matches_expectation());
        let v = Verdict {
            expected: Some("prevented (aborted-40001)".parse().unwrap()),
            ..v
        };
        assert!(!v.matches_expectation());
    }
}
