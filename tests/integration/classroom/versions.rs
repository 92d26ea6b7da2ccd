//! `--versions` on a real server: what each session sees of the rows (and their xmin/xmax), shown
//! without changing any outcome.

use txlab::engine::event::EventKind;
use txlab::engine::inspect::View;
use txlab::engine::{Inspect, IsolationLevel, catalog};

use super::run;

#[test]
fn versions_are_shown_without_changing_any_outcome() {
    let lesson = catalog::find("lost-update").unwrap();
    for level in IsolationLevel::ALL {
        let run = run(
            &lesson,
            level,
            Inspect {
                locks: false,
                versions: true,
            },
        );
        let v = run.verdict.clone().unwrap();
        assert!(v.matches_expectation(), "{level}: {v:?}");
        let reports: Vec<_> = run
            .timeline
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Versions(r) => Some(r),
                _ => None,
            })
            .collect();
        assert!(!reports.is_empty(), "{level}");
        // Right after Alice's BEGIN, before her first query.
        let alice_first = &reports[0].views[0].view;
        match level {
            IsolationLevel::ReadUncommitted | IsolationLevel::ReadCommitted => {
                assert!(
                    matches!(
                        alice_first,
                        View::Sees {
                            rows_read: true,
                            ..
                        }
                    ),
                    "{level}: {alice_first:?}"
                )
            }
            _ => assert_eq!(alice_first, &View::NoSnapshotYet, "{level}"),
        }
        // Once Alice has updated, Bob (at READ COMMITTED) sees the old version with her xid as xmax.
        if level == IsolationLevel::ReadCommitted {
            let after_update = reports
                .iter()
                .find_map(|r| match &r.views[0].view {
                    View::Sees { xid: Some(xid), .. } => Some((xid.clone(), &r.views[1].view)),
                    _ => None,
                })
                .expect("a report after Alice's UPDATE");
            let (alice_xid, bob_view) = after_update;
            let View::Sees { tables, .. } = bob_view else {
                panic!("{bob_view:?}")
            };
            let row = &tables[0].rows[0];
            assert_eq!(row.xmax, alice_xid);
            assert_eq!(row.values.last().unwrap().as_deref(), Some("100.00"));
        }
        if level == IsolationLevel::Serializable {
            assert!(reports.iter().all(|r| r.views.iter().all(|v| !matches!(
                &v.view,
                View::Sees {
                    rows_read: true,
                    isolation,
                    ..
                } if isolation == "serializable"
            ))));
        }
    }
}
