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

/// Where one strategy's throughput overtakes another's between two adjacent K values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Crossover {
    /// The strategy ahead at higher K.
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

/// Every pair of strategies whose order changes between adjacent K values (ignoring differences
/// under 5%, which a rerun can flip).
pub fn crossovers(report: &BenchReport) -> Vec<Crossover> {
    let mut ks = report.account_counts();
    ks.sort_unstable();
    let strategies = report.strategies();
    let mut out = Vec::new();
    for (i, &a) in strategies.iter().enumerate() {
        for &b in &strategies[i + 1..] {
            let mut last: Option<(u32, bool)> = None;
            for &k in &ks {
                let (Some(pa), Some(pb)) = (report.point(a, k), report.point(b, k)) else {
                    continue;
                };
                let (ta, tb) = (pa.tps, pb.tps);
                if (ta - tb).abs() <= 0.05 * ta.max(tb) {
                    continue;
                }
                let a_ahead = ta > tb;
                if let Some((prev_k, prev)) = last
                    && prev != a_ahead
                {
                    let (leader, trailer) = if a_ahead { (a, b) } else { (b, a) };
                    out.push(Crossover {
                        leader,
                        trailer,
                        between: (prev_k, k),
                    });
                }
                last = Some((k, a_ahead));
            }
        }
    }
    out
}
