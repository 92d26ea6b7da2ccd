//! One application task of a pool lesson: a tokio task that holds the connections it checked
//! out, by name, and does what the scheduler sends it. Like a request handler, when a checkout
//! fails it rolls back; the scheduler then has it give back everything it holds (after reporting
//! the failure, so whoever gets a connection next is reported after it), and runs nothing more.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::db::{ConnectionPool, PooledConnection};
use crate::model::{BackendId, ErrorInfo, StepAnswer};

/// What the scheduler asks a task to do.
#[derive(Debug)]
pub enum Order {
    Acquire {
        conn: String,
        wait: Option<Duration>,
    },
    Run {
        conn: String,
        sql: String,
    },
    Release {
        conn: String,
    },
}

/// What the task did, with the moment it finished.
#[derive(Debug)]
pub enum Reply {
    Acquired {
        conn: String,
        pid: BackendId,
        /// How long the checkout took, the pool's recycling check included.
        took: Duration,
    },
    Answer {
        pid: BackendId,
        answer: StepAnswer,
    },
    Released {
        conn: String,
        pid: BackendId,
    },
    /// The checkout failed; the task rolled back what it holds (and gives its connections back
    /// when the scheduler says so, after it has reported the failure).
    CheckoutFailed {
        error: ErrorInfo,
    },
}

/// The scheduler's end of a task.
pub struct TaskHandle {
    orders: mpsc::UnboundedSender<Order>,
    replies: mpsc::UnboundedReceiver<(Instant, Reply)>,
    /// The connections the task holds right now (name, backend), as its replies said.
    pub held: Vec<(String, BackendId)>,
    /// The connections it gave back (name, backend), latest last: a step may still name the
    /// backend a connection had (`terminate`), though it rests in the pool.
    pub released: Vec<(String, BackendId)>,
    /// Set once a checkout failed: the task's later steps are not run.
    pub gave_up: bool,
}

impl TaskHandle {
    /// Starts a task that checks connections out of `pool`.
    pub fn spawn(pool: ConnectionPool) -> TaskHandle {
        let (orders, mut inbox) = mpsc::unbounded_channel::<Order>();
        let (outbox, replies) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut conns: BTreeMap<String, PooledConnection> = BTreeMap::new();
            while let Some(order) = inbox.recv().await {
                let reply = match order {
                    Order::Acquire { conn, wait } => {
                        let asked = Instant::now();
                        match pool.get(wait).await {
                            Ok(c) => {
                                let pid = c.pid();
                                conns.insert(conn.clone(), c);
                                Reply::Acquired {
                                    conn,
                                    pid,
                                    took: asked.elapsed(),
                                }
                            }
                            Err(error) => {
                                for c in conns.values() {
                                    let _ = c.run("ROLLBACK").await;
                                }
                                Reply::CheckoutFailed { error }
                            }
                        }
                    }
                    Order::Run { conn, sql } => match conns.get(&conn) {
                        Some(c) => Reply::Answer {
                            pid: c.pid(),
                            answer: c.run(&sql).await,
                        },
                        None => Reply::Answer {
                            pid: 0,
                            answer: StepAnswer {
                                at: Instant::now(),
                                results: Vec::new(),
                                error: Some(ErrorInfo {
                                    sqlstate: "08003".into(),
                                    severity: "ERROR".into(),
                                    message: format!("the task holds no connection '{conn}'"),
                                    detail: None,
                                }),
                            },
                        },
                    },
                    Order::Release { conn } => {
                        let pid = conns.remove(&conn).map(|c| c.pid()).unwrap_or(0);
                        Reply::Released { conn, pid }
                    }
                };
                if outbox.send((Instant::now(), reply)).is_err() {
                    break;
                }
            }
        });
        TaskHandle {
            orders,
            replies,
            held: Vec::new(),
            released: Vec::new(),
            gave_up: false,
        }
    }

    /// Sends an order; false when the task has ended.
    pub fn send(&self, order: Order) -> bool {
        self.orders.send(order).is_ok()
    }

    /// The task's reply if it has one within `poll`.
    pub async fn reply_within(&mut self, poll: Duration) -> Option<(Instant, Reply)> {
        tokio::time::timeout(poll, self.replies.recv())
            .await
            .ok()
            .flatten()
    }
}
