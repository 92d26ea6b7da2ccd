//! What a server answered to one step, engine-neutral: every database implementation behind the
//! `db` seam turns its driver's replies into these.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The server's error, as it sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub sqlstate: String,
    pub severity: String,
    pub message: String,
    pub detail: Option<String>,
}

/// One result of a step: a result set, or a command's completion with its row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementResult {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    Command {
        rows_affected: u64,
    },
}

/// What the server answered to one step.
#[derive(Debug, Clone)]
pub struct StepAnswer {
    /// When the answer (or the error) arrived.
    pub at: Instant,
    pub results: Vec<StatementResult>,
    pub error: Option<ErrorInfo>,
}
