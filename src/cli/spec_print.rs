//! What a `.spec` run prints, live or replayed: the same [`SpecPrinter`] is fed each permutation
//! as the spec runner reports it (`txlab run x.spec`) or as the recording holds it (`txlab
//! replay`), so a replay prints the live output byte for byte, isolationtester format included.

use super::args::OutputFormat;
use crate::db::cluster::StartTimings;
use crate::engine::interleavings::{Classification, InterleavingRun};
use crate::engine::lesson::Lesson;
use crate::engine::runner::{LessonRun, SessionInfo};
use crate::engine::spec_runner::{self, PermutationRun, SpecSummary};
use crate::error::{Result, TxlabError};
use crate::output::print;
use crate::recording::Recording;
use crate::recording::spec::SpecRecording;
use crate::render::{self, Style};

/// What to print for each permutation, decided before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecOutput {
    Isolationtester,
    Timelines,
    Table,
    Json,
}

impl SpecOutput {
    /// The output for `--format` (and `--all-permutations`); markdown and html are refused.
    pub fn of(format: OutputFormat, all_permutations: bool) -> Result<SpecOutput> {
        Ok(match (format, all_permutations) {
            (OutputFormat::Isolationtester, _) => SpecOutput::Isolationtester,
            (OutputFormat::Json, _) => SpecOutput::Json,
            (OutputFormat::Text, true) => SpecOutput::Table,
            (OutputFormat::Text, false) => SpecOutput::Timelines,
            (OutputFormat::Markdown | OutputFormat::Html, _) => {
                return Err(TxlabError::BadArguments(
                    "--format markdown and html are handouts for lessons; a .spec prints text, json or isolationtester".into(),
                ));
            }
        })
    }
}

/// Turns a spec's permutations into output, one at a time, and the closing part at the end.
pub struct SpecPrinter<'a> {
    output: SpecOutput,
    lesson: &'a Lesson,
    all_permutations: bool,
    style: &'a Style,
    json_runs: Vec<(LessonRun, Option<Classification>)>,
    table: Vec<InterleavingRun>,
}

impl<'a> SpecPrinter<'a> {
    /// A printer for `lesson` (the compiled spec, or the one rebuilt from a recording).
    pub fn new(
        output: SpecOutput,
        lesson: &'a Lesson,
        all_permutations: bool,
        style: &'a Style,
    ) -> SpecPrinter<'a> {
        SpecPrinter {
            output,
            lesson,
            all_permutations,
            style,
            json_runs: Vec::new(),
            table: Vec::new(),
        }
    }

    /// What comes before the first permutation (isolationtester's header line).
    pub fn opening(&self) -> String {
        match self.output {
            SpecOutput::Isolationtester => render::isolationtester::header(self.lesson),
            _ => String::new(),
        }
    }

    /// One permutation: what to print on stdout now, and the lines for stderr (isolationtester's
    /// complaints about failed teardowns). Table and JSON keep it for [`Self::closing`].
    pub fn permutation(
        &mut self,
        infos: &[SessionInfo],
        run: &PermutationRun,
    ) -> (String, Vec<String>) {
        let total = self.lesson.schedules.len();
        match self.output {
            SpecOutput::Isolationtester => (
                render::isolationtester::permutation(self.lesson, infos, run),
                render::isolationtester::complaints(self.lesson, run),
            ),
            SpecOutput::Timelines => {
                let shown = render::timeline::render(
                    &LessonRun::permutation(self.lesson, infos, run, total),
                    self.style,
                );
                (format!("{shown}\n"), Vec::new())
            }
            SpecOutput::Table => {
                self.table.push(InterleavingRun {
                    schedule: self.lesson.schedules[run.index].clone(),
                    class: classify(run),
                    run: None,
                });
                (String::new(), Vec::new())
            }
            SpecOutput::Json => {
                self.json_runs.push((
                    LessonRun::permutation(self.lesson, infos, run, total),
                    self.all_permutations.then(|| classify(run)),
                ));
                (String::new(), Vec::new())
            }
        }
    }

    /// What comes after the last permutation: the summary line, the table, or the JSON document
    /// (carrying `recording` for `txlab replay`, like a lesson's).
    pub fn closing(
        self,
        summary: &SpecSummary,
        server: &str,
        cluster: Option<StartTimings>,
        recording: Option<&Recording>,
    ) -> String {
        let lesson = self.lesson;
        match self.output {
            SpecOutput::Isolationtester => String::new(),
            SpecOutput::Timelines => summary_line(lesson, summary),
            SpecOutput::Table => {
                let heading = format!(
                    "{}: {} interleavings of {} steps",
                    lesson.id,
                    self.table.len(),
                    lesson.steps.len()
                );
                render::interleavings::render(&heading, lesson, &self.table)
            }
            SpecOutput::Json => {
                let mut doc = render::json::spec_document(lesson, &self.json_runs, server, cluster);
                render::json::add_privileges(
                    &mut doc,
                    recording.and_then(|r| r.privileges.as_ref()),
                );
                match recording {
                    Some(rec) => rec.json_document_text(&doc),
                    None => render::json::to_text(&doc),
                }
            }
        }
    }
}

/// `txlab replay` of a spec recording: the warnings, each permutation and the closing part, as
/// the live run printed them.
pub fn replay(
    rec: &Recording,
    spec: &SpecRecording,
    format: OutputFormat,
    style: &Style,
) -> Result<()> {
    let output = SpecOutput::of(format, spec.all_permutations)?;
    for warning in &spec.warnings {
        eprintln!("{warning}");
    }
    let lesson = spec.spec.lesson();
    let mut printer = SpecPrinter::new(output, &lesson, spec.all_permutations, style);
    print_some(&printer.opening())?;
    for recorded in &spec.permutations {
        let (text, complaints) = printer.permutation(&recorded.sessions, &recorded.run);
        print_some(&text)?;
        for line in complaints {
            eprintln!("{line}");
        }
    }
    print_some(&printer.closing(&spec.summary, &rec.server, rec.local_cluster, Some(rec)))
}

/// Prints `text` unless it is empty.
pub fn print_some(text: &str) -> Result<()> {
    if text.is_empty() { Ok(()) } else { print(text) }
}

fn classify(run: &PermutationRun) -> Classification {
    match &run.failure {
        Some(spec_runner::SpecFailure::Steps(why)) => Classification::Failed(why.clone()),
        Some(spec_runner::SpecFailure::Impossible(_)) => Classification::Impossible,
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
