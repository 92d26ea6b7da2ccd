//! `--locks` on MariaDB: who waits for whom on which lock, in the same [`LockWait`] edges the
//! PostgreSQL side draws. Row and InnoDB table locks come from `SHOW ENGINE INNODB STATUS` (the
//! waiter's requested lock and every granted lock that conflicts with it; the `INNODB_LOCK_WAITS`
//! tables are a cache up to 100 ms old), metadata-lock and `GET_LOCK` waits from the process list
//! and `METADATA_LOCK_INFO` (when the plugin is loaded; without it those waits show no holder).

use super::connect::{MariadbSession, ResultSet};
use super::innodb_status::{self, InnodbTransaction, Lock, RecordKind};
use super::probe::{Wait, wait_from_state};
use crate::model::inspect::LockWait;

/// Every lock wait among the sessions `ids` right now; `None` when the server could not be asked.
pub async fn lock_waits(control: &mut MariadbSession, ids: &[u32]) -> Option<Vec<LockWait>> {
    if ids.is_empty() {
        return Some(Vec::new());
    }
    let list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let outcome = control
        .run(&format!(
            "SELECT ID, STATE FROM information_schema.PROCESSLIST WHERE ID IN ({list}); SHOW ENGINE INNODB STATUS"
        ))
        .await;
    if outcome.error.is_some() {
        return None;
    }
    let mut sets = outcome.sets.into_iter();
    let states = rows(sets.next());
    let status = rows(sets.next())
        .into_iter()
        .next()
        .and_then(|r| r.get(2).cloned().flatten())
        .unwrap_or_default();
    let mut waits = row_lock_waits(&innodb_status::parse(&status), ids);
    let waiting: Vec<(u32, Wait)> = states
        .iter()
        .filter_map(|r| {
            let id = r.first()?.as_deref()?.parse().ok()?;
            Some((id, wait_from_state(r.get(1)?.as_deref()?)?))
        })
        .collect();
    if !waiting.is_empty() {
        let mdl = control
            .run(&format!(
                "SELECT THREAD_ID, LOCK_MODE, LOCK_TYPE, TABLE_SCHEMA, TABLE_NAME \
                 FROM information_schema.METADATA_LOCK_INFO WHERE THREAD_ID IN ({list})"
            ))
            .await;
        let held = match mdl.error {
            None => rows(mdl.sets.into_iter().next()),
            Some(_) => Vec::new(),
        };
        for (waiter, wait) in waiting {
            waits.extend(named_lock_waits(waiter, &wait, &held));
        }
    }
    Some(waits)
}

fn rows(set: Option<ResultSet>) -> Vec<Vec<Option<String>>> {
    match set {
        Some(ResultSet::Rows { rows, .. }) => rows,
        _ => Vec::new(),
    }
}

/// The row-lock edges: each waiting transaction of `ids` → each transaction holding a lock that
/// conflicts with the one it asked for.
pub fn row_lock_waits(transactions: &[InnodbTransaction], ids: &[u32]) -> Vec<LockWait> {
    let mut waits = Vec::new();
    for t in transactions {
        let (Some(waiter), Some(wanted)) = (t.thread_id, t.waiting_for.as_ref()) else {
            continue;
        };
        if !t.lock_wait || !ids.contains(&waiter) {
            continue;
        }
        for other in transactions {
            let Some(holder) = other.thread_id.filter(|h| *h != waiter && ids.contains(h)) else {
                continue;
            };
            let held: Vec<String> = other
                .locks
                .iter()
                .filter(|l| innodb_status::conflicts(wanted, l))
                .map(mode)
                .collect();
            if held.is_empty() {
                continue;
            }
            waits.push(edge(waiter, holder, wanted, held));
        }
    }
    waits
}

fn edge(waiter: u32, holder: u32, wanted: &Lock, held: Vec<String>) -> LockWait {
    let (locktype, table, tuple) = match wanted {
        Lock::Record {
            table, heaps, page, ..
        } => (
            "record",
            table,
            Some(format!(
                "heap no {} on page {page}",
                heaps
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ),
        Lock::Table { table, .. } => ("table", table, None),
    };
    LockWait {
        waiter: waiter as i32,
        holder: holder as i32,
        locktype: locktype.into(),
        wanted: mode(wanted),
        held,
        relation: Some(short_table(table)),
        tuple,
        transaction: None,
        row: None,
    }
}

/// A lock's mode in words: `X (record only)`, `S (next-key …)`, `X (insert intention)`, `IX`.
pub fn mode(lock: &Lock) -> String {
    match lock {
        Lock::Record {
            exclusive, kind, ..
        } => {
            let m = if *exclusive { "X" } else { "S" };
            let k = match kind {
                RecordKind::NextKey => "next-key (record and gap before it)",
                RecordKind::RecordOnly => "record only",
                RecordKind::Gap => "gap only",
                RecordKind::InsertIntention => "insert intention",
            };
            format!("{m} ({k})")
        }
        Lock::Table { mode, .. } => mode.clone(),
    }
}

/// `` `db`.`account` `` → `account`: the run's database is the same for every table.
fn short_table(table: &str) -> String {
    table
        .rsplit('.')
        .next()
        .unwrap_or(table)
        .trim_matches('`')
        .to_string()
}

/// Metadata-lock and `GET_LOCK` edges for one waiter, from `METADATA_LOCK_INFO` rows
/// (thread, mode, type, schema, name). The name a `GET_LOCK` waits for is shown nowhere, so
/// every other holder of a user lock is named; a metadata waiter waits for the holders of a
/// table lock on the tables it already has one on (DDL holds an upgradable lock while it waits).
pub fn named_lock_waits(waiter: u32, wait: &Wait, held: &[Vec<Option<String>>]) -> Vec<LockWait> {
    let field = |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let thread = |r: &Vec<Option<String>>| field(r, 0).parse::<u32>().ok();
    let (kind, wanted) = match wait {
        Wait::UserLock => ("User lock", "a named lock".to_string()),
        Wait::MetadataLock(_) => ("Table metadata lock", "a metadata lock".to_string()),
        Wait::RowLock => return Vec::new(),
    };
    let mine: Vec<(String, String)> = held
        .iter()
        .filter(|r| thread(r) == Some(waiter) && field(r, 2) == kind)
        .map(|r| (field(r, 3), field(r, 4)))
        .collect();
    let mut by_holder: Vec<(u32, Vec<String>, String)> = Vec::new();
    for r in held {
        let Some(holder) = thread(r).filter(|h| *h != waiter) else {
            continue;
        };
        let object = (field(r, 3), field(r, 4));
        if field(r, 2) != kind
            || (kind != "User lock" && !mine.is_empty() && !mine.contains(&object))
        {
            continue;
        }
        let name = if kind == "User lock" {
            format!("'{}'", object.0)
        } else {
            object.1.clone()
        };
        match by_holder.iter_mut().find(|(h, _, _)| *h == holder) {
            Some((_, modes, _)) => modes.push(field(r, 1)),
            None => by_holder.push((holder, vec![field(r, 1)], name)),
        }
    }
    by_holder
        .into_iter()
        .map(|(holder, held, name)| LockWait {
            waiter: waiter as i32,
            holder: holder as i32,
            locktype: if kind == "User lock" {
                "user"
            } else {
                "metadata"
            }
            .into(),
            wanted: wanted.clone(),
            held,
            relation: Some(name),
            tuple: None,
            transaction: None,
            row: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW_LOCK: &str = include_str!("fixtures/status_rowlock_locks_on.txt");
    const SHARED_WAIT: &str = include_str!("fixtures/status_shared_and_insert.txt");

    fn threads(status: &str) -> Vec<u32> {
        innodb_status::parse(status)
            .iter()
            .filter_map(|t| t.thread_id)
            .collect()
    }

    #[test]
    fn a_row_lock_wait_names_waiter_holder_modes_and_row() {
        let ids = threads(ROW_LOCK);
        let waits = row_lock_waits(&innodb_status::parse(ROW_LOCK), &ids);
        assert_eq!(waits.len(), 1, "{waits:?}");
        let w = &waits[0];
        assert_ne!(w.waiter, w.holder);
        assert_eq!(w.locktype, "record");
        assert_eq!(w.wanted, "X (record only)");
        assert_eq!(w.held, vec!["X (record only)".to_string()]);
        assert_eq!(w.relation.as_deref(), Some("t"));
        assert_eq!(w.tuple.as_deref(), Some("heap no 2 on page 3"));
    }

    #[test]
    fn sessions_outside_the_run_are_left_out() {
        let all = threads(ROW_LOCK);
        let waits = row_lock_waits(&innodb_status::parse(ROW_LOCK), &all[..1]);
        assert!(waits.is_empty(), "{waits:?}");
    }

    #[test]
    fn shared_holders_are_each_an_edge() {
        let ids = threads(SHARED_WAIT);
        let waits = row_lock_waits(&innodb_status::parse(SHARED_WAIT), &ids);
        assert!(!waits.is_empty());
        assert!(waits.iter().all(|w| w.waiter != w.holder));
    }

    #[test]
    fn a_user_lock_wait_names_every_other_holder() {
        let row = |t: &str, m: &str, k: &str, s: &str, n: &str| {
            vec![t, m, k, s, n]
                .into_iter()
                .map(|v| Some(v.to_string()))
                .collect::<Vec<_>>()
        };
        let held = vec![
            row("7", "MDL_SHARED_NO_WRITE", "User lock", "dana", ""),
            row(
                "8",
                "MDL_SHARED_READ",
                "Table metadata lock",
                "db",
                "account",
            ),
        ];
        let waits = named_lock_waits(9, &Wait::UserLock, &held);
        assert_eq!(waits.len(), 1);
        assert_eq!((waits[0].waiter, waits[0].holder), (9, 7));
        assert_eq!(waits[0].relation.as_deref(), Some("'dana'"));
        let mdl = named_lock_waits(
            9,
            &Wait::MetadataLock("Waiting for table metadata lock".into()),
            &held,
        );
        assert_eq!(mdl.len(), 1);
        assert_eq!((mdl[0].holder, mdl[0].locktype.as_str()), (8, "metadata"));
    }
}
