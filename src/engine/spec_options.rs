//! How a spec runs: isolationtester's step timeout and txlab's probe timings, read from the
//! environment as isolationtester reads `PGISOLATIONTIMEOUT`; where it runs. Apart from
//! `spec_runner` so that the runner stays about running.

use std::time::Duration;

use super::scheduler::SchedulerSettings;

/// How to run a spec.
#[derive(Debug, Clone)]
pub struct SpecRunOptions {
    pub scheduler: SchedulerSettings,
    /// The database to create for the spec (dropped at the end); the caller picks the name so it
    /// can drop it after an interruption too. `None` runs in the server's default database as it
    /// is: right for a throwaway cluster started for this one spec, whose `postgres` database is
    /// as fresh as a copy of `template0` and costs nothing (CREATE DATABASE takes ~0.5 s).
    pub database: Option<String>,
    /// Run in the role's scratch database when it can be had (`spec_scratch`), `database` being
    /// the fallback.
    pub scratch: bool,
}

impl SpecRunOptions {
    /// isolationtester's limits: a step may take `PGISOLATIONTIMEOUT` seconds (default 300).
    pub fn new(database: Option<String>) -> SpecRunOptions {
        let seconds = std::env::var("PGISOLATIONTIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .unwrap_or(300);
        SpecRunOptions {
            scheduler: SchedulerSettings {
                step_timeout: Duration::from_secs(seconds),
                cancel_and_wait: true,
                // Measured on PostgreSQL 15's suite (docs/specs.md, "Where the time went"): asking
                // right after every launch cost more CPU than it saved on a 2-core machine.
                eager: env_us("TXLAB_EAGER_US", 0),
                poll: env_us("TXLAB_POLL_US", 1000),
                poll_max: env_us("TXLAB_POLL_MAX_US", 5000),
                ..Default::default()
            },
            database,
            scratch: false,
        }
    }
}

/// A probe timing in microseconds from the environment (for measuring, docs/specs.md).
fn env_us(name: &str, default_us: u64) -> Duration {
    Duration::from_micros(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_us),
    )
}
