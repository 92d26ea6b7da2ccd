//! Renderers turn finished runs into text: terminal timelines, the isolation matrix, JSON, and
//! the classroom handouts (markdown, HTML).
//! They never query the database and never decide anything; they only say what the engine saw.

pub mod cell;
pub mod compare;
pub mod describe;
pub mod html;
pub mod html_steps;
pub mod inspect;
pub mod interleavings;
pub mod isolationtester;
pub mod json;
pub mod markdown;
pub mod matrix;
pub mod palette;
pub mod progress;
pub mod quiz;
pub mod style;
pub mod summary;
pub mod tap;
#[cfg(test)]
pub(crate) mod testing;
pub mod timeline;
mod timeline_rows;
pub mod verdict;

pub use style::{ColorChoice, OutputFormat, Style};
pub mod engines_matrix;
