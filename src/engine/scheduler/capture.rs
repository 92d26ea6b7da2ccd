//! Variable capture: values a step's result hands to later steps (`capture`, `capture_rows`),
//! read back through `{{name}}` substitution ([`crate::engine::sql_text::substitute`]).

use std::collections::BTreeMap;

use crate::engine::lesson::StepDef;
use crate::model::{StatementResult, StepAnswer};

/// Stores what `step` captures from `answer` into `vars`.
pub fn capture(step: &StepDef, answer: &StepAnswer, vars: &mut BTreeMap<String, Option<String>>) {
    for (i, name) in step.capture.iter().enumerate() {
        let value = first_row(answer).and_then(|row| row.get(i).cloned().flatten());
        vars.insert(name.clone(), value);
    }
    if let Some(name) = &step.capture_rows {
        let count = answer.results.iter().rev().find_map(|r| match r {
            StatementResult::Rows { rows, .. } => Some(rows.len().to_string()),
            _ => None,
        });
        vars.insert(name.clone(), count);
    }
}

fn first_row(answer: &StepAnswer) -> Option<&Vec<Option<String>>> {
    answer.results.iter().rev().find_map(|r| match r {
        StatementResult::Rows { rows, .. } => rows.first(),
        _ => None,
    })
}

/// Rows a step touched: the last command's count, or the rows of the last result set (RETURNING).
pub fn touched_rows(results: &[StatementResult]) -> u64 {
    match results.last() {
        Some(StatementResult::Command { rows_affected }) => *rows_affected,
        Some(StatementResult::Rows { rows, .. }) => rows.len() as u64,
        None => 0,
    }
}
