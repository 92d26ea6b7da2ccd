//! Live progress: one indicatif bar per strategy on stderr, showing how far its points have got
//! and the throughput of the last half second. Hidden when stderr is not a terminal (the style
//! decides); cleared before results are printed.

use indicatif::{MultiProgress, ProgressBar};

use super::options::Strategy;
use crate::render::{Style, progress};

/// The bars of one run.
pub struct LiveBars {
    multi: MultiProgress,
    bars: Vec<(Strategy, ProgressBar)>,
}

impl LiveBars {
    /// One bar per strategy, each `len` units long (milliseconds or transactions), from the one
    /// progress-bar factory ([`crate::render::progress`]).
    pub fn new(style: &Style, strategies: &[Strategy], len: u64) -> LiveBars {
        let multi = progress::group(style);
        let bars = strategies
            .iter()
            .map(|s| {
                let bar = progress::labelled(&multi, len, s.name());
                bar.set_message("waiting");
                (*s, bar)
            })
            .collect();
        LiveBars { multi, bars }
    }

    /// Bars that draw nothing, for library callers and tests.
    pub fn hidden(strategies: &[Strategy]) -> LiveBars {
        let style = Style {
            color: false,
            width: crate::render::style::MAX_WIDTH,
            progress: false,
        };
        LiveBars::new(&style, strategies, 1)
    }

    /// The bar of `strategy` (a hidden one if the run has no such strategy).
    pub fn bar(&self, strategy: Strategy) -> ProgressBar {
        self.bars
            .iter()
            .find(|(s, _)| *s == strategy)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(ProgressBar::hidden)
    }

    /// Removes every bar from the terminal.
    pub fn clear(&self) {
        for (_, bar) in &self.bars {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// `12,345` for whole transaction rates.
pub fn thousands(value: f64) -> String {
    let n = value.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.5), "1,235");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }
}
