//! Words and little drawings for what `--locks` and `--versions` recorded: who waits for whom on
//! which lock, a deadlock's wait-for cycle, and the row versions a session sees. Shared by the
//! terminal timeline, the markdown handout and the HTML page, so all three say the same thing.

use std::time::Duration;

use super::cell::{Cell, width_of};
use super::describe::{who, who_at};
use super::palette::Meaning;
use crate::engine::run::LessonRun;
use crate::model::inspect::{LockReport, LockWait, PoolWait, TaskHop, Via, View};

/// The mark in front of row-version lines.
pub const VERSIONS_MARK: &str = "▤";
/// The mark in front of lock-wait lines.
pub const LOCKS_MARK: &str = "⚑";

/// One wait in a sentence: who waits for whom, on what, and what the holder holds (`at`: when,
/// which names a pool lesson's backends after the task holding them then).
pub fn wait_sentence(run: &LessonRun, w: &LockWait, at: Duration) -> String {
    let waiter = who_at(run, w.waiter, at);
    let holder = who_at(run, w.holder, at);
    let object = match w.locktype.as_str() {
        "transactionid" => {
            let xact = format!("transaction {}", w.transaction.as_deref().unwrap_or("?"));
            match &w.row {
                Some(row) => format!("{xact} (a row lock: row {row})"),
                None => format!("{xact} (a row lock)"),
            }
        }
        "tuple" => format!(
            "row {} of {}",
            w.tuple.as_deref().unwrap_or("?"),
            w.relation.as_deref().unwrap_or("?")
        ),
        "relation" => format!("table {}", w.relation.as_deref().unwrap_or("?")),
        // MariaDB's InnoDB record lock: a row of an index page, named by its heap number.
        "record" => format!(
            "the row at {} of {}",
            w.tuple.as_deref().unwrap_or("?"),
            w.relation.as_deref().unwrap_or("?")
        ),
        "user" => format!("{} (GET_LOCK)", w.relation.as_deref().unwrap_or("?")),
        "metadata" => format!("table {}", w.relation.as_deref().unwrap_or("?")),
        other => match &w.relation {
            Some(rel) => format!("{other} lock on {rel}"),
            None => format!("a {other} lock"),
        },
    };
    let held = if w.held.is_empty() {
        format!("{holder} is ahead of it in the queue for the same lock")
    } else if w.locktype == "transactionid" {
        format!(
            "{holder} holds {} on its own transaction until it commits or rolls back",
            w.held.join(", ")
        )
    } else {
        format!("{holder} holds {}", w.held.join(", "))
    };
    format!(
        "{waiter} waits for {holder}: wants {} on {object}; {held}",
        w.wanted
    )
}

/// The lines of a lock report taken at `at`, for a cell `width` columns wide (a deadlock's
/// drawing apart: [`cycle_drawing`], [`task_cycle_drawing`]).
pub fn lock_cell(run: &LessonRun, report: &LockReport, at: Duration, width: usize) -> Cell {
    let mut cell = Cell::default();
    if !report.pool_waits.is_empty() {
        return pool_lock_cell(run, report, at, width);
    }
    if report.waits.is_empty() {
        cell.push_hanging(
            &format!(
                "{LOCKS_MARK} no lock wait left to show (it ended before the lock table was read)"
            ),
            Meaning::Dim,
            width,
            2,
        );
        return cell;
    }
    for w in &report.waits {
        cell.push_hanging(
            &format!("{LOCKS_MARK} {}", wait_sentence(run, w, at)),
            Meaning::Waiting,
            width,
            2,
        );
    }
    if report.cycle.is_some() {
        cell.push_hanging(
            "deadlock: each waits for the next, so none can go on; the server's deadlock detector will abort one of them",
            Meaning::Aborted,
            width,
            2,
        );
    }
    cell
}

/// A pool lesson's report: the server's lock waits (or that it sees none), the pool's waits
/// for a connection, and a deadlock through the pool.
fn pool_lock_cell(run: &LessonRun, report: &LockReport, at: Duration, width: usize) -> Cell {
    let mut cell = Cell::default();
    if report.waits.is_empty() {
        cell.push_hanging(
            &format!("{LOCKS_MARK} the server sees no lock wait among the pool's connections"),
            Meaning::Dim,
            width,
            2,
        );
    }
    for w in &report.waits {
        cell.push_hanging(
            &format!("{LOCKS_MARK} {}", wait_sentence(run, w, at)),
            Meaning::Waiting,
            width,
            2,
        );
    }
    for p in &report.pool_waits {
        cell.push_hanging(
            &format!("{LOCKS_MARK} {}", pool_wait_sentence(run, p)),
            Meaning::Waiting,
            width,
            2,
        );
    }
    if let Some(hops) = &report.task_cycle {
        let text = if hops.iter().all(|h| h.via == Via::Pool) {
            "deadlock through the pool: each task waits for a connection the next one holds; the \
             server sees no lock wait, so no deadlock detector breaks it: only the pool's wait \
             timeout does"
        } else {
            "deadlock through the pool and a lock: the server sees the lock wait but not the \
             pool's, so its deadlock detector finds no cycle: only the pool's wait timeout ends it"
        };
        cell.push_hanging(text, Meaning::Aborted, width, 2);
    }
    cell
}

/// A task's wait for a connection, as the pool counts it.
fn pool_wait_sentence(run: &LessonRun, p: &PoolWait) -> String {
    let holders: Vec<String> = p.holders.iter().map(|&t| task_name(run, t)).collect();
    format!(
        "{} waits for a connection: the pool's {} are held by {} (the pool's own count; the \
         server cannot see this wait)",
        task_name(run, p.task),
        p.size,
        holders.join(", ")
    )
}

fn task_name(run: &LessonRun, task: usize) -> String {
    run.sessions
        .get(task)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| format!("task {}", task + 1))
}

/// A wait-for cycle among a pool lesson's tasks, through the pool and through locks, as a small
/// text graph (fixed layout: never wrapped).
///
/// ```text
///   t1 ──waits for a connection held by──▶ t2 ──waits for a connection held by──┐
///     ▲                                                                          │
///     └──────────────────────────────────────────────────────────────────────────┘
/// ```
pub fn task_cycle_drawing(run: &LessonRun, hops: &[TaskHop]) -> Vec<String> {
    let label = |via: Via| match via {
        Via::Pool => "waits for a connection held by",
        Via::Lock => "waits for a lock held by",
    };
    let mut top = String::from("  ");
    for (i, hop) in hops.iter().enumerate() {
        top.push_str(&task_name(run, hop.task));
        match i + 1 < hops.len() {
            true => top.push_str(&format!(" ──{}──▶ ", label(hop.via))),
            false => top.push_str(&format!(" ──{}──┐", label(hop.via))),
        }
    }
    let corner = width_of(&top) - 1;
    let inner = corner.saturating_sub(5);
    vec![
        top,
        format!("    ▲{}│", " ".repeat(inner)),
        format!("    └{}┘", "─".repeat(inner)),
    ]
}

/// A wait-for cycle as a small text graph (fixed layout: never wrapped).
///
/// ```text
///   alice's phone ──waits for──▶ bob's laptop ──┐
///     ▲                                          │
///     └──────────────── waits for ───────────────┘
/// ```
pub fn cycle_drawing(run: &LessonRun, cycle: &[i32]) -> Vec<String> {
    let names: Vec<String> = cycle.iter().map(|&p| who(run, p)).collect();
    let top = format!("  {} ──waits for──┐", names.join(" ──waits for──▶ "));
    let corner = width_of(&top) - 1;
    let inner = corner.saturating_sub(5);
    let label = " waits for ";
    let left = inner.saturating_sub(width_of(label)) / 2;
    let right = inner.saturating_sub(width_of(label) + left);
    vec![
        top,
        format!("    ▲{}│", " ".repeat(inner)),
        format!("    └{}{label}{}┘", "─".repeat(left), "─".repeat(right)),
    ]
}

/// One session's view in lines (without the lane: the caller puts it under the session).
pub fn view_cell(view: &View, width: usize) -> Cell {
    let mut cell = Cell::default();
    match view {
        View::Busy => cell.push_hanging(
            &format!("{VERSIONS_MARK} busy running a step: not looked at"),
            Meaning::Dim,
            width,
            2,
        ),
        View::NoSnapshotYet => cell.push_hanging(
            &format!("{VERSIONS_MARK} no snapshot yet: its first query will take it"),
            Meaning::Dim,
            width,
            2,
        ),
        View::Failed => cell.push_hanging(
            &format!("{VERSIONS_MARK} transaction failed: it sees nothing until ROLLBACK"),
            Meaning::Aborted,
            width,
            2,
        ),
        View::Sees {
            snapshot,
            xid,
            rows_read,
            tables,
            ..
        } => {
            let own = match xid {
                Some(x) => format!(" · own xid {x}"),
                None => String::new(),
            };
            cell.push_hanging(
                &format!("{VERSIONS_MARK} snapshot {snapshot}{own}"),
                Meaning::Dim,
                width,
                2,
            );
            if !rows_read {
                cell.push_hanging(
                    "  rows not read: in a SERIALIZABLE transaction the read would add predicate locks",
                    Meaning::Dim,
                    width,
                    4,
                );
            }
            for table in tables {
                cell.push_hanging(
                    &format!("  {} ({})", table.table, table.columns.join(", ")),
                    Meaning::Dim,
                    width,
                    4,
                );
                if table.rows.is_empty() {
                    cell.push_hanging("  (no visible rows)", Meaning::Ok, width, 4);
                }
                for row in &table.rows {
                    let values: Vec<String> = row
                        .values
                        .iter()
                        .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                        .collect();
                    cell.push_hanging(
                        &format!(
                            "  {} xmin {} xmax {}: {}",
                            row.ctid,
                            row.xmin,
                            row.xmax,
                            values.join(", ")
                        ),
                        Meaning::Ok,
                        width,
                        4,
                    );
                }
            }
        }
    }
    cell
}

/// The legend line for the marks above, when the run has any of them.
pub fn legend(run: &LessonRun) -> Option<String> {
    use crate::model::event::EventKind;
    let locks = run
        .timeline
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Locks(_)));
    let versions = run
        .timeline
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Versions(_)));
    let mut parts = Vec::new();
    if locks {
        let source = match run.engine {
            crate::model::Engine::Postgres => "pg_locks",
            crate::model::Engine::Mariadb => "InnoDB monitor, process list",
        };
        parts.push(format!("{LOCKS_MARK} lock wait ({source})"));
    }
    if versions {
        parts.push(format!(
            "{VERSIONS_MARK} rows the session sees (snapshot xmin:xmax:in-progress, own xid; ctid, xmin, xmax per version)"
        ));
    }
    (!parts.is_empty()).then(|| parts.join("  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_drawing_closes_its_loop() {
        let run = crate::render::testing::two_session_run();
        let lines = cycle_drawing(&run, &[101, 102]);
        assert_eq!(lines.len(), 3);
        let corner = lines[0].chars().count() - 1;
        assert!(lines[0].ends_with('┐'));
        assert_eq!(lines[1].chars().nth(corner), Some('│'), "{lines:#?}");
        assert_eq!(lines[2].chars().nth(corner), Some('┘'), "{lines:#?}");
        assert_eq!(lines[1].chars().nth(4), Some('▲'));
        assert_eq!(lines[2].chars().nth(4), Some('└'));
        assert!(lines[0].contains("alice's phone ──waits for──▶ bob's laptop"));
    }

    #[test]
    fn the_task_cycle_drawing_closes_its_loop_under_the_first_task() {
        let run = crate::render::testing::two_session_run();
        let hops = [
            TaskHop {
                task: 0,
                via: Via::Pool,
            },
            TaskHop {
                task: 1,
                via: Via::Lock,
            },
        ];
        let lines = task_cycle_drawing(&run, &hops);
        let corner = lines[0].chars().count() - 1;
        assert!(
            lines[0].ends_with("──waits for a lock held by──┐"),
            "{lines:#?}"
        );
        assert_eq!(lines[1].chars().nth(corner), Some('│'), "{lines:#?}");
        assert_eq!(lines[2].chars().nth(corner), Some('┘'), "{lines:#?}");
        assert_eq!(lines[1].chars().nth(4), Some('▲'));
        assert!(lines[0].contains(" ──waits for a connection held by──▶ "));
    }
}
