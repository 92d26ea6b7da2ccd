//! PostgreSQL isolation specs (`src/test/isolation/specs/*.spec`): the scanner and parser for
//! their grammar, and the compiler that turns a spec into the same [`Lesson`](crate::engine::Lesson)
//! TOML lessons compile into, so one scheduler runs both.

pub mod alone;
pub mod compile;
pub mod parser;
pub mod scanner;
pub mod suite;

pub use compile::{CompiledSpec, compile};

use std::path::Path;

use crate::error::{Result, TxlabError};

/// Whether a path names a spec file (by its extension).
pub fn is_spec(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "spec")
}

/// Reads and compiles a spec file.
pub fn load_file(path: &Path) -> Result<CompiledSpec> {
    let text = std::fs::read_to_string(path).map_err(|source| TxlabError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "spec".into());
    compile(&text, &path.display().to_string(), &id)
}
