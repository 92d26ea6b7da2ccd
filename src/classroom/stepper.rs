//! Drives runs through the engine's step gate: before each launch the timeline so far is printed,
//! then (when the pace says so) the step about to run and a prompt; the teacher's key decides
//! whether the step runs, the lesson starts over, or the class is done. A replay is a fresh run
//! from scratch; quitting stops the run at the gate, and the engine cleans up as after any stop.

use std::io::IsTerminal;

use tokio::sync::mpsc;

use super::keys::{Key, Keys};
use super::replay::Pages;
use super::score::QuizBook;
use super::screen::{self, NextStep};
use crate::engine::event::{Event, Timeline};
use crate::engine::lesson::{Lesson, StepDef};
use crate::engine::run::steps_at;
use crate::engine::runner::{LessonRun, SessionInfo};
use crate::engine::{GateRequest, IsolationLevel, RunOptions, StepGate, run_lesson};
use crate::error::{Result, TxlabError};
use crate::lab::Lab;
use crate::output::print;
use crate::plan::{Pace, Plan};
use crate::render::{self, Style};

/// How one attempt at a run ended.
enum Ending {
    Finished(Box<LessonRun>),
    Replay,
    Quit,
}

/// Everything an attempt needs that does not change between attempts.
struct Classroom<'a> {
    lab: &'a Lab,
    options: &'a RunOptions,
    style: &'a Style,
    pace: Pace,
    keys: Keys,
    book: QuizBook,
    /// Erase the prompt block after a key (stdout is a terminal).
    erase: bool,
    attempts: usize,
}

/// Runs the plan at the teacher's pace; returns whether every run matched its expectation.
pub async fn execute(lab: &Lab, plan: Plan, style: &Style) -> Result<bool> {
    let pace = plan.pace;
    let mut room = Classroom {
        lab,
        options: &plan.options,
        style,
        pace,
        keys: Keys::stdin(),
        book: QuizBook::default(),
        erase: std::io::stdout().is_terminal(),
        attempts: 0,
    };
    let mut finished: Vec<LessonRun> = Vec::new();
    'runs: for (lesson, level) in &plan.runs {
        loop {
            match room.attempt(lesson, *level).await? {
                Ending::Finished(mut run) => {
                    run.levels_shown = plan.levels_shown(&lesson.id);
                    finished.push(*run);
                    print("\n")?;
                    break;
                }
                Ending::Replay => print(&screen::replaying(&lesson.title))?,
                Ending::Quit => break 'runs,
            }
        }
    }
    if pace.quiz && !room.book.is_empty() {
        print(&format!("{}\n", screen::score(&room.book.score())))?;
    }
    if let Some(summary) = render::summary::render(&finished, plan.matrix, style) {
        print(&summary)?;
    }
    if let Some(path) = &plan.record {
        let flags = crate::recording::RecordedFlags {
            locks: plan.options.inspect.locks,
            versions: plan.options.inspect.versions,
            quiz: pace.quiz,
        };
        crate::recording::Recording::new(
            finished.clone(),
            lab.server.description(),
            lab.server.local_timings(),
            plan.matrix,
            flags,
        )
        .write(path)?;
    }
    let all_match = finished
        .iter()
        .all(|r| r.verdict.as_ref().is_none_or(|v| v.matches_expectation()));
    Ok(all_match || !plan.check)
}

impl Classroom<'_> {
    /// One run of one lesson, from scratch, until it finishes or the teacher stops it.
    async fn attempt(&mut self, lesson: &Lesson, level: Option<IsolationLevel>) -> Result<Ending> {
        self.attempts += 1;
        let attempt = self.attempts;
        let (gate, mut requests) = StepGate::channel();
        let (live_tx, mut live_rx) = mpsc::unbounded_channel();
        let options = RunOptions {
            gate: Some(gate),
            live: Some(live_tx),
            ..self.options.clone()
        };
        let mut view = LiveView::new(lesson, level);
        let mut stopped = None;
        let lab = self.lab;
        let run = run_lesson(&lab.server, &lab.sandbox, lesson, level, &options);
        tokio::pin!(run);
        let result = loop {
            tokio::select! {
                biased;
                result = &mut run => break result,
                Some(request) = requests.recv() => {
                    while let Ok(event) = live_rx.try_recv() {
                        view.events.push(event);
                    }
                    view.pids = request.session_pids.clone();
                    self.catch_up(&mut view, attempt)?;
                    if let Some(ending) = self.at_gate(lesson, request, attempt, &view).await? {
                        stopped = Some(ending);
                    }
                }
            }
        };
        while let Ok(event) = live_rx.try_recv() {
            view.events.push(event);
        }
        match result {
            Ok(run) => {
                view.print_rows(&run, self.style)?;
                let reveals = self.book.reveal_rest(attempt, &run.timeline);
                self.print_reveals(reveals)?;
                print(&render::timeline::footer(&run, self.style))?;
                Ok(Ending::Finished(Box::new(run)))
            }
            Err(TxlabError::Stopped) => {
                let ending = stopped.unwrap_or(Ending::Quit);
                if matches!(ending, Ending::Replay) {
                    self.book.discard(attempt);
                }
                Ok(ending)
            }
            Err(e) => Err(e),
        }
    }

    /// Prints the rows recorded since the last look, and any quiz the run has now settled.
    fn catch_up(&mut self, view: &mut LiveView, attempt: usize) -> Result<()> {
        view.print_new_rows(self.style)?;
        let timeline = Timeline {
            events: view.events.clone(),
        };
        let reveals = self.book.reveal_settled(attempt, &timeline);
        self.print_reveals(reveals)
    }

    fn print_reveals(&self, reveals: Vec<super::score::Reveal>) -> Result<()> {
        for r in reveals {
            for line in screen::reveal(&r, self.style.width) {
                print(&format!("{line}\n"))?;
            }
        }
        Ok(())
    }

    /// At a gate: run the step straight away, or show it and wait for the teacher. Returns how
    /// the attempt ends when the teacher stops it.
    async fn at_gate(
        &mut self,
        lesson: &Lesson,
        request: GateRequest,
        attempt: usize,
        view: &LiveView<'_>,
    ) -> Result<Option<Ending>> {
        let step = &lesson.steps[request.step];
        let quiz = step.quiz.as_ref().filter(|_| self.pace.quiz);
        if !self.pace.every_step && quiz.is_none() {
            request.go();
            return Ok(None);
        }
        let session = step.session;
        let next = NextStep {
            number: request.position + 1,
            total: lesson.schedules[0].steps.len(),
            session,
            session_label: lesson
                .sessions
                .get(session)
                .map(|s| s.label.as_str())
                .unwrap_or(""),
            say: step.say.as_deref(),
            sql: &request.sql,
        };
        let lines = screen::prompt_block(&next, quiz, self.style.width);
        let (last, above) = lines.split_last().expect("a prompt block has a prompt");
        let mut text = String::new();
        for line in above {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(last);
        let answers = quiz.map_or(0, |q| q.answers.len());
        let mut key = self.keys.next(answers, &text).await?;
        if key == Key::Back {
            key = self.look_back(view, &text, answers).await?;
        }
        if self.erase && self.keys.is_terminal() {
            print(&screen::erase(lines.len()))?;
        } else {
            print("\n")?;
        }
        match key {
            Key::Run | Key::Answer(_) => {
                if let Some(quiz) = quiz {
                    let guess = match key {
                        Key::Answer(n) => Some(n - 1),
                        _ => None,
                    };
                    for line in screen::answered(quiz, guess, self.style.width) {
                        print(&format!("{line}\n"))?;
                    }
                    self.book.ask(attempt, quiz, guess);
                }
                request.go();
                Ok(None)
            }
            Key::Back => unreachable!("look_back returns only at the live step"),
            Key::Replay => {
                request.stop();
                Ok(Some(Ending::Replay))
            }
            Key::Quit | Key::End => {
                request.stop();
                Ok(Some(Ending::Quit))
            }
            Key::Interrupt => Err(TxlabError::Interrupted),
        }
    }
}

impl Classroom<'_> {
    /// Backspace or `b` at a live gate: re-shows the screens recorded before earlier steps (no
    /// SQL is undone); going forward again reaches the live step, whose key is returned. Earlier
    /// screens carry no quiz, so no answer shows before its question is asked.
    async fn look_back(&mut self, view: &LiveView<'_>, live: &str, answers: usize) -> Result<Key> {
        let total = view.lesson.schedules.first().map(|s| s.steps.len());
        let pages = Pages::of(&view.provisional(), self.style, total);
        let terminal = self.erase && self.keys.is_terminal();
        let mut at = pages.steps().saturating_sub(1);
        loop {
            let mut text = String::new();
            if terminal {
                text.push_str("\x1b[H\x1b[2J");
            } else {
                text.push('\n');
            }
            let live_here = at >= pages.steps();
            if live_here {
                text.push_str(&pages.screen_now());
                text.push_str(live);
            } else {
                text.push_str(&pages.screen(at));
            }
            let key = self
                .keys
                .next(if live_here { answers } else { 0 }, &text)
                .await?;
            match key {
                Key::Back => at = at.saturating_sub(1),
                _ if live_here => return Ok(key),
                Key::Run | Key::Answer(_) => at += 1,
                other => return Ok(other),
            }
        }
    }
}

/// The timeline of a run in progress, printed a row at a time. Rows are rendered from a
/// provisional [`LessonRun`] built from the events so far; when the scheduler is at a gate every
/// launched step has completed or been seen blocked, so printed rows never change afterwards.
struct LiveView<'a> {
    lesson: &'a Lesson,
    level: Option<IsolationLevel>,
    steps: Vec<StepDef>,
    events: Vec<Event>,
    pids: Vec<i32>,
    header_printed: bool,
    rows_printed: usize,
}

impl<'a> LiveView<'a> {
    fn new(lesson: &'a Lesson, level: Option<IsolationLevel>) -> LiveView<'a> {
        let steps = steps_at(lesson, level);
        LiveView {
            lesson,
            level,
            steps,
            events: Vec::new(),
            pids: Vec::new(),
            header_printed: false,
            rows_printed: 0,
        }
    }

    fn provisional(&self) -> LessonRun {
        LessonRun::new(
            self.lesson,
            self.level,
            SessionInfo::of(self.lesson, &self.pids),
            self.steps.clone(),
            Timeline {
                events: self.events.clone(),
            },
        )
    }

    fn print_new_rows(&mut self, style: &Style) -> Result<()> {
        self.print_rows(&self.provisional(), style)
    }

    fn print_rows(&mut self, run: &LessonRun, style: &Style) -> Result<()> {
        let mut text = String::new();
        if !self.header_printed {
            text.push_str(&render::timeline::header(run, style));
            self.header_printed = true;
        }
        let rows = render::timeline::row_texts(run, style);
        for row in rows.iter().skip(self.rows_printed) {
            text.push_str(row);
        }
        self.rows_printed = self.rows_printed.max(rows.len());
        print(&text)
    }
}
