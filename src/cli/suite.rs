//! `txlab run specs/*.spec --expected expected/` and `txlab run --schedule isolation_schedule
//! --specs specs/ --expected expected/`: a suite of isolation specs run one after the other in one
//! database, each spec's isolationtester output compared with the closest expected file, reported
//! as pg_regress reports (`ok N - name  T ms`, `not ok` with a unified diff, a summary line).
//! Exit 1 when any spec differs, 2 when one could not be run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::args::RunArgs;
use super::suite_jobs::JobDatabases;
use crate::engine::lesson::Lesson;
use crate::engine::run::SessionInfo;
use crate::engine::spec_runner::{PermutationRun, SpecFailure, SpecRunOptions};
use crate::engine::suite::SuiteDatabase;
use crate::engine::suite_plan::SuitePlan;
use crate::error::{Result, TxlabError};
use crate::lab::Lab;
use crate::output::print;
use crate::render::{self, Style, tap};
use crate::spec::{self, suite::expected_files, suite::schedule_specs};

/// Whether `txlab run` was asked for a suite rather than one file.
pub fn handles(args: &RunArgs) -> bool {
    args.expected.is_some() || args.schedule.is_some() || !args.more.is_empty()
}

/// The counts the summary line reports.
#[derive(Default)]
struct Tally {
    failed: usize,
    errors: usize,
    leftovers: usize,
}

/// Runs the suite and prints its report; the exit code says whether every spec matched.
pub async fn run(url: Option<&str>, args: &RunArgs, style: &Style) -> Result<u8> {
    let Some(expected) = &args.expected else {
        return Err(TxlabError::BadArguments(
            "several specs make a suite: add --expected DIR (each spec is compared with DIR/NAME.out)"
                .into(),
        ));
    };
    if args.flags.record.is_some() {
        return Err(TxlabError::BadArguments(
            "--record saves one run; a suite is not recorded: record each spec on its own (`txlab run x.spec --record x.json`)".into(),
        ));
    }
    let specs = suite_specs(args)?;
    if let Some(odd) = specs.iter().find(|p| !spec::is_spec(p)) {
        return Err(TxlabError::BadArguments(format!(
            "{} is not a .spec file; a suite runs PostgreSQL isolation specs",
            odd.display()
        )));
    }
    let started = Instant::now();
    let lab = Lab::open(url).await?;
    lab.announce_privileges(false);
    let (server, sandbox) = lab.postgres("a suite of isolation specs")?;
    let dbs = lab
        .run(JobDatabases::open(server, sandbox, args.jobs.into()))
        .await?;
    let tally = lab.run(run_all(&lab, &dbs, &specs, expected, style)).await;
    let closed = dbs.close().await;
    let tally = tally?;
    closed?;
    print(&tap::summary(
        specs.len(),
        tally.failed,
        tally.errors,
        tally.leftovers,
        started.elapsed(),
    ))?;
    Ok(if tally.errors > 0 {
        super::exit::ERROR
    } else if tally.failed > 0 {
        super::exit::ANSWER_IS_NO
    } else {
        super::exit::OK
    })
}

fn suite_specs(args: &RunArgs) -> Result<Vec<PathBuf>> {
    let mut specs = Vec::new();
    if let Some(schedule) = &args.schedule {
        let dir = args
            .specs
            .clone()
            .unwrap_or_else(|| schedule.parent().unwrap_or(Path::new(".")).join("specs"));
        specs = schedule_specs(schedule, &dir)?;
    }
    specs.extend(args.file.iter().cloned());
    specs.extend(args.more.iter().cloned());
    Ok(specs)
}

/// A spec read before the suite starts (so that `--jobs` knows which must run alone), or why it
/// could not be read (reported on its own line when its turn comes).
type Loaded = Result<spec::CompiledSpec>;

/// Runs the specs and, at the same time, creates the other jobs' databases (so that they are
/// ready when the lone specs, which run first in job 0, are done). Both run to the end: a
/// database is never left half-created.
async fn run_all(
    lab: &Lab,
    dbs: &JobDatabases<'_>,
    specs: &[PathBuf],
    expected_dir: &Path,
    style: &Style,
) -> Result<Tally> {
    let run = run_specs(lab, dbs, specs, expected_dir, style);
    let (tally, ()) = futures_util::future::join(run, dbs.prepare()).await;
    tally
}

async fn run_specs(
    lab: &Lab,
    dbs: &JobDatabases<'_>,
    specs: &[PathBuf],
    expected_dir: &Path,
    style: &Style,
) -> Result<Tally> {
    let bar = render::progress::bar(specs.len() as u64, style, "specs");
    let names: Vec<String> = specs.iter().map(|p| spec_name(p)).collect();
    let loaded: Vec<Loaded> = specs.iter().map(|p| spec::load_file(p)).collect();
    let alone = loaded
        .iter()
        .map(|l| {
            l.as_ref()
                .is_ok_and(|c| spec::alone::reason(&c.lesson).is_some())
        })
        .collect();
    let mut plan = SuitePlan::new(alone, dbs.jobs());
    let mut running = FuturesUnordered::new();
    // Reports are printed in the schedule's order, whatever order the specs finish in.
    let mut reports: Vec<Option<String>> = vec![None; specs.len()];
    let mut printed = 0;
    let mut tally = Tally::default();
    loop {
        while let Some((i, job)) = plan.start() {
            bar.set_message(names[i].clone());
            running.push(run_job(lab, dbs, i, job, &loaded[i]));
        }
        let Some((i, job, outcome, took)) = running.next().await else {
            break;
        };
        plan.finished(job);
        reports[i] = Some(report(
            &mut tally,
            i,
            &names[i],
            expected_dir,
            outcome,
            took,
        ));
        while let Some(Some(report)) = reports.get_mut(printed).map(Option::take) {
            bar.suspend(|| print(&report))?;
            bar.inc(1);
            printed += 1;
        }
    }
    bar.finish_and_clear();
    Ok(tally)
}

fn spec_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs spec `i` in `db` (job `job`), timing it.
async fn run_job<'a>(
    lab: &'a Lab,
    dbs: &'a JobDatabases<'a>,
    i: usize,
    job: usize,
    loaded: &'a Loaded,
) -> (usize, usize, Result<(String, Vec<String>)>, Duration) {
    let started = Instant::now();
    let outcome = match (loaded, dbs.get(job).await) {
        (Ok(compiled), Ok(db)) => run_one(lab, db, compiled).await,
        (Err(e), _) => Err(TxlabError::BadArguments(e.to_string())),
        (_, Err(e)) => Err(e),
    };
    (i, job, outcome, started.elapsed())
}

/// The TAP lines (and diff, leftovers) for spec `i`, counted in `tally`.
fn report(
    tally: &mut Tally,
    i: usize,
    name: &str,
    expected_dir: &Path,
    outcome: Result<(String, Vec<String>)>,
    took: Duration,
) -> String {
    let mut report = String::new();
    match outcome {
        Err(e) => {
            tally.errors += 1;
            report.push_str(&tap::test_line(i + 1, name, false, took));
            report.push_str(&tap::comment(&format!("error: {e}")));
        }
        Ok((got, leftovers)) => {
            compare(&mut report, tally, i + 1, name, expected_dir, &got, took);
            if !leftovers.is_empty() {
                tally.leftovers += 1;
                report.push_str(&tap::comment(&format!(
                    "{name} left behind: {}",
                    leftovers.join(", ")
                )));
            }
        }
    }
    report
}

fn compare(
    report: &mut String,
    tally: &mut Tally,
    number: usize,
    name: &str,
    expected_dir: &Path,
    got: &str,
    took: Duration,
) {
    let files = expected_files(expected_dir, name);
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    let Some(best) = tap::closest(&texts, got) else {
        tally.errors += 1;
        report.push_str(&tap::test_line(number, name, false, took));
        report.push_str(&tap::comment(&format!(
            "error: no expected output {}",
            expected_dir.join(format!("{name}.out")).display()
        )));
        return;
    };
    let ok = texts[best] == got;
    report.push_str(&tap::test_line(number, name, ok, took));
    if !ok {
        tally.failed += 1;
        report.push_str(&tap::diff(
            &files[best].display().to_string(),
            &texts[best],
            &format!("{name} (txlab)"),
            got,
        ));
    }
}

/// Runs one spec in the suite's database and returns what isolationtester would have written to
/// its output file (stdout and stderr, as pg_isolation_regress redirects both) and the objects it
/// left behind. A spec stopped by a failed setup is an output, not an error.
async fn run_one(
    lab: &Lab,
    db: &SuiteDatabase,
    compiled: &spec::CompiledSpec,
) -> Result<(String, Vec<String>)> {
    let lesson = &compiled.lesson;
    // isolationtester checks the spec (warning about unused steps on stderr) before it prints
    // its header.
    let mut out = String::new();
    for warning in &compiled.warnings {
        out.push_str(&format!("{warning}\n"));
    }
    out.push_str(&render::isolationtester::header(lesson));
    let mut stopped = false;
    let mut on_permutation = |infos: &[SessionInfo], run: &PermutationRun| {
        out.push_str(&render::isolationtester::permutation(lesson, infos, run));
        for line in render::isolationtester::complaints(lesson, run) {
            out.push_str(&format!("{line}\n"));
        }
        if let Some(failure) = &run.failure {
            stopped = true;
            out.push_str(&failure_text(lesson, failure));
        }
    };
    let opts = SpecRunOptions::new(None);
    let (server, _) = lab.postgres("a suite of isolation specs")?;
    let (result, ran) = db
        .run_spec(server, lesson, &opts, &mut on_permutation)
        .await;
    match result {
        Err(e) if !stopped => Err(e),
        _ => Ok((out, ran.leftovers)),
    }
}

/// What isolationtester writes on stderr when a permutation cannot go on.
fn failure_text(lesson: &Lesson, failure: &SpecFailure) -> String {
    match failure {
        SpecFailure::Setup {
            session: None,
            error,
        } => format!("setup failed: {}:  {}\n", error.severity, error.message),
        SpecFailure::Setup {
            session: Some(s),
            error,
        } => format!(
            "setup of session {} failed: {}:  {}\n",
            lesson.sessions[*s].name, error.severity, error.message
        ),
        SpecFailure::Steps(why) | SpecFailure::Impossible(why) => format!("{why}\n"),
    }
}
