//! One lesson session: a tokio task that owns one connection and runs the SQL it is handed, one
//! step at a time. It never prints and never decides anything; it reports what the server answered,
//! with the moment the answer arrived, back to the scheduler.

use std::time::Instant;

use futures_util::{StreamExt, pin_mut};
use tokio::sync::mpsc;
use tokio_postgres::{CancelToken, Client, SimpleQueryMessage};

use super::event::{ErrorInfo, StatementResult};
use crate::db::tls::PgTls;
use crate::db::{Connected, ServerNotice, ServerNotification};

/// What the server answered to one step.
#[derive(Debug, Clone)]
pub struct StepAnswer {
    /// When the answer (or the error) arrived.
    pub at: Instant,
    pub results: Vec<StatementResult>,
    pub error: Option<ErrorInfo>,
}

/// The scheduler's handle on a running session task.
pub struct SessionHandle {
    pub pid: i32,
    requests: Option<mpsc::UnboundedSender<String>>,
    answers: mpsc::UnboundedReceiver<StepAnswer>,
    pub notices: mpsc::UnboundedReceiver<ServerNotice>,
    /// `NOTIFY`s delivered to this session, read by the scheduler when a step completes.
    pub notifications: mpsc::UnboundedReceiver<ServerNotification>,
    cancel: CancelToken,
    tls: PgTls,
    task: tokio::task::JoinHandle<Client>,
    driver: tokio::task::JoinHandle<()>,
}

impl SessionHandle {
    /// Starts the task for an open connection.
    pub fn spawn(connected: Connected) -> SessionHandle {
        let Connected {
            client,
            pid,
            notices,
            notifications,
            driver,
            tls,
        } = connected;
        let (requests, mut rx) = mpsc::unbounded_channel::<String>();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let cancel = client.cancel_token();
        let task = tokio::spawn(async move {
            while let Some(sql) = rx.recv().await {
                let answer = run_sql(&client, &sql).await;
                if answer_tx.send(answer).is_err() {
                    break;
                }
            }
            client
        });
        SessionHandle {
            pid,
            requests: Some(requests),
            answers,
            notices,
            notifications,
            cancel,
            tls,
            task,
            driver,
        }
    }

    /// Sends SQL to the session; the answer arrives later through [`SessionHandle::answer`].
    pub fn send(&self, sql: &str) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|r| r.send(sql.to_string()).is_ok())
    }

    /// Waits for the next answer; `None` when the session task has ended.
    pub async fn answer(&mut self) -> Option<StepAnswer> {
        self.answers.recv().await
    }

    /// An answer that has already arrived, without waiting.
    pub fn try_answer(&mut self) -> Option<StepAnswer> {
        self.answers.try_recv().ok()
    }

    /// Runs SQL and waits for the answer (setup and teardown, outside any schedule).
    pub async fn run(&mut self, sql: &str) -> Option<StepAnswer> {
        if !self.send(sql) {
            return None;
        }
        self.answer().await
    }

    /// Asks the server to cancel whatever the session is running.
    pub async fn cancel(&self) {
        let _ = self.cancel.cancel_query(self.tls.clone()).await;
    }

    /// Ends the task and closes the connection; the server ends the session (and rolls back any
    /// open transaction).
    pub async fn close(self) {
        if let Some(connected) = self.into_connection().await {
            connected.close().await;
        }
    }

    /// Ends the task and hands the connection back (for reuse by a later run).
    pub async fn into_connection(mut self) -> Option<Connected> {
        self.requests = None;
        let client = self.task.await.ok()?;
        Some(Connected {
            client,
            pid: self.pid,
            notices: self.notices,
            notifications: self.notifications,
            driver: self.driver,
            tls: self.tls,
        })
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
