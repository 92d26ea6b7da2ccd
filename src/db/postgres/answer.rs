//! Statements on a PostgreSQL connection, answered in the engine's words: results, the server's
//! error fields, and a cancel key usable from outside the session.

use std::time::Instant;

use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, pin_mut};
use tokio_postgres::{CancelToken, Client, SimpleQueryMessage};

use super::connect::Connected;
use super::tls::PgTls;
use crate::db::seam::CancelStatement;
use crate::error::{Result, TxlabError};
use crate::model::{ErrorInfo, StatementResult, StepAnswer};

/// A connection's working half, without its notice channels: what a session task owns while
/// it runs the session's statements.
pub struct Link {
    pub(in crate::db) client: Client,
    pub(in crate::db) driver: tokio::task::JoinHandle<()>,
    /// The server's TLS connector: a cancel request opens a new connection and must use it too.
    pub(in crate::db) tls: PgTls,
}

impl Link {
    /// Runs SQL and reports the answer (see [`run_sql`]).
    pub async fn run(&self, sql: &str) -> StepAnswer {
        run_sql(&self.client, sql).await
    }

    /// A handle that cancels this connection's running statement from outside it.
    pub fn canceller(&self) -> Box<dyn CancelStatement> {
        Box::new(PgCancel(self.client.cancel_token(), self.tls.clone()))
    }
}

impl Connected {
    /// Runs SQL and reports the answer, errors included (setup, checks, teardown).
    pub async fn run(&self, sql: &str) -> StepAnswer {
        run_sql(&self.client, sql).await
    }

    /// Runs SQL whose results do not matter; an error becomes [`TxlabError::Database`].
    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| TxlabError::Database(e.to_string()))
    }

    /// Splits the connection into the part a session task owns and the channels the scheduler
    /// reads.
    pub fn into_parts(
        self,
    ) -> (
        Link,
        crate::model::BackendId,
        tokio::sync::mpsc::UnboundedReceiver<super::ServerNotice>,
        tokio::sync::mpsc::UnboundedReceiver<super::ServerNotification>,
    ) {
        let link = Link {
            client: self.client,
            driver: self.driver,
            tls: self.tls,
        };
        (link, self.pid, self.notices, self.notifications)
    }

    /// Puts a connection split by [`Connected::into_parts`] back together.
    pub fn from_parts(
        link: Link,
        pid: crate::model::BackendId,
        notices: tokio::sync::mpsc::UnboundedReceiver<super::ServerNotice>,
        notifications: tokio::sync::mpsc::UnboundedReceiver<super::ServerNotification>,
    ) -> Connected {
        Connected {
            client: link.client,
            pid,
            notices,
            notifications,
            driver: link.driver,
            tls: link.tls,
        }
    }
}

/// Cancels through PostgreSQL's cancel key, from outside the session's connection.
struct PgCancel(CancelToken, PgTls);

impl CancelStatement for PgCancel {
    fn cancel(&self) -> BoxFuture<'_, ()> {
        async move {
            let _ = self.0.cancel_query(self.1.clone()).await;
        }
        .boxed()
    }
}

/// Runs SQL with the simple query protocol, like psql and isolationtester: several statements may
/// be sent at once, and every result that came before an error is kept.
pub async fn run_sql(client: &Client, sql: &str) -> StepAnswer {
    let mut results = Vec::new();
    let mut error = None;
    let mut columns: Option<Vec<String>> = None;
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    match client.simple_query_raw(sql).await {
        Err(e) => error = Some(error_info(&e)),
        Ok(stream) => {
            pin_mut!(stream);
            while let Some(message) = stream.next().await {
                match message {
                    Ok(SimpleQueryMessage::RowDescription(cols)) => {
                        columns = Some(cols.iter().map(|c| c.name().to_string()).collect());
                    }
                    Ok(SimpleQueryMessage::Row(row)) => {
                        if columns.is_none() {
                            columns =
                                Some(row.columns().iter().map(|c| c.name().to_string()).collect());
                        }
                        rows.push(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect(),
                        );
                    }
                    Ok(SimpleQueryMessage::CommandComplete(n)) => match columns.take() {
                        Some(columns) => results.push(StatementResult::Rows {
                            columns,
                            rows: std::mem::take(&mut rows),
                        }),
                        None => results.push(StatementResult::Command { rows_affected: n }),
                    },
                    Ok(_) => {}
                    Err(e) => {
                        let lost = e.as_db_error().is_none();
                        error = Some(error_info(&e));
                        if lost {
                            break;
                        }
                        // The server sends an error before it has aborted the transaction and
                        // released its locks; the statement is over only at ReadyForQuery, like
                        // libpq's PQgetResult loop. Stopping at the error would let the scheduler
                        // see the waiters this abort releases as still blocked.
                        while let Some(message) = stream.next().await {
                            if message.is_err() {
                                break;
                            }
                        }
                        break;
                    }
                }
            }
        }
    }
    StepAnswer {
        at: Instant::now(),
        results,
        error,
    }
}

/// The server's error fields; a client-side failure (lost connection) becomes an `08006`.
pub fn error_info(e: &tokio_postgres::Error) -> ErrorInfo {
    match e.as_db_error() {
        Some(db) => ErrorInfo {
            sqlstate: db.code().code().to_string(),
            severity: db.severity().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
        },
        None => ErrorInfo {
            sqlstate: "08006".into(),
            severity: "ERROR".into(),
            message: e.to_string(),
            detail: None,
        },
    }
}
