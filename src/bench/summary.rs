//! Answers to the claims a course starts from, computed from the measured points: never a fixed
//! sentence, always the numbers of this run. Also where two strategies' throughput curves cross.

use super::options::{Strategy, Workload};
use super::report::BenchReport;

/// A claim, the measurement that answers it, and the verdict in words.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClaimCheck {
    pub claim: &'static str,
    /// The point it was measured at ("K=1024 accounts (lowest contention measured)").
    pub measured_at: String,
    pub pessimistic_tps: f64,
    pub optimistic_tps: f64,
    /// optimistic ÷ pessimistic.
    pub ratio: f64,
    pub verdict: String,
}

pub const LOW_CONTENTION_CLAIM: &str =
    "optimistic locking gives ~50% more throughput than pessimistic at low contention";
pub const HIGH_CONTENTION_CLAIM: &str =
    "under contention pessimistic manages ~1 op/s where optimistic does 3–4 op/s";

/// K at or above which a transfer run counts as low contention, at or below which as high.
const LOW_CONTENTION_MIN_K: u32 = 128;
const HIGH_CONTENTION_MAX_K: u32 = 8;

/// The claims this run can speak to: it needs both pessimistic and optimistic, at low contention
/// (many accounts) for the first claim and high contention (few accounts, or the counter) for the
/// second.
pub fn claims(report: &BenchReport) -> Vec<ClaimCheck> {
    let ks = report.account_counts();
    let mut out = Vec::new();
    let both = |k: u32| {
        Some((
            report.point(Strategy::Pessimistic, k)?.tps,
            report.point(Strategy::Optimistic, k)?.tps,
        ))
    };
    let counter = report.settings.workload == Workload::Counter;
    if let Some(&k) = ks.iter().max()
        && !counter
        && k >= LOW_CONTENTION_MIN_K
        && let Some((p, o)) = both(k)
    {
        let ratio = ratio(o, p);
        let gain = (ratio - 1.0) * 100.0;
        let verdict = match gain {
            g if !g.is_finite() => "cannot tell: pessimistic committed nothing".to_string(),
            g if g <= -5.0 => format!(
                "contradicted: optimistic is {:.0}% slower ({:.0} vs {:.0} tx/s)",
                -g, o, p
            ),
            g if g < 5.0 => format!("not measurable here: the two are within 5% ({g:+.0}%)"),
            g if g < 30.0 => format!("weaker than claimed: optimistic is {g:+.0}%, not +50%"),
            g if g <= 70.0 => format!("roughly as claimed: optimistic is {g:+.0}%"),
            g => format!("stronger than claimed: optimistic is {g:+.0}%"),
        };
        out.push(ClaimCheck {
            claim: LOW_CONTENTION_CLAIM,
            measured_at: format!("K={k} accounts (the least contended point measured)"),
            pessimistic_tps: p,
            optimistic_tps: o,
            ratio,
            verdict,
        });
    }
    let hot = if counter {
        ks.first().copied()
    } else {
        ks.iter()
            .min()
            .copied()
            .filter(|k| *k <= HIGH_CONTENTION_MAX_K)
    };
    if let Some(k) = hot
        && let Some((p, o)) = both(k)
    {
        let ratio = ratio(o, p);
        let shape = if !ratio.is_finite() {
            "cannot tell: pessimistic committed nothing".to_string()
        } else if (ratio - 1.0).abs() < 0.05 {
            format!("no difference: optimistic does {ratio:.2}× pessimistic")
        } else if (2.5..=4.5).contains(&ratio) {
            format!("the ratio holds: optimistic does {ratio:.1}× pessimistic")
        } else if ratio < 1.0 {
            format!(
                "the ratio is reversed: pessimistic does {:.1}× optimistic",
                1.0 / ratio
            )
        } else {
            format!("the ratio is {ratio:.1}×, not 3–4×")
        };
        let verdict = format!(
            "{shape}; the absolute rates are {:.0} and {:.0} tx/s, so the claim's ~1 op/s comes \
             from a much slower setup (network round trips, think time: try --think)",
            p, o
        );
        out.push(ClaimCheck {
            claim: HIGH_CONTENTION_CLAIM,
            measured_at: if counter {
                "the counter (one hot row)".to_string()
            } else {
                format!("K={k} accounts (the most contended point measured)")
            },
            pessimistic_tps: p,
            optimistic_tps: o,
            ratio,
            verdict,
        });
    }
    out
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::INFINITY }
}

/// Where one strategy's throughput curve crosses another's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Crossover {
    /// The strategy ahead at the least contended K.
    pub leader: Strategy,
    /// The strategy it overtakes.
    pub trailer: Strategy,
    pub between: (u32, u32),
}

impl std::fmt::Display for Crossover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} overtakes {} between K={} and K={}",
            self.leader, self.trailer, self.between.0, self.between.1
        )
    }
}

/// Every pair of strategies whose curves cross: one leads at the most contended K, the other at
/// the least contended, each by more than 5% (closer than that, a rerun can flip the order). The
/// crossing is placed between the last two adjacent K values where the order changed.
pub fn crossovers(report: &BenchReport) -> Vec<Crossover> {
    let mut ks = report.account_counts();
    ks.sort_unstable();
    let strategies = report.strategies();
    let mut out = Vec::new();
    for (i, &a) in strategies.iter().enumerate() {
        for &b in &strategies[i + 1..] {
            // (K, a ahead) at every K where the two differ by more than 5%.
            let order: Vec<(u32, bool)> = ks
                .iter()
                .filter_map(|&k| {
                    let (ta, tb) = (report.point(a, k)?.tps, report.point(b, k)?.tps);
                    ((ta - tb).abs() > 0.05 * ta.max(tb)).then_some((k, ta > tb))
                })
                .collect();
            let (Some(first), Some(last)) = (order.first(), order.last()) else {
                continue;
            };
            if first.0 != ks[0] || last.0 != ks[ks.len() - 1] || first.1 == last.1 {
                continue;
            }
            let flip = order
                .windows(2)
                .rev()
                .find(|w| w[0].1 != w[1].1)
                .map(|w| (w[0].0, w[1].0))
                .unwrap_or((first.0, last.0));
            let (leader, trailer) = if last.1 { (a, b) } else { (b, a) };
            out.push(Crossover {
                leader,
                trailer,
                between: flip,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn curves_cross_where_the_leader_changes() {
        // Pessimistic 1000+K, optimistic 200+3K: optimistic passes it between K=128 and 1024.
        let report = sample_report(&[2, 8, 32, 128, 1024], true);
        let c = crossovers(&report);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].leader, c[0].trailer),
            (Strategy::Optimistic, Strategy::Pessimistic)
        );
        assert_eq!(c[0].between, (128, 1024));
        assert!(crossovers(&sample_report(&[2, 8], true)).is_empty());
    }

    #[test]
    fn claims_quote_the_measured_numbers() {
        let report = sample_report(&[2, 1024], true);
        let claims = claims(&report);
        assert_eq!(claims.len(), 2);
        // K=1024: pessimistic 2024, optimistic 3272: +62%.
        assert!(
            claims[0]
                .verdict
                .starts_with("roughly as claimed: optimistic is +62%")
        );
        // K=2: pessimistic 1002, optimistic 206.
        assert!(
            claims[1].verdict.contains("reversed"),
            "{}",
            claims[1].verdict
        );
        assert!(claims[1].verdict.contains("1002 and 206 tx/s"));
        assert!(super::claims(&sample_report(&[32], true)).is_empty());
    }
}
