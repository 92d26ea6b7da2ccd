//! The per-engine part of a lesson: what changes when the same story runs on MariaDB (its setup
//! SQL, a step's SQL, the verdict check, the expectations and the "why" text), or why it cannot
//! run there at all. docs/lessons.md ("Per-engine parts") documents the format for teachers.

use std::collections::BTreeMap;

use super::lesson::Lesson;
use super::level::IsolationLevel;
use super::outcome::Expectation;
use crate::model::Engine;

/// A lesson's MariaDB part (`[mariadb]` in the file, `mariadb = "…"` on a step).
#[derive(Debug, Clone, Default)]
pub struct EngineVariant {
    /// Why the lesson cannot exist on this engine; it is then skipped with this reason.
    pub unsupported: Option<String>,
    /// Replaces the lesson's setup.
    pub setup: Option<Vec<String>>,
    /// Replaces the lesson's teardown.
    pub teardown: Option<String>,
    /// Replaces the verdict's check query.
    pub check: Option<String>,
    /// Replaces the verdict's SQLSTATE (MariaDB reports a deadlock as 40001, not 40P01).
    pub sqlstate: Option<String>,
    /// Replaces the explanation (the engine's own story, e.g. who loses a deadlock and why).
    pub explanation: Option<String>,
    /// Step index → the SQL this engine runs instead.
    pub steps: BTreeMap<usize, String>,
    /// What this engine does at each level.
    pub expect: BTreeMap<IsolationLevel, Expectation>,
    /// Why, per level, written from this engine's documented behaviour.
    pub why: BTreeMap<IsolationLevel, String>,
    /// Levels the lesson's step order cannot run at on this engine, with the reason (`[mariadb.skip]`).
    pub skip: BTreeMap<IsolationLevel, String>,
}

impl Lesson {
    /// Why the lesson does not run on `engine`, if it does not (shown by `txlab list` and when a
    /// run skips it).
    pub fn unsupported_on(&self, engine: Engine) -> Option<String> {
        match (engine, &self.mariadb) {
            (Engine::Postgres, _) => None,
            (Engine::Mariadb, None) => Some("no MariaDB variant written yet".into()),
            (Engine::Mariadb, Some(v)) => v.unsupported.clone(),
        }
    }

    /// Why the lesson is not run on `engine` at `level`, if it is not.
    pub fn skipped_at(&self, engine: Engine, level: Option<IsolationLevel>) -> Option<String> {
        let v = self
            .mariadb
            .as_deref()
            .filter(|_| engine == Engine::Mariadb)?;
        v.skip.get(&level?).cloned()
    }

    /// The lesson as `engine` runs it: the engine's setup, steps, check, expectations and "why"
    /// replace PostgreSQL's. `Err` carries the reason it cannot run there.
    pub fn for_engine(&self, engine: Engine) -> Result<Lesson, String> {
        if let Some(reason) = self.unsupported_on(engine) {
            return Err(reason);
        }
        let Some(v) = self
            .mariadb
            .as_deref()
            .filter(|_| engine == Engine::Mariadb)
        else {
            return Ok(self.clone());
        };
        let mut lesson = self.clone();
        if let Some(setup) = &v.setup {
            lesson.setup = setup.clone();
        }
        if v.teardown.is_some() {
            lesson.teardown = v.teardown.clone();
        }
        if let (Some(check), Some(rule)) = (&v.check, lesson.verdict.as_mut()) {
            rule.check = Some(check.clone());
        }
        if let (Some(code), Some(rule)) = (&v.sqlstate, lesson.verdict.as_mut()) {
            rule.sqlstate = Some(code.clone());
        }
        if let Some(text) = &v.explanation {
            lesson.explanation = text.trim().to_string();
        }
        for (&i, sql) in &v.steps {
            if let Some(step) = lesson.steps.get_mut(i) {
                step.sql = sql.clone();
            }
        }
        lesson.expect = v.expect.clone();
        lesson.why = v.why.clone();
        // MariaDB picks its deadlock victim itself; the lesson's order decides who closes the cycle.
        lesson.deadlock_victim = None;
        Ok(lesson)
    }
}
