//! The counter workload: every transaction adds one to a single hot row and writes one ledger
//! row. The most contended case there is: every transaction wants the same row.

use std::time::Duration;

use deadpool_postgres::Object;
use rust_decimal::Decimal;

use super::{AttemptSettings, Outcome, locking, think};
use crate::bench::options::Strategy;

const READ: &str = "SELECT value, version FROM counter WHERE id = 1";
const READ_FOR_UPDATE: &str = "SELECT value, version FROM counter WHERE id = 1 FOR UPDATE";
const WRITE: &str = "UPDATE counter SET value = $1 WHERE id = 1";
const WRITE_IF_VERSION: &str =
    "UPDATE counter SET value = $1, version = version + 1 WHERE id = 1 AND version = $2";
const INCREMENT: &str = "UPDATE counter SET value = value + 1 WHERE id = 1";
const ADVISORY_LOCK: &str = "SELECT pg_advisory_xact_lock($1::int, 1)";
const LEDGER: &str = "INSERT INTO ledger (from_id, to_id, amount) VALUES (NULL, 1, $1)";

pub async fn attempt(
    strategy: Strategy,
    client: &mut Object,
    settings: AttemptSettings,
    lock_time: &mut Duration,
) -> Result<Outcome, tokio_postgres::Error> {
    match strategy {
        Strategy::Pessimistic => {
            let read = client.prepare_cached(READ_FOR_UPDATE).await?;
            let write = client.prepare_cached(WRITE).await?;
            let tx = client.transaction().await?;
            let row = locking(lock_time, tx.query_one(&read, &[])).await?;
            let value: i64 = row.get(0);
            think(settings).await;
            tx.execute(&write, &[&(value + 1)]).await?;
            ledger(&tx).await?;
            tx.commit().await?;
        }
        Strategy::Optimistic => {
            let read = client.prepare_cached(READ).await?;
            let write = client.prepare_cached(WRITE_IF_VERSION).await?;
            let row = client.query_one(&read, &[]).await?;
            let (value, version): (i64, i64) = (row.get(0), row.get(1));
            think(settings).await;
            let tx = client.transaction().await?;
            let n = locking(lock_time, tx.execute(&write, &[&(value + 1), &version])).await?;
            if n == 0 {
                tx.rollback().await?;
                return Ok(Outcome::Conflict);
            }
            ledger(&tx).await?;
            tx.commit().await?;
        }
        Strategy::Atomic => {
            let increment = client.prepare_cached(INCREMENT).await?;
            think(settings).await;
            let tx = client.transaction().await?;
            locking(lock_time, tx.execute(&increment, &[])).await?;
            ledger(&tx).await?;
            tx.commit().await?;
        }
        Strategy::Serializable | Strategy::Naive => {
            let read = client.prepare_cached(READ).await?;
            let write = client.prepare_cached(WRITE).await?;
            let tx = client
                .build_transaction()
                .isolation_level(super::isolation_level(strategy))
                .start()
                .await?;
            let value: i64 = tx.query_one(&read, &[]).await?.get(0);
            think(settings).await;
            locking(lock_time, tx.execute(&write, &[&(value + 1)])).await?;
            ledger(&tx).await?;
            tx.commit().await?;
        }
        Strategy::Advisory => {
            let lock = client.prepare_cached(ADVISORY_LOCK).await?;
            let read = client.prepare_cached(READ).await?;
            let write = client.prepare_cached(WRITE).await?;
            let tx = client.transaction().await?;
            locking(lock_time, tx.execute(&lock, &[&settings.advisory_class])).await?;
            let value: i64 = tx.query_one(&read, &[]).await?.get(0);
            think(settings).await;
            tx.execute(&write, &[&(value + 1)]).await?;
            ledger(&tx).await?;
            tx.commit().await?;
        }
    }
    Ok(Outcome::Committed)
}

async fn ledger(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let insert = tx.prepare_cached(LEDGER).await?;
    tx.execute(&insert, &[&Decimal::ONE]).await?;
    Ok(())
}
