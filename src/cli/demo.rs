//! `txlab demo` and `txlab run` (lessons): the plan (built in [`super::shared`]) runs in the lab,
//! straight through or at a classroom pace; timelines (or JSON, markdown, HTML) go to stdout,
//! then the comparison or the matrix when there is more than one run.

use super::args::OutputFormat;
use super::exit;
use super::finish::print_document;
use crate::engine::{LessonRun, run_lesson};
use crate::error::Result;
use crate::lab::Lab;
use crate::model::Engine;
use crate::output::print;
use crate::plan::Plan;
use crate::recording::{RecordedFlags, Recording};
use crate::render::palette::{Meaning, paint};
use crate::render::{self, Style};

/// Opens the lab, runs the plan in it and returns the exit code.
pub async fn run(url: Option<&str>, plan: Plan, style: &Style) -> Result<u8> {
    let lab = Lab::open(url).await?;
    let ok = lab.run(execute(&lab, plan, style, &mut Vec::new())).await?;
    Ok(if ok { exit::OK } else { exit::ANSWER_IS_NO })
}

/// Runs the plan on each engine in turn (a lab of its own per engine; a URL serves the engine it
/// names, the others get throwaway servers). Lessons that cannot run on an engine are skipped with
/// their reason. With several engines the matrices follow one block per engine.
pub async fn run_engines(
    url: Option<&str>,
    engines: &[Engine],
    plan: Plan,
    style: &Style,
) -> Result<u8> {
    if engines == [Engine::Postgres] {
        return run(url, plan, style).await;
    }
    if plan.options.inspect.versions && engines.contains(&Engine::Mariadb) {
        return Err(crate::error::TxlabError::VersionsOnMariadb);
    }
    // One file per engine would overwrite itself; a file of both could not be replayed as the
    // side-by-side run it was. Refuse before anything runs.
    if plan.record.is_some() && engines.len() > 1 {
        return Err(crate::error::TxlabError::BadArguments(
            "--record saves the runs of one engine: record each on its own (`--engine postgres --record pg.json`, `--engine mariadb --record mariadb.json`)".into(),
        ));
    }
    let mut all_ok = true;
    let mut all_runs: Vec<LessonRun> = Vec::new();
    let side_by_side = plan.matrix && plan.format == OutputFormat::Text;
    for &engine in engines {
        let engine_url = url.filter(|u| {
            crate::db::mariadb::connect::is_mariadb_url(u) == (engine == Engine::Mariadb)
        });
        let mut runs = Vec::new();
        let mut skipped: Vec<&str> = Vec::new();
        for (lesson, level) in &plan.runs {
            if let Some(reason) = lesson.skipped_at(engine, *level) {
                let at = level.map(|l| l.sql()).unwrap_or_default();
                eprintln!(
                    "skipped on {} at {at}: {} ({reason})",
                    engine.name(),
                    lesson.id
                );
                continue;
            }
            match lesson.unsupported_on(engine) {
                None => runs.push((lesson.clone(), *level)),
                Some(_) if skipped.contains(&lesson.id.as_str()) => {}
                Some(reason) => {
                    eprintln!("skipped on {}: {} ({reason})", engine.name(), lesson.id);
                    skipped.push(&lesson.id);
                }
            }
        }
        if runs.is_empty() {
            continue;
        }
        if engines.len() > 1 && plan.format == OutputFormat::Text {
            print(&format!(
                "\n{}\n",
                paint(&format!("══ {} ══", engine.name()), Meaning::Heading)
            ))?;
        }
        let engine_plan = Plan {
            runs,
            format: plan.format,
            check: plan.check,
            options: plan.options.clone(),
            matrix: plan.matrix,
            pace: plan.pace,
            record: plan.record.clone(),
        };
        let lab = Lab::open_engine(engine_url, engine).await?;
        all_ok &= lab
            .run(execute(&lab, engine_plan, style, &mut all_runs))
            .await?;
    }
    if side_by_side && let Some(text) = render::engines_matrix::render(&all_runs, style) {
        print(&format!("\n{text}"))?;
    }
    Ok(if all_ok { exit::OK } else { exit::ANSWER_IS_NO })
}

/// Runs the plan; returns whether every run matched its expectation (or `--check` was not given).
async fn execute(lab: &Lab, plan: Plan, style: &Style, keep: &mut Vec<LessonRun>) -> Result<bool> {
    lab.announce_privileges(plan.format == OutputFormat::Json);
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
    let mut rec = Recording::new(
        finished,
        lab.server.description(),
        lab.server.local_timings(),
        plan.matrix,
        RecordedFlags {
            locks: plan.options.inspect.locks,
            versions: plan.options.inspect.versions,
            quiz: plan.pace.quiz,
        },
    );
    rec.privileges = lab.privileges;
    if let Some(path) = &plan.record {
        rec.write(path)?;
    }
    print_document(&rec, plan.format, style, false)?;
    keep.extend(rec.runs.iter().cloned());
    let finished = rec.runs;
    let all_match = finished
        .iter()
        .all(|r| r.verdict.as_ref().is_none_or(|v| v.matches_expectation()));
    Ok(all_match || !plan.check)
}
