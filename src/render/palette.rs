//! Colours have meanings, and this is the only place that knows them. Renderers ask for a meaning
//! ("waiting", "aborted"), never for a colour.

use colored::{ColoredString, Colorize};

/// What a piece of text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A statement that completed normally.
    Ok,
    /// A step waiting for a lock.
    Waiting,
    /// A step that got its lock and went on.
    Unblocked,
    /// An error, an abort, a rollback.
    Aborted,
    /// A value a session read: what the lesson is about.
    Value,
    /// The anomaly happened.
    Anomaly,
    /// The anomaly was prevented.
    Prevented,
    /// Narration, times, secondary facts.
    Dim,
    /// Headings.
    Heading,
    /// A transaction committed.
    Commit,
}

/// Paints text with its meaning (plain text when colour is off).
pub fn paint(text: &str, meaning: Meaning) -> ColoredString {
    match meaning {
        Meaning::Ok => text.normal(),
        Meaning::Waiting => text.yellow().bold(),
        Meaning::Unblocked => text.cyan(),
        Meaning::Aborted => text.red().bold(),
        Meaning::Value => text.bright_magenta().bold(),
        Meaning::Anomaly => text.white().on_red().bold(),
        Meaning::Prevented => text.green().bold(),
        Meaning::Dim => text.dimmed(),
        Meaning::Heading => text.bold(),
        Meaning::Commit => text.green(),
    }
}

/// A session lane's colour, so each session is recognisable across rows.
pub fn lane(text: &str, session: usize) -> ColoredString {
    match session % 4 {
        0 => text.blue().bold(),
        1 => text.magenta().bold(),
        2 => text.cyan().bold(),
        _ => text.yellow().bold(),
    }
}
