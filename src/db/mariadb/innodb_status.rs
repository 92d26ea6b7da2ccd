//! Reading `SHOW ENGINE INNODB STATUS`: the one place MariaDB reports a row-lock wait at once
//! (`information_schema.INNODB_LOCK_WAITS` is a cache refreshed only after 100 ms without a
//! reader, so polling it never sees a new waiter). Only the TRANSACTIONS section is read: one
//! block per transaction with its `MariaDB thread id`, a `LOCK WAIT` line when it waits, the lock
//! it waits for, and — with `innodb_status_output_locks=ON` — the locks it holds.

/// A lock as the monitor prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock {
    /// Record locks on one page, for the listed heap numbers (1 is the page's supremum).
    Record {
        space: u64,
        page: u64,
        heaps: Vec<u64>,
        table: String,
        exclusive: bool,
        kind: RecordKind,
        waiting: bool,
    },
    /// A table lock (IS, IX, S, X, AUTO-INC).
    Table {
        table: String,
        mode: String,
        waiting: bool,
    },
}

/// What part of a record (and the gap before it) a record lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// The record and the gap before it (no qualifier printed).
    NextKey,
    /// `locks rec but not gap`.
    RecordOnly,
    /// `locks gap before rec`.
    Gap,
    /// `insert intention`: an insert waiting to enter a gap.
    InsertIntention,
}

/// One transaction of the TRANSACTIONS section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InnodbTransaction {
    /// The session's thread id (`CONNECTION_ID()`), when printed.
    pub thread_id: Option<u32>,
    /// A `LOCK WAIT` line: the transaction waits for a lock right now.
    pub lock_wait: bool,
    /// The lock it waits for (`TRX HAS BEEN WAITING … FOR THIS LOCK TO BE GRANTED`).
    pub waiting_for: Option<Lock>,
    /// The locks listed under the transaction (granted and waiting), when the server lists them.
    pub locks: Vec<Lock>,
}

/// Parses the monitor text into its list of transactions.
pub fn parse(status: &str) -> Vec<InnodbTransaction> {
    let mut out: Vec<InnodbTransaction> = Vec::new();
    let mut in_list = false;
    let mut in_wait = false;
    for line in status.lines() {
        if !in_list {
            in_list = line.starts_with("LIST OF TRANSACTIONS FOR EACH SESSION");
            continue;
        }
        if line == "FILE I/O" || line.starts_with("END OF INNODB MONITOR") {
            break;
        }
        if line.starts_with("---TRANSACTION ") {
            out.push(InnodbTransaction::default());
            in_wait = false;
            continue;
        }
        let Some(trx) = out.last_mut() else { continue };
        if line.starts_with("LOCK WAIT ") {
            trx.lock_wait = true;
        } else if let Some(rest) = line.strip_prefix("MariaDB thread id ") {
            trx.thread_id = rest.split(',').next().and_then(|id| id.trim().parse().ok());
        } else if line.starts_with("------- TRX HAS BEEN WAITING") {
            in_wait = true;
        } else if line.starts_with("------------------") {
            in_wait = false;
        } else if let Some(lock) = parse_lock_line(line) {
            if in_wait {
                trx.waiting_for = Some(lock);
            } else {
                trx.locks.push(lock);
            }
        } else if let Some(heap) = parse_heap_line(line) {
            let target = if in_wait {
                trx.waiting_for.as_mut()
            } else {
                trx.locks.last_mut()
            };
            if let Some(Lock::Record { heaps, .. }) = target {
                heaps.push(heap);
            }
        }
    }
    out
}

/// `RECORD LOCKS space id 5 page no 3 n bits 320 index PRIMARY of table `s`.`t` trx id 24
/// lock_mode X locks rec but not gap waiting` or `TABLE LOCK table `s`.`t` trx id 24 lock mode IX`.
fn parse_lock_line(line: &str) -> Option<Lock> {
    let waiting = line.ends_with(" waiting");
    if let Some(rest) = line.strip_prefix("TABLE LOCK table ") {
        let table = rest.split(" trx id ").next()?.to_string();
        let mode = rest
            .split(" lock mode ")
            .nth(1)?
            .trim_end_matches(" waiting")
            .trim()
            .to_string();
        return Some(Lock::Table {
            table,
            mode,
            waiting,
        });
    }
    let rest = line.strip_prefix("RECORD LOCKS space id ")?;
    let mut words = rest.split_whitespace();
    let space = words.next()?.parse().ok()?;
    let page = rest
        .split(" page no ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let table = rest
        .split(" of table ")
        .nth(1)?
        .split(" trx id ")
        .next()?
        .to_string();
    let mode_text = rest
        .split(" lock_mode ")
        .nth(1)
        .or_else(|| rest.split(" lock mode ").nth(1))?;
    let exclusive = mode_text.starts_with('X');
    let kind = if mode_text.contains("insert intention") {
        RecordKind::InsertIntention
    } else if mode_text.contains("locks rec but not gap") {
        RecordKind::RecordOnly
    } else if mode_text.contains("locks gap before rec") {
        RecordKind::Gap
    } else {
        RecordKind::NextKey
    };
    Some(Lock::Record {
        space,
        page,
        heaps: Vec::new(),
        table,
        exclusive,
        kind,
        waiting,
    })
}

/// `Record lock, heap no 2 PHYSICAL RECORD: …` → 2.
fn parse_heap_line(line: &str) -> Option<u64> {
    line.strip_prefix("Record lock, heap no ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether a granted lock `held` keeps the request `wanted` waiting (InnoDB's record-lock
/// compatibility, simplified: gap locks only stop inserts; shared locks share).
pub fn conflicts(wanted: &Lock, held: &Lock) -> bool {
    match (wanted, held) {
        (
            Lock::Record {
                space: s1,
                page: p1,
                heaps: h1,
                exclusive: x1,
                kind: k1,
                ..
            },
            Lock::Record {
                space: s2,
                page: p2,
                heaps: h2,
                exclusive: x2,
                kind: k2,
                waiting: false,
                ..
            },
        ) => {
            if s1 != s2 || p1 != p2 || !h1.iter().any(|h| h2.contains(h)) {
                return false;
            }
            match k1 {
                RecordKind::InsertIntention => matches!(k2, RecordKind::Gap | RecordKind::NextKey),
                _ if matches!(k2, RecordKind::Gap | RecordKind::InsertIntention) => false,
                _ => *x1 || *x2,
            }
        }
        (
            Lock::Table {
                table: t1,
                mode: m1,
                ..
            },
            Lock::Table {
                table: t2,
                mode: m2,
                waiting: false,
                ..
            },
        ) => t1 == t2 && table_modes_conflict(m1, m2),
        _ => false,
    }
}

fn table_modes_conflict(a: &str, b: &str) -> bool {
    let compatible = |x: &str, y: &str| {
        matches!(
            (x, y),
            ("IS", "IS" | "IX" | "S") | ("IX", "IS" | "IX") | ("S", "IS" | "S")
        )
    };
    !(compatible(a, b) || compatible(b, a)) || (a == "AUTO-INC" && b == "AUTO-INC")
}

/// The thread ids whose granted locks keep `waiter` waiting, from one parsed status. Empty when
/// the server does not list locks (`innodb_status_output_locks=OFF`).
pub fn blockers_of(transactions: &[InnodbTransaction], waiter: u32) -> Vec<u32> {
    let Some(wanted) = transactions
        .iter()
        .find(|t| t.thread_id == Some(waiter))
        .and_then(|t| t.waiting_for.as_ref())
    else {
        return Vec::new();
    };
    let mut ids: Vec<u32> = transactions
        .iter()
        .filter(|t| t.thread_id.is_some_and(|id| id != waiter))
        .filter(|t| t.locks.iter().any(|held| conflicts(wanted, held)))
        .filter_map(|t| t.thread_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW_LOCK: &str = include_str!("fixtures/status_rowlock_locks_on.txt");
    const ROW_LOCK_NO_LIST: &str = include_str!("fixtures/status_rowlock_locks_off.txt");
    const SHARED_WAIT: &str = include_str!("fixtures/status_shared_and_insert.txt");
    const AFTER_DEADLOCK: &str = include_str!("fixtures/status_after_deadlock_mdl.txt");
    const INSERT_INTENTION: &str = include_str!("fixtures/status_insert_intention.txt");

    fn waiting(status: &str) -> Vec<u32> {
        parse(status)
            .into_iter()
            .filter(|t| t.lock_wait)
            .filter_map(|t| t.thread_id)
            .collect()
    }

    #[test]
    fn finds_the_row_lock_waiter_and_its_holder() {
        let trx = parse(ROW_LOCK);
        assert_eq!(trx.len(), 2);
        assert_eq!(waiting(ROW_LOCK), vec![6]);
        let wanted = trx[0].waiting_for.as_ref().unwrap();
        assert!(
            matches!(wanted, Lock::Record { heaps, exclusive: true, kind: RecordKind::RecordOnly, waiting: true, .. } if heaps == &[2])
        );
        assert_eq!(blockers_of(&trx, 6), vec![5]);
        assert!(blockers_of(&trx, 5).is_empty());
    }

    #[test]
    fn without_the_lock_list_the_wait_is_still_seen() {
        assert_eq!(waiting(ROW_LOCK_NO_LIST), vec![6]);
        let trx = parse(ROW_LOCK_NO_LIST);
        assert!(
            trx.iter()
                .find(|t| t.thread_id == Some(5))
                .unwrap()
                .locks
                .is_empty()
        );
        assert!(blockers_of(&trx, 6).is_empty());
    }

    #[test]
    fn a_serializable_read_waits_for_a_shared_lock() {
        let trx = parse(SHARED_WAIT);
        assert_eq!(waiting(SHARED_WAIT), vec![14]);
        assert!(matches!(
            trx[0].waiting_for,
            Some(Lock::Record {
                exclusive: false,
                ..
            })
        ));
        assert_eq!(blockers_of(&trx, 14), vec![12]);
    }

    #[test]
    fn the_deadlock_report_is_history_not_a_wait() {
        // LATEST DETECTED DEADLOCK prints two LOCK WAIT transactions that are long gone.
        assert!(waiting(AFTER_DEADLOCK).is_empty());
        assert_eq!(
            parse(AFTER_DEADLOCK)
                .iter()
                .filter_map(|t| t.thread_id)
                .collect::<Vec<_>>(),
            vec![18]
        );
    }

    #[test]
    fn an_insert_waits_for_the_gap_not_for_a_record_only_lock() {
        let trx = parse(INSERT_INTENTION);
        assert_eq!(waiting(INSERT_INTENTION), vec![25]);
        // Thread 24 holds S on heap 2 (rec only); thread 23's next-key lock on the supremum (heap 1)
        // is what the insert waits for.
        assert_eq!(blockers_of(&trx, 25), vec![23]);
    }

    #[test]
    fn lock_compatibility() {
        let rec = |exclusive, kind, heaps: &[u64]| Lock::Record {
            space: 1,
            page: 3,
            heaps: heaps.to_vec(),
            table: "`s`.`t`".into(),
            exclusive,
            kind,
            waiting: false,
        };
        assert!(!conflicts(
            &rec(false, RecordKind::RecordOnly, &[2]),
            &rec(false, RecordKind::NextKey, &[2])
        ));
        assert!(conflicts(
            &rec(true, RecordKind::RecordOnly, &[2]),
            &rec(false, RecordKind::NextKey, &[2])
        ));
        assert!(!conflicts(
            &rec(true, RecordKind::RecordOnly, &[2]),
            &rec(true, RecordKind::Gap, &[2])
        ));
        assert!(conflicts(
            &rec(true, RecordKind::InsertIntention, &[2]),
            &rec(false, RecordKind::Gap, &[2])
        ));
        assert!(!conflicts(
            &rec(true, RecordKind::RecordOnly, &[3]),
            &rec(true, RecordKind::RecordOnly, &[2])
        ));
        let table = |mode: &str| Lock::Table {
            table: "`s`.`t`".into(),
            mode: mode.into(),
            waiting: false,
        };
        assert!(!conflicts(&table("IX"), &table("IX")));
        assert!(conflicts(&table("X"), &table("IS")));
        assert!(conflicts(&table("S"), &table("IX")));
    }
}
