//! Renderers turn finished runs into text: terminal timelines, the isolation matrix, JSON.
//! They never query the database and never decide anything; they only say what the engine saw.

pub mod cell;
pub mod describe;
pub mod interleavings;
pub mod isolationtester;
pub mod json;
pub mod matrix;
pub mod palette;
pub mod progress;
pub mod style;
pub mod timeline;
pub mod verdict;

pub use style::{ColorChoice, Style};
