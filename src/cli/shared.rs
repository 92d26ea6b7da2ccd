//! What more than one command needs from the flags: levels parsed, the run plan built from
//! `demo`/`run` flags, and the checks that refuse flag combinations before any work. Commands
//! import this module, never each other.

use std::time::Duration;

use super::args::{OutputFormat, RunFlags};
use crate::engine::scheduler::SchedulerSettings;
use crate::engine::{IsolationLevel, Lesson, RunOptions, catalog};
use crate::error::{Result, TxlabError};
use crate::plan::{Pace, Plan};

/// The pseudo-lesson that runs every anomaly lesson.
pub const ISOLATION: &str = "isolation";

/// Plan for `txlab demo NAME`.
pub fn plan_for_demo(name: &str, flags: &RunFlags) -> Result<Plan> {
    check_classroom_flags(flags)?;
    refuse_isolationtester_format(flags.format)?;
    let levels = parse_levels(&flags.levels)?;
    let lessons = if name == ISOLATION {
        catalog::by_topic("anomalies")
    } else {
        catalog::resolve_demo(name)?
    };
    Ok(build(lessons, &levels, flags, name == ISOLATION))
}

/// Plan for `txlab run FILE`.
pub fn plan_for_file(path: &std::path::Path, flags: &RunFlags) -> Result<Plan> {
    check_classroom_flags(flags)?;
    let levels = parse_levels(&flags.levels)?;
    Ok(build(
        vec![catalog::load_file(path)?],
        &levels,
        flags,
        false,
    ))
}

fn build(lessons: Vec<Lesson>, levels: &[IsolationLevel], flags: &RunFlags, matrix: bool) -> Plan {
    let mut runs = Vec::new();
    for lesson in lessons {
        for level in lesson.levels_to_run(levels) {
            runs.push((lesson.clone(), Some(level)));
        }
    }
    let matrix = matrix || runs.len() > 1 && runs.iter().all(|(l, _)| !l.expect.is_empty());
    Plan {
        runs,
        format: flags.format,
        check: flags.check,
        options: RunOptions {
            scheduler: scheduler_settings(flags),
            inspect: crate::engine::Inspect {
                locks: flags.locks,
                versions: flags.versions,
            },
            ..Default::default()
        },
        matrix,
        pace: Pace {
            every_step: flags.step,
            quiz: flags.quiz,
        },
        record: flags.record.clone(),
    }
}

/// How long a lesson's step may take when `--step-timeout` is not given.
pub const DEFAULT_STEP_TIMEOUT_SECONDS: u64 = 10;

/// The scheduler settings the flags ask for (`--step-timeout`; clap refuses 0).
pub fn scheduler_settings(flags: &RunFlags) -> SchedulerSettings {
    SchedulerSettings {
        step_timeout: Duration::from_secs(
            flags.step_timeout.unwrap_or(DEFAULT_STEP_TIMEOUT_SECONDS),
        ),
        ..Default::default()
    }
}

/// `--step` and `--quiz` talk to a person at a terminal: they only make sense with text output.
fn check_classroom_flags(flags: &RunFlags) -> Result<()> {
    if (flags.step || flags.quiz) && flags.format != OutputFormat::Text {
        return Err(TxlabError::Classroom(
            "--step and --quiz cannot be combined with --format json, markdown or html".into(),
        ));
    }
    Ok(())
}

/// `--format isolationtester` only makes sense for specs.
pub fn refuse_isolationtester_format(format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Isolationtester {
        return Err(TxlabError::BadArguments(
            "--format isolationtester prints PostgreSQL's isolationtester output and needs a .spec file".into(),
        ));
    }
    Ok(())
}

/// `--level` values (repeated or comma-separated), without duplicates, in the order given.
pub fn parse_levels(raw: &[String]) -> Result<Vec<IsolationLevel>> {
    let mut levels = Vec::new();
    for r in raw.iter().flat_map(|r| r.split(',')) {
        let level: IsolationLevel = r.parse()?;
        if !levels.contains(&level) {
            levels.push(level);
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_split_on_commas_and_keep_the_first_of_each() {
        let raw = vec![
            "serializable,read-committed".to_string(),
            "serializable".into(),
        ];
        assert_eq!(
            parse_levels(&raw).unwrap(),
            vec![IsolationLevel::Serializable, IsolationLevel::ReadCommitted]
        );
        assert!(parse_levels(&["sometimes".to_string()]).is_err());
    }
}
