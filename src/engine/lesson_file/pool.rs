//! `[pool]` and the pool steps (`acquire`, `on`, `release`, `await_session_end`, `terminate`) of
//! a pool lesson.

use serde::Deserialize;

use super::FileStep;
use crate::db::seam::{PoolSettings, Recycling};
use crate::engine::lesson::{PoolOp, PoolPlan, SessionDef};

/// `[pool]`: the lesson's tasks share a connection pool (docs/pools.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePool {
    size: usize,
    wait_timeout_ms: u64,
    #[serde(default)]
    recycling: Option<String>,
}

/// The pool and each step's pool operation; a step of a pool lesson names exactly one of
/// `acquire`, `release` or `on` (with its SQL).
pub(super) fn pool_plan(
    p: &FilePool,
    steps: &[FileStep],
    sessions: &[SessionDef],
) -> std::result::Result<PoolPlan, String> {
    if p.size == 0 || p.wait_timeout_ms == 0 {
        return Err("[pool] needs size ≥ 1 and wait_timeout_ms ≥ 1".into());
    }
    let recycling = match p.recycling.as_deref().unwrap_or("fast") {
        "fast" => Recycling::Fast,
        "verified" => Recycling::Verified,
        other => {
            return Err(format!(
                "pool.recycling is \"fast\" or \"verified\", not '{other}'"
            ));
        }
    };
    let mut ops = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if let Some(conn) = &s.await_session_end {
            ops.push(PoolOp::AwaitSessionEnd { conn: conn.clone() });
            continue;
        }
        if let Some(conn) = &s.terminate {
            ops.push(PoolOp::Terminate { conn: conn.clone() });
            continue;
        }
        let op = match (&s.acquire, &s.release, &s.on) {
            (Some(conn), None, None) if s.sql.trim().is_empty() => PoolOp::Acquire {
                conn: conn.clone(),
                wait: s.timeout_ms.map(std::time::Duration::from_millis),
            },
            (None, Some(conn), None) if s.sql.trim().is_empty() => {
                PoolOp::Release { conn: conn.clone() }
            }
            (None, None, Some(conn)) if !s.sql.trim().is_empty() => {
                PoolOp::Run { conn: conn.clone() }
            }
            _ => {
                return Err(format!(
                    "step {} (task {}): a pool lesson's step has either `acquire = NAME`, \
                     `release = NAME`, or `on = NAME` with `sql`",
                    i + 1,
                    s.session.get_ref()
                ));
            }
        };
        ops.push(op);
    }
    let _ = sessions;
    Ok(PoolPlan {
        settings: PoolSettings {
            size: p.size,
            wait_timeout: std::time::Duration::from_millis(p.wait_timeout_ms),
            recycling,
        },
        ops,
    })
}
