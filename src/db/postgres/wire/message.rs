//! The messages a bench connection writes and the replies it reads. Encoding, framing and the
//! bodies that carry data (`DataRow`, `ErrorResponse`) go through `postgres-protocol`, the crate
//! tokio-postgres is built on; only the bodies that are one byte or one counter are read in
//! place (`ReadyForQuery`'s status, `CommandComplete`'s row count), because splitting every
//! reply into reference-counted buffers just to read those cost more than the rest of a
//! statement's parsing (docs/bench.md, "Is the client the bottleneck? (issue 14)").

use bytes::BytesMut;
use postgres_protocol::IsNull;
use postgres_protocol::message::backend::{self, DataRowBody, Message};
use postgres_protocol::message::frontend;
use postgres_protocol::types;
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, ToSql, Type};

use super::{INT4, Sql, Val, WireError};

/// One row as the server sent it, columns in binary.
#[derive(Debug)]
pub struct Row(DataRowBody);

impl Row {
    /// Parses one whole `DataRow` message (type byte and length included).
    pub(super) fn parse(message: &[u8]) -> Result<Row, WireError> {
        match parse_one(message)? {
            Message::DataRow(body) => Ok(Row(body)),
            _ => Err(WireError::Connection("expected a data row".into())),
        }
    }

    /// Column `i`'s bytes; an error when it is missing or NULL.
    fn column(&self, i: usize) -> Result<&[u8], WireError> {
        use fallible_iterator::FallibleIterator;
        let missing = || WireError::Connection(format!("column {i} missing or NULL"));
        let range = self.0.ranges().nth(i).map_err(WireError::io)?;
        let range = range.flatten().ok_or_else(missing)?;
        Ok(&self.0.buffer()[range])
    }

    /// Column `i` as `int4`.
    pub fn int4(&self, i: usize) -> Result<i32, WireError> {
        types::int4_from_sql(self.column(i)?).map_err(WireError::io)
    }

    /// Column `i` as `int8`.
    pub fn int8(&self, i: usize) -> Result<i64, WireError> {
        types::int8_from_sql(self.column(i)?).map_err(WireError::io)
    }

    /// Column `i` as text (`SHOW` answers).
    pub fn text(&self, i: usize) -> Result<String, WireError> {
        types::text_from_sql(self.column(i)?)
            .map(str::to_owned)
            .map_err(WireError::io)
    }

    /// Column `i` as `numeric`.
    pub fn numeric(&self, i: usize) -> Result<Decimal, WireError> {
        Decimal::from_sql(&Type::NUMERIC, self.column(i)?).map_err(WireError::io)
    }
}

/// Parses one whole message with `postgres-protocol` (off the hot path: rows and errors).
fn parse_one(message: &[u8]) -> Result<Message, WireError> {
    let mut buf = BytesMut::from(message);
    Message::parse(&mut buf)
        .map_err(WireError::io)?
        .ok_or_else(|| WireError::Connection("truncated message".into()))
}

/// The type byte and total length (type byte included) of the message at the start of
/// `pending`, when all of it has arrived.
pub(super) fn whole_message(pending: &[u8]) -> Result<Option<(u8, usize)>, WireError> {
    let Some(header) = backend::Header::parse(pending).map_err(WireError::io)? else {
        return Ok(None);
    };
    let total = 1 + header.len() as usize;
    Ok((pending.len() >= total).then_some((header.tag(), total)))
}

/// The server's error from a whole `ErrorResponse` message: its SQLSTATE and message.
pub(super) fn server_error(message: &[u8]) -> WireError {
    use fallible_iterator::FallibleIterator;
    let Ok(Message::ErrorResponse(body)) = parse_one(message) else {
        return WireError::Connection("unreadable error response".into());
    };
    let (mut code, mut text) = (String::new(), String::new());
    let mut fields = body.fields();
    while let Ok(Some(field)) = fields.next() {
        match field.type_() {
            b'C' => code = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            b'M' => text = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            _ => {}
        }
    }
    WireError::Db {
        code,
        message: text,
    }
}

/// The count at the end of a `CommandComplete` body (`UPDATE 1`, `INSERT 0 1`, `SELECT 2`).
pub(super) fn rows_affected(body: &[u8]) -> u64 {
    let tag = body.strip_suffix(&[0]).unwrap_or(body);
    let digits = tag.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    tag[tag.len() - digits..]
        .iter()
        .fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

/// `Parse`: prepares `sql` under its name, with its parameter types given (no `Describe` needed).
pub(super) fn encode_parse(sql: &Sql, out: &mut BytesMut) -> Result<(), WireError> {
    frontend::parse(sql.name, sql.text, sql.params.iter().copied(), out).map_err(WireError::io)
}

/// `Query`: one or more statements by the simple protocol.
pub(super) fn encode_query(sql: &str, out: &mut BytesMut) -> Result<(), WireError> {
    frontend::query(sql, out).map_err(WireError::io)
}

/// `Bind` (every parameter and column in binary) to the unnamed portal, `Execute`, `Sync`.
pub(super) fn encode_execute(
    sql: &Sql,
    params: &[Val],
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let bound = frontend::bind(
        "",
        sql.name,
        Some(1),
        params,
        |value, buf| {
            match value {
                Val::Int4(v) => types::int4_to_sql(*v, buf),
                Val::Int8(v) => types::int8_to_sql(*v, buf),
                Val::Numeric(v) => {
                    v.to_sql(&Type::NUMERIC, buf)?;
                }
                Val::Int4Array(values) => {
                    let dimension = types::ArrayDimension {
                        len: i32::try_from(values.len())?,
                        lower_bound: 1,
                    };
                    let int4 = |v: &i32, buf: &mut BytesMut| {
                        types::int4_to_sql(*v, buf);
                        Ok(IsNull::No)
                    };
                    types::array_to_sql(Some(dimension), INT4, values, int4, buf)?;
                }
            }
            Ok(IsNull::No)
        },
        Some(1),
        out,
    );
    bound.map_err(|e| match e {
        frontend::BindError::Conversion(e) => WireError::Connection(e.to_string()),
        frontend::BindError::Serialization(e) => WireError::io(e),
    })?;
    frontend::execute("", 0, out).map_err(WireError::io)?;
    frontend::sync(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::postgres::wire::{INT4_ARRAY, INT8, NUMERIC};

    #[test]
    fn bind_encodes_parameters_in_binary_and_rows_read_them_back() {
        let sql = Sql::new(
            5,
            "s",
            "SELECT $1, $2, $3, $4",
            &[INT4, INT8, NUMERIC, INT4_ARRAY],
        );
        let mut out = BytesMut::new();
        let params = [
            Val::Int4(7),
            Val::Int8(-1),
            Val::Numeric(Decimal::new(12345, 2)),
            Val::Int4Array(vec![3, -4]),
        ];
        encode_execute(&sql, &params, &mut out).unwrap();
        let (kind, len) = whole_message(&out).unwrap().unwrap();
        assert_eq!(kind, b'B');
        // portal "", statement "s", one format code (binary), four parameters.
        assert_eq!(&out[5..15], &[0, b's', 0, 0, 1, 0, 1, 0, 4, 0]);
        assert_eq!(&out[15..23], &[0, 0, 4, 0, 0, 0, 7, 0]);
        // Then Execute and Sync.
        assert_eq!(
            &out[len..],
            &[b'E', 0, 0, 0, 9, 0, 0, 0, 0, 0, b'S', 0, 0, 0, 4]
        );
        // The parameter list is laid out as a DataRow's columns are.
        let columns = &out[12..len - 4];
        let mut row = vec![b'D'];
        row.extend_from_slice(&((columns.len() + 4) as u32).to_be_bytes());
        row.extend_from_slice(columns);
        let row = Row::parse(&row).unwrap();
        assert_eq!(row.int4(0).unwrap(), 7);
        assert_eq!(row.int8(1).unwrap(), -1);
        assert_eq!(row.numeric(2).unwrap(), Decimal::new(12345, 2));
        let array = row.column(3).unwrap();
        let array = types::array_from_sql(array).unwrap();
        assert_eq!(array.element_type(), INT4);
        assert!(row.int4(4).is_err());
    }

    #[test]
    fn errors_keep_their_sqlstate_and_tags_give_the_row_count() {
        let body = b"SERROR\0C40001\0Mcould not serialize access\0\0";
        let mut message = vec![b'E'];
        message.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        message.extend_from_slice(body);
        assert_eq!(whole_message(&message[..6]).unwrap(), None);
        let e = server_error(&message);
        assert_eq!(e.code(), Some("40001"));
        assert_eq!(e.to_string(), "could not serialize access (40001)");
        assert_eq!(rows_affected(b"UPDATE 1\0"), 1);
        assert_eq!(rows_affected(b"INSERT 0 12\0"), 12);
        assert_eq!(rows_affected(b"BEGIN\0"), 0);
    }
}
