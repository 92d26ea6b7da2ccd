//! `retry = { on, attempts, backoff_ms, jitter }` on a session: the file's form and its checks.

use serde::Deserialize;

use crate::engine::lesson::{RetryOn, RetryPolicy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRetry {
    /// SQLSTATEs and/or "conflict".
    on: Vec<String>,
    #[serde(default = "default_attempts")]
    attempts: u32,
    #[serde(default = "default_backoff_ms")]
    backoff_ms: f64,
    #[serde(default = "default_true")]
    jitter: bool,
}

fn default_attempts() -> u32 {
    5
}

fn default_backoff_ms() -> f64 {
    2.0
}

fn default_true() -> bool {
    true
}

pub(super) fn retry_policy(r: &FileRetry) -> std::result::Result<RetryPolicy, String> {
    let mut on = Vec::new();
    for item in &r.on {
        let item = item.trim();
        if item.eq_ignore_ascii_case("conflict") {
            on.push(RetryOn::Conflict);
        } else if item.len() == 5 && item.chars().all(|c| c.is_ascii_alphanumeric()) {
            on.push(RetryOn::SqlState(item.to_ascii_uppercase()));
        } else {
            return Err(format!(
                "retry.on takes SQLSTATE codes (\"40001\") or \"conflict\", not '{item}'"
            ));
        }
    }
    if on.is_empty() || r.attempts < 2 {
        return Err("a retry needs something to retry on and attempts of at least 2".into());
    }
    if !(0.0..=10_000.0).contains(&r.backoff_ms) {
        return Err("retry.backoff_ms must be between 0 and 10000".into());
    }
    Ok(RetryPolicy {
        on,
        max_attempts: r.attempts,
        base_backoff: std::time::Duration::from_secs_f64(r.backoff_ms / 1000.0),
        jitter: r.jitter,
    })
}
