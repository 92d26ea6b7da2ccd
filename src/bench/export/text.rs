//! The default output, for people: a header saying what ran where, one table row per point, for a
//! sweep the throughput matrix, chart and crossovers, then the invariants and the claims.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Exporter, fixed};
use crate::bench::chart;
use crate::bench::progress::thousands;
use crate::bench::report::{BenchReport, PointResult};
use crate::bench::summary;
use crate::render::Style;
use crate::render::palette::{Meaning, lane, paint};

pub struct TextExporter {
    pub style: Style,
}

impl Exporter for TextExporter {
    fn export(&self, report: &BenchReport, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(render(report, &self.style).as_bytes())
    }
}

fn render(report: &BenchReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(report, style));
    if report.interrupted {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "interrupted: the figures below are what was measured until Ctrl-C",
                Meaning::Waiting
            )
        );
    }
    out.push('\n');
    table(&mut out, report, style);

    if report.settings.sweep {
        out.push('\n');
        matrix(&mut out, report);
        let chart = chart::render(report, style);
        if !chart.is_empty() {
            out.push('\n');
            out.push_str(&chart);
        }
        let crossovers = summary::crossovers(report);
        if !crossovers.is_empty() {
            out.push('\n');
            for c in crossovers {
                let _ = writeln!(out, "  {c}");
            }
        }
    }

    out.push('\n');
    invariants(&mut out, report, style);
    let claims = summary::claims(report);
    if !claims.is_empty() {
        let _ = writeln!(out, "\n{}", paint("The claims, measured", Meaning::Heading));
        for c in claims {
            let _ = writeln!(out, "  “{}”", c.claim);
            let measured = format!(
                "at {}: pessimistic {} tx/s, optimistic {} tx/s",
                c.measured_at,
                thousands(c.pessimistic_tps),
                thousands(c.optimistic_tps)
            );
            out.push_str(&wrap(&measured, style.width, "    ", "    "));
            out.push_str(&wrap(&c.verdict, style.width, "    → ", "      "));
        }
    }
    out
}

/// Word-wraps `text` to `width` columns, the first line after `first`, the rest after `rest`.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn header(report: &BenchReport, style: &Style) -> String {
    let s = &report.settings;
    let mut parts = vec![
        format!("txlab bench {}", s.workload),
        format!("{} clients", s.clients),
    ];
    if s.pool_size != s.clients {
        parts.push(format!("pool of {}", s.pool_size));
    }
    if !s.sweep && s.workload == crate::bench::options::Workload::Transfer {
        let k = report.results.first().map(|r| r.accounts).unwrap_or(0);
        parts.push(format!("{k} accounts"));
    }
    let window = match (s.duration_ms, s.transactions) {
        (Some(ms), _) => format!("{} per point", seconds(ms)),
        (_, Some(n)) => format!("{n} transactions per point"),
        _ => String::new(),
    };
    parts.push(format!("{window} after {} warm-up", seconds(s.warmup_ms)));
    if s.think_ms > 0.0 {
        parts.push(format!("think {}", seconds(s.think_ms)));
    }
    let version = s.server_version.split_whitespace().next().unwrap_or("");
    if s.server.contains(version) {
        parts.push(s.server.clone());
    } else {
        parts.push(format!("PostgreSQL {version} at {}", s.server));
    }
    let text = wrap(&parts.join(" · "), style.width, "", "  ");
    paint(text.trim_end(), Meaning::Heading).to_string()
}

fn seconds(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", trim(ms / 1000.0))
    } else {
        format!("{} ms", trim(ms))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

const HEAD: [(&str, usize); 10] = [
    ("strategy", 13),
    ("K", 5),
    ("tx/s", 8),
    ("p50 ms", 7),
    ("p95 ms", 7),
    ("p99 ms", 7),
    ("retry/tx", 8),
    ("lock wait s", 11),
    ("pool ms", 7),
    ("aborts", 0),
];

fn table(out: &mut String, report: &BenchReport, style: &Style) {
    let mut line = String::new();
    for (i, (name, width)) in HEAD.iter().enumerate() {
        if i == 0 || i == HEAD.len() - 1 {
            let _ = write!(line, "{name:<width$}");
        } else {
            let _ = write!(line, "{name:>width$}");
        }
        line.push(' ');
    }
    let _ = writeln!(out, "{}", paint(line.trim_end(), Meaning::Dim));
    let strategies = report.strategies();
    for r in &report.results {
        let lane_index = strategies
            .iter()
            .position(|s| *s == r.strategy)
            .unwrap_or(0);
        let _ = writeln!(out, "{}", row(r, lane_index));
    }
    let note = wrap(
        "lock wait s: server-observed (sampled pg_stat_activity) / time in locking statements; \
         pool ms: total wait for a pooled connection",
        style.width,
        "",
        "",
    );
    let _ = write!(out, "{}", paint(&note, Meaning::Dim));
}

fn row(r: &PointResult, lane_index: usize) -> String {
    let w = |i: usize| HEAD[i].1;
    let name = format!("{:<width$}", r.strategy.name(), width = w(0));
    let lock = format!(
        "{}/{}",
        fixed(r.lock_wait_ms / 1000.0, 2),
        fixed(r.lock_statement_ms / 1000.0, 2)
    );
    let aborts = r.abort_summary();
    let aborts = if aborts == "—" {
        paint(&aborts, Meaning::Dim)
    } else {
        paint(&aborts, Meaning::Aborted)
    };
    let mut extra = Vec::new();
    if r.declined > 0 {
        extra.push(format!("declined {}", r.declined));
    }
    if r.gave_up > 0 {
        extra.push(format!("gave up {}", r.gave_up));
    }
    if r.failed > 0 {
        extra.push(format!("failed {}", r.failed));
    }
    if r.interrupted {
        extra.push("cut short by Ctrl-C".into());
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" {}", paint(&extra.join(", "), Meaning::Dim))
    };
    format!(
        "{} {:>k$} {:>tps$} {:>p$} {:>p$} {:>p$} {:>rt$} {:>lw$} {:>pm$} {}{}",
        lane(&name, lane_index),
        r.accounts,
        thousands(r.tps),
        fixed(r.p50_ms, 2),
        fixed(r.p95_ms, 2),
        fixed(r.p99_ms, 2),
        fixed(r.retries_per_commit, 3),
        lock,
        fixed(r.pool.wait_ms_total, 1),
        aborts,
        extra,
        k = w(1),
        tps = w(2),
        p = w(3),
        rt = w(6),
        lw = w(7),
        pm = w(8),
    )
}

/// tx/s per strategy (rows) and K (columns).
fn matrix(out: &mut String, report: &BenchReport) {
    let mut ks = report.account_counts();
    ks.sort_unstable();
    let _ = writeln!(
        out,
        "{}",
        paint("Committed tx/s by accounts K", Meaning::Heading)
    );
    let mut head = format!("{:<13}", "");
    for k in &ks {
        let _ = write!(head, " {:>9}", format!("K={k}"));
    }
    let _ = writeln!(out, "{}", paint(head.trim_end(), Meaning::Dim));
    for (i, s) in report.strategies().iter().enumerate() {
        let mut line = format!("{}", lane(&format!("{:<13}", s.name()), i));
        for k in &ks {
            let cell = report
                .point(*s, *k)
                .map(|p| thousands(p.tps))
                .unwrap_or_else(|| "—".into());
            let _ = write!(line, " {cell:>9}");
        }
        let _ = writeln!(out, "{line}");
    }
}

fn invariants(out: &mut String, report: &BenchReport, style: &Style) {
    let broken = report.broken();
    if broken.is_empty() {
        let names: Vec<&str> = report
            .results
            .first()
            .map(|r| r.invariants.iter().map(|i| i.name).collect())
            .unwrap_or_default();
        let text = wrap(
            &format!("for every point: {}", names.join("; ")),
            style.width.saturating_sub("invariants hold ".len()),
            "",
            "  ",
        );
        let _ = write!(out, "{} {text}", paint("invariants hold", Meaning::Commit));
    } else {
        let _ = writeln!(out, "{}", paint("INVARIANTS BROKEN", Meaning::Anomaly));
        for b in broken {
            let _ = writeln!(out, "  {b}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn a_sweep_shows_matrix_chart_crossovers_and_claims() {
        let text = render(
            &sample_report(&[2, 8, 32, 128, 1024], true),
            &Style::plain(100),
        );
        assert!(text.contains("Committed tx/s by accounts K"), "{text}");
        assert!(
            text.contains("optimistic overtakes pessimistic between K="),
            "{text}"
        );
        assert!(text.contains("invariants hold"));
        assert!(text.contains("The claims, measured"));
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5, "", "  "), "aa bb\n  cc\n");
        assert_eq!(wrap("aa", 10, "> ", ""), "> aa\n");
    }

    #[test]
    fn broken_invariants_are_spelled_out() {
        let text = render(&sample_report(&[1000], false), &Style::plain(100));
        assert!(text.contains("INVARIANTS BROKEN"));
        assert!(text.contains("expected 8000, found 7990"));
        assert!(!text.contains("Committed tx/s by accounts K"));
    }
}
