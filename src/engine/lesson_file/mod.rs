//! Reading lesson files. Lessons are data a teacher writes without Rust, so every mistake is
//! reported as `file:line: what is wrong`. The format is documented in docs/lessons.md.

mod order;
mod pool;
mod retry;

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::lesson::{Blocker, Lesson, Schedule, ScheduledStep, SessionDef, StepDef, VerdictRule};
use super::lesson_engine::EngineVariant;
use super::level::IsolationLevel;
use super::quiz::QuizSpec;
use super::verdict::Expectation;
use crate::error::{Result, TxlabError};
use pool::{FilePool, pool_plan};
use retry::{FileRetry, retry_policy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLesson {
    id: Option<String>,
    title: String,
    anomaly: Option<String>,
    #[serde(default = "default_topic")]
    topic: String,
    summary: String,
    #[serde(default)]
    explanation: String,
    demo: Option<String>,
    variant: Option<String>,
    #[serde(default)]
    levels: Vec<Spanned<String>>,
    #[serde(default)]
    setup: OneOrMany,
    teardown: Option<String>,
    #[serde(default)]
    deadlock: Option<FileDeadlock>,
    #[serde(rename = "session", alias = "task", default)]
    sessions: Vec<FileSession>,
    #[serde(rename = "step", default)]
    steps: Vec<FileStep>,
    verdict: Option<FileVerdict>,
    #[serde(default)]
    expect: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    why: BTreeMap<Spanned<String>, String>,
    mariadb: Option<FileEngine>,
    pool: Option<Spanned<FilePool>>,
}

/// `[mariadb]`: the lesson's MariaDB part (docs/lessons.md, "Per-engine parts").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEngine {
    unsupported: Option<String>,
    setup: Option<OneOrMany>,
    teardown: Option<String>,
    check: Option<String>,
    sqlstate: Option<String>,
    explanation: Option<String>,
    #[serde(default)]
    expect: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    why: BTreeMap<Spanned<String>, String>,
    #[serde(default)]
    skip: BTreeMap<Spanned<String>, String>,
    /// Level → the step names in the order this engine runs them at that level.
    #[serde(default)]
    order: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

fn default_topic() -> String {
    "anomalies".into()
}

#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDeadlock {
    victim: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSession {
    name: Spanned<String>,
    label: Option<String>,
    #[serde(default)]
    setup: OneOrMany,
    teardown: Option<String>,
    retry: Option<Spanned<FileRetry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    name: Option<Spanned<String>>,
    #[serde(alias = "task")]
    session: Spanned<String>,
    #[serde(default)]
    sql: String,
    /// Pool lessons: check a connection out under this name.
    acquire: Option<String>,
    /// Pool lessons: give this connection back.
    release: Option<String>,
    /// Pool lessons: the connection the step's SQL runs on.
    on: Option<String>,
    /// Pool lessons: this checkout's wait timeout, overriding the pool's.
    timeout_ms: Option<u64>,
    /// Pool lessons: wait until the server has ended this connection's session.
    await_session_end: Option<String>,
    /// Pool lessons: the server terminates this connection's backend (`pg_terminate_backend`).
    terminate: Option<String>,
    say: Option<String>,
    #[serde(default)]
    capture: OneOrMany,
    capture_rows: Option<String>,
    expect_rows: Option<u64>,
    #[serde(default)]
    always_waits: bool,
    #[serde(default)]
    report_after: Vec<Spanned<String>>,
    quiz: Option<QuizSpec>,
    /// The SQL MariaDB runs instead of `sql`.
    mariadb: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVerdict {
    anomaly: Option<String>,
    check: Option<String>,
    sqlstate: Option<String>,
}

/// Parses a lesson from TOML text; `file` names it in error messages and `fallback_id` is used
/// when the file has no `id` (the file name without extension).
pub fn parse_lesson(text: &str, file: &str, fallback_id: &str) -> Result<Lesson> {
    let err = |span: Option<Range<usize>>, message: String| TxlabError::LessonFile {
        file: file.to_string(),
        line: span.map(|s| line_of(text, s.start)).unwrap_or(1),
        message,
    };
    let raw: FileLesson =
        toml::from_str(text).map_err(|e| err(e.span(), first_line(e.message())))?;

    if raw.sessions.is_empty() {
        return Err(err(None, "a lesson needs at least one [[session]]".into()));
    }
    let mut sessions = Vec::new();
    for s in &raw.sessions {
        if sessions
            .iter()
            .any(|d: &SessionDef| d.name == *s.name.get_ref())
        {
            return Err(err(
                Some(s.name.span()),
                format!("session '{}' is defined twice", s.name.get_ref()),
            ));
        }
        sessions.push(SessionDef {
            name: s.name.get_ref().clone(),
            label: s.label.clone().unwrap_or_else(|| s.name.get_ref().clone()),
            setup: Vec::new(),
            teardown: s.teardown.clone(),
            retry: match &s.retry {
                None => None,
                Some(r) => Some(retry_policy(r.get_ref()).map_err(|m| err(Some(r.span()), m))?),
            },
        });
    }
    for (def, s) in sessions.iter_mut().zip(raw.sessions) {
        def.setup = s.setup.into_vec();
    }
    let session_index = |name: &Spanned<String>| {
        sessions
            .iter()
            .position(|s| s.name == *name.get_ref())
            .ok_or_else(|| {
                let known: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
                err(
                    Some(name.span()),
                    format!(
                        "no session named '{}' (sessions: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                )
            })
    };

    let step_mariadb: Vec<Option<String>> = raw.steps.iter().map(|s| s.mariadb.clone()).collect();
    if raw.steps.is_empty() {
        return Err(err(None, "a lesson needs at least one [[step]]".into()));
    }
    let mut steps: Vec<StepDef> = Vec::new();
    for (i, s) in raw.steps.iter().enumerate() {
        let session = session_index(&s.session)?;
        let name = match &s.name {
            Some(n) => {
                if steps.iter().any(|d| d.name == *n.get_ref()) {
                    return Err(err(
                        Some(n.span()),
                        format!("step name '{}' is used twice", n.get_ref()),
                    ));
                }
                n.get_ref().clone()
            }
            None => format!("{}{}", sessions[session].name, i + 1),
        };
        if s.sql.trim().is_empty()
            && s.acquire.is_none()
            && s.release.is_none()
            && s.await_session_end.is_none()
            && s.terminate.is_none()
        {
            return Err(err(
                Some(s.session.span()),
                "this step has empty sql".into(),
            ));
        }
        steps.push(StepDef {
            name,
            session,
            sql: s.sql.trim().to_string(),
            say: s.say.clone(),
            capture: Vec::new(),
            capture_rows: s.capture_rows.clone(),
            quiz: None,
            expect_rows: s.expect_rows,
        });
    }
    let pool = match &raw.pool {
        None => None,
        Some(p) => Some(
            pool_plan(p.get_ref(), &raw.steps, &sessions).map_err(|m| err(Some(p.span()), m))?,
        ),
    };

    let mut schedule = Schedule::default();
    for (i, s) in raw.steps.into_iter().enumerate() {
        steps[i].capture = s.capture.into_vec();
        let mut blockers = Vec::new();
        if s.always_waits {
            blockers.push(Blocker::Once);
        }
        for other in &s.report_after {
            let idx = steps
                .iter()
                .position(|d| d.name == *other.get_ref())
                .ok_or_else(|| {
                    err(
                        Some(other.span()),
                        format!("report_after names no step '{}'", other.get_ref()),
                    )
                })?;
            blockers.push(Blocker::Step(idx));
        }
        schedule.steps.push(ScheduledStep { step: i, blockers });
        if let Some(quiz) = &s.quiz {
            let names: Vec<&str> = steps.iter().map(|d| d.name.as_str()).collect();
            let compiled = quiz
                .compile(i, &names)
                .map_err(|(span, m)| err(span.or(Some(s.session.span())), m))?;
            steps[i].quiz = Some(compiled);
        }
    }

    let parse_level = |s: &Spanned<String>| {
        s.get_ref()
            .parse::<IsolationLevel>()
            .map_err(|e| err(Some(s.span()), e.to_string()))
    };
    let mut expect = BTreeMap::new();
    for (level, value) in &raw.expect {
        let e: Expectation = value
            .get_ref()
            .parse()
            .map_err(|m| err(Some(value.span()), m))?;
        expect.insert(parse_level(level)?, e);
    }
    let mut why = BTreeMap::new();
    for (level, text) in raw.why {
        why.insert(parse_level(&level)?, text);
    }
    let (mut mariadb, raw_m) = match raw.mariadb {
        Some(m) => (
            Some(Box::new(EngineVariant {
                unsupported: m.unsupported,
                setup: m.setup.map(OneOrMany::into_vec),
                teardown: m.teardown,
                check: m.check,
                sqlstate: m.sqlstate,
                explanation: m.explanation,
                ..Default::default()
            })),
            (m.expect, m.why, m.skip, m.order),
        ),
        None => (None, Default::default()),
    };
    if let Some(v) = mariadb.as_deref_mut() {
        for (level, value) in &raw_m.0 {
            let e: Expectation = value
                .get_ref()
                .parse()
                .map_err(|m| err(Some(value.span()), m))?;
            v.expect.insert(parse_level(level)?, e);
        }
        for (level, text) in raw_m.1 {
            v.why.insert(parse_level(&level)?, text);
        }
        for (level, text) in raw_m.2 {
            v.skip.insert(parse_level(&level)?, text);
        }
        for (level, names) in &raw_m.3 {
            let order = order::step_order(level.get_ref(), names, &steps)
                .map_err(|(span, m)| err(span.or(Some(level.span())), m))?;
            v.order.insert(parse_level(level)?, order);
        }
    }
    for (i, sql) in step_mariadb.into_iter().enumerate() {
        if let Some(sql) = sql {
            mariadb
                .get_or_insert_with(Default::default)
                .steps
                .insert(i, sql.trim().to_string());
        }
    }
    let default_levels = if raw.levels.is_empty() {
        IsolationLevel::ALL.to_vec()
    } else {
        raw.levels
            .iter()
            .map(parse_level)
            .collect::<Result<Vec<_>>>()?
    };
    let deadlock_victim = raw
        .deadlock
        .as_ref()
        .map(|d| session_index(&d.victim))
        .transpose()?;
    let verdict = raw.verdict.map(|v| VerdictRule {
        name: v.anomaly.unwrap_or_else(|| raw.title.to_uppercase()),
        check: v.check,
        sqlstate: v.sqlstate,
    });

    Ok(Lesson {
        id: raw.id.unwrap_or_else(|| fallback_id.to_string()),
        title: raw.title,
        anomaly: raw.anomaly,
        topic: raw.topic,
        summary: raw.summary,
        explanation: raw.explanation.trim().to_string(),
        setup: raw.setup.into_vec(),
        teardown: raw.teardown,
        sessions,
        steps,
        schedules: vec![schedule],
        verdict,
        expect,
        why,
        default_levels,
        deadlock_victim,
        origin: file.to_string(),
        demo: raw.demo,
        variant: raw.variant,
        mariadb,
        pool,
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::seam::Recycling;
    use crate::engine::lesson::PoolOp;

    const MINIMAL: &str = r#"
title = "Tiny"
summary = "one session"
setup = "CREATE TABLE t (x int)"

[[session]]
name = "a"

[[step]]
session = "a"
sql = "SELECT 1"
"#;

    #[test]
    fn parses_a_minimal_lesson() {
        let lesson = parse_lesson(MINIMAL, "tiny.toml", "tiny").unwrap();
        assert_eq!(lesson.id, "tiny");
        assert_eq!(lesson.steps[0].name, "a1");
        assert_eq!(lesson.default_levels.len(), 4);
        assert_eq!(lesson.schedules[0].steps.len(), 1);
    }

    #[test]
    fn unknown_session_names_the_line() {
        let text = MINIMAL.replace("session = \"a\"", "session = \"zz\"");
        let e = parse_lesson(&text, "x.toml", "x").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:10: no session named 'zz'"), "{e}");
    }

    #[test]
    fn typos_and_bad_expectations_name_the_line() {
        let text = format!("{MINIMAL}\n[expect]\nread-committed = \"perhaps\"\n");
        let e = parse_lesson(&text, "x.toml", "x").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:14: 'perhaps' is neither"), "{e}");
        let text = MINIMAL.replace("sql = ", "sqll = ");
        let e = parse_lesson(&text, "x.toml", "x").unwrap_err().to_string();
        assert!(e.contains("x.toml:"), "{e}");
    }

    const POOLED: &str = r#"
title = "Pool"
summary = "two tasks"

[pool]
size = 2
wait_timeout_ms = 100
recycling = "verified"

[[task]]
name = "t1"

[[step]]
task = "t1"
acquire = "first"
timeout_ms = 50

[[step]]
task = "t1"
on = "first"
sql = "SELECT 1"

[[step]]
task = "t1"
release = "first"
"#;

    #[test]
    fn parses_a_pool_lesson_with_its_step_operations() {
        let lesson = parse_lesson(POOLED, "p.toml", "p").unwrap();
        let pool = lesson.pool.expect("a [pool]");
        assert_eq!(pool.settings.size, 2);
        assert_eq!(pool.settings.recycling, Recycling::Verified);
        assert_eq!(
            pool.ops,
            vec![
                PoolOp::Acquire {
                    conn: "first".into(),
                    wait: Some(std::time::Duration::from_millis(50))
                },
                PoolOp::Run {
                    conn: "first".into()
                },
                PoolOp::Release {
                    conn: "first".into()
                },
            ]
        );
    }

    #[test]
    fn a_pool_step_doing_two_things_names_the_pool_line() {
        let text = POOLED.replace(
            "acquire = \"first\"",
            "acquire = \"first\"\nsql = \"SELECT 2\"",
        );
        let e = parse_lesson(&text, "p.toml", "p").unwrap_err().to_string();
        assert!(e.starts_with("p.toml:5: step 1 (task t1)"), "{e}");
    }

    #[test]
    fn a_terminate_step_names_the_connection_whose_session_the_server_ends() {
        let text = format!("{POOLED}\n[[step]]\ntask = \"t1\"\nterminate = \"first\"\n");
        let lesson = parse_lesson(&text, "p.toml", "p").unwrap();
        let ops = lesson.pool.expect("a [pool]").ops;
        assert_eq!(
            ops.last(),
            Some(&PoolOp::Terminate {
                conn: "first".into()
            })
        );
    }
}
