//! What follows a set of timelines: a demo group's variants compared side by side, or the
//! isolation matrix when the plan asks for one. Decided here once for straight runs and classroom
//! runs alike.

use super::Style;
use crate::engine::LessonRun;

/// The text after the timelines, if any: the comparison when every run belongs to one demo
/// group, else the matrix when `matrix` is set.
pub fn render(finished: &[LessonRun], matrix: bool, style: &Style) -> Option<String> {
    let demo = finished.first().and_then(|r| r.demo.clone());
    match demo {
        Some(demo)
            if finished
                .iter()
                .all(|r| r.demo.as_deref() == Some(demo.as_str())) =>
        {
            Some(super::compare::render(&demo, finished, style))
        }
        _ if matrix => Some(super::matrix::render(finished, style)),
        _ => None,
    }
}
