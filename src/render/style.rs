//! How output may look, decided once from the flags, `NO_COLOR` and whether stdout/stderr are
//! terminals, then passed around as a value. Nothing else looks at the environment.

use std::io::IsTerminal;

/// The user's `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// What a lesson run prints (`--format`): which renderer gets the finished runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Timelines for people.
    Text,
    /// One JSON document with a `results` array (docs/output.md).
    Json,
    /// A handout: explanation, timeline table, verdict (docs/classroom.md).
    Markdown,
    /// One self-contained page for a projector or to hand out (docs/classroom.md).
    Html,
    /// Exactly what PostgreSQL's isolationtester prints (for .spec files; docs/specs.md).
    Isolationtester,
}

/// The resolved output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI colours.
    pub color: bool,
    /// Columns available for a timeline.
    pub width: usize,
    /// Show progress bars (stderr is a terminal).
    pub progress: bool,
}

/// The widest a timeline gets, even on a wide terminal: it stays readable on a projector.
pub const MAX_WIDTH: usize = 100;

impl Style {
    /// Resolves the style for this process.
    pub fn detect(choice: ColorChoice) -> Style {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && !no_color,
        };
        let width = terminal_width().unwrap_or(MAX_WIDTH).clamp(60, MAX_WIDTH);
        let progress = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Style::apply(Style {
            color,
            width,
            progress,
        })
    }

    /// A fixed style for tests and exports: no colour, no progress, the given width.
    pub fn plain(width: usize) -> Style {
        Style::apply(Style {
            color: false,
            width,
            progress: false,
        })
    }

    fn apply(style: Style) -> Style {
        colored::control::set_override(style.color);
        style
    }
}

fn terminal_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(cols);
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some(ws.ws_col as usize)
    }
}
