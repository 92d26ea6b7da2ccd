//! `--format markdown`: the results as a GitHub-flavoured table (plus the claims), ready to paste
//! into a report or an issue.

use std::io::{self, Write};

use super::{Exporter, fixed};
use crate::bench::report::BenchReport;
use crate::bench::summary;

pub const MARKDOWN_COLUMNS: [&str; 12] = [
    "strategy",
    "accounts",
    "clients",
    "committed",
    "tx/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "retries/commit",
    "aborts",
    "lock wait ms",
    "invariants",
];

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn export(&self, report: &BenchReport, out: &mut dyn Write) -> io::Result<()> {
        let s = &report.settings;
        writeln!(
            out,
            "**txlab bench {}** · {} clients · PostgreSQL {} ({}){}\n",
            s.workload,
            s.clients,
            s.server_version,
            s.server,
            if report.interrupted {
                " · interrupted: partial results"
            } else {
                ""
            }
        )?;
        writeln!(out, "| {} |", MARKDOWN_COLUMNS.join(" | "))?;
        let align: Vec<&str> = MARKDOWN_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 || i >= 9 { "---" } else { "---:" })
            .collect();
        writeln!(out, "| {} |", align.join(" | "))?;
        for r in &report.results {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.strategy,
                r.accounts,
                r.clients,
                r.committed,
                fixed(r.tps, 0),
                fixed(r.p50_ms, 2),
                fixed(r.p95_ms, 2),
                fixed(r.p99_ms, 2),
                fixed(r.retries_per_commit, 3),
                r.abort_summary(),
                fixed(r.lock_wait_ms, 0),
                if r.invariants_ok { "ok" } else { "**BROKEN**" }
            )?;
        }
        let claims = summary::claims(report);
        if !claims.is_empty() {
            writeln!(out)?;
            for c in claims {
                writeln!(
                    out,
                    "- *\"{}\"* — at {}: pessimistic {:.0} tx/s, optimistic {:.0} tx/s: {}.",
                    c.claim, c.measured_at, c.pessimistic_tps, c.optimistic_tps, c.verdict
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::export::to_string;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn a_table_with_the_columns_and_one_row_per_point() {
        let text = to_string(&MarkdownExporter, &sample_report(&[2, 1024], false));
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 2 + 4);
        assert_eq!(rows[0], format!("| {} |", MARKDOWN_COLUMNS.join(" | ")));
        assert!(
            rows.iter()
                .all(|r| r.matches('|').count() == MARKDOWN_COLUMNS.len() + 1)
        );
        assert!(text.contains("**BROKEN**"));
        assert!(text.contains("optimistic locking gives ~50% more"));
    }
}
