//! A recorded `.spec` run (format version 2): the spec as its renderers read it, and every
//! permutation exactly as the spec runner reported it (setup, steps, teardown, failure, the
//! sessions' backends), so `txlab replay` prints the isolationtester output, the timelines, the
//! `--all-permutations` table or the JSON of the live run without a server.

use serde::{Deserialize, Serialize};

use crate::engine::lesson::{Lesson, Schedule, ScheduledStep, SessionDef, StepDef};
use crate::engine::run::SessionInfo;
use crate::engine::spec_runner::{PermutationRun, SpecSummary};

/// One spec run, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecRecording {
    pub spec: SpecShape,
    /// Whether `--all-permutations` was given (the text output is then the classified table).
    pub all_permutations: bool,
    /// The compiler's warnings, printed on stderr before the run.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Every permutation that ran, in order.
    pub permutations: Vec<RecordedPermutation>,
    /// Where and as whom it ran, and how long it took (the summary line under the timelines).
    pub summary: SpecSummary,
}

/// One permutation with the sessions (and backend pids) it ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedPermutation {
    pub sessions: Vec<SessionInfo>,
    pub run: PermutationRun,
}

/// What the spec renderers read of a compiled spec: names, texts, steps and the orders they were
/// launched in. The rest of a [`Lesson`] (verdicts, pools, engines) a spec never has.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecShape {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub explanation: String,
    /// The spec's file, as it was named on the command line.
    pub origin: String,
    pub setup: Vec<String>,
    pub teardown: Option<String>,
    /// Each session's name and label.
    pub sessions: Vec<(String, String)>,
    pub steps: Vec<StepDef>,
    /// Each schedule as indexes into `steps` (isolationtester's markers only steer reporting
    /// during the run; nothing prints them).
    pub schedules: Vec<Vec<usize>>,
}

impl SpecShape {
    /// The shape of a compiled spec.
    pub fn of(lesson: &Lesson) -> SpecShape {
        SpecShape {
            id: lesson.id.clone(),
            title: lesson.title.clone(),
            summary: lesson.summary.clone(),
            explanation: lesson.explanation.clone(),
            origin: lesson.origin.clone(),
            setup: lesson.setup.clone(),
            teardown: lesson.teardown.clone(),
            sessions: lesson
                .sessions
                .iter()
                .map(|s| (s.name.clone(), s.label.clone()))
                .collect(),
            steps: lesson.steps.clone(),
            schedules: lesson
                .schedules
                .iter()
                .map(|s| s.steps.iter().map(|st| st.step).collect())
                .collect(),
        }
    }

    /// The lesson the renderers are given: the recorded parts, nothing else.
    pub fn lesson(&self) -> Lesson {
        Lesson {
            id: self.id.clone(),
            title: self.title.clone(),
            anomaly: None,
            topic: "specs".into(),
            summary: self.summary.clone(),
            explanation: self.explanation.clone(),
            setup: self.setup.clone(),
            teardown: self.teardown.clone(),
            sessions: self
                .sessions
                .iter()
                .map(|(name, label)| SessionDef {
                    name: name.clone(),
                    label: label.clone(),
                    setup: Vec::new(),
                    teardown: None,
                    retry: None,
                })
                .collect(),
            steps: self.steps.clone(),
            schedules: self
                .schedules
                .iter()
                .map(|steps| Schedule {
                    steps: steps
                        .iter()
                        .map(|&step| ScheduledStep {
                            step,
                            blockers: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
            verdict: None,
            expect: Default::default(),
            why: Default::default(),
            default_levels: Vec::new(),
            deadlock_victim: None,
            origin: self.origin.clone(),
            demo: None,
            variant: None,
            mariadb: None,
            pool: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiled_spec_keeps_its_names_steps_and_orders() {
        let text = "setup { CREATE TABLE t (i int); }\nsession s1\nstep a { SELECT 1; }\nsession s2\nstep b { SELECT 2; }\npermutation b a\n";
        let lesson = crate::spec::compile::compile(text, "x.spec", "x")
            .unwrap()
            .lesson;
        let back = SpecShape::of(&lesson).lesson();
        assert_eq!(back.id, lesson.id);
        assert_eq!(back.sessions[1].name, "s2");
        let order: Vec<&str> = back.schedules[0]
            .steps
            .iter()
            .map(|s| back.steps[s.step].name.as_str())
            .collect();
        assert_eq!(order, ["b", "a"]);
        assert_eq!(back.steps[0].sql, lesson.steps[0].sql);
    }
}
