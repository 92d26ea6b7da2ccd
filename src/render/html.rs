//! `--format html`: one self-contained page (inline CSS and one inline script, no fonts or images
//! from anywhere; the script lets the page step, see [`super::html_steps`]) to put on a projector or hand out. Colours come from the palette's CSS, so the page
//! means what the terminal means; a print stylesheet turns it light for paper. Quiz answers hide
//! behind `<details>`, so the page can be used for predicting before revealing.

use std::fmt::Write as _;

use super::cell::Cell;
use super::describe::ms;
use super::inspect;
use super::palette::{CSS_BACKGROUND, CSS_TEXT, Meaning, css, lane_css};
use super::quiz;
use super::timeline::{legend, rows};
use super::verdict;
use crate::engine::run::LessonRun;
use crate::engine::verdict::Outcome;

/// Cells are not wrapped: the browser does that.
const UNWRAPPED: usize = 10_000;

/// The page for a set of runs.
pub fn document(runs: &[LessonRun], server: &str) -> String {
    let title = match runs {
        [one] => format!(
            "txlab · {} · {}",
            one.title,
            one.level.map(|l| l.sql()).unwrap_or("as written")
        ),
        _ => "txlab".to_string(),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n",
        escape(&title),
        stylesheet(runs)
    );
    for run in runs {
        out.push_str(&run_section(run));
    }
    if runs.len() > 1 && runs.iter().any(|r| r.verdict.is_some()) {
        out.push_str(&summary(runs));
    }
    out.push_str(super::html_steps::SCRIPT);
    let _ = write!(
        out,
        "<footer class=\"m-dim\">made with txlab {} on a {}</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(server)
    );
    out
}

fn stylesheet(runs: &[LessonRun]) -> String {
    let mut css_text = format!(
        "body {{ background: {CSS_BACKGROUND}; color: {CSS_TEXT}; margin: 0 auto; padding: 1em 1.5em; max-width: 1600px;\n  \
         font: 22px/1.4 \"DejaVu Sans Mono\", \"Menlo\", \"Consolas\", monospace; }}\n\
         h1 {{ font-size: 1.6em; margin: 0.4em 0 0.2em; }}\n\
         h2 {{ font-size: 1.2em; margin: 1.2em 0 0.4em; }}\n\
         p {{ margin: 0.3em 0; }}\n\
         section.run {{ margin-bottom: 2.5em; }}\n\
         table {{ border-collapse: collapse; }}\n\
         table.timeline {{ width: 100%; table-layout: fixed; margin-top: 0.6em; }}\n\
         table.timeline th, table.timeline td {{ padding: 0.15em 0.6em; vertical-align: top; text-align: left; border-left: 2px solid #3a404a; }}\n\
         table.timeline thead th {{ border-bottom: 2px solid #3a404a; }}\n\
         table.timeline tbody tr {{ border-bottom: 1px solid #262b33; }}\n\
         table.timeline .t {{ width: 5.5em; text-align: right; border-left: none; }}\n\
         .line {{ white-space: pre-wrap; overflow-wrap: anywhere; }}\n\
         pre.drawing {{ margin: 0.2em 0; font: inherit; }}\n\
         .pid {{ font-weight: normal; opacity: 0.75; }}\n\
         .verdict p {{ margin: 0.4em 0; }}\n\
         .verdict .label {{ font-weight: bold; margin-right: 0.6em; }}\n\
         span.m-anomaly {{ padding: 0 0.25em; }}\n\
         details {{ margin: 0.3em 0 0.8em; }}\n\
         summary {{ cursor: pointer; }}\n\
         li.right {{ font-weight: bold; }}\n\
         table.summary td, table.summary th {{ padding: 0.2em 0.8em; border-bottom: 1px solid #3a404a; text-align: left; }}\n\
         footer {{ margin-top: 2em; font-size: 0.7em; }}\n"
    );
    for meaning in Meaning::ALL {
        let _ = writeln!(css_text, ".m-{} {{ {}; }}", meaning.name(), css(meaning));
    }
    let lanes = runs.iter().map(|r| r.sessions.len()).max().unwrap_or(0);
    for i in 0..lanes {
        let _ = writeln!(css_text, ".lane-{i} {{ {}; }}", lane_css(i));
    }
    css_text.push_str(
        "@media print {\n  body { background: #fff; color: #000; font-size: 12px; }\n  \
         .m-ok { color: #000; }\n  .m-dim { color: #555; }\n  .m-waiting { color: #8a6100; }\n  \
         .m-prevented, .m-commit { color: #1b7d2a; }\n  details { display: block; }\n}\n",
    );
    css_text
}

fn run_section(run: &LessonRun) -> String {
    let mut out = String::new();
    let level = run.level.map(|l| l.sql()).unwrap_or("as written");
    let id = format!(
        "{}-{}",
        run.lesson_id,
        run.level.map(|l| l.slug()).unwrap_or("as-written")
    );
    let n = run.sessions.len().max(1);
    let (row_steps, total_steps) = super::html_steps::row_steps(run, n, UNWRAPPED);
    let anomaly = run
        .anomaly
        .as_ref()
        .map(|a| format!(" <span class=\"m-dim\">({})</span>", escape(a)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<section class=\"run\" id=\"{}\" data-steps=\"{total_steps}\">\n<h1>{}{anomaly} · {level}</h1>",
        escape(&id),
        escape(&run.title)
    );
    let _ = writeln!(
        out,
        "<p class=\"summary m-dim\">{}</p>",
        escape(&run.summary)
    );
    for paragraph in run
        .explanation
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
    {
        let _ = writeln!(out, "<p class=\"explanation\">{}</p>", escape(paragraph));
    }

    out.push_str("<table class=\"timeline\">\n<thead><tr><th class=\"t m-dim\">t ms</th>");
    for (i, s) in run.sessions.iter().enumerate() {
        let _ = write!(
            out,
            "<th class=\"lane-{i}\">{} <span class=\"pid\">pid {}</span></th>",
            escape(&s.label),
            s.pid
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (row, step) in rows(run, n, UNWRAPPED, UNWRAPPED).iter().zip(&row_steps) {
        let t = row.t.map(ms).unwrap_or_default();
        match &row.wide {
            Some(wide) => {
                let _ = write!(
                    out,
                    "<tr class=\"wide\" data-step=\"{step}\"><td class=\"t m-dim\">{t}</td><td colspan=\"{n}\">{}",
                    cell_html(wide)
                );
                if !row.drawing.is_empty() {
                    let _ = write!(
                        out,
                        "<pre class=\"drawing m-aborted\">{}</pre>",
                        escape(&row.drawing.join("\n"))
                    );
                }
                out.push_str("</td></tr>\n");
            }
            None => {
                let _ = write!(
                    out,
                    "<tr data-step=\"{step}\"><td class=\"t m-dim\">{t}</td>"
                );
                for cell in &row.cells {
                    let _ = write!(out, "<td>{}</td>", cell_html(cell));
                }
                out.push_str("</tr>\n");
            }
        }
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str(&super::html_steps::controls(total_steps));

    out.push_str("<div class=\"verdict\">\n");
    if let Some((sentence, meaning)) = verdict::sentence(run) {
        let _ = writeln!(
            out,
            "<p><span class=\"label\">verdict</span><span class=\"m-{}\">{}</span></p>",
            meaning.name(),
            escape(&sentence)
        );
    }
    if let Some((text, meaning)) = verdict::expectation(run) {
        let _ = writeln!(
            out,
            "<p class=\"m-{}\">{}</p>",
            meaning.name(),
            escape(&text)
        );
    }
    if let Some(why) = &run.why {
        let _ = writeln!(
            out,
            "<p><span class=\"label\">why</span>{}</p>",
            escape(why)
        );
    }
    for note in &run.notes {
        let _ = writeln!(
            out,
            "<p class=\"m-dim\"><span class=\"label\">note</span>{}</p>",
            escape(note)
        );
    }
    out.push_str("</div>\n");

    let items = quiz::items(run);
    if !items.is_empty() {
        out.push_str("<section class=\"quiz\">\n<h2>Predict, then check</h2>\n<ol>\n");
        for item in &items {
            let _ = write!(
                out,
                "<li><p>{} <span class=\"m-dim\">(before step {}, {})</span></p><details><summary>What happened?</summary><ul>",
                escape(&item.ask),
                item.step_no,
                escape(&item.session)
            );
            for (text, right) in &item.answers {
                if *right {
                    let _ = write!(
                        out,
                        "<li class=\"right m-prevented\">✓ {}</li>",
                        escape(text)
                    );
                } else {
                    let _ = write!(out, "<li class=\"m-dim\">{}</li>", escape(text));
                }
            }
            if !item.settled {
                out.push_str("<li class=\"m-dim\">(the run ended before this was settled)</li>");
            }
            out.push_str("</ul>");
            if let Some(explain) = &item.explain {
                let _ = write!(out, "<p>{}</p>", escape(explain));
            }
            out.push_str("</details></li>\n");
        }
        out.push_str("</ol>\n</section>\n");
    }

    // The terminal legend, without its colours, then coloured here by meaning.
    let plain_legend = strip_ansi(&legend());
    let _ = writeln!(
        out,
        "<p class=\"legend m-dim\">{}</p>",
        escape(&plain_legend)
    );
    if let Some(more) = inspect::legend(run) {
        let _ = writeln!(out, "<p class=\"legend m-dim\">{}</p>", escape(&more));
    }
    out.push_str("</section>\n");
    out
}

fn summary(runs: &[LessonRun]) -> String {
    let mut out = String::from(
        "<section class=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\">\n\
         <tr><th>lesson</th><th>level</th><th>outcome</th><th>as documented</th></tr>\n",
    );
    for run in runs {
        let Some(v) = &run.verdict else { continue };
        let (text, meaning) = match (&v.outcome, &v.how) {
            (Outcome::Occurred, _) => ("OCCURRED".to_string(), Meaning::Anomaly),
            (Outcome::Prevented, Some(how)) => (format!("prevented: {how}"), Meaning::Prevented),
            (Outcome::Prevented, None) => ("prevented".to_string(), Meaning::Prevented),
        };
        let (doc, doc_meaning) = if v.matches_expectation() {
            ("✓", Meaning::Prevented)
        } else {
            ("✗ differs", Meaning::Aborted)
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><span class=\"m-{}\">{}</span></td><td class=\"m-{}\">{doc}</td></tr>",
            escape(&run.lesson_id),
            run.level.map(|l| l.sql()).unwrap_or("as written"),
            meaning.name(),
            escape(&text),
            doc_meaning.name()
        );
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn cell_html(cell: &Cell) -> String {
    cell.lines
        .iter()
        .map(|l| {
            format!(
                "<div class=\"line m-{}\">{}</div>",
                l.meaning.name(),
                escape(&l.text)
            )
        })
        .collect()
}

/// Removes ANSI colour codes (the shared legend is painted for terminals).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_self_contained_and_escaped() {
        let run = crate::render::testing::two_session_run();
        let page = document(&[run], "test server");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.ends_with("</html>\n"));
        // One inline script (the stepper), nothing fetched from anywhere.
        assert_eq!(page.matches("<script").count(), 1);
        for external in ["<link", "src=", "@import", "url(", "http"] {
            assert!(!page.contains(external), "page refers to {external}");
        }
        assert!(page.contains("&lt;at once&gt;"));
        assert!(page.contains("alice&#39;s phone"));
        assert!(page.contains("<tr class=\"wide\" data-step="));
        assert!(page.contains(&format!(".m-waiting {{ {}; }}", css(Meaning::Waiting))));
        assert!(page.contains("<li class=\"right m-prevented\">✓ It waits for Alice</li>"));
        assert!(!page.contains('\u{1b}'));
    }

    #[test]
    fn strips_colour_codes() {
        assert_eq!(strip_ansi("\u{1b}[1;33m‖\u{1b}[0m waiting"), "‖ waiting");
    }
}
