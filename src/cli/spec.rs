//! `txlab run FILE.spec` and `--all-permutations`. A spec runs through the spec runner (one set of
//! connections, every permutation on them) and prints timelines, JSON, or exactly what
//! PostgreSQL's isolationtester prints. `--all-permutations` runs every interleaving of a spec's
//! or a lesson's steps and prints the classified table.

use std::path::Path;

use super::args::{OutputFormat, RunArgs};
use super::shared::{parse_levels, refuse_isolationtester_format, scheduler_settings};
use super::spec_print::{SpecOutput, SpecPrinter, print_some};
use crate::engine::catalog;
use crate::engine::interleavings::{self, InterleavingRun};
use crate::engine::lesson::Lesson;
use crate::engine::runner::{RunOptions, SessionInfo};
use crate::engine::spec_runner::{self, PermutationRun, SpecRunOptions};
use crate::error::{Result, TxlabError};
use crate::lab::Lab;
use crate::output::print;
use crate::recording::Recording;
use crate::recording::spec::{RecordedPermutation, SpecRecording, SpecShape};
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
    if spec::is_spec(args.file()) {
        run_spec_file(url, args, style).await
    } else {
        refuse_isolationtester_format(args.flags.format)?;
        if args.flags.record.is_some() {
            return Err(TxlabError::BadArguments(
                "--record saves lesson and .spec runs; --all-permutations on a lesson is not recorded".into(),
            ));
        }
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
    // isolationtester's output is stdout and stderr together (pg_regress diffs both): a line of
    // txlab's own there would make every spec differ. JSON carries the grants as a field.
    lab.announce_privileges(matches!(
        args.flags.format,
        OutputFormat::Json | OutputFormat::Isolationtester
    ));
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
    // Every interleaving includes orders that cannot happen; classify them at once rather than
    // wait each out to the step timeout (300 s by default).
    opts.scheduler.reject_impossible = args.all_permutations;
    let spec_run = SpecRun {
        lesson: &lesson,
        warnings: &compiled.warnings,
        opts: &opts,
    };
    let result = lab.run(run_spec(&lab, &spec_run, args, style)).await;
    if result.is_err() {
        // After an error or Ctrl-C the runner may not have dropped its database.
        if let Some(database) = &opts.database {
            let dropped = match server.connect(&Default::default()).await {
                Ok(admin) => {
                    let dropped = spec_runner::drop_database(&admin, database).await;
                    admin.close().await;
                    dropped.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            if let Err(why) = dropped {
                crate::leftovers::not_removed(format!("database {database} ({why})"));
            }
        }
    }
    result
}

/// The compiled spec and how to run it.
struct SpecRun<'a> {
    lesson: &'a Lesson,
    warnings: &'a [String],
    opts: &'a SpecRunOptions,
}

async fn run_spec(lab: &Lab, spec_run: &SpecRun<'_>, args: &RunArgs, style: &Style) -> Result<u8> {
    let lesson = spec_run.lesson;
    let (server, sandbox) = lab.postgres("an isolationtester spec")?;
    let output = SpecOutput::of(args.flags.format, args.all_permutations)?;
    // The recording is kept for --record, and for the JSON document, which carries it.
    let keep = args.flags.record.is_some() || output == SpecOutput::Json;
    let bar = render::progress::bar(lesson.schedules.len() as u64, style, "permutations");
    let mut printer = SpecPrinter::new(output, lesson, args.all_permutations, style);
    print_some(&printer.opening())?;
    let mut recorded: Vec<RecordedPermutation> = Vec::new();
    // The runner's callback cannot stop it: the first failed write is kept, later output skipped,
    // and the error returned once the runner has finished (and cleaned up).
    let mut write_failed: Option<TxlabError> = None;
    let mut on_permutation = |infos: &[SessionInfo], run: &PermutationRun| {
        if keep {
            recorded.push(RecordedPermutation {
                sessions: infos.to_vec(),
                run: run.clone(),
            });
        }
        if write_failed.is_none() {
            let (text, complaints) = printer.permutation(infos, run);
            write_failed = bar
                .suspend(|| {
                    print_some(&text)?;
                    for line in complaints {
                        eprintln!("{line}");
                    }
                    Ok(())
                })
                .err();
        }
        bar.inc(1);
    };
    let summary =
        spec_runner::run_spec(server, sandbox, lesson, spec_run.opts, &mut on_permutation).await;
    bar.finish_and_clear();
    let summary = summary?;
    if let Some(e) = write_failed {
        return Err(e);
    }
    let rec = keep.then(|| Recording {
        privileges: lab.privileges,
        ..Recording::of_spec(
            SpecRecording {
                spec: SpecShape::of(lesson),
                all_permutations: args.all_permutations,
                warnings: spec_run.warnings.to_vec(),
                permutations: recorded,
                summary: summary.clone(),
            },
            lab.server.description(),
            lab.server.local_timings(),
        )
    });
    if let (Some(path), Some(rec)) = (&args.flags.record, &rec) {
        rec.write(path)?;
    }
    print_some(&printer.closing(
        &summary,
        lab.server.description(),
        lab.server.local_timings(),
        rec.as_ref(),
    ))?;
    Ok(super::exit::OK)
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
    lab.announce_privileges(args.flags.format == OutputFormat::Json);
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
            let mut doc =
                render::json::interleavings_document(&lesson, &tables, lab.server.description());
            render::json::add_privileges(&mut doc, lab.privileges.as_ref());
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
