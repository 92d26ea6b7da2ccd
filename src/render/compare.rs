//! The comparison under a demo's variants: what went wrong in the broken one, and what each fix
//! cost in this run — waits, retries, conflicts, errors — so "which strategy when" is answered
//! by what the server did, not by folklore.

use std::fmt::Write as _;

use super::cell::{width_of, wrap};
use super::describe::ms;
use super::palette::{Meaning, paint};
use super::style::Style;
use crate::engine::EventKind;
use crate::engine::run::LessonRun;
use crate::engine::verdict::Outcome;

/// What a run cost, counted from its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub waits: usize,
    pub waited: std::time::Duration,
    pub retries: usize,
    pub conflicts: usize,
    /// Errors other than "transaction already failed" (25P02).
    pub errors: usize,
}

impl Cost {
    pub fn of(run: &LessonRun) -> Cost {
        let t = &run.timeline;
        Cost {
            waits: t
                .events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::Waiting { .. } | EventKind::PoolWaiting { .. }
                    )
                })
                .count(),
            waited: t.total_wait(),
            retries: t.retries(),
            conflicts: t.conflicts(),
            errors: t.errors().filter(|e| e.sqlstate != "25P02").count(),
        }
    }

    /// "waited 3.1 ms (1 wait) · 2 retries · 1 conflict · 1 error (40001)".
    pub fn describe(&self, run: &LessonRun) -> String {
        let mut parts = Vec::new();
        parts.push(if self.waits == 0 {
            "no waiting".to_string()
        } else {
            format!(
                "waited {} ms ({} {})",
                ms(self.waited),
                self.waits,
                plural(self.waits, "wait", "waits")
            )
        });
        parts.push(format!(
            "{} {}",
            self.retries,
            plural(self.retries, "retry", "retries")
        ));
        if self.conflicts > 0 {
            parts.push(format!(
                "{} optimistic {}",
                self.conflicts,
                plural(self.conflicts, "conflict", "conflicts")
            ));
        }
        let mut codes: Vec<String> = run
            .timeline
            .errors()
            .filter(|e| e.sqlstate != "25P02")
            .map(|e| e.sqlstate.clone())
            .collect();
        codes.dedup();
        parts.push(if self.errors == 0 {
            "no errors".to_string()
        } else {
            format!(
                "{} {} ({})",
                self.errors,
                plural(self.errors, "error", "errors"),
                codes.join(", ")
            )
        });
        parts.join(" · ")
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The comparison block for the runs of one demo.
pub fn render(demo: &str, runs: &[LessonRun], style: &Style) -> String {
    let mut out = String::new();
    let title = format!(" {demo}: what each variant did in this run ");
    let _ = writeln!(
        out,
        "{}{}{}",
        paint("━━", Meaning::Heading),
        paint(&title, Meaning::Heading),
        paint(
            &"━".repeat(style.width.saturating_sub(width_of(&title) + 2)),
            Meaning::Heading
        )
    );
    let widest = runs.iter().map(|r| width_of(&label(r))).max().unwrap_or(8) + 2;
    // Long variant names (the pool demos say what the fix is) would squeeze the verdict into a
    // narrow column: then the name gets a line of its own and the text the full width.
    let stacked = widest * 5 > style.width * 2;
    let name_width = if stacked { 4 } else { widest };
    let body = style.width.saturating_sub(name_width + 2).max(30);
    for run in runs {
        let (verdict, meaning) = match &run.verdict {
            Some(v) if v.outcome == Outcome::Occurred => (
                format!("{} OCCURRED: {}", run.anomaly_name, v.detail),
                Meaning::Anomaly,
            ),
            Some(v) => {
                let how = v
                    .how
                    .as_ref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                (format!("prevented{how}: {}", v.detail), Meaning::Prevented)
            }
            None => ("no verdict".to_string(), Meaning::Dim),
        };
        let cost = Cost::of(run).describe(run);
        if stacked {
            let _ = writeln!(out, "  {}", paint(&label(run), Meaning::Heading));
        }
        for (i, line) in wrap(&verdict, body).into_iter().enumerate() {
            let name = if i == 0 && !stacked {
                label(run)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {}{}",
                paint(&format!("{name:<name_width$}"), Meaning::Heading),
                paint(&line, meaning)
            );
        }
        for line in wrap(&cost, body) {
            let _ = writeln!(
                out,
                "  {}{}",
                " ".repeat(name_width),
                paint(&line, Meaning::Dim)
            );
        }
    }
    out
}

fn label(run: &LessonRun) -> String {
    let variant = run.variant.clone().unwrap_or_else(|| run.lesson_id.clone());
    match run.level {
        Some(level) if run.levels_shown > 1 => format!("{variant} @ {}", level.slug()),
        _ => variant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::verdict::{How, Verdict};
    use crate::render::testing::two_session_run;

    fn variant(name: &str) -> LessonRun {
        let mut r = two_session_run();
        r.variant = Some(name.into());
        r.verdict = Some(Verdict {
            outcome: Outcome::Prevented,
            how: Some(How::NoClash),
            detail: "the evidence of this run, in words long enough to wrap twice".into(),
            expected: None,
        });
        r
    }

    #[test]
    fn short_names_sit_beside_the_verdict_long_ones_above_it() {
        let style = Style::plain(100);
        let short = render("x", &[variant("broken"), variant("fixed")], &style);
        assert!(
            short.contains("\n  broken  prevented (no clash): the evidence"),
            "{short}"
        );
        let long_name = "verified recycling: ask the server before handing out (pre-ping)";
        let long = render("x", &[variant("broken"), variant(long_name)], &style);
        assert!(
            long.contains(&format!("\n  {long_name}\n      prevented (no clash)")),
            "{long}"
        );
        assert!(long.lines().all(|l| width_of(l) <= 100), "{long}");
    }
}
