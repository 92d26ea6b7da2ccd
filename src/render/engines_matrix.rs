//! `--engine all`: one matrix with the engines side by side — each cell `PostgreSQL | MariaDB` —
//! and the cells where they differ highlighted, the picture a teacher puts on the projector.

use std::fmt::Write as _;

use super::Style;
use super::cell::width_of;
use super::palette::{Meaning, paint};
use crate::engine::{IsolationLevel, LessonRun, Outcome};
use crate::model::Engine;

/// A run's cell in a word: `OCCURRED`, how it was prevented, or `-` when not run.
fn word(runs: &[LessonRun], engine: Engine, id: &str, level: IsolationLevel) -> String {
    let run = runs
        .iter()
        .find(|r| r.engine == engine && r.lesson_id == id && r.level == Some(level));
    match run.and_then(|r| r.verdict.as_ref()) {
        None => "-".into(),
        Some(v) => match (v.outcome, &v.how) {
            (Outcome::Occurred, _) => "OCCURRED".into(),
            (Outcome::Prevented, Some(how)) => how.to_string().replace("aborted-", ""),
            (Outcome::Prevented, None) => "prevented".into(),
        },
    }
}

/// The side-by-side matrix of runs from both engines; `None` when only one engine ran.
pub fn render(runs: &[LessonRun], style: &Style) -> Option<String> {
    if !Engine::ALL
        .iter()
        .all(|e| runs.iter().any(|r| r.engine == *e))
    {
        return None;
    }
    let mut lessons: Vec<&str> = Vec::new();
    for r in runs {
        if !lessons.contains(&r.lesson_id.as_str()) {
            lessons.push(&r.lesson_id);
        }
    }
    let levels: Vec<IsolationLevel> = IsolationLevel::ALL
        .into_iter()
        .filter(|l| runs.iter().any(|r| r.level == Some(*l)))
        .collect();
    let rows: Vec<Vec<(String, bool)>> = lessons
        .iter()
        .map(|id| {
            levels
                .iter()
                .map(|&l| {
                    let (pg, my) = (
                        word(runs, Engine::Postgres, id, l),
                        word(runs, Engine::Mariadb, id, l),
                    );
                    // A star too, so the difference survives without colour (a handout, a pipe).
                    let star = if pg != my { " *" } else { "" };
                    (format!("{pg} | {my}{star}"), pg != my)
                })
                .collect()
        })
        .collect();
    let cell = rows
        .iter()
        .flatten()
        .map(|(t, _)| width_of(t))
        .chain(levels.iter().map(|l| width_of(l.sql())))
        .max()
        .unwrap_or(8);
    // Rows keep their anomaly tag (what a course names them by), cut as the one-engine matrix
    // cuts them when the terminal is narrow.
    let anomaly = |id: &str| {
        runs.iter()
            .find(|r| r.lesson_id == id)
            .and_then(|r| r.anomaly.clone())
    };
    let full = |id: &str| match anomaly(id) {
        Some(a) => format!("{id} ({a})"),
        None => id.to_string(),
    };
    let widest = lessons
        .iter()
        .map(|l| width_of(&full(l)))
        .max()
        .unwrap_or(6);
    let room = style
        .width
        .saturating_sub(levels.len() * (cell + 2) + 1)
        .max(26);
    let label = widest.min(room) + 1;
    let labels: Vec<String> = lessons
        .iter()
        .map(|id| super::matrix::fit_label(id, anomaly(id).as_deref(), label - 1))
        .collect();
    let mut out = format!(
        "{}\n{:<label$}",
        paint("PostgreSQL | MariaDB", Meaning::Heading),
        ""
    );
    for l in &levels {
        let _ = write!(
            out,
            "  {}",
            paint(&format!("{:<cell$}", l.sql()), Meaning::Heading)
        );
    }
    out = out.trim_end().to_string();
    out.push('\n');
    for (id, row) in labels.iter().zip(&rows) {
        let pad = label.saturating_sub(width_of(id));
        let _ = write!(out, "{id}{}", " ".repeat(pad));
        for (text, differs) in row {
            let meaning = if *differs {
                Meaning::Anomaly
            } else {
                Meaning::Dim
            };
            let pad = cell.saturating_sub(width_of(text));
            let _ = write!(out, "  {}{}", paint(text, meaning), " ".repeat(pad));
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    out.push_str(&paint(
        "highlighted and *: the engines differ · - = not run on that engine (see the skip notes)\n",
        Meaning::Dim,
    ));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::verdict::{How, Verdict};
    use crate::render::testing::two_session_run;

    fn run(engine: Engine, id: &str, level: IsolationLevel, how: Option<How>) -> LessonRun {
        let mut r = two_session_run();
        r.engine = engine;
        r.lesson_id = id.into();
        r.level = Some(level);
        r.verdict = Some(Verdict {
            outcome: if how.is_some() {
                Outcome::Prevented
            } else {
                Outcome::Occurred
            },
            how,
            detail: String::new(),
            expected: None,
        });
        r
    }

    #[test]
    fn differing_cells_carry_a_star_that_survives_without_colour() {
        let (ru, ser) = (
            IsolationLevel::ReadUncommitted,
            IsolationLevel::Serializable,
        );
        let runs = vec![
            run(Engine::Postgres, "dirty-read", ru, Some(How::Snapshot)),
            run(Engine::Postgres, "dirty-read", ser, Some(How::Snapshot)),
            run(Engine::Mariadb, "dirty-read", ru, None),
            run(Engine::Mariadb, "dirty-read", ser, Some(How::Snapshot)),
        ];
        let out = render(&runs, &Style::plain(100)).unwrap();
        let row = out.lines().find(|l| l.starts_with("dirty-read")).unwrap();
        assert!(row.contains("snapshot | OCCURRED *"), "{out}");
        assert!(row.ends_with("snapshot | snapshot"), "{out}");
        assert!(render(&runs[..2], &Style::plain(100)).is_none());
    }

    #[test]
    fn rows_keep_their_anomaly_tag_even_when_cut() {
        let ru = IsolationLevel::ReadUncommitted;
        let mut runs = vec![
            run(Engine::Postgres, "observed-transaction-vanishes", ru, None),
            run(Engine::Mariadb, "observed-transaction-vanishes", ru, None),
        ];
        for r in &mut runs {
            r.anomaly = Some("OTV".into());
        }
        let wide = render(&runs, &Style::plain(200)).unwrap();
        assert!(
            wide.contains("\nobserved-transaction-vanishes (OTV)  "),
            "{wide}"
        );
        let narrow = render(&runs, &Style::plain(40)).unwrap();
        assert!(narrow.contains("… (OTV)"), "{narrow}");
    }
}
