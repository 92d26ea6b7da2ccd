//! Exporters: one trait, one implementation per `--format`, each writing a finished
//! [`BenchReport`] to any `Write`. They never measure and never query the database.

mod csv;
mod json;
mod markdown;
mod text;

use std::io::{self, Write};

use super::report::BenchReport;
use crate::render::Style;

pub use self::csv::CSV_COLUMNS;

/// `--format` for `txlab bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BenchFormat {
    /// Tables, the sweep chart and the claims, for people.
    #[default]
    Text,
    /// One JSON document: settings, `results`, `invariants_ok`, `claims`, `crossovers`.
    Json,
    /// One row per (strategy, K) point, with a header.
    Csv,
    /// A GitHub-flavoured Markdown table, for reports and issues.
    Markdown,
}

/// Writes a report in one format.
pub trait Exporter {
    fn export(&self, report: &BenchReport, out: &mut dyn Write) -> io::Result<()>;
}

/// The exporter for a format.
pub fn exporter(format: BenchFormat, style: Style) -> Box<dyn Exporter> {
    match format {
        BenchFormat::Text => Box::new(text::TextExporter { style }),
        BenchFormat::Json => Box::new(json::JsonExporter),
        BenchFormat::Csv => Box::new(csv::CsvExporter),
        BenchFormat::Markdown => Box::new(markdown::MarkdownExporter),
    }
}

/// Renders into a string (tests, and callers that print through one locked writer).
pub fn to_string(exporter: &dyn Exporter, report: &BenchReport) -> String {
    let mut buf = Vec::new();
    let _ = exporter.export(report, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// A figure with a fixed number of decimals, for tables.
fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}
