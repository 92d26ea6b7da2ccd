//! `txlab bench`: locking strategies measured under contention on a real server.
//!
//! The pipeline runs one way: [`options`] (a validated [`options::BenchPlan`]) → [`run`] (per
//! point: [`workload`] tables, [`threads`] of clients, each with a pool of protocol connections
//! ([`crate::db::postgres::wire`]), [`client`] loops running [`strategy`] attempts, the
//! [`sampler`], the invariant check) → [`report`] (plain data) → [`export`], [`chart`] and
//! [`summary`] (text, JSON, CSV, Markdown). [`progress`] draws the live bars on stderr.

pub mod chart;
pub mod client;
pub mod export;
pub mod options;
mod point;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run;
pub mod sampler;
pub mod stats;
pub mod strategy;
pub mod summary;
pub mod threads;
pub mod workload;

pub use export::{BenchFormat, Exporter};
pub use options::{BenchPlan, Contention, Stop, Strategy, Workload};
pub use report::{BenchReport, PointResult};
