//! A permutation of an isolation spec seen as a lesson run, so the timeline and JSON renderers
//! show it like any lesson; built on [`LessonRun::new`], the one builder.

use super::lesson::Lesson;
use super::notes;
use super::run::{LessonRun, SessionInfo};
use super::spec_runner::{PermutationRun, SpecFailure};
use crate::model::Timeline;

impl LessonRun {
    /// One permutation of a spec as a lesson run (setup, steps and teardown events in order), so
    /// the timeline and JSON renderers show it like any lesson.
    pub fn permutation(
        lesson: &Lesson,
        sessions: &[SessionInfo],
        run: &PermutationRun,
        total: usize,
    ) -> LessonRun {
        let names: Vec<&str> = lesson.schedules[run.index]
            .steps
            .iter()
            .map(|s| lesson.steps[s.step].name.as_str())
            .collect();
        let mut events = run.setup.clone();
        events.extend(run.timeline.events.iter().cloned());
        events.extend(run.teardown.iter().cloned());
        let mut notes = Vec::new();
        if let Some(failure) = &run.failure {
            notes.push(match failure {
                SpecFailure::Setup { session, error } => {
                    notes::setup_failed(session.map(|s| lesson.sessions[s].name.as_str()), error)
                }
                SpecFailure::Steps(why) | SpecFailure::Impossible(why) => why.clone(),
            });
        }
        LessonRun {
            title: format!("{} · permutation {}/{}", lesson.id, run.index + 1, total),
            anomaly: None,
            anomaly_name: lesson.id.to_uppercase(),
            summary: format!("permutation: {}", names.join(" ")),
            demo: None,
            variant: None,
            why: None,
            notes,
            schedule_time: run.schedule_time,
            total_time: run.total_time,
            ..LessonRun::new(
                lesson,
                None,
                sessions.to_vec(),
                lesson.steps.clone(),
                Timeline { events },
            )
        }
    }
}
