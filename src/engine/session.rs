//! One lesson session: a tokio task that owns one connection and runs the SQL it is handed, one
//! step at a time. It never prints and never decides anything; it reports what the server answered,
//! with the moment the answer arrived, back to the scheduler.

use tokio::sync::mpsc;

use crate::db::seam::CancelStatement;
use crate::db::{Connected, Link, ServerNotice, ServerNotification};
pub use crate::model::StepAnswer;

/// The scheduler's handle on a running session task.
pub struct SessionHandle {
    pub pid: i32,
    requests: Option<mpsc::UnboundedSender<String>>,
    answers: mpsc::UnboundedReceiver<StepAnswer>,
    pub notices: mpsc::UnboundedReceiver<ServerNotice>,
    /// `NOTIFY`s delivered to this session, read by the scheduler when a step completes.
    pub notifications: mpsc::UnboundedReceiver<ServerNotification>,
    cancel: Box<dyn CancelStatement>,
    /// The task that owns the connection; `None` for a fake session in tests.
    task: Option<tokio::task::JoinHandle<Link>>,
}

impl SessionHandle {
    /// Starts the task for an open connection.
    pub fn spawn(connected: Connected) -> SessionHandle {
        let (mut link, pid, notices, notifications) = connected.into_parts();
        let (requests, mut rx) = mpsc::unbounded_channel::<String>();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let cancel = link.canceller();
        let task = tokio::spawn(async move {
            while let Some(sql) = rx.recv().await {
                let answer = link.run(&sql).await;
                if answer_tx.send(answer).is_err() {
                    break;
                }
            }
            link
        });
        SessionHandle {
            pid,
            requests: Some(requests),
            answers,
            notices,
            notifications,
            cancel,
            task: Some(task),
        }
    }

    /// A session with no connection behind it: the test holds the other ends of its channels and
    /// answers for the server (the scheduler's unit tests).
    #[cfg(test)]
    pub(crate) fn fake(
        pid: i32,
        cancel: Box<dyn CancelStatement>,
    ) -> (SessionHandle, fake::FakeServerSide) {
        let (requests, sent) = mpsc::unbounded_channel();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        // The fake sends no notices: their senders are dropped, which reads as "none yet".
        let (_, notices) = mpsc::unbounded_channel();
        let (_, notifications) = mpsc::unbounded_channel();
        let handle = SessionHandle {
            pid,
            requests: Some(requests),
            answers,
            notices,
            notifications,
            cancel,
            task: None,
        };
        let side = fake::FakeServerSide {
            sent,
            answers: answer_tx,
        };
        (handle, side)
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
        self.cancel.cancel().await;
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
        let link = self.task?.await.ok()?;
        Some(Connected::from_parts(
            link,
            self.pid,
            self.notices,
            self.notifications,
        ))
    }
}

/// The test's end of a fake session's channels.
#[cfg(test)]
pub(crate) mod fake {
    use tokio::sync::mpsc;

    use crate::model::StepAnswer;

    /// What the scheduler sent, and where to put the "server's" answers.
    pub struct FakeServerSide {
        pub sent: mpsc::UnboundedReceiver<String>,
        pub answers: mpsc::UnboundedSender<StepAnswer>,
    }
}
