//! What `demo`/`run` print once every run has finished, and what `txlab replay` prints from a
//! recording: both call the same function with the same model, so a replay is the live output.

use super::args::OutputFormat;
use crate::output::print;
use crate::recording::Recording;
use crate::render::{self, Style};

/// Prints the timelines (text, when `timelines`: a live run printed them as it went) and then the
/// document of the format: summary or matrix, JSON, markdown or HTML.
pub fn print_document(
    rec: &Recording,
    format: OutputFormat,
    style: &Style,
    timelines: bool,
) -> crate::error::Result<()> {
    match format {
        OutputFormat::Text | OutputFormat::Isolationtester => {
            if timelines {
                for run in &rec.runs {
                    print(&format!("{}\n", render::timeline::render(run, style)))?;
                }
            }
            if let Some(summary) = render::summary::render(&rec.runs, rec.matrix, style) {
                print(&summary)?;
            }
        }
        OutputFormat::Json => {
            let mut doc = render::json::document(&rec.runs, &rec.server, rec.local_cluster);
            render::json::add_privileges(&mut doc, rec.privileges.as_ref());
            // Additive: what `txlab replay` needs (steps, narration, quiz) rides along.
            print(&rec.json_document_text(&doc))?;
        }
        OutputFormat::Markdown => {
            print(&render::markdown::document(&rec.runs, &rec.server))?;
        }
        OutputFormat::Html => {
            print(&render::html::document(&rec.runs, &rec.server))?;
        }
    }
    Ok(())
}
