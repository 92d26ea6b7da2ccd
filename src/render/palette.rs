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

impl Meaning {
    /// Every meaning, for stylesheets.
    pub const ALL: [Meaning; 10] = [
        Meaning::Ok,
        Meaning::Waiting,
        Meaning::Unblocked,
        Meaning::Aborted,
        Meaning::Value,
        Meaning::Anomaly,
        Meaning::Prevented,
        Meaning::Dim,
        Meaning::Heading,
        Meaning::Commit,
    ];

    /// A stable lowercase name (the CSS class suffix in the HTML export).
    pub fn name(self) -> &'static str {
        match self {
            Meaning::Ok => "ok",
            Meaning::Waiting => "waiting",
            Meaning::Unblocked => "unblocked",
            Meaning::Aborted => "aborted",
            Meaning::Value => "value",
            Meaning::Anomaly => "anomaly",
            Meaning::Prevented => "prevented",
            Meaning::Dim => "dim",
            Meaning::Heading => "heading",
            Meaning::Commit => "commit",
        }
    }
}

/// The page background the CSS colours below are chosen for: a dark terminal.
pub const CSS_BACKGROUND: &str = "#15181d";
/// Plain text on that background.
pub const CSS_TEXT: &str = "#e8e8e8";

/// The same meanings as CSS declarations, for the HTML export: the colours [`paint`] asks the
/// terminal for, as a dark terminal theme draws them, bright enough for a projector.
pub fn css(meaning: Meaning) -> &'static str {
    match meaning {
        Meaning::Ok => "color: #e8e8e8",
        Meaning::Waiting => "color: #f5c542; font-weight: bold",
        Meaning::Unblocked => "color: #4fd6e0",
        Meaning::Aborted => "color: #ff6161; font-weight: bold",
        Meaning::Value => "color: #ff7af5; font-weight: bold",
        Meaning::Anomaly => "color: #ffffff; background: #c62828; font-weight: bold",
        Meaning::Prevented => "color: #6ee07a; font-weight: bold",
        Meaning::Dim => "color: #a4abb5",
        Meaning::Heading => "font-weight: bold",
        Meaning::Commit => "color: #6ee07a",
    }
}

/// A session lane's colour as CSS, matching [`lane`].
pub fn lane_css(session: usize) -> &'static str {
    match session % 4 {
        0 => "color: #6cb6ff; font-weight: bold",
        1 => "color: #e38cf5; font-weight: bold",
        2 => "color: #4fd6e0; font-weight: bold",
        _ => "color: #f5c542; font-weight: bold",
    }
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
