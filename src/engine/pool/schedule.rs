//! The pool scheduler: launches a pool lesson's steps in schedule order, like the session
//! scheduler, and decides "done, or waiting — and for what?" by looking, never by sleeping. A
//! checkout that has not resolved is a wait *for a connection* once the pool itself counts a
//! waiter (the server cannot see it); a statement that has not answered is a wait *for a lock*
//! once the server's lock probe says so ([`super::waits`]). Events are born in the session
//! scheduler's recorder.

use std::time::{Duration, Instant};

use super::task::{Order, Reply, TaskHandle};
use super::waits::Wait;
use crate::db::{Connected, ConnectionPool};
use crate::engine::lesson::{PoolOp, Schedule, StepDef};
use crate::engine::scheduler::SchedulerSettings;
use crate::engine::scheduler::recorder::Recorder;
use crate::engine::sql_text::tx_control;
use crate::error::{Result, TxlabError};
use crate::model::event::{Completion, EventKind, Timeline};
use crate::model::{BackendId, StepAnswer};

/// A step sent to its task and not yet reported.
pub(super) struct Active {
    pub(super) step: usize,
    pub(super) launched: Instant,
    pub(super) wait: Option<Wait>,
}

/// The moment the pool deadlocked: every task holding a connection waited for another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDeadlock {
    pub tasks: Vec<usize>,
    pub size: usize,
    /// How many of the pool's backends the server saw waiting for a lock at that moment.
    pub server_waiters: usize,
}

/// Runs one pool lesson's schedule over its tasks.
pub struct PoolScheduler<'r> {
    pub(super) steps: &'r [StepDef],
    pub(super) ops: &'r [PoolOp],
    pub tasks: Vec<TaskHandle>,
    pub(super) pool: &'r ConnectionPool,
    pub(super) control: &'r Connected,
    pub(super) settings: SchedulerSettings,
    pub(super) active: Vec<Option<Active>>,
    /// Active tasks in launch order: waiters are polled in this order.
    pub(super) order: Vec<usize>,
    pub(super) events: Recorder,
    /// Set when the run reached a pool deadlock.
    pub deadlock: Option<PoolDeadlock>,
    /// `--locks`: record who waits for whom whenever a task is seen waiting.
    pub(super) locks: bool,
}

impl<'r> PoolScheduler<'r> {
    /// One task per lesson session, each checking connections out of `pool`; `control` asks the
    /// server about lock waits.
    pub fn new(
        steps: &'r [StepDef],
        ops: &'r [PoolOp],
        tasks: usize,
        pool: &'r ConnectionPool,
        control: &'r Connected,
        clock: Instant,
        settings: SchedulerSettings,
    ) -> PoolScheduler<'r> {
        PoolScheduler {
            steps,
            ops,
            tasks: (0..tasks)
                .map(|_| TaskHandle::spawn(pool.clone()))
                .collect(),
            pool,
            control,
            settings,
            active: (0..tasks).map(|_| None).collect(),
            order: Vec::new(),
            events: Recorder::new(clock),
            deadlock: None,
            locks: false,
        }
    }

    /// With `--locks`: a lock report (server and pool edges) each time a task is seen waiting.
    pub fn with_locks(mut self, locks: bool) -> Self {
        self.locks = locks;
        self
    }

    /// The events recorded, leaving an empty timeline behind.
    pub fn take_timeline(&mut self) -> Timeline {
        std::mem::take(&mut self.events.timeline)
    }

    /// Runs the schedule to the end: every step of a task that has not given up is launched,
    /// and every launched step reported.
    pub async fn run(&mut self, schedule: &Schedule) -> Result<()> {
        for scheduled in &schedule.steps {
            let task = self.steps[scheduled.step].session;
            self.wait_for_task(Some(task)).await?;
            if self.tasks[task].gave_up {
                continue;
            }
            self.launch(scheduled.step).await?;
            self.settle_waiters().await?;
        }
        self.wait_for_task(None).await
    }

    /// Polls the active steps until `task` (every task, with `None`) has nothing running.
    async fn wait_for_task(&mut self, task: Option<usize>) -> Result<()> {
        let start = Instant::now();
        loop {
            let busy = match task {
                Some(t) => self.active[t].is_some(),
                None => !self.order.is_empty(),
            };
            if !busy {
                return Ok(());
            }
            for t in self.order.clone() {
                if let Some((at, reply)) = self.tasks[t].reply_within(self.settings.poll).await {
                    self.report(t, at, reply);
                    self.give_back_if_failed(t).await?;
                }
            }
            if start.elapsed() > 2 * self.settings.step_timeout {
                let t = task.or(self.order.first().copied()).unwrap_or(0);
                return Err(TxlabError::Schedule(format!(
                    "task {} waited more than {} s: a pool without a wait timeout never gives up",
                    t + 1,
                    (2 * self.settings.step_timeout).as_secs()
                )));
            }
        }
    }

    /// Sends a step to its task and waits until it is done or seen waiting.
    async fn launch(&mut self, step: usize) -> Result<()> {
        let task = self.steps[step].session;
        let launched = Instant::now();
        match &self.ops[step] {
            PoolOp::AwaitSessionEnd { conn } => {
                return self.await_session_end(task, step, conn.clone()).await;
            }
            PoolOp::Terminate { conn } => return self.terminate(task, step, conn.clone()).await,
            _ => {}
        }
        let order = match &self.ops[step] {
            PoolOp::Acquire { conn, wait } => Order::Acquire {
                conn: conn.clone(),
                wait: *wait,
            },
            PoolOp::Run { conn } => {
                let sql = self.steps[step].sql.clone();
                let pid = self.pid_of(task, conn);
                self.events.record(
                    launched,
                    Some(task),
                    pid,
                    Some(step),
                    EventKind::Launch { sql: sql.clone() },
                );
                Order::Run {
                    conn: conn.clone(),
                    sql,
                }
            }
            PoolOp::Release { conn } => Order::Release { conn: conn.clone() },
            PoolOp::AwaitSessionEnd { .. } | PoolOp::Terminate { .. } => {
                unreachable!("handled above")
            }
        };
        if !self.tasks[task].send(order) {
            return Err(TxlabError::Schedule(format!("task {} ended", task + 1)));
        }
        self.active[task] = Some(Active {
            step,
            launched,
            wait: None,
        });
        self.order.push(task);
        loop {
            if let Some((at, reply)) = self.tasks[task].reply_within(self.settings.poll).await {
                self.report(task, at, reply);
                return self.give_back_if_failed(task).await;
            }
            if self.observe(task, step).await? {
                self.inspect_locks(Instant::now(), task, step).await;
                return Ok(());
            }
            if launched.elapsed() > self.settings.step_timeout {
                return Err(TxlabError::StepTimeout {
                    step: self.steps[step].name.clone(),
                    session: format!("task {}", task + 1),
                    seconds: self.settings.step_timeout.as_secs(),
                });
            }
        }
    }

    /// A task whose checkout failed gives back every connection it holds, one reported release
    /// at a time: only then can a waiting task get one, so the order of events is fixed.
    pub(super) async fn give_back_if_failed(&mut self, task: usize) -> Result<()> {
        if !self.tasks[task].gave_up {
            return Ok(());
        }
        let started = Instant::now();
        for (conn, _) in self.tasks[task].held.clone() {
            if !self.tasks[task].send(Order::Release { conn }) {
                return Err(TxlabError::Schedule(format!("task {} ended", task + 1)));
            }
            loop {
                match self.tasks[task].reply_within(self.settings.poll).await {
                    Some((at, Reply::Released { conn, pid })) => {
                        self.tasks[task].held.retain(|(name, _)| *name != conn);
                        self.events
                            .record(at, Some(task), pid, None, EventKind::Released { conn });
                        break;
                    }
                    Some(_) => {}
                    None if started.elapsed() > self.settings.step_timeout => {
                        return Err(TxlabError::Schedule(format!(
                            "task {} did not give its connections back",
                            task + 1
                        )));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    pub(super) fn all_pids(&self) -> Vec<BackendId> {
        self.tasks
            .iter()
            .flat_map(|t| t.held.iter().map(|(_, pid)| *pid))
            .collect()
    }

    /// The backend of the task's connection `conn`: the one it holds, else the one it last
    /// gave back under that name; 0 when it never had one.
    pub(super) fn pid_of(&self, task: usize, conn: &str) -> BackendId {
        let t = &self.tasks[task];
        t.held
            .iter()
            .find(|(name, _)| name == conn)
            .or_else(|| t.released.iter().rev().find(|(name, _)| name == conn))
            .map(|(_, pid)| *pid)
            .unwrap_or(0)
    }

    /// Turns a task's reply into events.
    pub(super) fn report(&mut self, task: usize, at: Instant, reply: Reply) {
        let Some(active) = self.active[task].take() else {
            return;
        };
        self.order.retain(|&t| t != task);
        let step = Some(active.step);
        let waited = active
            .wait
            .map(|_| at.saturating_duration_since(active.launched));
        match reply {
            Reply::Acquired { conn, pid, took } => {
                self.tasks[task].held.push((conn.clone(), pid));
                self.events.record(
                    at,
                    Some(task),
                    pid,
                    step,
                    EventKind::Acquired {
                        conn,
                        waited,
                        took: Some(took),
                    },
                );
            }
            Reply::Answer { pid, answer } => {
                let completion = completion(&self.steps[active.step].sql, answer, waited);
                self.events
                    .record(at, Some(task), pid, step, EventKind::Completed(completion));
            }
            Reply::Released { conn, pid } => {
                self.tasks[task].held.retain(|(name, _)| *name != conn);
                self.tasks[task].released.push((conn.clone(), pid));
                self.events
                    .record(at, Some(task), pid, step, EventKind::Released { conn });
            }
            Reply::CheckoutFailed { error } => {
                let answer = StepAnswer {
                    at,
                    results: Vec::new(),
                    error: Some(error),
                };
                let completion = completion("", answer, waited);
                self.events
                    .record(at, Some(task), 0, step, EventKind::Completed(completion));
                self.tasks[task].gave_up = true;
            }
        }
    }
}

fn completion(sql: &str, answer: StepAnswer, waited: Option<Duration>) -> Completion {
    let tx_end = match (tx_control(sql), &answer.error) {
        (Some(end), None) => Some(end),
        _ => None,
    };
    Completion {
        results: answer.results,
        error: answer.error,
        tx_end,
        waited,
        conflict: None,
    }
}
