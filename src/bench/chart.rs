//! The sweep chart: throughput (y) against the number of accounts K (x, one column per K, so the
//! axis is logarithmic for the default 2…1024), one marker letter per strategy, points joined by
//! dots. Where two curves cross, a class sees which strategy wins at which contention.

use std::fmt::Write as _;

use super::options::Strategy;
use super::progress::thousands;
use super::report::BenchReport;
use crate::render::Style;
use crate::render::palette::{Meaning, lane, paint};

const HEIGHT: usize = 12;
const Y_LABEL: usize = 8;

/// The letter a strategy's points are drawn with.
pub fn marker(strategy: Strategy) -> char {
    match strategy {
        Strategy::Pessimistic => 'P',
        Strategy::Optimistic => 'O',
        Strategy::Atomic => 'A',
        Strategy::Serializable => 'S',
        Strategy::Advisory => 'V',
        Strategy::Naive => 'N',
    }
}

/// The chart as text, `style.width` columns wide at most.
pub fn render(report: &BenchReport, style: &Style) -> String {
    let mut ks = report.account_counts();
    ks.sort_unstable();
    let strategies = report.strategies();
    let max_tps = report.results.iter().map(|r| r.tps).fold(0.0_f64, f64::max);
    if ks.len() < 2 || max_tps <= 0.0 {
        return String::new();
    }
    let plot_width = style.width.saturating_sub(Y_LABEL + 4).clamp(30, 80);
    let step = (plot_width - 1) / (ks.len() - 1);
    let plot_width = step * (ks.len() - 1) + 1;
    let row_of = |tps: f64| -> usize {
        let frac = (tps / max_tps).clamp(0.0, 1.0);
        (HEIGHT - 1) - ((frac * (HEIGHT - 1) as f64).round() as usize)
    };

    // Each cell: the strategy index drawing it and whether it is a data point.
    let mut grid: Vec<Vec<Option<(usize, bool)>>> = vec![vec![None; plot_width]; HEIGHT];
    let mut put = |row: usize, col: usize, who: usize, point: bool| {
        let cell = &mut grid[row][col];
        match cell {
            Some((_, true)) if !point => {}
            Some((other, true)) if point && *other != who => *cell = Some((usize::MAX, true)),
            _ => *cell = Some((who, point)),
        }
    };
    for (si, &s) in strategies.iter().enumerate() {
        let values: Vec<Option<f64>> = ks
            .iter()
            .map(|&k| report.point(s, k).map(|p| p.tps))
            .collect();
        for (i, pair) in values.windows(2).enumerate() {
            if let [Some(a), Some(b)] = pair {
                for c in 1..step {
                    let t = c as f64 / step as f64;
                    put(row_of(a + (b - a) * t), i * step + c, si, false);
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                put(row_of(*v), i * step, si, true);
            }
        }
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint(
            "Throughput (committed tx/s) against accounts K: fewer accounts, hotter rows",
            Meaning::Heading
        )
    );
    for (row, cells) in grid.iter().enumerate() {
        let label = if row == 0 {
            thousands(max_tps)
        } else if row == HEIGHT / 2 {
            thousands(max_tps * (HEIGHT - 1 - row) as f64 / (HEIGHT - 1) as f64)
        } else if row == HEIGHT - 1 {
            "0".to_string()
        } else {
            String::new()
        };
        let mut line = format!("{label:>Y_LABEL$} ┤");
        for cell in cells {
            match cell {
                None => line.push(' '),
                Some((usize::MAX, _)) => line.push('*'),
                Some((who, point)) => {
                    let text = if *point {
                        marker(strategies[*who]).to_string()
                    } else {
                        "·".to_string()
                    };
                    let _ = write!(line, "{}", lane(&text, *who));
                }
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{:>Y_LABEL$} └{}",
        "",
        (0..plot_width)
            .map(|c| if c % step == 0 { '┬' } else { '─' })
            .collect::<String>()
    );
    let mut axis = " ".repeat(Y_LABEL + 2);
    for (i, k) in ks.iter().enumerate() {
        let label = format!("K={k}");
        let target = Y_LABEL + 2 + i * step;
        let start = if i + 1 == ks.len() {
            target.saturating_sub(label.len().saturating_sub(1))
        } else {
            target.saturating_sub(label.len() / 2)
        };
        while axis.chars().count() < start {
            axis.push(' ');
        }
        if axis.chars().count() > start && i > 0 {
            axis.push(' ');
        }
        axis.push_str(&label);
    }
    let _ = writeln!(out, "{}", axis.trim_end());
    let legend: Vec<String> = strategies
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {s}", lane(&marker(*s).to_string(), i)))
        .collect();
    let _ = writeln!(
        out,
        "{:>Y_LABEL$}  {}   {}",
        "",
        legend.join("  "),
        paint("* = two points on one cell", Meaning::Dim)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample_report;

    #[test]
    fn draws_every_point_and_labels_every_k() {
        let report = sample_report(&[2, 8, 32], true);
        let text = render(&report, &Style::plain(100));
        assert!(text.contains("K=2") && text.contains("K=8") && text.contains("K=32"));
        for m in ['P', 'O'] {
            assert!(text.contains(m), "{text}");
        }
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }

    #[test]
    fn nothing_to_draw_for_one_k() {
        let report = sample_report(&[1000], true);
        assert_eq!(render(&report, &Style::plain(100)), "");
    }
}
