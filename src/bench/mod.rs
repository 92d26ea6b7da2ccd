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

#[cfg(test)]
mod tests {
    /// The bench reaches the server only through `db/` (its protocol client is
    /// `db::postgres::wire`): no file here names a driver crate.
    #[test]
    fn the_bench_names_no_driver_crate() {
        let drivers = [["tokio", "_postgres"].concat(), ["dead", "pool"].concat()];
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bench")];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                files += 1;
                for driver in &drivers {
                    assert!(
                        !text.contains(driver.as_str()),
                        "{} names {driver}",
                        path.display()
                    );
                }
            }
        }
        assert!(files > 10, "src/bench not found");
    }
}
