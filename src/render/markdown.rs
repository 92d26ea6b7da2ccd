//! `--format markdown`: a handout students take home. For each run: the explanation, the
//! sessions, the timeline as a table, lock waits and deadlock drawings, the verdict, and the quiz
//! questions with what the run showed. GitHub-flavoured markdown; never any escape codes.

use std::fmt::Write as _;

use super::cell::{Cell, Line};
use super::describe::ms;
use super::inspect;
use super::palette::Meaning;
use super::quiz;
use super::timeline::rows;
use super::verdict;
use crate::engine::run::LessonRun;
use crate::engine::verdict::Outcome;

/// Cells are not wrapped: the reader's viewer does that.
const UNWRAPPED: usize = 10_000;

/// The handout for a set of runs.
pub fn document(runs: &[LessonRun], server: &str) -> String {
    let mut out = String::new();
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            out.push_str("\n---\n\n");
        }
        out.push_str(&run_section(run));
    }
    if runs.len() > 1 && runs.iter().any(|r| r.verdict.is_some()) {
        out.push_str("\n---\n\n");
        out.push_str(&summary(runs));
    }
    let _ = writeln!(
        out,
        "\n*Made with txlab {} on a {}.*",
        env!("CARGO_PKG_VERSION"),
        escape(server)
    );
    out
}

fn run_section(run: &LessonRun) -> String {
    let mut out = String::new();
    let level = run.level.map(|l| l.sql()).unwrap_or("as written");
    let anomaly = run
        .anomaly
        .as_ref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    let _ = writeln!(out, "# {}{anomaly} · {level}\n", escape(&run.title));
    let _ = writeln!(out, "*{}*\n", escape(&run.summary));
    if !run.explanation.is_empty() {
        for paragraph in run.explanation.split("\n\n") {
            let _ = writeln!(out, "{}\n", escape(&paragraph.replace('\n', " ")));
        }
    }
    let sessions: Vec<String> = run
        .sessions
        .iter()
        .map(|s| format!("**{}** (backend pid {})", escape(&s.label), s.pid))
        .collect();
    let _ = writeln!(out, "Sessions: {}.\n", sessions.join(", "));

    let _ = writeln!(out, "## Timeline\n");
    out.push_str("| t ms |");
    for s in &run.sessions {
        let _ = write!(out, " {} |", escape(&s.label));
    }
    out.push_str("\n| ---: |");
    for _ in &run.sessions {
        out.push_str(" --- |");
    }
    out.push('\n');
    let n = run.sessions.len().max(1);
    let mut drawings = Vec::new();
    for row in rows(run, n, UNWRAPPED, UNWRAPPED) {
        let t = row.t.map(ms).unwrap_or_default();
        let _ = write!(out, "| {t} |");
        let cells: Vec<String> = match &row.wide {
            Some(wide) => (0..n)
                .map(|i| {
                    if Some(i) == row.session {
                        cell_text(wide)
                    } else {
                        String::new()
                    }
                })
                .collect(),
            None => row.cells.iter().map(cell_text).collect(),
        };
        for cell in cells {
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
        if !row.drawing.is_empty() {
            drawings.push((t, row.drawing.clone()));
        }
    }
    out.push('\n');
    for (t, drawing) in drawings {
        let _ = writeln!(out, "Wait-for cycle at {t} ms:\n\n```text");
        for line in drawing {
            let _ = writeln!(out, "{line}");
        }
        out.push_str("```\n\n");
    }
    if let Some(legend) = inspect::legend(run) {
        let _ = writeln!(out, "{}\n", escape(&legend));
    }

    let _ = writeln!(out, "## Verdict\n");
    if let Some((sentence, _)) = verdict::sentence(run) {
        let (head, rest) = sentence.split_once(": ").unwrap_or((&sentence, ""));
        let _ = writeln!(
            out,
            "**{}**{}{}\n",
            escape(head),
            if rest.is_empty() { "" } else { ": " },
            escape(rest)
        );
    }
    if let Some((text, _)) = verdict::expectation(run) {
        let _ = writeln!(out, "{}\n", escape(&text));
    }
    if let Some(why) = &run.why {
        let _ = writeln!(out, "**Why:** {}\n", escape(why));
    }
    for note in &run.notes {
        let _ = writeln!(out, "> Note: {}\n", escape(note));
    }

    let items = quiz::items(run);
    if !items.is_empty() {
        let _ = writeln!(out, "## Predict, then check\n");
        for (i, item) in items.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **{}** (before step {}, {})",
                i + 1,
                escape(&item.ask),
                item.step_no,
                escape(&item.session)
            );
            for (text, right) in &item.answers {
                let mark = if *right { " ← what happened" } else { "" };
                let _ = writeln!(out, "   - {}{mark}", escape(text));
            }
            if !item.settled {
                let _ = writeln!(out, "   - *(the run ended before this was settled)*");
            }
            if let Some(explain) = &item.explain {
                let _ = writeln!(out, "\n   {}", escape(explain));
            }
            out.push('\n');
        }
    }
    out
}

/// Lessons × levels, like the terminal matrix.
fn summary(runs: &[LessonRun]) -> String {
    let mut out = String::from(
        "## Summary\n\n| lesson | level | outcome | as documented |\n| --- | --- | --- | --- |\n",
    );
    for run in runs {
        let Some(v) = &run.verdict else { continue };
        let outcome = match (&v.outcome, &v.how) {
            (Outcome::Occurred, _) => "**occurred**".to_string(),
            (Outcome::Prevented, Some(how)) => format!("prevented ({how})"),
            (Outcome::Prevented, None) => "prevented".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {outcome} | {} |",
            escape(&run.lesson_id),
            run.level.map(|l| l.sql()).unwrap_or("as written"),
            if v.matches_expectation() {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    out
}

/// A cell's lines for a table cell: `<br>` between lines, emphasis by meaning.
fn cell_text(cell: &Cell) -> String {
    cell.lines
        .iter()
        .map(line_text)
        .collect::<Vec<_>>()
        .join("<br>")
}

fn line_text(line: &Line) -> String {
    let text = escape(line.text.trim());
    if text.is_empty() {
        return text;
    }
    match line.meaning {
        Meaning::Waiting | Meaning::Aborted | Meaning::Anomaly | Meaning::Prevented => {
            format!("**{text}**")
        }
        Meaning::Dim => format!("*{text}*"),
        _ => text,
    }
}

/// Escapes text so markdown shows it as written (inside table cells too).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_markdown_would_interpret() {
        assert_eq!(escape("a | b * c"), "a \\| b \\* c");
        assert_eq!(escape("x <> 1"), "x &lt;&gt; 1");
    }

    #[test]
    fn a_handout_has_the_timeline_verdict_locks_and_quiz() {
        let run = crate::render::testing::two_session_run();
        let md = document(&[run], "test server");
        assert!(
            md.starts_with("# Two deposits (P4) · READ COMMITTED\n"),
            "{md}"
        );
        assert!(
            md.contains("| t ms | alice's phone | bob's laptop |"),
            "{md}"
        );
        assert!(md.contains("Bob deposits 20 \\| at once."), "{md}");
        assert!(md.contains("**‖ waiting for alice's phone**"), "{md}");
        assert!(
            md.contains(
                "⚑ bob's laptop waits for alice's phone: wants ShareLock on transaction 741"
            ),
            "{md}"
        );
        assert!(
            md.contains("**LOST UPDATE prevented (blocked)**: final balance 130.00"),
            "{md}"
        );
        assert!(
            md.contains("   - It waits for Alice ← what happened"),
            "{md}"
        );
        assert!(md.contains("&lt;at once&gt;"), "{md}");
        assert!(!md.contains('\u{1b}'), "no escape codes");
        // Every table row has as many cells as the header.
        for line in md.lines().filter(|l| l.starts_with("| ")) {
            let cells = line.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 4, "{line}");
        }
    }
}
