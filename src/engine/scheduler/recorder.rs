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

    /// Stops the clock for `paused` (the time a teacher took at the `--step` gate): the timeline
    /// times the schedule, not the wait for a key, so the first step is stamped at 0 ms.
    pub fn pause(&mut self, paused: std::time::Duration) {
        self.clock += paused;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_spent_at_the_gate_is_not_on_the_timeline() {
        let start = Instant::now();
        let mut recorder = Recorder::new(start);
        recorder.pause(Duration::from_millis(1320));
        recorder.record(
            start + Duration::from_millis(1325),
            Some(0),
            1,
            None,
            EventKind::Retry {
                attempt: 2,
                max_attempts: 3,
                backoff: Duration::ZERO,
                reason: "x".into(),
            },
        );
        assert_eq!(recorder.timeline.events[0].t, Duration::from_millis(5));
    }
}
