//! The class's quiz record: which answer the class gave at each quiz point, the reveal once the
//! run has settled the question, and the count at the end. Judging is the engine's
//! ([`crate::engine::quiz::Quiz::reveal`]); this only remembers and counts.

use crate::engine::Timeline;
use crate::engine::quiz::Quiz;

/// One question put to the class.
#[derive(Debug, Clone)]
struct Entry {
    /// Which attempt at which run (a replay starts a new attempt).
    attempt: usize,
    quiz: Quiz,
    /// 0-based index of the class's answer; `None` when the class gave none.
    guess: Option<usize>,
    /// Set once revealed: the indices of the answers that came true.
    right: Option<Vec<usize>>,
}

/// What to tell the class once a question is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    pub ask: String,
    /// The answers that came true (often one; none when the run surprised the lesson author).
    pub happened: Vec<String>,
    /// The class's answer, if it gave one.
    pub guess: Option<String>,
    /// Whether the class's answer came true; `None` without a guess.
    pub class_right: Option<bool>,
    /// `false` when the run ended before the question was settled.
    pub settled: bool,
    pub explain: Option<String>,
}

/// The tally at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Questions revealed.
    pub asked: usize,
    /// Of those, how many the class answered.
    pub guessed: usize,
    /// Of those, how many it got right.
    pub right: usize,
}

impl Score {
    /// "the class got 2 of 3 right (1 without an answer)".
    pub fn sentence(&self) -> String {
        let unanswered = self.asked - self.guessed;
        let mut s = format!("the class got {} of {} right", self.right, self.asked);
        if unanswered > 0 {
            s.push_str(&format!(" ({unanswered} without an answer)"));
        }
        s
    }
}

/// Every question asked in a classroom session.
#[derive(Debug, Default)]
pub struct QuizBook {
    entries: Vec<Entry>,
}

impl QuizBook {
    /// Records the class's answer (0-based) to `quiz` in `attempt`.
    pub fn ask(&mut self, attempt: usize, quiz: &Quiz, guess: Option<usize>) {
        self.entries.push(Entry {
            attempt,
            quiz: quiz.clone(),
            guess,
            right: None,
        });
    }

    /// The questions of `attempt` that `timeline` now settles, in the order they were asked.
    pub fn reveal_settled(&mut self, attempt: usize, timeline: &Timeline) -> Vec<Reveal> {
        self.reveal(attempt, timeline, false)
    }

    /// At the end of a run: reveals what is left, settled or not.
    pub fn reveal_rest(&mut self, attempt: usize, timeline: &Timeline) -> Vec<Reveal> {
        self.reveal(attempt, timeline, true)
    }

    fn reveal(&mut self, attempt: usize, timeline: &Timeline, all: bool) -> Vec<Reveal> {
        let mut out = Vec::new();
        for entry in self
            .entries
            .iter_mut()
            .filter(|e| e.attempt == attempt && e.right.is_none())
        {
            let right = entry.quiz.reveal(timeline);
            let settled = right.is_some();
            if !settled && !all {
                continue;
            }
            let right = right.unwrap_or_default();
            let answer = |i: usize| entry.quiz.answers.get(i).map(|a| a.text.clone());
            out.push(Reveal {
                ask: entry.quiz.ask.clone(),
                happened: right.iter().filter_map(|&i| answer(i)).collect(),
                guess: entry.guess.and_then(answer),
                class_right: entry.guess.map(|g| right.contains(&g)),
                settled,
                explain: entry.quiz.explain.clone(),
            });
            entry.right = Some(right);
        }
        out
    }

    /// Forgets an attempt that was abandoned (replayed): its questions are asked again.
    pub fn discard(&mut self, attempt: usize) {
        self.entries.retain(|e| e.attempt != attempt);
    }

    /// The tally over every revealed question.
    pub fn score(&self) -> Score {
        let mut score = Score::default();
        for e in &self.entries {
            let Some(right) = &e.right else { continue };
            score.asked += 1;
            if let Some(g) = e.guess {
                score.guessed += 1;
                if right.contains(&g) {
                    score.right += 1;
                }
            }
        }
        score
    }

    /// Whether any question was put to the class.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::event::{Completion, Event, EventKind};
    use crate::engine::quiz::Answer;

    fn block_quiz(about: usize) -> Quiz {
        Quiz {
            ask: format!("Will step {about} block?"),
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
            about,
            explain: None,
        }
    }

    fn push(t: &mut Timeline, step: usize, kind: EventKind) {
        t.events.push(Event {
            t: Duration::ZERO,
            session: Some(0),
            pid: 1,
            step: Some(step),
            kind,
        });
    }

    fn launched(t: &mut Timeline, step: usize, waits: bool) {
        push(
            t,
            step,
            EventKind::Launch {
                sql: "UPDATE".into(),
            },
        );
        if waits {
            push(
                t,
                step,
                EventKind::Waiting {
                    blockers: vec![2],
                    forced: false,
                },
            );
        } else {
            push(
                t,
                step,
                EventKind::Completed(Completion {
                    results: vec![],
                    error: None,
                    tx_end: None,
                    waited: None,
                    conflict: None,
                }),
            );
        }
    }

    #[test]
    fn counts_right_wrong_and_unanswered() {
        let mut book = QuizBook::default();
        let mut t = Timeline::default();
        book.ask(0, &block_quiz(0), Some(0));
        book.ask(0, &block_quiz(1), Some(0));
        book.ask(0, &block_quiz(2), None);
        assert!(book.reveal_settled(0, &t).is_empty(), "nothing ran yet");
        launched(&mut t, 0, true);
        let r = book.reveal_settled(0, &t);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].class_right, Some(true));
        assert_eq!(r[0].happened, vec!["it waits".to_string()]);
        launched(&mut t, 1, false);
        launched(&mut t, 2, false);
        let r = book.reveal_settled(0, &t);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].class_right, Some(false));
        assert_eq!(r[0].guess.as_deref(), Some("it waits"));
        assert_eq!(r[1].class_right, None);
        assert!(book.reveal_settled(0, &t).is_empty(), "each reveal once");
        assert_eq!(
            book.score(),
            Score {
                asked: 3,
                guessed: 2,
                right: 1
            }
        );
        assert_eq!(
            book.score().sentence(),
            "the class got 1 of 3 right (1 without an answer)"
        );
    }

    #[test]
    fn a_replayed_attempt_does_not_count_and_unsettled_questions_score_nothing() {
        let mut book = QuizBook::default();
        let mut t = Timeline::default();
        book.ask(0, &block_quiz(0), Some(1));
        book.discard(0);
        assert!(book.is_empty());

        book.ask(1, &block_quiz(0), Some(0));
        book.ask(1, &block_quiz(5), Some(0));
        launched(&mut t, 0, true);
        let r = book.reveal_rest(1, &t);
        assert_eq!(r.len(), 2);
        assert!(r[0].settled);
        assert!(!r[1].settled, "step 5 never ran");
        assert_eq!(r[1].class_right, Some(false));
        assert_eq!(
            book.score(),
            Score {
                asked: 2,
                guessed: 2,
                right: 1
            }
        );
    }

    #[test]
    fn attempts_are_kept_apart() {
        let mut book = QuizBook::default();
        let mut t = Timeline::default();
        launched(&mut t, 0, true);
        book.ask(0, &block_quiz(0), Some(0));
        book.ask(1, &block_quiz(0), Some(1));
        assert_eq!(book.reveal_settled(1, &t)[0].class_right, Some(false));
        assert_eq!(book.reveal_settled(0, &t)[0].class_right, Some(true));
    }
}
