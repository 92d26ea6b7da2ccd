//! What the classroom prints between timeline rows: the step about to run, the one-line prompt,
//! the quiz question, the reveal and the score. Plain lines (no cursor tricks beyond erasing the
//! prompt block it just printed), coloured through the palette like everything else.

use super::score::{Reveal, Score};
use crate::engine::quiz::Quiz;
use crate::render::cell::wrap;
use crate::render::palette::{Meaning, lane, paint};

/// The step about to run, as the teacher sees it before pressing a key.
pub struct NextStep<'a> {
    /// 1-based position and how many steps the schedule has.
    pub number: usize,
    pub total: usize,
    pub session: usize,
    pub session_label: &'a str,
    pub say: Option<&'a str>,
    /// As it will be sent.
    pub sql: &'a str,
}

/// The block shown before a step: quiz question (if any), the step, and the prompt as the last
/// line (printed without a newline). Returns the lines; the caller counts them to erase them.
pub fn prompt_block(next: &NextStep, quiz: Option<&Quiz>, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let body = width.saturating_sub(6).max(20);
    if let Some(quiz) = quiz {
        for (i, l) in wrap(&quiz.ask, body).into_iter().enumerate() {
            let mark = if i == 0 { "  ? " } else { "    " };
            lines.push(format!(
                "{}{}",
                paint(mark, Meaning::Value),
                paint(&l, Meaning::Value)
            ));
        }
        for (i, answer) in quiz.answers.iter().enumerate() {
            for (j, l) in wrap(&answer.text, body.saturating_sub(3))
                .into_iter()
                .enumerate()
            {
                let head = if j == 0 {
                    format!("    {})", i + 1)
                } else {
                    "      ".to_string()
                };
                lines.push(format!("{} {l}", paint(&head, Meaning::Heading)));
            }
        }
    }
    lines.push(format!(
        "  {} {}",
        paint(
            &format!("▸ next · step {} of {} ·", next.number, next.total),
            Meaning::Dim
        ),
        lane(next.session_label, next.session)
    ));
    if let Some(say) = next.say {
        for l in wrap(&format!("» {say}"), body) {
            lines.push(format!("    {}", paint(&l, Meaning::Dim)));
        }
    }
    for l in wrap(next.sql, body) {
        lines.push(format!("    {l}"));
    }
    lines.push(prompt_line(quiz.map(|q| q.answers.len())));
    lines
}

/// The prompt under a finished run when stepping through a recording.
pub fn end_prompt() -> String {
    format!(
        "  {}",
        paint(
            "[Enter/space] next lesson · [b] back · [r] from the start · [q] quit",
            Meaning::Heading
        )
    )
}

/// The one-line prompt.
pub fn prompt_line(answers: Option<usize>) -> String {
    let keys = match answers {
        Some(n) => format!(
            "the class's answer [1-{n}] · [Enter] no answer · [b] back · [r] replay from the start · [q] quit"
        ),
        None => {
            "[Enter/space] run it · [b] back · [r] replay from the start · [q] quit".to_string()
        }
    };
    format!("  {}", paint(&keys, Meaning::Heading))
}

/// The record left behind once the class has answered.
pub fn answered(quiz: &Quiz, guess: Option<usize>, width: usize) -> Vec<String> {
    let said = match guess.and_then(|g| quiz.answers.get(g)) {
        Some(a) => format!("the class says: {}", a.text),
        None => "no answer from the class".to_string(),
    };
    wrap(
        &format!("{} — {said}", quiz.ask),
        width.saturating_sub(4).max(20),
    )
    .into_iter()
    .enumerate()
    .map(|(i, l)| {
        let mark = if i == 0 { "  ? " } else { "    " };
        format!(
            "{}{}",
            paint(mark, Meaning::Value),
            paint(&l, Meaning::Value)
        )
    })
    .collect()
}

/// The reveal of one question.
pub fn reveal(r: &Reveal, width: usize) -> Vec<String> {
    let body = width.saturating_sub(4).max(20);
    let happened = if r.happened.is_empty() {
        if r.settled {
            "none of the answers: look at the timeline".to_string()
        } else {
            "the run ended before this was settled".to_string()
        }
    } else {
        r.happened.join(" / ")
    };
    let (mark, text, meaning) = match (&r.guess, r.class_right) {
        (Some(_), Some(true)) => ("✓", format!("right: {happened}"), Meaning::Prevented),
        (Some(guess), _) => (
            "✗",
            format!("the class said \"{guess}\"; what happened: {happened}"),
            Meaning::Aborted,
        ),
        (None, _) => ("·", format!("what happened: {happened}"), Meaning::Heading),
    };
    let mut lines: Vec<String> = wrap(&text, body)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                format!("  {mark} ")
            } else {
                "    ".into()
            };
            format!("{}{}", paint(&head, meaning), paint(&l, meaning))
        })
        .collect();
    if let Some(explain) = &r.explain {
        for l in wrap(explain, body) {
            lines.push(format!("    {}", paint(&l, Meaning::Dim)));
        }
    }
    lines
}

/// The last line of a quiz.
pub fn score(score: &Score) -> String {
    format!(
        "{} {}",
        paint("quiz:", Meaning::Heading),
        paint(&score.sentence(), Meaning::Value)
    )
}

/// Said when the teacher replays a lesson.
pub fn replaying(title: &str) -> String {
    format!(
        "\n{}\n\n",
        paint(
            &format!("↺ {title}: replaying from the start"),
            Meaning::Heading
        )
    )
}

/// Erases the `lines` lines just printed, the last without its newline (the prompt). Only used
/// when stdout is a terminal.
pub fn erase(lines: usize) -> String {
    let mut out = String::from("\r\x1b[2K");
    for _ in 1..lines {
        out.push_str("\x1b[1A\x1b[2K");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quiz::Answer;

    fn quiz() -> Quiz {
        Quiz {
            ask: "Will Bob's UPDATE block?".into(),
            answers: vec![
                Answer {
                    text: "it waits".into(),
                    when: "blocked".parse().unwrap(),
                },
                Answer {
                    text: "it goes through".into(),
                    when: "not blocked".parse().unwrap(),
                },
            ],
            about: 0,
            explain: None,
        }
    }

    #[test]
    fn the_prompt_block_ends_with_the_one_line_prompt() {
        colored::control::set_override(false);
        let next = NextStep {
            number: 6,
            total: 8,
            session: 1,
            session_label: "bob's laptop",
            say: Some("Bob writes."),
            sql: "UPDATE account SET balance = 120",
        };
        let lines = prompt_block(&next, None, 100);
        assert_eq!(
            lines,
            vec![
                "  ▸ next · step 6 of 8 · bob's laptop",
                "    » Bob writes.",
                "    UPDATE account SET balance = 120",
                "  [Enter/space] run it · [b] back · [r] replay from the start · [q] quit",
            ]
        );
        let lines = prompt_block(&next, Some(&quiz()), 100);
        assert_eq!(lines[0], "  ? Will Bob's UPDATE block?");
        assert_eq!(lines[1], "    1) it waits");
        assert!(lines.last().unwrap().contains("[1-2]"));
    }

    #[test]
    fn reveals_say_who_was_right() {
        colored::control::set_override(false);
        let r = Reveal {
            ask: "Will it block?".into(),
            happened: vec!["it waits".into()],
            guess: Some("it goes through".into()),
            class_right: Some(false),
            settled: true,
            explain: Some("Row locks last until commit.".into()),
        };
        assert_eq!(
            reveal(&r, 100),
            vec![
                "  ✗ the class said \"it goes through\"; what happened: it waits",
                "    Row locks last until commit."
            ]
        );
    }
}
