//! The transfer workload: move `amount` from one account to another, refuse when the payer would
//! go negative, and write one ledger row per committed transfer. Rows are always written (and,
//! where a strategy locks, locked) in id order, so no strategy deadlocks by construction.

use std::time::Duration;

use rust_decimal::Decimal;

use super::{AttemptSettings, Outcome, locking, think};
use crate::bench::options::Strategy;
use crate::db::postgres::wire::{INT4, INT8, NUMERIC, Sql, Val, Wire, WireError};

const READ: Sql = Sql::new(
    16,
    "txlab_t_read",
    "SELECT id, balance, version FROM accounts WHERE id IN ($1, $2)",
    &[INT4, INT4],
);
const READ_FOR_UPDATE: Sql = Sql::new(
    17,
    "txlab_t_read_lock",
    "SELECT id, balance, version FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE",
    &[INT4, INT4],
);
const WRITE: Sql = Sql::new(
    18,
    "txlab_t_write",
    "UPDATE accounts SET balance = $2 WHERE id = $1",
    &[INT4, NUMERIC],
);
const WRITE_IF_VERSION: Sql = Sql::new(
    19,
    "txlab_t_write_if_version",
    "UPDATE accounts SET balance = $2, version = version + 1 WHERE id = $1 AND version = $3",
    &[INT4, NUMERIC, INT8],
);
const DEBIT_GUARDED: Sql = Sql::new(
    20,
    "txlab_t_debit",
    "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
    &[INT4, NUMERIC],
);
const CREDIT: Sql = Sql::new(
    21,
    "txlab_t_credit",
    "UPDATE accounts SET balance = balance + $2 WHERE id = $1",
    &[INT4, NUMERIC],
);
/// `unnest` yields the keys in array order and each row's lock is taken as it is produced.
const ADVISORY_LOCKS: Sql = Sql::new(
    22,
    "txlab_t_advisory",
    "SELECT pg_advisory_xact_lock($1::int, k) FROM unnest(ARRAY[$2::int, $3::int]) k",
    &[INT4, INT4, INT4],
);
const LEDGER: Sql = Sql::new(
    23,
    "txlab_t_ledger",
    "INSERT INTO ledger (from_id, to_id, amount) VALUES ($1, $2, $3)",
    &[INT4, INT4, NUMERIC],
);

#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    pub from: i32,
    pub to: i32,
    pub amount: Decimal,
}

impl Transfer {
    /// (lower id, higher id): the order rows are locked and written in.
    fn ordered(&self) -> (i32, i32) {
        (self.from.min(self.to), self.from.max(self.to))
    }
}

/// Balances (and versions) of both accounts as read.
struct Pair {
    from: (Decimal, i64),
    to: (Decimal, i64),
}

/// Reads both accounts with `sql` (the plain read or `FOR UPDATE`).
async fn read(c: &mut Wire, sql: &Sql, t: &Transfer) -> Result<Pair, WireError> {
    let (lo, hi) = t.ordered();
    let rows = c.query(sql, &[Val::Int4(lo), Val::Int4(hi)]).await?;
    let mut pair = Pair {
        from: (Decimal::ZERO, 0),
        to: (Decimal::ZERO, 0),
    };
    for row in &rows {
        let id = row.int4(0)?;
        let value = (row.numeric(1)?, row.int8(2)?);
        if id == t.from {
            pair.from = value;
        } else if id == t.to {
            pair.to = value;
        }
    }
    Ok(pair)
}

pub async fn attempt(
    strategy: Strategy,
    t: Transfer,
    c: &mut Wire,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, WireError> {
    let (lo, hi) = t.ordered();
    match strategy {
        Strategy::Pessimistic => {
            c.begin().await?;
            let p = locking(lock_time, read(c, &READ_FOR_UPDATE, &t)).await?;
            think(settings).await;
            if p.from.0 < t.amount {
                c.rollback().await?;
                return Ok(Outcome::Declined);
            }
            write_both(c, &t, &p, &mut Duration::default()).await?;
            ledger(c, &t).await?;
            c.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Optimistic => {
            let p = read(c, &READ, &t).await?;
            think(settings).await;
            if p.from.0 < t.amount {
                return Ok(Outcome::Declined);
            }
            c.begin().await?;
            for id in [lo, hi] {
                let (balance, version) = if id == t.from {
                    (p.from.0 - t.amount, p.from.1)
                } else {
                    (p.to.0 + t.amount, p.to.1)
                };
                let write = [Val::Int4(id), Val::Numeric(balance), Val::Int8(version)];
                let n = locking(lock_time, c.execute(&WRITE_IF_VERSION, &write)).await?;
                if n == 0 {
                    c.rollback().await?;
                    return Ok(Outcome::Conflict);
                }
            }
            ledger(c, &t).await?;
            c.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Atomic => {
            think(settings).await;
            c.begin().await?;
            for id in [lo, hi] {
                let params = [Val::Int4(id), Val::Numeric(t.amount)];
                if id == t.from {
                    let n = locking(lock_time, c.execute(&DEBIT_GUARDED, &params)).await?;
                    if n == 0 {
                        c.rollback().await?;
                        return Ok(Outcome::Declined);
                    }
                } else {
                    locking(lock_time, c.execute(&CREDIT, &params)).await?;
                }
            }
            ledger(c, &t).await?;
            c.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Serializable | Strategy::Naive => {
            c.execute(super::begin_statement(strategy), &[]).await?;
            let p = read(c, &READ, &t).await?;
            think(settings).await;
            if p.from.0 < t.amount {
                c.rollback().await?;
                return Ok(Outcome::Declined);
            }
            // The UPDATEs wait for a concurrent writer's row lock (and at SERIALIZABLE then fail
            // with 40001 if it committed): they are these strategies' locking statements.
            write_both(c, &t, &p, lock_time).await?;
            ledger(c, &t).await?;
            c.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Advisory => {
            c.begin().await?;
            let locks = [
                Val::Int4(settings.advisory_class),
                Val::Int4(lo),
                Val::Int4(hi),
            ];
            locking(lock_time, c.execute(&ADVISORY_LOCKS, &locks)).await?;
            let p = read(c, &READ, &t).await?;
            think(settings).await;
            if p.from.0 < t.amount {
                c.rollback().await?;
                return Ok(Outcome::Declined);
            }
            write_both(c, &t, &p, &mut Duration::default()).await?;
            ledger(c, &t).await?;
            c.commit().await?;
            Ok(Outcome::Committed)
        }
    }
}

/// Writes the application-computed balances, lower id first, adding the time to `lock_time`.
async fn write_both(
    c: &mut Wire,
    t: &Transfer,
    p: &Pair,
    lock_time: &mut Duration,
) -> Result<(), WireError> {
    let (lo, hi) = t.ordered();
    for id in [lo, hi] {
        let balance = if id == t.from {
            p.from.0 - t.amount
        } else {
            p.to.0 + t.amount
        };
        let write = [Val::Int4(id), Val::Numeric(balance)];
        locking(lock_time, c.execute(&WRITE, &write)).await?;
    }
    Ok(())
}

async fn ledger(c: &mut Wire, t: &Transfer) -> Result<(), WireError> {
    let row = [Val::Int4(t.from), Val::Int4(t.to), Val::Numeric(t.amount)];
    c.execute(&LEDGER, &row).await.map(drop)
}
