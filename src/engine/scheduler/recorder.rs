//! The one place events are born: every [`Event`] of a schedule is stamped here (time since the
//! run's clock, the session's backend) and goes both to the timeline and, when someone watches
//! live, to the live channel.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::model::{BackendId, Event, EventKind, Timeline};

/// Records a run's events in report order.
pub struct Recorder {
    clock: Instant,
    pub timeline: Timeline,
    live: Option<mpsc::UnboundedSender<Event>>,
}

impl Recorder {
    /// A recorder whose event times count from `clock`.
    pub fn new(clock: Instant) -> Recorder {
        Recorder {
            clock,
            timeline: Timeline::default(),
            live: None,
        }
    }

    /// Sends every event, as it is recorded, to `live` as well.
    pub fn feed(&mut self, live: mpsc::UnboundedSender<Event>) {
        self.live = Some(live);
    }

    /// Records one event that happened `at`.
    pub fn record(
        &mut self,
        at: Instant,
        session: Option<usize>,
        pid: BackendId,
        step: Option<usize>,
        kind: EventKind,
    ) {
        let event = Event {
            t: at.saturating_duration_since(self.clock),
            session,
            pid,
            step,
            kind,
        };
        if let Some(live) = &self.live {
            let _ = live.send(event.clone());
        }
        self.timeline.events.push(event);
    }
}
