//! The per-engine part of a lesson: what changes when the same story runs on MariaDB (its setup
//! SQL, a step's SQL, the verdict check, the expectations and the "why" text), or why it cannot
//! run there at all. docs/lessons.md ("Per-engine parts") documents the format for teachers.

use std::collections::BTreeMap;

use super::lesson::{Lesson, Schedule, ScheduledStep};
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
    /// Levels at which this engine runs the steps in another order (`[mariadb.order]`): step
    /// indices, each step once. MariaDB's SERIALIZABLE makes plain reads lock, so a writer waits
    /// where PostgreSQL's does not, and the file's order would stall.
    pub order: BTreeMap<IsolationLevel, Vec<usize>>,
}

impl Lesson {
    /// Why the lesson does not run on `engine`, if it does not (shown by `txlab list` and when a
    /// run skips it).
    pub fn unsupported_on(&self, engine: Engine) -> Option<String> {
        match (engine, &self.mariadb) {
            (Engine::Postgres, _) => None,
            (Engine::Mariadb, None) if self.pool.is_some() => {
                Some("connection-pool lessons run on PostgreSQL only".into())
            }
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

    /// The lesson as `engine` runs it at `level`: [`Lesson::for_engine`], with the steps in the
    /// engine's own order at that level when the lesson gives one (`[mariadb.order]`). Each step
    /// keeps its markers (`always_waits`, `report_after`).
    pub fn for_engine_at(
        &self,
        engine: Engine,
        level: Option<IsolationLevel>,
    ) -> Result<Lesson, String> {
        let mut lesson = self.for_engine(engine)?;
        let order = self
            .mariadb
            .as_deref()
            .filter(|_| engine == Engine::Mariadb)
            .and_then(|v| v.order.get(&level?));
        if let (Some(order), Some(written)) = (order, self.schedules.first()) {
            let steps = order
                .iter()
                .map(|&i| {
                    written
                        .steps
                        .iter()
                        .find(|s| s.step == i)
                        .cloned()
                        .unwrap_or(ScheduledStep {
                            step: i,
                            blockers: Vec::new(),
                        })
                })
                .collect();
            lesson.schedules = vec![Schedule { steps }];
        }
        Ok(lesson)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::lesson_file::parse_lesson;

    const LESSON: &str = r#"
title = "T"
summary = "s"
setup = "CREATE TABLE t (x numeric)"
[[session]]
name = "a"
[[step]]
session = "a"
sql = "SELECT x::text FROM t"
mariadb = "SELECT CAST(x AS CHAR) FROM t"
[verdict]
check = "SELECT false"
sqlstate = "40P01"
[expect]
read-committed = "prevented (snapshot)"
[mariadb]
setup = "CREATE TABLE t (x DECIMAL(12,2))"
sqlstate = "40001"
[mariadb.expect]
read-committed = "occurred"
[mariadb.why]
read-committed = "because"
[mariadb.skip]
serializable = "cannot"
"#;

    #[test]
    fn the_mariadb_part_replaces_setup_steps_verdict_and_expectations() {
        let lesson = parse_lesson(LESSON, "t.toml", "t").unwrap();
        let pg = lesson.for_engine(Engine::Postgres).unwrap();
        assert_eq!(pg.steps[0].sql, "SELECT x::text FROM t");
        let my = lesson.for_engine(Engine::Mariadb).unwrap();
        assert_eq!(
            my.setup,
            vec!["CREATE TABLE t (x DECIMAL(12,2))".to_string()]
        );
        assert_eq!(my.steps[0].sql, "SELECT CAST(x AS CHAR) FROM t");
        assert_eq!(my.verdict.unwrap().sqlstate.as_deref(), Some("40001"));
        let rc = IsolationLevel::ReadCommitted;
        assert_eq!(my.expect[&rc].to_string(), "occurred");
        assert_eq!(my.why[&rc], "because");
        assert_eq!(
            lesson.skipped_at(Engine::Mariadb, Some(IsolationLevel::Serializable)),
            Some("cannot".into())
        );
        assert_eq!(
            lesson.skipped_at(Engine::Postgres, Some(IsolationLevel::Serializable)),
            None
        );
    }

    #[test]
    fn a_lesson_without_a_mariadb_part_is_skipped_there_with_a_reason() {
        let text = LESSON
            .split("[mariadb]")
            .next()
            .unwrap()
            .replace("mariadb = \"SELECT CAST(x AS CHAR) FROM t\"\n", "");
        let lesson = parse_lesson(&text, "t.toml", "t").unwrap();
        assert!(lesson.unsupported_on(Engine::Postgres).is_none());
        let reason = lesson.for_engine(Engine::Mariadb).unwrap_err();
        assert!(reason.contains("no MariaDB variant"), "{reason}");
    }
}
