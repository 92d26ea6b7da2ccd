//! A finished run as renderers see it, and the one place a [`LessonRun`] is built: for a lesson
//! run by the runner, for the classroom's provisional view of a run in progress, and for a
//! permutation of an isolation spec. Plain data; nothing here talks to a server.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::lesson::{Lesson, StepDef};
use super::level::IsolationLevel;
use super::verdict::Verdict;
use crate::model::{BackendId, Engine, Timeline};

/// A session as it ran: who, and which backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    pub name: String,
    pub label: String,
    pub pid: i32,
}

/// Everything a renderer needs about one run. Renderers get this and nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LessonRun {
    pub lesson_id: String,
    pub title: String,
    pub anomaly: Option<String>,
    /// The anomaly in capitals, for verdict sentences ("LOST UPDATE").
    pub anomaly_name: String,
    pub summary: String,
    pub explanation: String,
    /// The demo group and variant name, for lessons that are one variant of a demo.
    pub demo: Option<String>,
    pub variant: Option<String>,
    /// How many levels this lesson is shown at in the current command (labels add the level
    /// only when it tells variants apart).
    pub levels_shown: usize,
    pub level: Option<IsolationLevel>,
    pub sessions: Vec<SessionInfo>,
    /// The steps as sent (isolation level applied), indexed like the timeline's `step`.
    pub steps: Vec<StepDef>,
    pub timeline: Timeline,
    pub verdict: Option<Verdict>,
    /// Why the outcome is what it is at this level, from the lesson.
    pub why: Option<String>,
    /// Facts about this run the reader should know (level mapping, deadlock_timeout…).
    pub notes: Vec<String>,
    /// Wall time from the first launch to the last report.
    pub schedule_time: Duration,
    /// Wall time of the whole run, schema creation to schema drop.
    pub total_time: Duration,
    /// The engine the run used, and the server's version when known (MariaDB runs name both in
    /// the timeline's title; PostgreSQL's title stays as it was).
    pub engine: Engine,
    pub server_version: Option<String>,
}

impl SessionInfo {
    /// Who each session is: the lesson's names and labels with the backends' ids (`0` for a
    /// session not connected yet).
    pub fn of(lesson: &Lesson, pids: &[BackendId]) -> Vec<SessionInfo> {
        lesson
            .sessions
            .iter()
            .enumerate()
            .map(|(i, def)| SessionInfo {
                name: def.name.clone(),
                label: def.label.clone(),
                pid: pids.get(i).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// The lesson's steps as they are sent at `level`: the level applied to every transaction
/// start; as written with `None`.
pub fn steps_at(lesson: &Lesson, level: Option<IsolationLevel>) -> Vec<StepDef> {
    lesson
        .steps
        .iter()
        .map(|s| StepDef {
            sql: level
                .map(|l| l.apply_to(&s.sql))
                .unwrap_or_else(|| s.sql.clone()),
            ..s.clone()
        })
        .collect()
}

impl LessonRun {
    /// A run of `lesson` at `level` with these sessions, steps (as sent) and events; no verdict,
    /// notes or times yet (the caller adds what it knows).
    pub fn new(
        lesson: &Lesson,
        level: Option<IsolationLevel>,
        sessions: Vec<SessionInfo>,
        steps: Vec<StepDef>,
        timeline: Timeline,
    ) -> LessonRun {
        LessonRun {
            lesson_id: lesson.id.clone(),
            title: lesson.title.clone(),
            anomaly: lesson.anomaly.clone(),
            anomaly_name: lesson
                .verdict
                .as_ref()
                .map(|v| v.name.clone())
                .unwrap_or_else(|| lesson.title.to_uppercase()),
            summary: lesson.summary.clone(),
            explanation: lesson.explanation.clone(),
            demo: lesson.demo.clone(),
            variant: lesson.variant.clone(),
            levels_shown: 1,
            level,
            sessions,
            steps,
            timeline,
            verdict: None,
            why: level.and_then(|l| lesson.why.get(&l).cloned()),
            notes: Vec::new(),
            schedule_time: Duration::ZERO,
            total_time: Duration::ZERO,
            engine: Engine::Postgres,
            server_version: None,
        }
    }
}
