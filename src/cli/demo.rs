//! `txlab demo` and `txlab run`: resolve lessons and levels into a plan, run it in the lab, print
//! timelines (or JSON), then the matrix when there is more than one run.

use std::io::Write;
use std::time::Duration;

use super::args::{OutputFormat, RunFlags};
use super::lab::Lab;
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
}

impl Plan {
    /// Plan for `txlab demo NAME`.
    pub fn for_demo(name: &str, flags: &RunFlags) -> Result<Plan> {
        super::spec::refuse_isolationtester_format(flags.format)?;
        let levels = parse_levels(&flags.levels)?;
        let lessons = if name == ISOLATION {
            catalog::by_topic("anomalies")
        } else {
            vec![catalog::find(name)?]
        };
        Ok(Plan::build(lessons, &levels, flags, name == ISOLATION))
    }

    /// Plan for `txlab run FILE`.
    pub fn for_file(path: &std::path::Path, flags: &RunFlags) -> Result<Plan> {
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
                live: None,
            },
            matrix,
        }
    }
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
    let bar = render::progress::bar(plan.runs.len() as u64, style, "running");
    let text = plan.format == OutputFormat::Text;
    let mut finished: Vec<LessonRun> = Vec::new();
    for (lesson, level) in &plan.runs {
        bar.set_message(format!(
            "{} {}",
            lesson.id,
            level.map(|l| l.slug()).unwrap_or("")
        ));
        let run = run_lesson(&lab.server, &lab.sandbox, lesson, *level, &plan.options).await?;
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
            if plan.matrix {
                print_out(&render::matrix::render(&finished, style));
            }
        }
        OutputFormat::Json => {
            let doc = render::json::document(&finished, &lab.server.description);
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
    }
    let all_match = finished
        .iter()
        .all(|r| r.verdict.as_ref().is_none_or(|v| v.matches_expectation()));
    Ok(all_match || !plan.check)
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
