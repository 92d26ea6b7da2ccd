//! The tables a bench point runs against, created fresh for every (strategy, K) point so no
//! strategy inherits another's bloat or balances, and the invariants checked when it ends.
//!
//! There is deliberately no `CHECK (balance >= 0)`: the strategies must keep balances
//! non-negative themselves, and the check below is what says whether they did.

use rust_decimal::Decimal;

use super::options::Workload;
use crate::db::postgres::wire::{NUMERIC, Row, Sql, Val, Wire};
use crate::error::{Result, TxlabError};

const LEDGER_ROWS: Sql = Sql::new(32, "txlab_check_ledger", "SELECT count(*) FROM ledger", &[]);
const BALANCES: Sql = Sql::new(
    33,
    "txlab_check_balances",
    "SELECT coalesce(sum(balance), 0), count(*) FILTER (WHERE balance < 0) FROM accounts",
    &[],
);
/// Every account's balance must be its opening balance plus what the ledger says flowed in and
/// out: this catches a lost update even when the total happens to match.
const UNEXPLAINED: Sql = Sql::new(
    34,
    "txlab_check_unexplained",
    "SELECT count(*) FROM accounts a LEFT JOIN (
         SELECT id, sum(delta) AS delta FROM (
             SELECT from_id AS id, -amount AS delta FROM ledger
             UNION ALL SELECT to_id, amount FROM ledger) flows
         GROUP BY id) l USING (id)
     WHERE a.balance <> $1 + coalesce(l.delta, 0)",
    &[NUMERIC],
);
const COUNTER: Sql = Sql::new(
    35,
    "txlab_check_counter",
    "SELECT value FROM counter WHERE id = 1",
    &[],
);

/// The DDL, also used by benches/pgbench-compare.sh (keep the two in step).
pub const TABLES: &str = "
DROP TABLE IF EXISTS accounts, counter, ledger;
CREATE TABLE accounts (
    id      int PRIMARY KEY,
    balance numeric(14,2) NOT NULL,
    version bigint NOT NULL DEFAULT 0
);
CREATE TABLE counter (
    id      int PRIMARY KEY,
    value   bigint NOT NULL,
    version bigint NOT NULL DEFAULT 0
);
CREATE TABLE ledger (
    id      bigserial PRIMARY KEY,
    from_id int,
    to_id   int NOT NULL,
    amount  numeric(14,2) NOT NULL
);
";

/// Creates the tables and seeds `accounts` accounts holding `balance` each (or the one counter).
pub async fn prepare(
    control: &mut Wire,
    workload: Workload,
    accounts: u32,
    balance: Decimal,
) -> Result<()> {
    let seed = match workload {
        // Decimal's Display is digits, one '.', maybe '-': safe to inline.
        Workload::Transfer => format!(
            "INSERT INTO accounts (id, balance) SELECT g, {balance} FROM generate_series(1, {accounts}) g; ANALYZE accounts;"
        ),
        Workload::Counter => {
            "INSERT INTO counter (id, value) VALUES (1, 0); ANALYZE counter;".into()
        }
    };
    control
        .batch(&format!("{TABLES}{seed}"))
        .await
        .map_err(|e| TxlabError::Setup(format!("bench tables: {e}")))
}

/// One checked invariant: what must hold, and what was found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Invariant {
    pub name: &'static str,
    pub ok: bool,
    pub expected: String,
    pub found: String,
}

impl Invariant {
    fn new(name: &'static str, expected: impl ToString, found: impl ToString) -> Invariant {
        let (expected, found) = (expected.to_string(), found.to_string());
        Invariant {
            name,
            ok: expected == found,
            expected,
            found,
        }
    }
}

/// Checks the end state against what the clients say they committed (warm-up included).
pub async fn check(
    control: &mut Wire,
    workload: Workload,
    accounts: u32,
    balance: Decimal,
    committed: u64,
) -> Result<Vec<Invariant>> {
    let ledger_rows = one(control, &LEDGER_ROWS, &[]).await?.int8(0)?;
    let mut checks = Vec::new();
    match workload {
        Workload::Transfer => {
            let row = one(control, &BALANCES, &[]).await?;
            let (total, negative) = (row.numeric(0)?, row.int8(1)?);
            let mismatched = one(control, &UNEXPLAINED, &[Val::Numeric(balance)])
                .await?
                .int8(0)?;
            let expected_total = (balance * Decimal::from(accounts)).normalize();
            checks.push(Invariant::new(
                "total balance unchanged",
                expected_total,
                total.normalize(),
            ));
            checks.push(Invariant::new("no negative balance", 0, negative));
            checks.push(Invariant::new(
                "ledger rows = committed transfers",
                committed,
                ledger_rows,
            ));
            checks.push(Invariant::new(
                "no account with a balance the ledger does not explain",
                0,
                mismatched,
            ));
        }
        Workload::Counter => {
            let value = one(control, &COUNTER, &[]).await?.int8(0)?;
            checks.push(Invariant::new(
                "ledger rows = committed increments",
                committed,
                ledger_rows,
            ));
            checks.push(Invariant::new(
                "counter = committed increments",
                committed,
                value,
            ));
        }
    }
    Ok(checks)
}

/// The one row `sql` returns.
async fn one(control: &mut Wire, sql: &Sql, params: &[Val]) -> Result<Row> {
    let rows = control.query(sql, params).await?;
    rows.into_iter()
        .next()
        .ok_or_else(|| TxlabError::Database(format!("no row from {}", sql.text)))
}
