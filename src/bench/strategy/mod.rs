//! One attempt at one transaction, per strategy and workload. An attempt either commits, is
//! declined by the business rule (not enough money: rolled back, not retried), finds a version
//! conflict (optimistic: rolled back, retried by the client loop), or fails with a server error
//! (the client loop decides from the SQLSTATE whether to retry).
//!
//! Every attempt adds the time it spent in its *locking statement* to `lock_time`: the statement
//! that can wait for another transaction's lock (`FOR UPDATE`, `pg_advisory_xact_lock`, the
//! guarded or version-checked `UPDATE`s). That is a client-side upper bound on lock waiting; the
//! server-side view comes from [`super::sampler`].

mod counter;
mod transfer;

use std::future::Future;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::options::Strategy;
use crate::db::postgres::wire::{self, Sql, Wire, WireError};

/// How a strategy's read-modify-write transaction starts: SERIALIZABLE is the strategy itself;
/// the naive one shows what READ COMMITTED (the default) does without protection.
fn begin_statement(strategy: Strategy) -> &'static Sql {
    if strategy == Strategy::Serializable {
        &wire::BEGIN_SERIALIZABLE
    } else {
        &wire::BEGIN
    }
}

/// What one transaction does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Move `amount` from one account to another (`from != to`).
    Transfer { from: i32, to: i32, amount: Decimal },
    /// Add one to the hot counter.
    Increment,
}

/// How an attempt ended without a server error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Committed,
    /// Not enough money: the transaction was rolled back and is not retried.
    Declined,
    /// Optimistic only: the row's version moved since it was read; rolled back, retry.
    Conflict,
}

/// Per-attempt settings shared by all strategies.
#[derive(Debug, Clone, Copy)]
pub struct AttemptSettings {
    /// Application work between the read and the write.
    pub think: Duration,
    /// First key of `pg_advisory_xact_lock(int, int)`: unique per run, so concurrent runs on the
    /// same database do not wait for each other's account locks.
    pub advisory_class: i32,
}

/// Runs one attempt of `op` under `strategy` on `client`. An attempt that fails inside its
/// transaction rolls it back before returning, so its locks are gone before any backoff.
pub async fn attempt(
    strategy: Strategy,
    op: Op,
    client: &mut Wire,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, WireError> {
    let result = run(strategy, op, client, settings, lock_time).await;
    if result.is_err() && client.in_transaction() {
        client.rollback().await?;
    }
    result
}

async fn run(
    strategy: Strategy,
    op: Op,
    client: &mut Wire,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, WireError> {
    match op {
        Op::Transfer { from, to, amount } => {
            transfer::attempt(
                strategy,
                transfer::Transfer { from, to, amount },
                client,
                settings,
                lock_time,
            )
            .await
        }
        Op::Increment => counter::attempt(strategy, client, settings, lock_time).await,
    }
}

/// Awaits a locking statement, adding its wall time to `lock_time`.
async fn locking<T>(
    lock_time: &mut Duration,
    statement: impl Future<Output = Result<T, WireError>>,
) -> Result<T, WireError> {
    let started = Instant::now();
    let result = statement.await;
    *lock_time += started.elapsed();
    result
}

async fn think(settings: AttemptSettings) {
    if !settings.think.is_zero() {
        wire::timer::sleep(settings.think).await;
    }
}
