//! `txlab replay FILE`: a recording (`--record FILE`) shown again through the same renderers, with
//! no database and no server binaries (a `.spec` run through [`super::spec_print`]); `--step` walks through it (see [`crate::classroom::replay`]).

use super::args::{OutputFormat, ReplayArgs};
use super::exit;
use super::finish::print_document;
use crate::error::{Result, TxlabError};
use crate::recording::Recording;
use crate::render::Style;

/// Reads the recording and prints it in the format asked for.
pub async fn run(args: &ReplayArgs, style: &Style) -> Result<u8> {
    let rec = Recording::read(&args.file)?;
    if let Some(spec) = &rec.spec {
        if args.step {
            return Err(TxlabError::Classroom(
                "--step walks through lessons; a .spec recording replays as text, json or isolationtester".into(),
            ));
        }
        super::spec_print::replay(&rec, spec, args.format, style)?;
        return Ok(exit::OK);
    }
    if args.format == OutputFormat::Isolationtester {
        return Err(TxlabError::BadArguments(
            "--format isolationtester needs the run of a .spec; a lesson recording replays text, json, markdown or html".into(),
        ));
    }
    if args.step {
        if args.format != OutputFormat::Text {
            return Err(TxlabError::Classroom(
                "--step cannot be combined with --format json, markdown or html".into(),
            ));
        }
        crate::classroom::replay::walk(&rec, style).await?;
        return Ok(exit::OK);
    }
    print_document(&rec, args.format, style, true)?;
    Ok(exit::OK)
}
