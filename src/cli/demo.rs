//! `txlab demo` and `txlab run` (lessons): the plan (built in [`super::shared`]) runs in the lab,
//! straight through or at a classroom pace; timelines (or JSON, markdown, HTML) go to stdout,
//! then the comparison or the matrix when there is more than one run.

use super::args::OutputFormat;
use super::exit;
use super::finish::print_document;
use crate::engine::{LessonRun, run_lesson};
use crate::error::Result;
use crate::lab::Lab;
use crate::output::print;
use crate::plan::Plan;
use crate::recording::{RecordedFlags, Recording};
use crate::render::{self, Style};

/// Opens the lab, runs the plan in it and returns the exit code.
pub async fn run(url: Option<&str>, plan: Plan, style: &Style) -> Result<u8> {
    let lab = Lab::open(url).await?;
    let ok = lab.run(execute(&lab, plan, style)).await?;
    Ok(if ok { exit::OK } else { exit::ANSWER_IS_NO })
}

/// Runs the plan; returns whether every run matched its expectation (or `--check` was not given).
async fn execute(lab: &Lab, plan: Plan, style: &Style) -> Result<bool> {
    if plan.pace.any() {
        return crate::classroom::stepper::execute(lab, plan, style).await;
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
        run.levels_shown = plan.levels_shown(&lesson.id);
        if text {
            let shown = render::timeline::render(&run, style);
            bar.suspend(|| print(&format!("{shown}\n")))?;
        }
        bar.inc(1);
        finished.push(run);
    }
    bar.finish_and_clear();
    let rec = Recording::new(
        finished,
        &lab.server.description,
        lab.server.local_cluster().map(|c| c.timings),
        plan.matrix,
        RecordedFlags {
            locks: plan.options.inspect.locks,
            versions: plan.options.inspect.versions,
            quiz: plan.pace.quiz,
        },
    );
    if let Some(path) = &plan.record {
        rec.write(path)?;
    }
    print_document(&rec, plan.format, style, false)?;
    let finished = rec.runs;
    let all_match = finished
        .iter()
        .all(|r| r.verdict.as_ref().is_none_or(|v| v.matches_expectation()));
    Ok(all_match || !plan.check)
}
