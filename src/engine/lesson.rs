//! The lesson model: what a teacher wrote, compiled into one shape that the scheduler runs. TOML
//! lessons and PostgreSQL isolation specs both compile into a [`Lesson`], so there is one engine.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::level::IsolationLevel;
use super::outcome::Expectation;
use super::quiz::Quiz;
use crate::db::seam::PoolSettings;

/// A scenario: setup, sessions, steps, the orders to run them in, and how to judge the result.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// Short name used on the command line (`lost-update`).
    pub id: String,
    pub title: String,
    /// The anomaly id from ANOMALIES.md (`P4`), when the lesson stages one.
    pub anomaly: Option<String>,
    /// Grouping for `txlab list`: anomalies, deadlocks, locking…
    pub topic: String,
    pub summary: String,
    pub explanation: String,
    /// Run on the control connection, in order, before the sessions start.
    pub setup: Vec<String>,
    pub teardown: Option<String>,
    pub sessions: Vec<SessionDef>,
    pub steps: Vec<StepDef>,
    /// The interleavings to run; a TOML lesson has exactly one, its steps in file order.
    pub schedules: Vec<Schedule>,
    pub verdict: Option<VerdictRule>,
    /// What PostgreSQL documents for each level.
    pub expect: BTreeMap<IsolationLevel, Expectation>,
    /// Why the outcome is what it is, per level, shown under the verdict.
    pub why: BTreeMap<IsolationLevel, String>,
    /// The levels `txlab demo` runs when the user names none.
    pub default_levels: Vec<IsolationLevel>,
    /// The session that should lose a deadlock (gets the short `deadlock_timeout`).
    pub deadlock_victim: Option<usize>,
    /// Where the lesson came from: `built-in` or a file path.
    pub origin: String,
    /// The demo this lesson is a variant of (`transfer`), run back to back with its siblings.
    pub demo: Option<String>,
    /// What this variant does ("broken: read, then write", "pessimistic: FOR UPDATE").
    pub variant: Option<String>,
    /// The MariaDB part (`[mariadb]`): see [`super::lesson_engine`].
    pub mariadb: Option<Box<super::lesson_engine::EngineVariant>>,
    /// A pool lesson (issue 15): its sessions are tasks that check connections out of a pool.
    pub pool: Option<PoolPlan>,
}

/// A lesson whose sessions are *tasks* sharing a connection pool: a task holds no connection of
/// its own; its steps check named connections out, run SQL on one, and give them back.
#[derive(Debug, Clone)]
pub struct PoolPlan {
    pub settings: PoolSettings,
    /// What each step does with the pool, indexed like the lesson's steps.
    pub ops: Vec<PoolOp>,
}

/// A pool lesson's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolOp {
    /// Check a connection out and call it `conn`; `wait` overrides the pool's wait timeout.
    Acquire {
        conn: String,
        wait: Option<std::time::Duration>,
    },
    /// Run the step's SQL on the task's connection `conn`.
    Run { conn: String },
    /// Give `conn` back to the pool.
    Release { conn: String },
    /// Wait until the server has ended `conn`'s session (it no longer lists the backend), e.g.
    /// after `idle_in_transaction_session_timeout`: a wait on the server's clock, observed.
    AwaitSessionEnd { conn: String },
    /// The server ends the session of the backend the task's connection `conn` has (or had,
    /// when it rests in the pool): `pg_terminate_backend`, as a failover or an idle timeout
    /// would; then wait until the server no longer lists it.
    Terminate { conn: String },
}

impl PoolOp {
    /// The connection the step is about.
    pub fn conn(&self) -> &str {
        match self {
            PoolOp::Acquire { conn, .. }
            | PoolOp::Run { conn }
            | PoolOp::Release { conn }
            | PoolOp::AwaitSessionEnd { conn }
            | PoolOp::Terminate { conn } => conn,
        }
    }
}

/// One connection of a lesson.
#[derive(Debug, Clone)]
pub struct SessionDef {
    /// Short name used in steps (`a`).
    pub name: String,
    /// Who this is in the story ("alice's phone"); shown as the column header.
    pub label: String,
    pub setup: Vec<String>,
    pub teardown: Option<String>,
    /// When set, a failed transaction of this session is rolled back and replayed, like an
    /// application's retry loop.
    pub retry: Option<RetryPolicy>,
}

/// What an application's retry wrapper does: which failures it retries, how often, how long it
/// backs off. The engine runs it, so a lesson shows the attempts instead of hand-written SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub on: Vec<RetryOn>,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Backoff before attempt n (n ≥ 2) is base × 2^(n−2), plus up to one base of random jitter.
    pub base_backoff: std::time::Duration,
    pub jitter: bool,
}

/// A failure a retry wrapper reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOn {
    /// A server error with this SQLSTATE (40001, 40P01…).
    SqlState(String),
    /// An optimistic-locking conflict: a step touched other than its expected number of rows.
    Conflict,
}

/// One statement (or a few, sent together) a session runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepDef {
    pub name: String,
    pub session: usize,
    pub sql: String,
    /// A line of narration shown before the step.
    pub say: Option<String>,
    /// Names for the columns of the first row this step returns; later steps use `{{name}}`.
    pub capture: Vec<String>,
    /// A name for the number of rows this step returns.
    pub capture_rows: Option<String>,
    /// A question for the class, asked before the step (`--quiz`).
    pub quiz: Option<Quiz>,
    /// Optimistic locking: the rows this step must touch (`UPDATE … WHERE version = v` → 1);
    /// any other count is an optimistic conflict, a named outcome like an error.
    pub expect_rows: Option<u64>,
}

/// An interleaving: the steps in the order they are launched.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub steps: Vec<ScheduledStep>,
}

/// A step in a schedule, with isolationtester's markers.
#[derive(Debug, Clone)]
pub struct ScheduledStep {
    pub step: usize,
    pub blockers: Vec<Blocker>,
}

/// Holds back the *report* of a step's completion (never a launch), to keep output stable where
/// two things happen at once. Same meaning as isolationtester's permutation markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// `(*)`: report the step as waiting when launched, even if it completes at once.
    Once,
    /// `(other)`: do not report completion while `other` is still running or waiting.
    Step(usize),
    /// `(other notices N)`: not until `other`'s session has sent N more notices.
    Notices { step: usize, count: u32 },
}

/// How to decide whether the anomaly happened.
#[derive(Debug, Clone, Default)]
pub struct VerdictRule {
    /// The anomaly in capitals, for the verdict sentence ("LOST UPDATE").
    pub name: String,
    /// SQL run after all sessions ended; returns `occurred boolean, detail text`.
    pub check: Option<String>,
    /// The anomaly occurred if any step failed with this SQLSTATE (e.g. `40P01`).
    pub sqlstate: Option<String>,
}

impl Lesson {
    /// The session index for a name.
    pub fn session_index(&self, name: &str) -> Option<usize> {
        self.sessions.iter().position(|s| s.name == name)
    }

    /// The levels to run: those asked for, or the lesson's defaults.
    pub fn levels_to_run(&self, asked: &[IsolationLevel]) -> Vec<IsolationLevel> {
        if asked.is_empty() {
            self.default_levels.clone()
        } else {
            asked.to_vec()
        }
    }
}
