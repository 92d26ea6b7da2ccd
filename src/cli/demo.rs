//! `txlab demo` and `txlab run`: resolve lessons and levels into a plan, run it in the lab, print
//! timelines (or JSON), then the matrix when there is more than one run.

use std::io::Write;
use std::time::Duration;

use super::args::{OutputFormat, RunFlags};
use super::lab::Lab;
use crate::classroom::Pace;
use crate::engine::scheduler::SchedulerSettings;
use crate::engine::{IsolationLevel, Lesson, LessonRun, RunOptions, catalog, run_lesson};
use crate::error::{Result, TxlabError};
use crate::render::{self, Style};

/// The pseudo-lesson that runs every anomaly lesson.
pub const ISOLATION: &str = "isolation";

/// What to run, validated before anything touches a server.
pub struct Plan {
    pub runs: Vec<(Lesson, Option<IsolationLevel>)>,
    pub format: OutputFormat,
    pub check: bool,
    pub options: RunOptions,
    /// Print the matrix after the timelines.
    pub matrix: bool,
    /// Classroom pacing (`--step`, `--quiz`); runs straight through when neither is given.
    pub pace: Pace,
}

impl Plan {
    /// Plan for `txlab demo NAME`.
    pub fn for_demo(name: &str, flags: &RunFlags) -> Result<Plan> {
        check_classroom_flags(flags)?;
        super::spec::refuse_isolationtester_format(flags.format)?;
        let levels = parse_levels(&flags.levels)?;
        let lessons = if name == ISOLATION {
            catalog::by_topic("anomalies")
        } else {
            catalog::resolve_demo(name)?
        };
        Ok(Plan::build(lessons, &levels, flags, name == ISOLATION))
    }

    /// Plan for `txlab run FILE`.
    pub fn for_file(path: &std::path::Path, flags: &RunFlags) -> Result<Plan> {
        check_classroom_flags(flags)?;
        let levels = parse_levels(&flags.levels)?;
        Ok(Plan::build(
            vec![catalog::load_file(path)?],
            &levels,
            flags,
            false,
        ))
    }

    fn build(
        lessons: Vec<Lesson>,
        levels: &[IsolationLevel],
        flags: &RunFlags,
        matrix: bool,
    ) -> Plan {
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
                scheduler: SchedulerSettings {
                    step_timeout: Duration::from_secs(flags.step_timeout.max(1)),
                    ..Default::default()
                },
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
        }
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

/// Runs the plan; returns whether every run matched its expectation.
pub async fn execute(lab: &Lab, plan: Plan, style: &Style) -> Result<bool> {
    if plan.pace.any() {
        let pace = plan.pace;
        return crate::classroom::stepper::execute(lab, plan, style, pace).await;
    }
    let bar = render::progress::bar(plan.runs.len() as u64, style, "running");
    let text = plan.format == OutputFormat::Text;
    let mut finished: Vec<LessonRun> = Vec::new();
    for (lesson, level) in &plan.runs {
        bar.set_message(format!(
            "{} {}",
            lesson.id,
            level.map(|l| l.slug()).unwrap_or("")
        ));
        let mut run = run_lesson(&lab.server, &lab.sandbox, lesson, *level, &plan.options).await?;
        run.levels_shown = plan.runs.iter().filter(|(l, _)| l.id == lesson.id).count();
        if text {
            let shown = render::timeline::render(&run, style);
            bar.suspend(|| print_out(&format!("{shown}\n")));
        }
        bar.inc(1);
        finished.push(run);
    }
    bar.finish_and_clear();
    match plan.format {
        OutputFormat::Text | OutputFormat::Isolationtester => {
            if let Some(summary) = summary(&finished, plan.matrix, style) {
                print_out(&summary);
            }
        }
        OutputFormat::Json => {
            let doc = render::json::document(
                &finished,
                &lab.server.description,
                lab.server.local_cluster().map(|c| c.timings),
            );
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        OutputFormat::Markdown => {
            print_out(&render::markdown::document(
                &finished,
                &lab.server.description,
            ));
        }
        OutputFormat::Html => {
            print_out(&render::html::document(&finished, &lab.server.description));
        }
    }
    let all_match = finished
        .iter()
        .all(|r| r.verdict.as_ref().is_none_or(|v| v.matches_expectation()));
    Ok(all_match || !plan.check)
}

/// What follows the timelines: a demo group's comparison, or the matrix when the plan wants one.
pub fn summary(finished: &[LessonRun], matrix: bool, style: &Style) -> Option<String> {
    let demo = finished.first().and_then(|r| r.demo.clone());
    match demo {
        Some(demo)
            if finished
                .iter()
                .all(|r| r.demo.as_deref() == Some(demo.as_str())) =>
        {
            Some(render::compare::render(&demo, finished, style))
        }
        _ if matrix => Some(render::matrix::render(finished, style)),
        _ => None,
    }
}

/// Writes to stdout; a closed pipe (`txlab … | head`) is not an error, so it ends quietly.
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Shown with an `--check` failure.
pub fn mismatch_error() -> TxlabError {
    TxlabError::Schedule("a run differed from PostgreSQL's documented behaviour".into())
}
