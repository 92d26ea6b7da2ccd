//! A gate the scheduler passes before each launch, so something outside the engine can set the
//! pace (a teacher pressing a key, a quiz waiting for the class). It is a channel handshake: the
//! scheduler sends a [`GateRequest`] describing the step it is about to launch and waits for the
//! answer. Nothing here reads keys or prints; the engine only learns "go" or "stop".
//!
//! When the scheduler asks, every step launched so far has either completed or been observed
//! blocked, so the timeline up to that moment is settled.

use tokio::sync::{mpsc, oneshot};

/// The scheduler is about to launch a step and asks whether to go on.
#[derive(Debug)]
pub struct GateRequest {
    /// Position of the step in the schedule (0-based).
    pub position: usize,
    /// Step index into the lesson's steps.
    pub step: usize,
    /// The SQL exactly as it will be sent (isolation level applied, captured values substituted).
    pub sql: String,
    /// The backend pid of every session, by session index.
    pub session_pids: Vec<i32>,
    reply: oneshot::Sender<bool>,
}

impl GateRequest {
    /// Launch the step.
    pub fn go(self) {
        let _ = self.reply.send(true);
    }

    /// Do not launch it: the run ends with [`crate::TxlabError::Stopped`] and cleans up as after any
    /// error.
    pub fn stop(self) {
        let _ = self.reply.send(false);
    }
}

/// The scheduler's end of the handshake; cheap to clone into [`crate::engine::RunOptions`].
#[derive(Debug, Clone)]
pub struct StepGate {
    requests: mpsc::UnboundedSender<GateRequest>,
}

impl StepGate {
    /// A gate and the receiver its requests arrive on.
    pub fn channel() -> (StepGate, mpsc::UnboundedReceiver<GateRequest>) {
        let (requests, rx) = mpsc::unbounded_channel();
        (StepGate { requests }, rx)
    }

    /// Asks and waits; `false` (stop) when the answer is stop or nobody is listening any more.
    pub async fn pass(
        &self,
        position: usize,
        step: usize,
        sql: String,
        session_pids: Vec<i32>,
    ) -> bool {
        let (reply, answer) = oneshot::channel();
        let request = GateRequest {
            position,
            step,
            sql,
            session_pids,
            reply,
        };
        if self.requests.send(request).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn go_stop_and_a_vanished_listener() {
        let (gate, mut rx) = StepGate::channel();
        let asked = tokio::spawn({
            let gate = gate.clone();
            async move { gate.pass(0, 3, "SELECT 1".into(), vec![7]).await }
        });
        let request = rx.recv().await.unwrap();
        assert_eq!((request.position, request.step), (0, 3));
        request.go();
        assert!(asked.await.unwrap());

        let asked = tokio::spawn({
            let gate = gate.clone();
            async move { gate.pass(1, 4, String::new(), vec![]).await }
        });
        rx.recv().await.unwrap().stop();
        assert!(!asked.await.unwrap());

        drop(rx);
        assert!(!gate.pass(2, 5, String::new(), vec![]).await);
    }
}
