//! `txlab bench`'s connections: the PostgreSQL extended protocol spoken directly on the socket,
//! one request and its reply at a time, the way libpq serves `pgbench -M prepared`.
//!
//! Why not tokio-postgres here (it still does the startup and authentication, and everything
//! else in txlab): its client hands every statement to a separate connection task over channels
//! and gets the reply back the same way, allocating a request, a response channel and a message
//! buffer per statement. Under callgrind that was ~11,000 instructions per statement — a counter
//! transaction cost 45,000 instructions against pgbench's 12,500, CPU taken from the server on a
//! small machine (docs/bench.md, "Is the client the bottleneck? (issue 14)"). Here a statement is
//! one `Bind`/`Execute`/`Sync` written from a reused buffer and its reply read in place; each
//! statement is parsed (prepared) once per connection, by name, with its parameter types given.
//!
//! Only what the bench sends is supported: `int4`, `int8` and `numeric` parameters and columns,
//! in binary. A server error leaves the connection usable (the server skips to `Sync`);
//! [`Wire::in_transaction`] says whether a `ROLLBACK` is owed. The socket is plain or TLS, as the
//! server's `sslmode` says ([`connect`]).

mod connect;
mod message;
mod pool;
mod socket;
pub mod timer;

pub use connect::Target;
pub use message::Row;
pub use pool::{Lent, WirePool};

use bytes::BytesMut;
use rust_decimal::Decimal;

use crate::db::SqlState;
use crate::error::TxlabError;
use message::{
    encode_execute, encode_parse, encode_query, rows_affected, server_error, whole_message,
};
use socket::Stream;

/// Parameter type OIDs, as `Parse` takes them.
pub const INT4: u32 = 23;
pub const INT8: u32 = 20;
pub const NUMERIC: u32 = 1700;
pub const INT4_ARRAY: u32 = 1007;

/// A statement a connection prepares once, under `name`. `id` (0–63) marks it prepared; every
/// statement the bench sends has its own.
#[derive(Debug)]
pub struct Sql {
    pub id: u8,
    pub name: &'static str,
    pub text: &'static str,
    pub params: &'static [u32],
}

/// `BEGIN` at the session's default level (READ COMMITTED).
pub const BEGIN: Sql = Sql::new(0, "txlab_begin", "BEGIN", &[]);
/// A SERIALIZABLE transaction.
pub const BEGIN_SERIALIZABLE: Sql = Sql::new(
    1,
    "txlab_begin_serializable",
    "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    &[],
);
const COMMIT: Sql = Sql::new(2, "txlab_commit", "COMMIT", &[]);
const ROLLBACK: Sql = Sql::new(3, "txlab_rollback", "ROLLBACK", &[]);
const BACKEND_PID: Sql = Sql::new(4, "txlab_pid", "SELECT pg_backend_pid()", &[]);

impl Sql {
    /// A statement with a connection-unique `id` (below 64) and `name`.
    pub const fn new(
        id: u8,
        name: &'static str,
        text: &'static str,
        params: &'static [u32],
    ) -> Sql {
        assert!(id < 64);
        Sql {
            id,
            name,
            text,
            params,
        }
    }
}

/// A parameter value; its kind must match the statement's declared type.
#[derive(Debug, Clone)]
pub enum Val {
    Int4(i32),
    Int8(i64),
    Numeric(Decimal),
    /// A one-dimensional `int4[]` (the lock sampler's backend pids).
    Int4Array(Vec<i32>),
}

/// A failed request or connection attempt.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The server refused: its SQLSTATE (`40001`, `40P01`, `53300`, …) and message.
    #[error("{message} ({code})")]
    Db { code: String, message: String },
    /// The connection broke or the server's reply made no sense.
    #[error("connection: {0}")]
    Connection(String),
    /// Opening the connection failed in a way txlab explains with a hint (TLS, login refused).
    #[error(transparent)]
    Open(Box<TxlabError>),
}

impl WireError {
    /// The SQLSTATE, for server errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            WireError::Db { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The SQLSTATE as one of the cases txlab names (40001, 40P01, …).
    pub fn sql_state(&self) -> Option<SqlState> {
        self.code().and_then(SqlState::from_code)
    }

    /// A serialization failure or deadlock: the application retries the whole transaction.
    pub fn is_retryable(&self) -> bool {
        self.sql_state().is_some_and(SqlState::is_retryable)
    }

    pub(super) fn io(e: impl std::fmt::Display) -> WireError {
        WireError::Connection(e.to_string())
    }
}

/// Errors met outside a client's transaction loop (table setup, invariants, the sampler) end the
/// run: a refusal txlab explains stays itself, anything else is a database error.
impl From<WireError> for TxlabError {
    fn from(e: WireError) -> TxlabError {
        match e {
            WireError::Open(e) => *e,
            e => TxlabError::Database(e.to_string()),
        }
    }
}

/// A statement's last encoded request and the parameters in it.
#[derive(Default)]
struct LastRequest {
    name: &'static str,
    bytes: BytesMut,
    params: Vec<Val>,
    /// Holds exactly `Bind`/`Execute`/`Sync` for `params` (no `Parse`, not half-written).
    reusable: bool,
}

/// Whether two parameter lists would be encoded alike: numerics must agree in scale too
/// (`1.0` and `1.00` are equal but sent differently).
fn same_values(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Val::Int4(x), Val::Int4(y)) => x == y,
            (Val::Int8(x), Val::Int8(y)) => x == y,
            (Val::Numeric(x), Val::Numeric(y)) => x.serialize() == y.serialize(),
            (Val::Int4Array(x), Val::Int4Array(y)) => x == y,
            _ => false,
        })
}

/// One bench connection.
pub struct Wire {
    stream: Stream,
    /// Where a read lands before it is appended to `read`.
    scratch: Box<[u8]>,
    /// Bytes received and not yet parsed start at `read[consumed..]`.
    read: Vec<u8>,
    consumed: usize,
    /// The simple-protocol request being sent ([`Wire::batch`]).
    write: BytesMut,
    /// Bit `id` set: statement `id` is prepared on this connection.
    prepared: u64,
    /// Per statement id, the last request sent for it: sent again as it is when the parameters
    /// are the same (`BEGIN`, `COMMIT`, the counter's statements), encoded anew otherwise.
    last: Vec<LastRequest>,
    /// The last `ReadyForQuery` status: `I` idle, `T` in a transaction, `E` in a failed one.
    status: u8,
    /// A request did not finish (I/O error, or its future was dropped): do not reuse.
    broken: bool,
    /// The last request's `Parse` was accepted.
    parsed: bool,
    /// The server process serving this connection (for the lock sampler).
    pub pid: i32,
}

impl Wire {
    /// Connects to `target` (TLS as its `sslmode` says) and asks for the backend's pid.
    pub async fn connect(target: &Target) -> Result<Wire, WireError> {
        let mut wire = Wire {
            stream: connect::open(target).await?,
            scratch: vec![0; 8192].into_boxed_slice(),
            read: Vec::with_capacity(8192),
            consumed: 0,
            write: BytesMut::with_capacity(256),
            prepared: 0,
            last: (0..64).map(|_| LastRequest::default()).collect(),
            status: b'I',
            broken: false,
            parsed: false,
            pid: 0,
        };
        let rows = wire.query(&BACKEND_PID, &[]).await?;
        wire.pid = rows.first().map(|r| r.int4(0)).transpose()?.unwrap_or(0);
        Ok(wire)
    }

    /// Whether the connection is encrypted (TLS).
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Inside a transaction (open or failed): a `ROLLBACK` is owed before the next one.
    pub fn in_transaction(&self) -> bool {
        self.status != b'I'
    }

    /// Fit to hand to another transaction: not broken, not inside a transaction.
    pub fn reusable(&self) -> bool {
        !self.broken && !self.in_transaction()
    }

    /// `BEGIN`.
    pub fn begin(&mut self) -> impl Future<Output = Result<u64, WireError>> + '_ {
        self.request(&BEGIN, &[], None)
    }

    /// `COMMIT`.
    pub fn commit(&mut self) -> impl Future<Output = Result<u64, WireError>> + '_ {
        self.request(&COMMIT, &[], None)
    }

    /// `ROLLBACK`.
    pub fn rollback(&mut self) -> impl Future<Output = Result<u64, WireError>> + '_ {
        self.request(&ROLLBACK, &[], None)
    }

    /// Runs `sql`; the number of rows it affected (or returned). Returns the request's own
    /// future (no wrapping state machine to copy it into).
    pub fn execute<'a>(
        &'a mut self,
        sql: &'a Sql,
        params: &'a [Val],
    ) -> impl Future<Output = Result<u64, WireError>> + 'a {
        self.request(sql, params, None)
    }

    /// Runs `sql`; the rows it returned (columns in binary).
    pub async fn query(&mut self, sql: &Sql, params: &[Val]) -> Result<Vec<Row>, WireError> {
        let mut rows = Vec::with_capacity(2);
        self.request(sql, params, Some(&mut rows)).await?;
        Ok(rows)
    }

    /// Runs `sql` (statements without parameters, `;`-separated) with the simple protocol:
    /// the table setup, which is sent once per point.
    pub async fn batch(&mut self, sql: &str) -> Result<(), WireError> {
        self.write.clear();
        encode_query(sql, &mut self.write)?;
        self.round_trip(None, None).await.map(drop)
    }

    async fn request(
        &mut self,
        sql: &Sql,
        params: &[Val],
        rows: Option<&mut Vec<Row>>,
    ) -> Result<u64, WireError> {
        let first_use = self.prepared & (1 << sql.id) == 0;
        let last = &mut self.last[usize::from(sql.id)];
        // The name too: two statements given one id by mistake must not pass for each other.
        let same = last.reusable && last.name == sql.name && same_values(&last.params, params);
        if first_use || !same {
            last.reusable = false;
            last.name = sql.name;
            last.bytes.clear();
            if first_use {
                encode_parse(sql, &mut last.bytes)?;
            }
            encode_execute(sql, params, &mut last.bytes)?;
            last.params.clear();
            last.params.extend_from_slice(params);
            // With its `Parse` it is for the first use only.
            last.reusable = !first_use;
        }
        let result = self.round_trip(Some(sql.id), rows).await;
        // A statement parsed in a transaction that then failed stays prepared: the flag
        // follows the server's `ParseComplete`, not the request's outcome.
        if first_use && self.parsed {
            self.prepared |= 1 << sql.id;
        }
        result
    }

    /// Sends the request (statement `id`'s last one, or `write`) and reads its reply.
    async fn round_trip(
        &mut self,
        id: Option<u8>,
        rows: Option<&mut Vec<Row>>,
    ) -> Result<u64, WireError> {
        self.parsed = false;
        if self.broken {
            return Err(WireError::Connection("connection unusable".into()));
        }
        let request: &[u8] = match id {
            Some(id) => &self.last[usize::from(id)].bytes,
            None => &self.write,
        };
        // Broken until the reply is read to its end: a dropped future leaves it so.
        self.broken = true;
        self.stream
            .write_all(request)
            .await
            .map_err(WireError::io)?;
        let result = self.read_reply(rows).await;
        if let Err(WireError::Connection(_)) = result {
            return result;
        }
        self.broken = false;
        result
    }

    /// Reads messages up to `ReadyForQuery`: the affected-row count, or the server's error.
    async fn read_reply(&mut self, mut rows: Option<&mut Vec<Row>>) -> Result<u64, WireError> {
        let mut affected = 0;
        let mut error = None;
        loop {
            let pending = &self.read[self.consumed..];
            let Some((kind, len)) = whole_message(pending)? else {
                if self.consumed == self.read.len() {
                    self.read.clear();
                    self.consumed = 0;
                }
                let n = self
                    .stream
                    .read(&mut self.scratch)
                    .await
                    .map_err(WireError::io)?;
                if n == 0 {
                    return Err(WireError::Connection("the server closed it".into()));
                }
                self.read.extend_from_slice(&self.scratch[..n]);
                continue;
            };
            let message = &pending[..len];
            self.consumed += len;
            match kind {
                b'D' => {
                    if let Some(rows) = rows.as_deref_mut() {
                        rows.push(Row::parse(message)?);
                    }
                }
                b'C' => affected = rows_affected(&message[5..]),
                b'1' => self.parsed = true,
                b'E' => error = Some(server_error(message)),
                b'Z' => {
                    self.status = message.get(5).copied().unwrap_or(b'I');
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(affected),
                    };
                }
                // BindComplete, notices, parameter changes, notifications: nothing to do.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_reused_only_for_identical_encodings() {
        let one = Decimal::ONE;
        assert!(same_values(
            &[Val::Int4(1), Val::Numeric(one)],
            &[Val::Int4(1), Val::Numeric(one)]
        ));
        assert!(!same_values(&[Val::Int4(1)], &[Val::Int4(2)]));
        assert!(!same_values(&[Val::Int4(1)], &[Val::Int8(1)]));
        assert!(!same_values(&[Val::Int4(1)], &[]));
        // Equal numbers, different scales: different bytes on the wire.
        assert!(!same_values(
            &[Val::Numeric(one)],
            &[Val::Numeric(Decimal::new(100, 2))]
        ));
    }

    #[test]
    fn retryable_errors_are_named_by_their_sqlstate() {
        let db = |code: &str| WireError::Db {
            code: code.into(),
            message: "m".into(),
        };
        assert_eq!(
            db("40001").sql_state(),
            Some(SqlState::SerializationFailure)
        );
        assert!(db("40001").is_retryable());
        assert!(db("40P01").is_retryable());
        assert!(!db("23505").is_retryable());
        assert!(!WireError::Connection("x".into()).is_retryable());
        assert_eq!(WireError::Connection("x".into()).code(), None);
    }
}
