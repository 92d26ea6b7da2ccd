//! The transfer workload: move `amount` from one account to another, refuse when the payer would
//! go negative, and write one ledger row per committed transfer. Rows are always written (and,
//! where a strategy locks, locked) in id order, so no strategy deadlocks by construction.

use std::time::Duration;

use deadpool_postgres::Object;
use rust_decimal::Decimal;

use super::{AttemptSettings, Outcome, locking, think};
use crate::bench::options::Strategy;

const READ: &str = "SELECT id, balance, version FROM accounts WHERE id IN ($1, $2)";
const READ_FOR_UPDATE: &str =
    "SELECT id, balance, version FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE";
const WRITE: &str = "UPDATE accounts SET balance = $2 WHERE id = $1";
const WRITE_IF_VERSION: &str =
    "UPDATE accounts SET balance = $2, version = version + 1 WHERE id = $1 AND version = $3";
const DEBIT_GUARDED: &str =
    "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2";
const CREDIT: &str = "UPDATE accounts SET balance = balance + $2 WHERE id = $1";
/// `unnest` yields the keys in array order and each row's lock is taken as it is produced.
const ADVISORY_LOCKS: &str =
    "SELECT pg_advisory_xact_lock($1::int, k) FROM unnest(ARRAY[$2::int, $3::int]) k";
const LEDGER: &str = "INSERT INTO ledger (from_id, to_id, amount) VALUES ($1, $2, $3)";

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

fn pair(t: &Transfer, rows: &[tokio_postgres::Row]) -> Pair {
    let mut from = (Decimal::ZERO, 0);
    let mut to = (Decimal::ZERO, 0);
    for row in rows {
        let id: i32 = row.get(0);
        let value = (row.get::<_, Decimal>(1), row.get::<_, i64>(2));
        if id == t.from {
            from = value;
        } else if id == t.to {
            to = value;
        }
    }
    Pair { from, to }
}

pub async fn attempt(
    strategy: Strategy,
    t: Transfer,
    client: &mut Object,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, tokio_postgres::Error> {
    let (lo, hi) = t.ordered();
    match strategy {
        Strategy::Pessimistic => {
            let read = client.prepare_cached(READ_FOR_UPDATE).await?;
            let tx = client.transaction().await?;
            let rows = locking(lock_time, tx.query(&read, &[&lo, &hi])).await?;
            let p = pair(&t, &rows);
            think(settings).await;
            if p.from.0 < t.amount {
                tx.rollback().await?;
                return Ok(Outcome::Declined);
            }
            let write = tx.prepare_cached(WRITE).await?;
            write_both(&tx, &write, &t, &p).await?;
            ledger(&tx, &t).await?;
            tx.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Optimistic => {
            let read = client.prepare_cached(READ).await?;
            let rows = client.query(&read, &[&lo, &hi]).await?;
            let p = pair(&t, &rows);
            think(settings).await;
            if p.from.0 < t.amount {
                return Ok(Outcome::Declined);
            }
            let write = client.prepare_cached(WRITE_IF_VERSION).await?;
            let tx = client.transaction().await?;
            for id in [lo, hi] {
                let (balance, version) = if id == t.from {
                    (p.from.0 - t.amount, p.from.1)
                } else {
                    (p.to.0 + t.amount, p.to.1)
                };
                let n = locking(lock_time, tx.execute(&write, &[&id, &balance, &version])).await?;
                if n == 0 {
                    tx.rollback().await?;
                    return Ok(Outcome::Conflict);
                }
            }
            ledger(&tx, &t).await?;
            tx.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Atomic => {
            let debit = client.prepare_cached(DEBIT_GUARDED).await?;
            let credit = client.prepare_cached(CREDIT).await?;
            think(settings).await;
            let tx = client.transaction().await?;
            for id in [lo, hi] {
                if id == t.from {
                    let n = locking(lock_time, tx.execute(&debit, &[&id, &t.amount])).await?;
                    if n == 0 {
                        tx.rollback().await?;
                        return Ok(Outcome::Declined);
                    }
                } else {
                    locking(lock_time, tx.execute(&credit, &[&id, &t.amount])).await?;
                }
            }
            ledger(&tx, &t).await?;
            tx.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Serializable | Strategy::Naive => {
            let read = client.prepare_cached(READ).await?;
            let write = client.prepare_cached(WRITE).await?;
            let tx = client
                .build_transaction()
                .isolation_level(super::isolation_level(strategy))
                .start()
                .await?;
            let rows = tx.query(&read, &[&lo, &hi]).await?;
            let p = pair(&t, &rows);
            think(settings).await;
            if p.from.0 < t.amount {
                tx.rollback().await?;
                return Ok(Outcome::Declined);
            }
            // The UPDATEs wait for a concurrent writer's row lock (and at SERIALIZABLE then fail
            // with 40001 if it committed): they are these strategies' locking statements.
            write_both_timed(&tx, &write, &t, &p, lock_time).await?;
            ledger(&tx, &t).await?;
            tx.commit().await?;
            Ok(Outcome::Committed)
        }
        Strategy::Advisory => {
            let locks = client.prepare_cached(ADVISORY_LOCKS).await?;
            let read = client.prepare_cached(READ).await?;
            let write = client.prepare_cached(WRITE).await?;
            let tx = client.transaction().await?;
            locking(
                lock_time,
                tx.execute(&locks, &[&settings.advisory_class, &lo, &hi]),
            )
            .await?;
            let rows = tx.query(&read, &[&lo, &hi]).await?;
            let p = pair(&t, &rows);
            think(settings).await;
            if p.from.0 < t.amount {
                tx.rollback().await?;
                return Ok(Outcome::Declined);
            }
            write_both(&tx, &write, &t, &p).await?;
            ledger(&tx, &t).await?;
            tx.commit().await?;
            Ok(Outcome::Committed)
        }
    }
}

/// Writes the application-computed balances, lower id first.
async fn write_both(
    tx: &deadpool_postgres::Transaction<'_>,
    write: &tokio_postgres::Statement,
    t: &Transfer,
    p: &Pair,
) -> Result<(), tokio_postgres::Error> {
    let mut unused = Duration::ZERO;
    write_both_timed(tx, write, t, p, &mut unused).await
}

async fn write_both_timed(
    tx: &deadpool_postgres::Transaction<'_>,
    write: &tokio_postgres::Statement,
    t: &Transfer,
    p: &Pair,
    lock_time: &mut Duration,
) -> Result<(), tokio_postgres::Error> {
    let (lo, hi) = t.ordered();
    for id in [lo, hi] {
        let balance = if id == t.from {
            p.from.0 - t.amount
        } else {
            p.to.0 + t.amount
        };
        locking(lock_time, tx.execute(write, &[&id, &balance])).await?;
    }
    Ok(())
}

async fn ledger(
    tx: &deadpool_postgres::Transaction<'_>,
    t: &Transfer,
) -> Result<(), tokio_postgres::Error> {
    let insert = tx.prepare_cached(LEDGER).await?;
    tx.execute(&insert, &[&t.from, &t.to, &t.amount]).await?;
    Ok(())
}
