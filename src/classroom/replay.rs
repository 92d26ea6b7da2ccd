//! Stepping through what was recorded: `txlab replay FILE --step`, and the live stepper's look
//! back. A [`Pages`] cuts one finished (or partly finished) run into the screens a class saw
//! before each step; moving back and forth only redraws them, nothing runs and nothing is undone.

use super::keys::{Key, Keys};
use super::screen::{self, NextStep};
use crate::engine::LessonRun;
use crate::error::{Result, TxlabError};
use crate::model::{EventKind, Timeline};
use crate::output::print;
use crate::recording::Recording;
use crate::render::{self, Style};

/// The screens of one run: the timeline header, every row, and how many rows were on screen
/// before each step was launched.
pub struct Pages {
    header: String,
    rows: Vec<String>,
    /// `shown[k]`: rows visible before step k+1 ran; the last entry is every row.
    shown: Vec<usize>,
    /// The prompt block (without quiz) for each step, as it looked before the step ran.
    prompts: Vec<Vec<String>>,
    footer: String,
}

impl Pages {
    /// Cuts a run at each launch; `total` is how many steps the schedule has when the run is
    /// still going (a finished run counts its launches).
    pub fn of(run: &LessonRun, style: &Style, total: Option<usize>) -> Pages {
        let rows = render::timeline::row_texts(run, style);
        let launches = run.timeline.launch_positions();
        let total = total.unwrap_or(launches.len());
        let mut shown = Vec::new();
        let mut prompts = Vec::new();
        for (k, &at) in launches.iter().enumerate() {
            let mut before = run.clone();
            before.verdict = None;
            before.timeline = Timeline {
                events: run.timeline.events[..at].to_vec(),
            };
            let count = render::timeline::row_texts(&before, style).len();
            shown.push(count.min(rows.len()));
            let event = &run.timeline.events[at];
            let sql = match &event.kind {
                EventKind::Launch { sql } => sql.as_str(),
                _ => "",
            };
            let step = event.step.and_then(|s| run.steps.get(s));
            let session = event.session.unwrap_or(0);
            let next = NextStep {
                number: k + 1,
                total,
                session,
                session_label: run
                    .sessions
                    .get(session)
                    .map(|s| s.label.as_str())
                    .unwrap_or(""),
                say: step.and_then(|s| s.say.as_deref()),
                sql,
            };
            prompts.push(screen::prompt_block(&next, None, style.width));
        }
        shown.push(rows.len());
        Pages {
            header: render::timeline::header(run, style),
            rows,
            shown,
            prompts,
            footer: render::timeline::footer(run, style),
        }
    }

    /// How many steps the run has.
    pub fn steps(&self) -> usize {
        self.prompts.len()
    }

    /// Every row so far under the header, for the live step's prompt to follow.
    pub fn screen_now(&self) -> String {
        let mut text = self.header.clone();
        for row in &self.rows {
            text.push_str(row);
        }
        text
    }

    /// The screen before step `at + 1` runs (or, at `steps()`, the finished run), the prompt as
    /// its last line without a newline.
    pub fn screen(&self, at: usize) -> String {
        let mut text = self.header.clone();
        let at = at.min(self.steps());
        for row in &self.rows[..self.shown[at]] {
            text.push_str(row);
        }
        match self.prompts.get(at) {
            Some(lines) => text.push_str(&lines.join("\n")),
            None => {
                text.push_str(&self.footer);
                text.push_str(&screen::end_prompt());
            }
        }
        text
    }
}

/// Walks through every run of the recording; prints the summary (or matrix) at the end as the
/// live run does.
pub async fn walk(rec: &Recording, style: &Style) -> Result<()> {
    use std::io::IsTerminal;
    let mut keys = Keys::stdin();
    let redraw = std::io::stdout().is_terminal() && keys.is_terminal();
    'runs: for run in &rec.runs {
        let pages = Pages::of(run, style, None);
        let mut at = 0;
        loop {
            let mut text = String::new();
            if redraw {
                text.push_str("\x1b[H\x1b[2J");
            }
            text.push_str(&pages.screen(at));
            let key = keys.next(0, &text).await?;
            print("\n")?;
            match key {
                Key::Run | Key::Answer(_) if at < pages.steps() => at += 1,
                Key::Run | Key::Answer(_) => break,
                Key::Back => at = at.saturating_sub(1),
                Key::Replay => at = 0,
                Key::Quit | Key::End => break 'runs,
                Key::Interrupt => return Err(TxlabError::Interrupted),
            }
        }
    }
    if let Some(summary) = render::summary::render(&rec.runs, rec.matrix, style) {
        print(&summary)?;
    }
    Ok(())
}
