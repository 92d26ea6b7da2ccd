//! A deadlock lesson's "why" written from what happened. The lesson's own text assumes the victim
//! it chose (by `deadlock_timeout`); when the role may not set that parameter, the server default
//! applies and the session that waited longest runs the detector and is aborted — often the
//! other one. Then the explanation is built from the timeline: the session whose step failed
//! with 40P01 is the one that ran the detector and lost.

use super::event::{EventKind, Timeline};
use super::run::SessionInfo;
use crate::db::SqlState;

/// The session aborted with 40P01 first, if any.
pub fn deadlock_victim(timeline: &Timeline) -> Option<usize> {
    timeline.events.iter().find_map(|e| match &e.kind {
        EventKind::Completed(c)
            if c.error
                .as_ref()
                .is_some_and(|err| err.sqlstate == SqlState::DeadlockDetected.code()) =>
        {
            e.session
        }
        _ => None,
    })
}

/// The explanation when the run's victim is not the one the lesson planned; `None` when the
/// lesson's own text is true of this run (its victim lost, or there was no deadlock).
pub fn why_from_run(
    timeline: &Timeline,
    infos: &[SessionInfo],
    planned: usize,
    committed: impl Fn(usize) -> bool,
) -> Option<String> {
    let victim = deadlock_victim(timeline)?;
    if victim == planned {
        return None;
    }
    let retried = timeline
        .events
        .iter()
        .filter(|e| e.session == Some(victim) && matches!(e.kind, EventKind::Retry { .. }))
        .count();
    let others: Vec<String> = (0..infos.len())
        .filter(|&i| i != victim)
        .map(|i| {
            let ended = if committed(i) {
                "went on and committed"
            } else {
                "went on"
            };
            format!("{} {ended}", infos[i].label)
        })
        .collect();
    let victim_label = &infos[victim].label;
    let after = if retried > 0 {
        if committed(victim) {
            format!(" Its retry wrapper ran it again ({retried} retry), and it committed.")
        } else {
            format!(" Its retry wrapper ran it again ({retried} retry).")
        }
    } else if committed(victim) {
        String::new()
    } else {
        " With no retry, its work was lost.".to_string()
    };
    Some(format!(
        "The transactions waited for each other's row locks in a cycle. deadlock_timeout was the \
         server's default for everyone, so the backend that had waited longest ({victim_label}) ran \
         the deadlock detector first, found the cycle and aborted its own transaction with \
         40P01. That released its locks: {}.{after}",
        others.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::event::{Completion, ErrorInfo, Event};

    fn failed(session: usize, code: &str) -> Event {
        Event {
            t: Duration::from_millis(1000),
            session: Some(session),
            pid: 0,
            step: None,
            kind: EventKind::Completed(Completion {
                error: Some(ErrorInfo {
                    sqlstate: code.into(),
                    severity: "ERROR".into(),
                    message: "deadlock detected".into(),
                    detail: None,
                }),
                results: Vec::new(),
                tx_end: None,
                waited: None,
                conflict: None,
            }),
        }
    }

    fn infos() -> Vec<SessionInfo> {
        ["alice", "bob"]
            .iter()
            .map(|n| SessionInfo {
                name: n.to_string(),
                label: n.to_string(),
                pid: 0,
            })
            .collect()
    }

    #[test]
    fn the_session_that_failed_with_40p01_is_named_as_the_victim() {
        let timeline = Timeline {
            events: vec![failed(0, "40P01")],
        };
        let why = why_from_run(&timeline, &infos(), 1, |i| i == 1).unwrap();
        assert!(why.contains("(alice) ran the deadlock detector"), "{why}");
        assert!(why.contains("bob went on and committed"), "{why}");
        assert!(why.contains("its work was lost"), "{why}");
        assert!(why_from_run(&timeline, &infos(), 0, |_| true).is_none());
    }

    #[test]
    fn no_deadlock_leaves_the_lessons_text() {
        let timeline = Timeline {
            events: vec![failed(0, "40001")],
        };
        assert!(why_from_run(&timeline, &infos(), 1, |_| true).is_none());
    }
}
