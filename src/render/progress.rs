//! The one progress-bar factory: bars go to stderr, only on a terminal, and are cleared before
//! results are printed.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::style::Style;

/// A bar for `len` units of work; hidden (draws nothing) when the style says no progress.
pub fn bar(len: u64, style: &Style, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if style.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    let template = format!("{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{msg}}");
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}
