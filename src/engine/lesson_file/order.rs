//! `[mariadb.order]`: the order an engine runs a lesson's steps in at one level, when the file's
//! order cannot run there (MariaDB's SERIALIZABLE turns plain SELECTs into shared-lock reads, so
//! a writer waits where PostgreSQL's would not, and a session's next step must wait until the
//! reader commits). Each entry names every step exactly once, so the run stays the same lesson.

use std::ops::Range;

use toml::Spanned;

use crate::engine::lesson::StepDef;

/// The step indices `names` spells, each step of the lesson exactly once; or where and why not.
pub(super) fn step_order(
    level: &str,
    names: &[Spanned<String>],
    steps: &[StepDef],
) -> Result<Vec<usize>, (Option<Range<usize>>, String)> {
    let mut order: Vec<usize> = Vec::with_capacity(steps.len());
    for name in names {
        let index = steps
            .iter()
            .position(|s| s.name == *name.get_ref())
            .ok_or_else(|| {
                (
                    Some(name.span()),
                    format!("the {level} order names no step '{}'", name.get_ref()),
                )
            })?;
        if order.contains(&index) {
            return Err((
                Some(name.span()),
                format!("the {level} order lists step '{}' twice", name.get_ref()),
            ));
        }
        order.push(index);
    }
    if let Some(missing) = (0..steps.len()).find(|i| !order.contains(i)) {
        return Err((
            names.first().map(|n| n.span()),
            format!(
                "the {level} order leaves out step '{}': it must list every step once",
                steps[missing].name
            ),
        ));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use crate::engine::IsolationLevel;
    use crate::engine::lesson_file::parse_lesson;
    use crate::model::Engine;

    const LESSON: &str = r#"
title = "T"
summary = "s"
[[session]]
name = "a"
[[session]]
name = "b"
[[step]]
session = "a"
sql = "SELECT 1"
[[step]]
session = "b"
sql = "SELECT 2"
always_waits = true
[[step]]
session = "a"
sql = "SELECT 3"
[mariadb.order]
serializable = ["a1", "a3", "b2"]
"#;

    fn order_of(lesson: &crate::engine::lesson::Lesson) -> Vec<usize> {
        lesson.schedules[0].steps.iter().map(|s| s.step).collect()
    }

    #[test]
    fn the_order_applies_on_mariadb_at_its_level_only_and_keeps_the_markers() {
        let lesson = parse_lesson(LESSON, "t.toml", "t").unwrap();
        let ser = Some(IsolationLevel::Serializable);
        let my = lesson.for_engine_at(Engine::Mariadb, ser).unwrap();
        assert_eq!(order_of(&my), vec![0, 2, 1]);
        assert_eq!(
            my.schedules[0].steps[2].blockers.len(),
            1,
            "always_waits kept"
        );
        let rc = Some(IsolationLevel::ReadCommitted);
        let my_rc = lesson.for_engine_at(Engine::Mariadb, rc).unwrap();
        assert_eq!(order_of(&my_rc), vec![0, 1, 2]);
        let pg = lesson.for_engine_at(Engine::Postgres, ser).unwrap();
        assert_eq!(order_of(&pg), vec![0, 1, 2]);
        assert_eq!(
            order_of(&lesson.for_engine_at(Engine::Mariadb, None).unwrap()),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn an_order_must_name_every_step_once() {
        for (order, wrong) in [
            (r#"["a1", "a3"]"#, "leaves out step 'b2'"),
            (r#"["a1", "a1", "b2", "a3"]"#, "lists step 'a1' twice"),
            (r#"["a1", "b9", "a3"]"#, "names no step 'b9'"),
        ] {
            let text = LESSON.replace(r#"["a1", "a3", "b2"]"#, order);
            let err = parse_lesson(&text, "t.toml", "t").unwrap_err().to_string();
            assert!(err.contains(wrong), "{err}");
            assert!(err.contains("t.toml:"), "{err}");
        }
        let text = LESSON.replace("serializable =", "sometimes =");
        assert!(parse_lesson(&text, "t.toml", "t").is_err());
    }
}
