//! The counter workload: every transaction adds one to a single hot row and writes one ledger
//! row. The most contended case there is: every transaction wants the same row.

use std::time::Duration;

use rust_decimal::Decimal;

use super::{AttemptSettings, Outcome, locking, think};
use crate::bench::options::Strategy;
use crate::db::postgres::wire::{INT4, INT8, NUMERIC, Sql, Val, Wire, WireError};

const READ: Sql = Sql::new(
    8,
    "txlab_c_read",
    "SELECT value, version FROM counter WHERE id = 1",
    &[],
);
const READ_FOR_UPDATE: Sql = Sql::new(
    9,
    "txlab_c_read_lock",
    "SELECT value, version FROM counter WHERE id = 1 FOR UPDATE",
    &[],
);
const WRITE: Sql = Sql::new(
    10,
    "txlab_c_write",
    "UPDATE counter SET value = $1 WHERE id = 1",
    &[INT8],
);
const WRITE_IF_VERSION: Sql = Sql::new(
    11,
    "txlab_c_write_if_version",
    "UPDATE counter SET value = $1, version = version + 1 WHERE id = 1 AND version = $2",
    &[INT8, INT8],
);
const INCREMENT: Sql = Sql::new(
    12,
    "txlab_c_increment",
    "UPDATE counter SET value = value + 1 WHERE id = 1",
    &[],
);
const ADVISORY_LOCK: Sql = Sql::new(
    13,
    "txlab_c_advisory",
    "SELECT pg_advisory_xact_lock($1::int, 1)",
    &[INT4],
);
const LEDGER: Sql = Sql::new(
    14,
    "txlab_c_ledger",
    "INSERT INTO ledger (from_id, to_id, amount) VALUES (NULL, 1, $1)",
    &[NUMERIC],
);

/// The counter's (value, version), read by `sql`.
async fn read(c: &mut Wire, sql: &Sql) -> Result<(i64, i64), WireError> {
    let rows = c.query(sql, &[]).await?;
    let row = rows
        .first()
        .ok_or_else(|| WireError::Connection("the counter row is missing".into()))?;
    Ok((row.int8(0)?, row.int8(1)?))
}

pub async fn attempt(
    strategy: Strategy,
    c: &mut Wire,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, WireError> {
    match strategy {
        Strategy::Pessimistic => {
            c.begin().await?;
            let (value, _) = locking(lock_time, read(c, &READ_FOR_UPDATE)).await?;
            think(settings).await;
            c.execute(&WRITE, &[Val::Int8(value + 1)]).await?;
            ledger(c).await?;
            c.commit().await?;
        }
        Strategy::Optimistic => {
            let (value, version) = read(c, &READ).await?;
            think(settings).await;
            c.begin().await?;
            let write = [Val::Int8(value + 1), Val::Int8(version)];
            let n = locking(lock_time, c.execute(&WRITE_IF_VERSION, &write)).await?;
            if n == 0 {
                c.rollback().await?;
                return Ok(Outcome::Conflict);
            }
            ledger(c).await?;
            c.commit().await?;
        }
        Strategy::Atomic => {
            think(settings).await;
            c.begin().await?;
            locking(lock_time, c.execute(&INCREMENT, &[])).await?;
            ledger(c).await?;
            c.commit().await?;
        }
        Strategy::Serializable | Strategy::Naive => {
            c.execute(super::begin_statement(strategy), &[]).await?;
            let (value, _) = read(c, &READ).await?;
            think(settings).await;
            locking(lock_time, c.execute(&WRITE, &[Val::Int8(value + 1)])).await?;
            ledger(c).await?;
            c.commit().await?;
        }
        Strategy::Advisory => {
            c.begin().await?;
            let lock = [Val::Int4(settings.advisory_class)];
            locking(lock_time, c.execute(&ADVISORY_LOCK, &lock)).await?;
            let (value, _) = read(c, &READ).await?;
            think(settings).await;
            c.execute(&WRITE, &[Val::Int8(value + 1)]).await?;
            ledger(c).await?;
            c.commit().await?;
        }
    }
    Ok(Outcome::Committed)
}

async fn ledger(c: &mut Wire) -> Result<(), WireError> {
    c.execute(&LEDGER, &[Val::Numeric(Decimal::ONE)])
        .await
        .map(drop)
}
