//! txlab teaches database concurrency by making it happen: real PostgreSQL sessions driven through
//! a scripted schedule, observed on the server, judged from what happened, and drawn as timelines.
//!
//! Data flows one way: [`engine::lesson`] → [`engine::scheduler`] → [`model::event::Timeline`] →
//! [`render`]. [`db`] finds or starts the server; [`cli`] is the command-line edge; [`classroom`]
//! paces runs for a class (`--step`, `--quiz`). Below the edge and above the engine: [`lab`] (server,
//! sandbox and cleanup), [`plan`] (what a run command will do), [`signal`] (the one signal
//! listener) and [`output`] (the one stdout writer). Nothing but `main` imports [`cli`].

pub mod bench;
pub mod classroom;
pub mod cli;
pub mod db;
pub mod engine;
pub mod error;
pub mod fuzz;
pub mod lab;
pub mod leftovers;
pub mod model;
pub mod output;
pub mod plan;
pub mod render;
pub mod signal;
pub mod spec;

pub use error::{Result, TxlabError};
pub mod recording;
