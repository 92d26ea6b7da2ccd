//! `txlab run FILE.spec` and `--all-permutations`. A spec runs through the spec runner (one set of
//! connections, every permutation on them) and prints timelines, JSON, or exactly what
//! PostgreSQL's isolationtester prints. `--all-permutations` runs every interleaving of a spec's
//! or a lesson's steps and prints the classified table.

use std::path::Path;

use super::args::{OutputFormat, RunArgs};
use super::shared::{parse_levels, refuse_isolationtester_format, scheduler_settings};
use crate::engine::catalog;
use crate::engine::interleavings::{self, Classification, InterleavingRun};
use crate::engine::lesson::Lesson;
use crate::engine::runner::{LessonRun, RunOptions, SessionInfo};
use crate::engine::spec_runner::{self, PermutationRun, SpecRunOptions, SpecSummary};
use crate::error::{Result, TxlabError};
use crate::lab::Lab;
use crate::output::print;
use crate::render::{self, Style};
use crate::spec::{self, compile::with_all_interleavings};

/// Whether `txlab run` should come here rather than to the lesson plan.
pub fn handles(args: &RunArgs) -> bool {
    spec::is_spec(args.file())
        || args.all_permutations
        || args.flags.format == OutputFormat::Isolationtester
}

/// Runs `txlab run` for a spec, or for a lesson with `--all-permutations`.
pub async fn run(url: Option<&str>, args: &RunArgs, style: &Style) -> Result<u8> {
    if args.flags.record.is_some() {
        return Err(TxlabError::BadArguments(
            "--record saves lesson runs; .spec files, --all-permutations and --format isolationtester are not recorded yet".into(),
        ));
    }
    if spec::is_spec(args.file()) {
        run_spec_file(url, args, style).await
    } else {
        refuse_isolationtester_format(args.flags.format)?;
        run_lesson_interleavings(url, args.file(), args, style).await
    }
}

async fn run_spec_file(url: Option<&str>, args: &RunArgs, style: &Style) -> Result<u8> {
    let compiled = spec::load_file(args.file())?;
    for warning in &compiled.warnings {
        eprintln!("{warning}");
    }
    if !args.flags.levels.is_empty() {
        eprintln!("note: --level is ignored for .spec files; a spec sets its own isolation levels");
    }
    let mut lesson = compiled.lesson;
    if args.all_permutations && compiled.has_permutations {
        with_all_interleavings(&mut lesson, &args.file().display().to_string())?;
    }
    let lab = Lab::open(url).await?;
    // A throwaway cluster started for this run is as fresh as it gets: use its own database
    // rather than paying for CREATE DATABASE; on a server the user runs, create one.
    let (server, _) = lab.postgres("an isolationtester spec")?;
    let database = server
        .local_cluster()
        .is_none()
        .then(spec_runner::fresh_database_name);
    let mut opts = SpecRunOptions::new(database);
    // On a server the user runs, the role's scratch database when it can be had (docs/specs.md).
    opts.scratch = opts.database.is_some();
    if let Some(seconds) = args.flags.step_timeout {
        opts.scheduler.step_timeout = std::time::Duration::from_secs(seconds);
    }
    let result = lab.run(run_spec(&lab, &lesson, &opts, args, style)).await;
    if result.is_err() {
        // After an error or Ctrl-C the runner may not have dropped its database.
        if let Some(database) = &opts.database
            && let Ok(admin) = server.connect(&Default::default()).await
        {
            let _ = spec_runner::drop_database(&admin, database).await;
            admin.close().await;
        }
    }
    result
}

/// What to print for each permutation, decided before the run.
enum SpecOutput {
    Isolationtester,
    Timelines,
    Table,
    Json,
}

async fn run_spec(
    lab: &Lab,
    lesson: &Lesson,
    opts: &SpecRunOptions,
    args: &RunArgs,
    style: &Style,
) -> Result<u8> {
    let (server, sandbox) = lab.postgres("an isolationtester spec")?;
    let output = match (args.flags.format, args.all_permutations) {
        (OutputFormat::Isolationtester, _) => SpecOutput::Isolationtester,
        (OutputFormat::Json, _) => SpecOutput::Json,
        (OutputFormat::Text, true) => SpecOutput::Table,
        (OutputFormat::Text, false) => SpecOutput::Timelines,
        (OutputFormat::Markdown | OutputFormat::Html, _) => {
            return Err(crate::error::TxlabError::BadArguments(
                "--format markdown and html are handouts for lessons; a .spec prints text, json or isolationtester".into(),
            ));
        }
    };
    let total = lesson.schedules.len();
    let bar = render::progress::bar(total as u64, style, "permutations");
    if let SpecOutput::Isolationtester = output {
        print(&render::isolationtester::header(lesson))?;
    }
    let mut json_runs: Vec<(LessonRun, Option<Classification>)> = Vec::new();
    let mut table: Vec<InterleavingRun> = Vec::new();
    // The runner's callback cannot stop it: the first failed write is kept, later output skipped,
    // and the error returned once the runner has finished (and cleaned up).
    let mut write_failed: Option<TxlabError> = None;
    let mut on_permutation = |infos: &[SessionInfo], run: &PermutationRun| {
        match output {
            _ if write_failed.is_some() => {}
            SpecOutput::Isolationtester => {
                let text = render::isolationtester::permutation(lesson, infos, run);
                write_failed = bar
                    .suspend(|| {
                        print(&text)?;
                        for line in render::isolationtester::complaints(lesson, run) {
                            eprintln!("{line}");
                        }
                        Ok(())
                    })
                    .err();
            }
            SpecOutput::Timelines => {
                let shown = render::timeline::render(
                    &LessonRun::permutation(lesson, infos, run, total),
                    style,
                );
                write_failed = bar.suspend(|| print(&format!("{shown}\n"))).err();
            }
            SpecOutput::Table => table.push(InterleavingRun {
                schedule: lesson.schedules[run.index].clone(),
                class: classify(run),
                run: None,
            }),
            SpecOutput::Json => json_runs.push((
                LessonRun::permutation(lesson, infos, run, total),
                args.all_permutations.then(|| classify(run)),
            )),
        }
        bar.inc(1);
    };
    let summary = spec_runner::run_spec(server, sandbox, lesson, opts, &mut on_permutation).await;
    bar.finish_and_clear();
    let summary = summary?;
    if let Some(e) = write_failed {
        return Err(e);
    }
    match output {
        SpecOutput::Isolationtester => {}
        SpecOutput::Timelines => print(&summary_line(lesson, &summary))?,
        SpecOutput::Table => {
            let heading = format!(
                "{}: {} interleavings of {} steps",
                lesson.id,
                table.len(),
                lesson.steps.len()
            );
            print(&render::interleavings::render(&heading, lesson, &table))?;
        }
        SpecOutput::Json => {
            let doc = render::json::spec_document(
                lesson,
                &json_runs,
                lab.server.description(),
                lab.server.local_timings(),
            );
            print(&render::json::to_text(&doc))?;
        }
    }
    Ok(super::exit::OK)
}

fn classify(run: &PermutationRun) -> Classification {
    match &run.failure {
        Some(spec_runner::SpecFailure::Steps(why)) => Classification::Failed(why.clone()),
        _ => Classification::observed(&run.timeline),
    }
}

fn summary_line(lesson: &Lesson, summary: &SpecSummary) -> String {
    let place = match &summary.place {
        spec_runner::SpecPlace::Database(db) => format!("a fresh database {db}"),
        spec_runner::SpecPlace::ServerDefault => "the throwaway cluster's own database".into(),
        spec_runner::SpecPlace::Scratch(db) => format!("the scratch database {db}, as fresh"),
        spec_runner::SpecPlace::Schema(s) => {
            format!("a fresh schema {s} (this role may not create databases)")
        }
    };
    let role = if summary.superuser {
        "as superuser"
    } else {
        "not as superuser: lc_messages left as the server has it"
    };
    format!(
        "{}\n",
        render::palette::paint(
            &format!(
                "{}: {} permutation{} of {} sessions in {:.1} ms, in {place}, {role}",
                lesson.id,
                summary.permutations,
                if summary.permutations == 1 { "" } else { "s" },
                lesson.sessions.len(),
                summary.total_time.as_secs_f64() * 1000.0
            ),
            render::palette::Meaning::Dim
        )
    )
}

async fn run_lesson_interleavings(
    url: Option<&str>,
    path: &Path,
    args: &RunArgs,
    style: &Style,
) -> Result<u8> {
    let lesson = catalog::load_file(path)?;
    let levels = lesson.levels_to_run(&parse_levels(&args.flags.levels)?);
    let per_level = interleavings::count(&lesson).unwrap_or(u64::MAX);
    if per_level > spec::compile::MAX_INTERLEAVINGS {
        return Err(TxlabError::BadArguments(format!(
            "{} has {per_level} interleavings, too many to run (at most {})",
            path.display(),
            spec::compile::MAX_INTERLEAVINGS
        )));
    }
    let lab = Lab::open(url).await?;
    let opts = RunOptions {
        scheduler: scheduler_settings(&args.flags),
        live: None,
        ..Default::default()
    };
    let work = async {
        let bar = render::progress::bar(per_level * levels.len() as u64, style, "interleavings");
        let mut tables = Vec::new();
        for level in &levels {
            bar.set_message(level.slug());
            let mut tick = |_: &InterleavingRun| bar.inc(1);
            let runs = interleavings::run_all(
                &lab.server,
                &lab.sandbox,
                &lesson,
                Some(*level),
                &opts,
                &mut tick,
            )
            .await?;
            tables.push((*level, runs));
        }
        bar.finish_and_clear();
        Ok::<_, TxlabError>(tables)
    };
    let tables = lab.run(work).await?;
    match args.flags.format {
        OutputFormat::Json => {
            let doc =
                render::json::interleavings_document(&lesson, &tables, lab.server.description());
            print(&render::json::to_text(&doc))?;
        }
        _ => {
            for (level, runs) in &tables {
                let heading = format!(
                    "{} at {}: {} interleavings of {} steps",
                    lesson.title,
                    level.sql(),
                    runs.len(),
                    lesson.steps.len()
                );
                print(&format!(
                    "{}\n",
                    render::interleavings::render(&heading, &lesson, runs)
                ))?;
            }
        }
    }
    Ok(super::exit::OK)
}
