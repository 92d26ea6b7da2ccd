//! The one progress-bar factory: bars go to stderr, only when the style says so (stderr is a
//! terminal, not CI), share one look, and are cleared before results are printed. Lesson runs get
//! a single counting bar; `txlab bench` gets a group of labelled bars, one per strategy.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::style::Style;

/// A bar for `len` units of work; hidden (draws nothing) when the style says no progress.
pub fn bar(len: u64, style: &Style, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(style));
    bar.set_style(look(&format!(
        "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{msg}}"
    )));
    bar
}

/// A group of bars drawn together; hidden when the style says no progress.
pub fn group(style: &Style) -> MultiProgress {
    MultiProgress::with_draw_target(target(style))
}

/// A bar of `len` units in `group`, its `label` right-aligned before it and a message after.
pub fn labelled(group: &MultiProgress, len: u64, label: &str) -> ProgressBar {
    let bar = group.add(ProgressBar::new(len.max(1)));
    bar.set_style(look("{prefix:>13} [{bar:30}] {msg}"));
    bar.set_prefix(label.to_string());
    bar
}

fn target(style: &Style) -> ProgressDrawTarget {
    if style.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn look(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_hidden_when_the_style_says_no_progress() {
        let style = Style::plain(80);
        assert!(bar(3, &style, "running").is_hidden());
        let group = group(&style);
        let member = labelled(&group, 0, "pessimistic");
        assert!(member.is_hidden());
        assert_eq!(member.length(), Some(1));
        assert_eq!(member.prefix(), "pessimistic");
    }
}
