//! `--format json`: the report as one document. `results` holds one object per (strategy, K)
//! point with the fields docs/bench.md lists; `claims` and `crossovers` answer the course's
//! questions with this run's numbers.

use std::io::{self, Write};

use super::Exporter;
use crate::bench::options::Strategy;
use crate::bench::report::BenchReport;
use crate::bench::summary;

pub struct JsonExporter;

/// The document: the report's own fields in their declared order, then the answers.
#[derive(serde::Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    report: &'a BenchReport,
    claims: Vec<summary::ClaimCheck>,
    crossovers: Vec<CrossoverJson>,
}

#[derive(serde::Serialize)]
struct CrossoverJson {
    leader: Strategy,
    trailer: Strategy,
    between: [u32; 2],
    text: String,
}

impl Exporter for JsonExporter {
    fn export(&self, report: &BenchReport, out: &mut dyn Write) -> io::Result<()> {
        let doc = Document {
            report,
            claims: summary::claims(report),
            crossovers: summary::crossovers(report)
                .into_iter()
                .map(|c| CrossoverJson {
                    leader: c.leader,
                    trailer: c.trailer,
                    between: [c.between.0, c.between.1],
                    text: c.to_string(),
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::export::to_string;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn results_carry_the_documented_fields() {
        let doc: serde_json::Value =
            serde_json::from_str(&to_string(&JsonExporter, &sample_report(&[2, 1024], true)))
                .unwrap();
        assert_eq!(doc["invariants_ok"], true);
        let first = &doc["results"][0];
        for field in [
            "strategy",
            "workload",
            "clients",
            "accounts",
            "committed",
            "tps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "retries",
            "aborts",
        ] {
            assert!(!first[field].is_null(), "missing {field}");
        }
        assert_eq!(first["strategy"], "pessimistic");
        assert_eq!(first["workload"], "transfer");
        assert_eq!(doc["results"][1]["aborts"]["40001"], 2);
        assert_eq!(doc["claims"].as_array().unwrap().len(), 2);
        assert!(
            doc["crossovers"][0]["text"]
                .as_str()
                .unwrap()
                .contains("overtakes")
        );
    }
}
