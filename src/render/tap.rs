//! A suite's report as pg_regress prints it (TAP-style): `ok 12 - deadlock-hard   96 ms` or
//! `not ok 13 - name   40 ms` followed by a unified diff against the closest expected file,
//! `# ` comments for what else the reader must know, then the plan and a summary line.

use std::time::Duration;

use similar::TextDiff;

/// One spec's line: `ok N - name   T ms` (or `not ok`).
pub fn test_line(number: usize, name: &str, ok: bool, took: Duration) -> String {
    format!(
        "{}ok {number} - {name:<36} {:>6} ms\n",
        if ok { "" } else { "not " },
        took.as_millis()
    )
}

/// How far `got` is from `expected`: the number of lines the diff adds or removes (pg_regress
/// picks the alternative whose diff is shortest).
pub fn distance(expected: &str, got: &str) -> usize {
    TextDiff::from_lines(expected, got)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count()
}

/// The index of the expected text closest to `got` (the first of equals), or `None` when there
/// is none.
pub fn closest(expected: &[String], got: &str) -> Option<usize> {
    expected
        .iter()
        .enumerate()
        .min_by_key(|(i, e)| (distance(e, got), *i))
        .map(|(i, _)| i)
}

/// A unified diff (3 lines of context) from the expected file to what the spec printed.
pub fn diff(expected_label: &str, expected: &str, got_label: &str, got: &str) -> String {
    TextDiff::from_lines(expected, got)
        .unified_diff()
        .context_radius(3)
        .header(expected_label, got_label)
        .to_string()
}

/// A comment line (or lines) in the report: each line prefixed with `# `.
pub fn comment(text: &str) -> String {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// The plan and the summary: `1..N`, then `# All N tests passed.` or
/// `# K of N tests failed.`, and the errors and leftovers when there were any.
pub fn summary(
    total: usize,
    failed: usize,
    errors: usize,
    leftovers: usize,
    took: Duration,
) -> String {
    let mut out = format!("1..{total}\n");
    if failed == 0 && errors == 0 {
        out.push_str(&format!("# All {total} tests passed"));
    } else {
        out.push_str(&format!("# {} of {total} tests failed", failed + errors));
        if errors > 0 {
            out.push_str(&format!(" ({errors} could not run)"));
        }
    }
    if leftovers > 0 {
        out.push_str(&format!("; {leftovers} left objects behind"));
    }
    out.push_str(&format!(" in {:.1} s.\n", took.as_secs_f64()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_line_reads_like_pg_regress() {
        assert_eq!(
            test_line(12, "deadlock-hard", true, Duration::from_millis(96)),
            format!("ok 12 - {:<36}     96 ms\n", "deadlock-hard")
        );
        assert!(test_line(1, "x", false, Duration::ZERO).starts_with("not ok 1 - x "));
    }

    #[test]
    fn the_closest_alternative_is_the_one_with_the_shortest_diff() {
        let alternatives = vec!["a\nb\nc\n".to_string(), "a\nB\nc\n".to_string()];
        assert_eq!(closest(&alternatives, "a\nB\nc\n"), Some(1));
        assert_eq!(closest(&alternatives, "a\nb\nc\nd\n"), Some(0));
        assert_eq!(closest(&[], "x"), None);
    }

    #[test]
    fn a_diff_is_unified_with_both_labels() {
        let d = diff("x.out", "a\nb\n", "x (txlab)", "a\nc\n");
        assert!(d.starts_with("--- x.out\n+++ x (txlab)\n@@"), "{d}");
        assert!(d.contains("-b\n+c\n"), "{d}");
    }

    #[test]
    fn the_summary_counts_failures_errors_and_leftovers() {
        let s = summary(3, 1, 1, 1, Duration::from_millis(1500));
        assert_eq!(
            s,
            "1..3\n# 2 of 3 tests failed (1 could not run); 1 left objects behind in 1.5 s.\n"
        );
        assert!(summary(2, 0, 0, 0, Duration::ZERO).contains("# All 2 tests passed in 0.0 s."));
    }
}
