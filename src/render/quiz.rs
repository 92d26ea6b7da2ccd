//! A lesson's quiz points as a renderer shows them: the question, the answers, and which answers
//! the run proved right. The judging itself is the engine's ([`crate::engine::quiz`]).

use crate::engine::run::LessonRun;

/// One quiz point of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizItem {
    /// 1-based position of the step the question is asked before.
    pub step_no: usize,
    /// Who runs that step.
    pub session: String,
    pub ask: String,
    /// Each answer and whether the run made it right.
    pub answers: Vec<(String, bool)>,
    /// `false` when the run ended before the outcome was known (every answer is then not right).
    pub settled: bool,
    pub explain: Option<String>,
}

/// Every quiz point of the run's lesson, in step order.
pub fn items(run: &LessonRun) -> Vec<QuizItem> {
    run.steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| {
            let quiz = step.quiz.as_ref()?;
            let right = quiz.reveal(&run.timeline);
            Some(QuizItem {
                step_no: i + 1,
                session: run
                    .sessions
                    .get(step.session)
                    .map(|s| s.label.clone())
                    .unwrap_or_default(),
                ask: quiz.ask.clone(),
                answers: quiz
                    .answers
                    .iter()
                    .enumerate()
                    .map(|(a, answer)| {
                        let ok = right.as_ref().is_some_and(|r| r.contains(&a));
                        (answer.text.clone(), ok)
                    })
                    .collect(),
                settled: right.is_some(),
                explain: quiz.explain.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_run_proves_the_blocking_answer() {
        let run = crate::render::testing::two_session_run();
        let items = items(&run);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].step_no, 2);
        assert_eq!(items[0].session, "bob's laptop");
        assert!(items[0].settled);
        assert_eq!(
            items[0].answers,
            vec![
                ("It waits for Alice".to_string(), true),
                ("It goes through at once".to_string(), false)
            ]
        );
    }
}
