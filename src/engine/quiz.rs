//! Quiz points: a lesson step may ask the class to predict what is about to happen. Every answer
//! carries a condition on what the run will *observe* (`blocked`, `error 40001`, `value = 100`…),
//! so the right answer is judged from the timeline, never written down in advance: the same quiz
//! is right one way at READ COMMITTED and the other at REPEATABLE READ.
//!
//! Conditions, joined with `and`:
//!
//! | condition | true when the step… |
//! |---|---|
//! | `blocked` / `not blocked` | was (was not) shown waiting for a lock |
//! | `ok` | completed without an error (a COMMIT that really committed) |
//! | `error`, `error 40001` | failed (with that SQLSTATE) |
//! | `committed` / `rolled back` | ended its transaction that way |
//! | `value = 100`, `value <> 100` | read that first value (numbers compare as numbers; `NULL`, `'text'`) |
//! | `balance = 100` | read that value in the named column |
//! | `rows = 0`, `rows <> 0` | returned (or changed) that many rows |

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::event::{Completion, EventKind, StatementResult, Timeline, TxEnd};
use super::sql_text::tx_control;

/// A question asked before a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiz {
    pub ask: String,
    pub answers: Vec<Answer>,
    /// The step whose outcome answers the question (usually the step the quiz is on; another
    /// one for "Alice commits: what happens to Bob's waiting UPDATE?").
    pub about: usize,
    /// Said after the reveal.
    pub explain: Option<String>,
}

/// One choice and when it is right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub when: Condition,
}

/// A conjunction of facts about a step's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    facts: Vec<Fact>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Fact {
    Blocked(bool),
    Succeeded,
    Failed(Option<String>),
    Committed,
    RolledBack,
    /// `column` `None` means the first column.
    Value {
        column: Option<String>,
        equal: bool,
        literal: Option<String>,
    },
    Rows {
        equal: bool,
        count: u64,
    },
}

const CONDITIONS: &str = "blocked, not blocked, ok, error, error SQLSTATE, committed, rolled back, value = X, COLUMN = X, rows = N (join them with 'and')";

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let source = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if source.is_empty() {
            return Err(format!("an empty condition; use one of: {CONDITIONS}"));
        }
        let mut facts = Vec::new();
        let lower = source.to_ascii_lowercase();
        let mut start = 0;
        // Split on the word `and`, keeping the original spelling of each part (quoted values).
        let mut parts = Vec::new();
        for (i, _) in lower.match_indices(" and ") {
            if lower[start..i].matches('\'').count() % 2 == 0 {
                parts.push(&source[start..i]);
                start = i + 5;
            }
        }
        parts.push(&source[start..]);
        for part in parts {
            facts.push(parse_fact(part.trim())?);
        }
        Ok(Condition { facts, source })
    }
}

fn parse_fact(part: &str) -> Result<Fact, String> {
    let lower = part.to_ascii_lowercase();
    let fact = match lower.as_str() {
        "blocked" | "blocks" | "waits" | "waited" => Fact::Blocked(true),
        "not blocked" | "does not block" | "no wait" | "immediate" => Fact::Blocked(false),
        "ok" | "succeeds" | "succeeded" => Fact::Succeeded,
        "error" | "fails" | "failed" => Fact::Failed(None),
        "committed" | "commits" => Fact::Committed,
        "rolled back" | "rolls back" => Fact::RolledBack,
        _ => {
            if let Some(code) = lower
                .strip_prefix("error ")
                .or_else(|| lower.strip_prefix("sqlstate "))
            {
                let code = code.trim().to_ascii_uppercase();
                if code.len() != 5 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(format!(
                        "'{part}': a SQLSTATE has five letters or digits, like 40001"
                    ));
                }
                return Ok(Fact::Failed(Some(code)));
            }
            return parse_comparison(part);
        }
    };
    Ok(fact)
}

fn parse_comparison(part: &str) -> Result<Fact, String> {
    let unknown = || format!("'{part}' is not a condition txlab knows; use one of: {CONDITIONS}");
    let (left, equal, right) = if let Some((l, r)) = part.split_once("<>") {
        (l, false, r)
    } else if let Some((l, r)) = part.split_once("!=") {
        (l, false, r)
    } else if let Some((l, r)) = part.split_once('=') {
        (l, true, r)
    } else {
        return Err(unknown());
    };
    let left = left.trim();
    let right = right.trim();
    if left.is_empty() || right.is_empty() || !left.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(unknown());
    }
    if left.eq_ignore_ascii_case("rows") {
        let count = right
            .parse()
            .map_err(|_| format!("'{part}': rows are compared with a whole number"))?;
        return Ok(Fact::Rows { equal, count });
    }
    let literal = if right.eq_ignore_ascii_case("null") {
        None
    } else if let Some(quoted) = right.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(quoted.replace("''", "'"))
    } else {
        Some(right.to_string())
    };
    let column = (!left.eq_ignore_ascii_case("value")).then(|| left.to_string());
    Ok(Fact::Value {
        column,
        equal,
        literal,
    })
}

/// What a run has observed about one step so far (the events after its last launch).
#[derive(Debug, Clone, Copy, Default)]
pub struct Observation<'a> {
    /// The SQL as sent, once launched.
    pub sql: Option<&'a str>,
    /// The timeline showed the step waiting.
    pub waited: bool,
    pub completion: Option<&'a Completion>,
}

/// Collects what the timeline says about `step`.
pub fn observe(timeline: &Timeline, step: usize) -> Observation<'_> {
    let mut obs = Observation::default();
    for event in timeline.events.iter().filter(|e| e.step == Some(step)) {
        match &event.kind {
            EventKind::Launch { sql } => {
                obs = Observation {
                    sql: Some(sql),
                    ..Observation::default()
                }
            }
            EventKind::Waiting { .. } => obs.waited = true,
            EventKind::Completed(c) => obs.completion = Some(c),
            _ => {}
        }
    }
    obs
}

impl Condition {
    /// `Some(true/false)` once the observation settles it, `None` while it cannot yet (a step
    /// still waiting may still succeed or fail).
    pub fn judge(&self, obs: &Observation) -> Option<bool> {
        let mut unknown = false;
        for fact in &self.facts {
            match judge_fact(fact, obs) {
                Some(false) => return Some(false),
                None => unknown = true,
                Some(true) => {}
            }
        }
        (!unknown).then_some(true)
    }
}

fn judge_fact(fact: &Fact, obs: &Observation) -> Option<bool> {
    if let Fact::Blocked(want) = fact {
        if obs.waited {
            return Some(*want);
        }
        return obs.completion.map(|_| !*want);
    }
    let c = obs.completion?;
    let commit_failed = c.tx_end == Some(TxEnd::CommitBecameRollback);
    Some(match fact {
        Fact::Blocked(_) => unreachable!("handled above"),
        Fact::Succeeded => c.error.is_none() && !commit_failed,
        Fact::Failed(None) => c.error.is_some(),
        Fact::Failed(Some(code)) => c.error.as_ref().is_some_and(|e| &e.sqlstate == code),
        Fact::Committed => c.tx_end == Some(TxEnd::Commit),
        Fact::RolledBack => {
            matches!(
                c.tx_end,
                Some(TxEnd::Rollback) | Some(TxEnd::CommitBecameRollback)
            ) || (c.error.is_some() && obs.sql.and_then(tx_control) == Some(TxEnd::Commit))
        }
        Fact::Rows { equal, count } => {
            let n = c.results.last().map(|r| match r {
                StatementResult::Rows { rows, .. } => rows.len() as u64,
                StatementResult::Command { rows_affected } => *rows_affected,
            });
            n.is_some_and(|n| (n == *count) == *equal)
        }
        Fact::Value {
            column,
            equal,
            literal,
        } => match read_value(c, column.as_deref()) {
            Some(value) => same_value(value, literal.as_deref()) == *equal,
            None => false,
        },
    })
}

/// The value the step read: `Some(None)` for SQL NULL, `None` when it read no such value.
fn read_value<'c>(c: &'c Completion, column: Option<&str>) -> Option<Option<&'c str>> {
    let (columns, rows) = c.results.iter().rev().find_map(|r| match r {
        StatementResult::Rows { columns, rows } => Some((columns, rows)),
        StatementResult::Command { .. } => None,
    })?;
    let index = match column {
        None => 0,
        Some(name) => columns.iter().position(|c| c.eq_ignore_ascii_case(name))?,
    };
    Some(rows.first()?.get(index)?.as_deref())
}

fn same_value(read: Option<&str>, literal: Option<&str>) -> bool {
    match (read, literal) {
        (None, None) => true,
        (Some(a), Some(b)) => match (Decimal::from_str(a.trim()), Decimal::from_str(b.trim())) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        },
        _ => false,
    }
}

impl Quiz {
    /// Once every answer can be judged: the indices of the answers that came true (possibly none,
    /// possibly several). `None` while the outcome is still open.
    pub fn reveal(&self, timeline: &Timeline) -> Option<Vec<usize>> {
        let obs = observe(timeline, self.about);
        obs.sql?;
        // A completed step settles every condition; before that a wait may settle some.
        let verdicts: Vec<bool> = self
            .answers
            .iter()
            .map(|a| a.when.judge(&obs))
            .collect::<Option<_>>()?;
        Some(
            verdicts
                .iter()
                .enumerate()
                .filter_map(|(i, &right)| right.then_some(i))
                .collect(),
        )
    }
}

/// The `quiz` table of a lesson file's `[[step]]` (docs/classroom.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuizSpec {
    ask: String,
    answers: Vec<AnswerSpec>,
    about: Option<Spanned<String>>,
    explain: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerSpec {
    text: String,
    when: Spanned<String>,
}

/// Most answers a quiz may offer: the class answers with one key, 1 to 9.
pub const MAX_ANSWERS: usize = 9;

impl QuizSpec {
    /// Compiles the quiz on step `own`; `about` names another step among `step_names`. Errors
    /// carry the span of what is wrong, when there is one.
    pub(crate) fn compile(
        &self,
        own: usize,
        step_names: &[&str],
    ) -> Result<Quiz, (Option<Range<usize>>, String)> {
        if self.ask.trim().is_empty() {
            return Err((None, "a quiz needs a question in `ask`".into()));
        }
        if !(2..=MAX_ANSWERS).contains(&self.answers.len()) {
            return Err((
                None,
                format!(
                    "a quiz needs 2 to {MAX_ANSWERS} answers, this one has {}",
                    self.answers.len()
                ),
            ));
        }
        let mut answers = Vec::new();
        for a in &self.answers {
            let when = a
                .when
                .get_ref()
                .parse()
                .map_err(|m| (Some(a.when.span()), m))?;
            answers.push(Answer {
                text: a.text.trim().to_string(),
                when,
            });
        }
        let about = match &self.about {
            None => own,
            Some(name) => step_names
                .iter()
                .position(|n| n == name.get_ref())
                .ok_or_else(|| {
                    (
                        Some(name.span()),
                        format!("quiz `about` names no step '{}'", name.get_ref()),
                    )
                })?,
        };
        Ok(Quiz {
            ask: self.ask.trim().to_string(),
            answers,
            about,
            explain: self.explain.as_ref().map(|e| e.trim().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::event::{ErrorInfo, Event};

    fn cond(s: &str) -> Condition {
        s.parse().unwrap()
    }

    fn completion(
        results: Vec<StatementResult>,
        error: Option<&str>,
        tx_end: Option<TxEnd>,
    ) -> Completion {
        Completion {
            results,
            error: error.map(|code| ErrorInfo {
                sqlstate: code.into(),
                severity: "ERROR".into(),
                message: "m".into(),
                detail: None,
            }),
            tx_end,
            waited: None,
            conflict: None,
        }
    }

    fn value_row(column: &str, value: Option<&str>) -> StatementResult {
        StatementResult::Rows {
            columns: vec![column.into()],
            rows: vec![vec![value.map(str::to_string)]],
        }
    }

    fn event(step: usize, kind: EventKind) -> Event {
        Event {
            t: Duration::ZERO,
            session: Some(1),
            pid: 2,
            step: Some(step),
            kind,
        }
    }

    fn launch(step: usize, sql: &str) -> Event {
        event(step, EventKind::Launch { sql: sql.into() })
    }

    fn waiting(step: usize) -> Event {
        event(
            step,
            EventKind::Waiting {
                blockers: vec![1],
                forced: false,
            },
        )
    }

    fn done(step: usize, c: Completion) -> Event {
        event(step, EventKind::Completed(c))
    }

    fn quiz(answers: &[(&str, &str)]) -> Quiz {
        Quiz {
            ask: "?".into(),
            answers: answers
                .iter()
                .map(|(text, when)| Answer {
                    text: text.to_string(),
                    when: cond(when),
                })
                .collect(),
            about: 0,
            explain: None,
        }
    }

    #[test]
    fn parses_every_condition_and_rejects_typos() {
        for ok in [
            "blocked",
            "not blocked",
            "ok",
            "error",
            "error 40001",
            "sqlstate 40P01",
            "committed",
            "rolled back",
            "value = 100",
            "value <> 100.00",
            "balance != 1",
            "owner = 'joint and several'",
            "value = NULL",
            "rows = 0",
            "blocked and error 40001",
        ] {
            assert!(ok.parse::<Condition>().is_ok(), "{ok}");
        }
        for bad in [
            "blokced",
            "error 4001",
            "rows = many",
            "",
            "value < 3",
            "a b = 1",
        ] {
            let e = bad.parse::<Condition>().unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert_eq!(
            cond("owner = 'joint and several'").facts.len(),
            1,
            "'and' inside quotes is part of the value"
        );
    }

    #[test]
    fn blocked_is_known_as_soon_as_the_step_waits_success_only_when_it_completes() {
        let mut t = Timeline::default();
        t.events.push(launch(0, "UPDATE t SET x = 1"));
        t.events.push(waiting(0));
        let obs = observe(&t, 0);
        assert_eq!(cond("blocked").judge(&obs), Some(true));
        assert_eq!(cond("not blocked").judge(&obs), Some(false));
        assert_eq!(cond("ok").judge(&obs), None);
        assert_eq!(cond("blocked and ok").judge(&obs), None);
        assert_eq!(cond("not blocked and ok").judge(&obs), Some(false));

        t.events
            .push(done(0, completion(vec![], Some("40001"), None)));
        let obs = observe(&t, 0);
        assert_eq!(cond("blocked and error 40001").judge(&obs), Some(true));
        assert_eq!(cond("ok").judge(&obs), Some(false));
        assert_eq!(cond("error 40P01").judge(&obs), Some(false));
    }

    #[test]
    fn values_compare_as_numbers_when_both_are_numbers() {
        let mut t = Timeline::default();
        t.events.push(launch(0, "SELECT balance FROM account"));
        t.events.push(done(
            0,
            completion(vec![value_row("balance", Some("100.00"))], None, None),
        ));
        let obs = observe(&t, 0);
        assert_eq!(cond("value = 100").judge(&obs), Some(true));
        assert_eq!(cond("balance = 100.0").judge(&obs), Some(true));
        assert_eq!(cond("value <> 110").judge(&obs), Some(true));
        assert_eq!(cond("value = NULL").judge(&obs), Some(false));
        assert_eq!(cond("nosuchcolumn = 100").judge(&obs), Some(false));
        assert_eq!(cond("rows = 1").judge(&obs), Some(true));
        assert_eq!(cond("not blocked").judge(&obs), Some(true));
    }

    #[test]
    fn a_failed_commit_is_rolled_back_not_committed() {
        let mut t = Timeline::default();
        t.events.push(launch(0, "COMMIT"));
        t.events.push(done(
            0,
            completion(vec![], None, Some(TxEnd::CommitBecameRollback)),
        ));
        let obs = observe(&t, 0);
        assert_eq!(cond("committed").judge(&obs), Some(false));
        assert_eq!(cond("rolled back").judge(&obs), Some(true));
        assert_eq!(cond("ok").judge(&obs), Some(false));

        let mut t = Timeline::default();
        t.events.push(launch(0, "COMMIT"));
        t.events
            .push(done(0, completion(vec![], Some("40001"), None)));
        assert_eq!(cond("rolled back").judge(&observe(&t, 0)), Some(true));
    }

    #[test]
    fn reveal_waits_until_every_answer_is_settled() {
        let q = quiz(&[
            ("it waits", "blocked"),
            ("it overwrites", "ok"),
            ("it fails", "error 40001"),
        ]);
        let mut t = Timeline::default();
        assert_eq!(q.reveal(&t), None, "not launched yet");
        t.events.push(launch(0, "UPDATE"));
        t.events.push(waiting(0));
        assert_eq!(q.reveal(&t), None, "waiting: 'ok' is still open");
        t.events.push(done(0, completion(vec![], None, None)));
        assert_eq!(q.reveal(&t), Some(vec![0, 1]));

        let two = quiz(&[("it waits", "blocked"), ("it goes through", "not blocked")]);
        let mut t = Timeline::default();
        t.events.push(launch(0, "UPDATE"));
        t.events.push(waiting(0));
        assert_eq!(two.reveal(&t), Some(vec![0]), "settled by the wait alone");
    }

    #[test]
    fn only_the_last_launch_of_a_step_counts() {
        let mut t = Timeline::default();
        t.events.push(launch(0, "SELECT 1"));
        t.events.push(waiting(0));
        t.events.push(done(0, completion(vec![], None, None)));
        t.events.push(launch(0, "SELECT 1"));
        t.events.push(done(0, completion(vec![], None, None)));
        assert_eq!(cond("blocked").judge(&observe(&t, 0)), Some(false));
    }
}
