//! Deciding, from what the run observed, whether the anomaly happened, and if not, what stopped
//! it. The lesson's expectation (PostgreSQL's documented behaviour) is compared with the
//! observation, never substituted for it.

use super::event::Timeline;
use super::lesson::VerdictRule;
pub use super::outcome::{Expectation, How, Outcome};
use crate::db::SqlState;
use serde::{Deserialize, Serialize};

/// The judgement of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
/// `isolation` says whether the lesson is about isolation (topic "anomalies"): only there does a
/// run where nobody waited or failed show snapshots at work; elsewhere it is "no clash".
pub fn decide(
    rule: &VerdictRule,
    timeline: &Timeline,
    check: Option<(Option<bool>, Option<String>)>,
    expected: Option<Expectation>,
    isolation: bool,
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
    let how = (outcome == Outcome::Prevented).then(|| match prevention(timeline) {
        How::Snapshot if !isolation => How::NoClash,
        how => how,
    });
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
        None if timeline.any_waiting() || timeline.pool_waits() > 0 => How::Blocked,
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
