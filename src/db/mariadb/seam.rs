//! MariaDB behind the engine seam: its answers in the engine's words (`model::StepAnswer`), the
//! blocked probe as a [`LockProbe`], and `KILL QUERY` as a [`CancelStatement`]. `db::Connected`
//! and `db::Link` wrap these for the MariaDB variant.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::future::{BoxFuture, FutureExt};

use super::connect::{MariadbSession, MariadbTarget, ResultSet, StatementOutcome};
use super::probe::MariadbProbe;
use crate::db::seam::{CancelStatement, LockProbe};
use crate::error::Result;
use crate::model::{BackendId, ErrorInfo, StatementResult, StepAnswer};

/// Sessions whose transaction the server rolled back (a deadlock) and that sent no transaction
/// statement since: MariaDB knows this only on the session itself, so its link records it here
/// for the probe. Keyed by thread id (one MariaDB server per process at a time).
static ROLLED_BACK: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// A MariaDB thread id as the engine's [`BackendId`]. Thread ids count connections since the
/// server started; a throwaway server's stay tiny, and a long-lived server's past `i32::MAX`
/// would wrap (printed, never used for arithmetic).
pub fn backend_id(thread_id: u32) -> BackendId {
    thread_id as BackendId
}

/// The thread id behind a [`BackendId`] (the inverse of [`backend_id`]).
pub fn thread_id(backend: BackendId) -> u32 {
    backend as u32
}

/// Runs SQL on a session and answers in the engine's words, remembering a server rollback.
pub async fn run(session: &mut MariadbSession, sql: &str) -> StepAnswer {
    let outcome = session.run(sql).await;
    let at = Instant::now();
    let mut failed = ROLLED_BACK.lock().expect("rolled-back registry");
    if session.transaction_failed() {
        failed.insert(session.id());
    } else {
        failed.remove(&session.id());
    }
    drop(failed);
    answer(outcome, at)
}

/// A MariaDB outcome as a [`StepAnswer`]: result sets as rows, affected counts as commands, the
/// error with its SQLSTATE and the server's error number in the detail.
pub fn answer(outcome: StatementOutcome, at: Instant) -> StepAnswer {
    let results = outcome
        .sets
        .into_iter()
        .map(|set| match set {
            ResultSet::Rows { columns, rows } => StatementResult::Rows { columns, rows },
            ResultSet::Affected(n) => StatementResult::Command { rows_affected: n },
        })
        .collect();
    let error = outcome.error.map(|e| ErrorInfo {
        sqlstate: e.sqlstate.clone(),
        severity: "ERROR".into(),
        message: e.message.clone(),
        detail: Some(format!("MariaDB error {}", e.code)),
    });
    StepAnswer { at, results, error }
}

/// The blocked probe over a control connection of its own. Each question runs in a task of its
/// own: the scheduler may stop waiting for an answer (the step completed meanwhile), and a query
/// dropped half-way would leave the connection out of step with the server.
pub struct MariadbLockProbe(std::sync::Arc<tokio::sync::Mutex<MariadbProbe>>);

impl MariadbLockProbe {
    /// Opens the probe's connection and watches `backends`.
    pub async fn open(target: &MariadbTarget, backends: &[BackendId]) -> Result<MariadbLockProbe> {
        let control = target.connect(None).await?;
        let ids = backends.iter().map(|&b| thread_id(b)).collect();
        Ok(MariadbLockProbe(std::sync::Arc::new(
            tokio::sync::Mutex::new(MariadbProbe::new(control, ids)),
        )))
    }
}

impl LockProbe for MariadbLockProbe {
    fn is_blocked(&self, backend: BackendId) -> BoxFuture<'_, Result<bool>> {
        let probe = self.0.clone();
        let task =
            tokio::spawn(async move { probe.lock().await.is_blocked(thread_id(backend)).await });
        async move {
            task.await
                .map_err(|e| crate::error::TxlabError::Database(e.to_string()))?
        }
        .boxed()
    }

    fn blockers(&self, backend: BackendId) -> BoxFuture<'_, Vec<BackendId>> {
        let probe = self.0.clone();
        let task = tokio::spawn(async move {
            let ids = probe.lock().await.blockers(thread_id(backend)).await;
            ids.into_iter().map(backend_id).collect()
        });
        async move { task.await.unwrap_or_default() }.boxed()
    }

    fn transaction_failed(&self, backend: BackendId) -> BoxFuture<'_, bool> {
        let failed = ROLLED_BACK
            .lock()
            .expect("rolled-back registry")
            .contains(&thread_id(backend));
        async move { failed }.boxed()
    }
}

/// Cancels a session's statement with `KILL QUERY` from a connection of its own (MariaDB has no
/// protocol cancel).
pub struct MariadbCancel {
    pub target: MariadbTarget,
    pub thread_id: u32,
}

impl CancelStatement for MariadbCancel {
    fn cancel(&self) -> BoxFuture<'_, ()> {
        async move {
            if let Ok(mut control) = self.target.connect(None).await {
                let _ = control.cancel(self.thread_id).await;
                control.close().await;
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::mariadb::errors::ServerError;

    #[test]
    fn outcomes_become_answers_with_sqlstate_and_error_number() {
        let outcome = StatementOutcome {
            sets: vec![ResultSet::Affected(2)],
            error: Some(ServerError {
                code: 1213,
                sqlstate: "40001".into(),
                message: "Deadlock found".into(),
            }),
            warnings: Vec::new(),
        };
        let a = answer(outcome, Instant::now());
        assert_eq!(
            a.results,
            vec![StatementResult::Command { rows_affected: 2 }]
        );
        let e = a.error.unwrap();
        assert_eq!(e.sqlstate, "40001");
        assert_eq!(e.detail.as_deref(), Some("MariaDB error 1213"));
    }

    #[test]
    fn thread_ids_round_trip() {
        assert_eq!(thread_id(backend_id(4711)), 4711);
    }
}
