//! From a parsed spec to the one lesson model the scheduler runs: sessions and steps in spec
//! order, one schedule per `permutation` line (or every interleaving when there is none), and the
//! checks isolationtester makes before it connects (unique step names, known steps and markers).

use std::collections::HashMap;

use super::parser::{Spec, SpecBlocker, parse};
use crate::engine::interleavings;
use crate::engine::lesson::{Blocker, Lesson, Schedule, ScheduledStep, SessionDef, StepDef};
use crate::error::{Result, TxlabError};

/// More interleavings than this are refused rather than run for days.
pub const MAX_INTERLEAVINGS: u64 = 100_000;

/// A spec compiled into a lesson, with isolationtester's warnings ("unused step name").
#[derive(Debug, Clone)]
pub struct CompiledSpec {
    pub lesson: Lesson,
    /// Whether the spec lists its permutations (otherwise every interleaving is run).
    pub has_permutations: bool,
    pub warnings: Vec<String>,
}

/// Parses and checks a spec; `file` names it in messages, `id` is the spec's name.
pub fn compile(text: &str, file: &str, id: &str) -> Result<CompiledSpec> {
    let err = |line: usize, message: String| TxlabError::LessonFile {
        file: file.to_string(),
        line,
        message,
    };
    let spec = parse(text).map_err(|e| err(e.line, e.message))?;
    let (lesson, warnings) = lesson_from(&spec, file, id, text, &err)?;
    Ok(CompiledSpec {
        has_permutations: !spec.permutations.is_empty(),
        lesson,
        warnings,
    })
}

/// Replaces a lesson's schedules with every interleaving of its steps, refusing absurd counts.
pub fn with_all_interleavings(lesson: &mut Lesson, file: &str) -> Result<()> {
    match interleavings::count(lesson) {
        Some(n) if n <= MAX_INTERLEAVINGS => {
            lesson.schedules = interleavings::all(lesson);
            Ok(())
        }
        n => Err(TxlabError::LessonFile {
            file: file.to_string(),
            line: 1,
            message: format!(
                "{} interleavings of {} steps are too many to run (at most {MAX_INTERLEAVINGS}); list the ones that matter on permutation lines",
                n.map(|n| n.to_string())
                    .unwrap_or_else(|| "more than 2^64".into()),
                lesson.steps.len()
            ),
        }),
    }
}

fn lesson_from(
    spec: &Spec,
    file: &str,
    id: &str,
    text: &str,
    err: &dyn Fn(usize, String) -> TxlabError,
) -> Result<(Lesson, Vec<String>)> {
    let mut sessions = Vec::new();
    let mut steps: Vec<StepDef> = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (s, session) in spec.sessions.iter().enumerate() {
        sessions.push(SessionDef {
            name: session.name.clone(),
            label: session.name.clone(),
            setup: session.setup.iter().cloned().collect(),
            teardown: session.teardown.clone(),
            retry: None,
        });
        for step in &session.steps {
            if by_name.insert(&step.name, steps.len()).is_some() {
                return Err(err(
                    step.line,
                    format!("duplicate step name: {}", step.name),
                ));
            }
            steps.push(StepDef {
                name: step.name.clone(),
                session: s,
                sql: step.sql.clone(),
                say: None,
                capture: Vec::new(),
                capture_rows: None,
                expect_rows: None,
                quiz: None,
            });
        }
    }

    let mut used = vec![false; steps.len()];
    let mut schedules = Vec::new();
    for permutation in &spec.permutations {
        let mut schedule = Schedule::default();
        for pstep in &permutation.steps {
            let &step = by_name.get(pstep.name.as_str()).ok_or_else(|| {
                err(
                    pstep.line,
                    format!("undefined step \"{}\" specified in permutation", pstep.name),
                )
            })?;
            used[step] = true;
            schedule.steps.push(ScheduledStep {
                step,
                blockers: Vec::new(),
            });
        }
        // Markers may name any step of the same permutation, earlier or later.
        for (k, pstep) in permutation.steps.iter().enumerate() {
            let own_session = steps[schedule.steps[k].step].session;
            let mut blockers = Vec::new();
            for blocker in &pstep.blockers {
                let (name, line) = match blocker {
                    SpecBlocker::Once => {
                        blockers.push(Blocker::Once);
                        continue;
                    }
                    SpecBlocker::Step { name, line } | SpecBlocker::Notices { name, line, .. } => {
                        (name, *line)
                    }
                };
                let other = permutation
                    .steps
                    .iter()
                    .position(|p| p.name == *name)
                    .map(|i| schedule.steps[i].step)
                    .ok_or_else(|| {
                        err(
                            line,
                            format!(
                                "undefined blocking step \"{name}\" referenced in permutation step \"{}\"",
                                pstep.name
                            ),
                        )
                    })?;
                if steps[other].session == own_session {
                    return Err(err(
                        line,
                        format!(
                            "permutation step \"{}\" cannot block on its own session",
                            pstep.name
                        ),
                    ));
                }
                blockers.push(match blocker {
                    SpecBlocker::Notices { count, .. } => Blocker::Notices {
                        step: other,
                        count: *count,
                    },
                    _ => Blocker::Step(other),
                });
            }
            schedule.steps[k].blockers = blockers;
        }
        schedules.push(schedule);
    }

    let mut warnings = Vec::new();
    if !spec.permutations.is_empty() {
        let mut unused: Vec<&str> = steps
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(s, _)| s.name.as_str())
            .collect();
        unused.sort_unstable();
        warnings.extend(unused.into_iter().map(|n| format!("unused step name: {n}")));
    }

    let summary = header_comment(text);
    let mut lesson = Lesson {
        id: id.to_string(),
        title: format!("isolation spec {id}"),
        anomaly: None,
        topic: "specs".into(),
        summary: summary.lines().next().unwrap_or_default().to_string(),
        explanation: summary,
        setup: spec.setup.clone(),
        teardown: spec.teardown.clone(),
        sessions,
        steps,
        schedules,
        verdict: None,
        expect: Default::default(),
        why: Default::default(),
        default_levels: Vec::new(),
        deadlock_victim: None,
        origin: file.to_string(),
        demo: None,
        variant: None,
        mariadb: None,
        pool: None,
    };
    if spec.permutations.is_empty() {
        with_all_interleavings(&mut lesson, file)?;
    }
    Ok((lesson, warnings))
}

/// The comment block a spec starts with, without the `#`s: what the spec is about.
fn header_comment(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        match trimmed.strip_prefix('#') {
            Some(rest) => lines.push(rest.trim().to_string()),
            None if trimmed.is_empty() && lines.is_empty() => continue,
            None => break,
        }
    }
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "\
# Two sessions race.
#
# More words.

setup { CREATE TABLE t (x int); }
teardown { DROP TABLE t; }

session s1
setup { BEGIN; }
step r1 { SELECT * FROM t; }
step c1 { COMMIT; }

session s2
step w2 { UPDATE t SET x = 2; }
step w3 { SELECT 3; }
";

    fn compile_err(text: &str) -> String {
        compile(text, "x.spec", "x").unwrap_err().to_string()
    }

    #[test]
    fn without_permutations_every_interleaving_runs() {
        let c = compile(SPEC, "x.spec", "x").unwrap();
        assert!(!c.has_permutations);
        assert_eq!(c.lesson.schedules.len(), 6);
        assert_eq!(c.lesson.summary, "Two sessions race.");
        assert_eq!(c.lesson.sessions[0].setup, vec!["BEGIN;".to_string()]);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn permutations_resolve_steps_and_markers() {
        let text = format!("{SPEC}permutation r1 w2(r1) c1(*, w2 notices 2) w3\n");
        let c = compile(&text, "x.spec", "x").unwrap();
        let s = &c.lesson.schedules[0];
        assert_eq!(c.lesson.schedules.len(), 1);
        assert_eq!(s.steps[1].blockers, vec![Blocker::Step(0)]);
        assert_eq!(
            s.steps[2].blockers,
            vec![Blocker::Once, Blocker::Notices { step: 2, count: 2 }]
        );
        let text = format!("{SPEC}permutation r1 c1\n");
        let c = compile(&text, "x.spec", "x").unwrap();
        assert_eq!(
            c.warnings,
            vec!["unused step name: w2", "unused step name: w3"]
        );
    }

    #[test]
    fn bad_names_are_reported_with_their_line() {
        assert_eq!(
            compile_err(&format!("{SPEC}\npermutation r1 zz\n")),
            "x.spec:17: undefined step \"zz\" specified in permutation"
        );
        assert_eq!(
            compile_err(&format!("{SPEC}permutation r1 w2(c1)\n")),
            "x.spec:16: undefined blocking step \"c1\" referenced in permutation step \"w2\""
        );
        assert_eq!(
            compile_err(&format!("{SPEC}permutation r1 c1(r1) w2\n")),
            "x.spec:16: permutation step \"c1\" cannot block on its own session"
        );
        assert_eq!(
            compile_err(&SPEC.replace("step w3", "step r1")),
            "x.spec:15: duplicate step name: r1"
        );
        assert_eq!(
            compile_err("session s1\nstep a { x }\npermutation a(b notices)"),
            "x.spec:3: expected a number after 'notices', found ')'"
        );
    }
}
