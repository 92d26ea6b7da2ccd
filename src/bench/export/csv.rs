//! `--format csv`: one row per (strategy, K) point. Aborts are `CODE=N` pairs joined by `;` so a
//! row never needs quoting.

use std::io::{self, Write};

use super::{Exporter, fixed};
use crate::bench::report::{BenchReport, PointResult};

pub const CSV_COLUMNS: [&str; 25] = [
    "strategy",
    "workload",
    "clients",
    "accounts",
    "committed",
    "tps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "retries",
    "retries_per_commit",
    "aborts",
    "conflicts",
    "declined",
    "gave_up",
    "failed",
    "lock_wait_ms",
    "lock_statement_ms",
    "pool_max_size",
    "pool_size",
    "pool_wait_ms",
    "measured_ms",
    "invariants_ok",
    "interrupted",
];

pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn export(&self, report: &BenchReport, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", CSV_COLUMNS.join(","))?;
        for r in &report.results {
            writeln!(out, "{}", row(r).join(","))?;
        }
        Ok(())
    }
}

fn row(r: &PointResult) -> Vec<String> {
    let aborts: Vec<String> = r.aborts.iter().map(|(c, n)| format!("{c}={n}")).collect();
    vec![
        r.strategy.to_string(),
        r.workload.to_string(),
        r.clients.to_string(),
        r.accounts.to_string(),
        r.committed.to_string(),
        fixed(r.tps, 1),
        fixed(r.p50_ms, 3),
        fixed(r.p95_ms, 3),
        fixed(r.p99_ms, 3),
        fixed(r.max_ms, 3),
        r.retries.to_string(),
        fixed(r.retries_per_commit, 4),
        aborts.join(";"),
        r.conflicts.to_string(),
        r.declined.to_string(),
        r.gave_up.to_string(),
        r.failed.to_string(),
        fixed(r.lock_wait_ms, 1),
        fixed(r.lock_statement_ms, 1),
        r.pool.max_size.to_string(),
        r.pool.size.to_string(),
        fixed(r.pool.wait_ms_total, 1),
        fixed(r.measured_ms, 1),
        r.invariants_ok.to_string(),
        r.interrupted.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::export::to_string;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn header_then_one_row_per_point() {
        let text = to_string(&CsvExporter, &sample_report(&[2, 8], true));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
        assert!(
            lines
                .iter()
                .all(|l| l.split(',').count() == CSV_COLUMNS.len())
        );
        assert!(lines[2].starts_with("optimistic,transfer,8,2,"));
        assert!(lines[2].contains(",40001=2,"));
    }
}
