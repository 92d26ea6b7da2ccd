//! Reading the teacher's keys. On a terminal, one key at a time: the terminal is put in
//! non-canonical, no-echo mode only while a key is awaited, and put back as soon as it arrives, on
//! cancellation and on Ctrl-C. Signals stay on (`ISIG`), so Ctrl-C still reaches txlab's own
//! handler and the run is cleaned up as always. Keys typed while a step ran are discarded, so a
//! double press does not skip a step.
//!
//! When standard input is not a terminal (a script, a test), whole lines are read instead: an
//! empty line is Enter, `b`, `r`, `q` or a digit mean what the keys mean, end of input means quit.
//!
//! The wait happens on a blocking thread that polls every 100 ms for cancellation, so dropping
//! a pending read (Ctrl-C, an error elsewhere) never leaves a thread blocked on stdin or a
//! terminal without echo.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Result, TxlabError};

/// What the teacher asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Enter or space: run the step (at a quiz: no guess).
    Run,
    /// `r`: replay the lesson from the start.
    Replay,
    /// Backspace or `b`: back one step (shows the recorded state; nothing is undone).
    Back,
    /// `q`: quit cleanly.
    Quit,
    /// `1`…`9` at a quiz: the class's answer (1-based).
    Answer(usize),
    /// Ctrl-C arrived as a key (only if the terminal did not turn it into a signal).
    Interrupt,
    /// End of input.
    End,
}

/// Maps one typed byte; `answers` is how many quiz answers are on offer (0: none).
pub fn key_for_byte(byte: u8, answers: usize) -> Option<Key> {
    match byte {
        b'\n' | b'\r' | b' ' => Some(Key::Run),
        b'b' | b'B' | 0x7f | 0x08 => Some(Key::Back),
        b'r' | b'R' => Some(Key::Replay),
        b'q' | b'Q' => Some(Key::Quit),
        b'1'..=b'9' if usize::from(byte - b'0') <= answers => {
            Some(Key::Answer(usize::from(byte - b'0')))
        }
        0x03 => Some(Key::Interrupt),
        0x04 => Some(Key::End),
        _ => None,
    }
}

/// Maps one line of piped input.
pub fn key_for_line(line: &str, answers: usize) -> Option<Key> {
    let word = line.trim();
    if word.is_empty() {
        return Some(Key::Run);
    }
    if let Ok(n) = word.parse::<usize>() {
        return (1..=answers).contains(&n).then_some(Key::Answer(n));
    }
    match word.to_ascii_lowercase().as_str() {
        "b" | "back" => Some(Key::Back),
        "r" | "replay" => Some(Key::Replay),
        "q" | "quit" => Some(Key::Quit),
        "run" | "n" | "next" => Some(Key::Run),
        _ => None,
    }
}

/// Where keys come from.
pub struct Keys {
    terminal: bool,
    /// Piped input read but not yet used (line mode).
    pending: Vec<u8>,
    ended: bool,
}

impl Keys {
    /// Keys from standard input: one key at a time on a terminal, lines otherwise.
    pub fn stdin() -> Keys {
        use std::io::IsTerminal;
        Keys {
            terminal: std::io::stdin().is_terminal(),
            pending: Vec::new(),
            ended: false,
        }
    }

    /// Whether keys come one at a time from a terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Shows `prompt` and waits for the next key that means something here. On a terminal the
    /// prompt is printed only once keys are being read (and earlier typing discarded), so a key
    /// pressed after the prompt appears is never lost.
    pub async fn next(&mut self, answers: usize, prompt: &str) -> Result<Key> {
        if self.ended {
            return Ok(Key::End);
        }
        let mut prompt = Some(prompt.to_string());
        loop {
            let key = if self.terminal {
                let bytes = wait_for_input(true, prompt.take()).await?;
                match bytes {
                    None => Some(Key::End),
                    Some(bytes) => bytes.iter().find_map(|&b| {
                        // An escape sequence (arrow keys…) is one press, not several.
                        if bytes[0] == 0x1b {
                            None
                        } else {
                            key_for_byte(b, answers)
                        }
                    }),
                }
            } else {
                if let Some(p) = prompt.take() {
                    crate::output::print(&p)?;
                }
                let line = self.next_line().await?;
                match line {
                    None => Some(Key::End),
                    Some(line) => key_for_line(&line, answers),
                }
            };
            if let Some(key) = key {
                if key == Key::End {
                    self.ended = true;
                }
                return Ok(key);
            }
        }
    }

    async fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            match wait_for_input(false, None).await? {
                Some(bytes) => self.pending.extend(bytes),
                None if self.pending.is_empty() => return Ok(None),
                None => {
                    let line = std::mem::take(&mut self.pending);
                    return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
                }
            }
        }
    }
}

/// Sets the flag when dropped, so an abandoned wait ends its thread; on a terminal it also puts
/// the terminal back at once.
struct CancelOnDrop {
    cancel: Arc<AtomicBool>,
    done: bool,
    #[cfg(unix)]
    restore: Option<libc::termios>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        #[cfg(unix)]
        if let Some(original) = &self.restore {
            // SAFETY: restoring attributes read from the same descriptor.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, original) };
            if !self.done {
                // The prompt line was left open; end it so what follows starts on a new line (if
                // stdout is gone there is nothing to tidy).
                let _ = crate::output::print("\n");
            }
        }
    }
}

/// Waits for bytes on stdin: `Some(bytes)`, or `None` at end of input.
async fn wait_for_input(terminal: bool, prompt: Option<String>) -> Result<Option<Vec<u8>>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut guard = CancelOnDrop {
        cancel: cancel.clone(),
        done: false,
        #[cfg(unix)]
        restore: if terminal { unix::attributes() } else { None },
    };
    let read = tokio::task::spawn_blocking(move || read_blocking(terminal, prompt, &cancel))
        .await
        .map_err(|e| TxlabError::Classroom(format!("reading keys failed: {e}")))?;
    guard.done = true;
    read.map_err(|e| match e {
        Failed::Prompt(e) => e,
        Failed::Read(e) => {
            TxlabError::Classroom(format!("cannot read keys from standard input: {e}"))
        }
    })
}

/// Why a wait for keys ended without one: the prompt could not be printed, or stdin failed.
enum Failed {
    Prompt(TxlabError),
    Read(std::io::Error),
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        Failed::Read(e)
    }
}

#[cfg(unix)]
fn read_blocking(
    terminal: bool,
    prompt: Option<String>,
    cancel: &AtomicBool,
) -> Result<Option<Vec<u8>>, Failed> {
    let _mode = if terminal {
        Some(unix::KeyMode::enter()?)
    } else {
        None
    };
    if let Some(p) = prompt {
        crate::output::print(&p).map_err(Failed::Prompt)?;
    }
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Ok(Some(Vec::new()));
        }
        if unix::readable(100)? {
            let mut buf = [0u8; 64];
            // SAFETY: reading into a buffer we own, at most its length.
            let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            if n == 0 {
                return Ok(None);
            }
            return Ok(Some(buf[..n as usize].to_vec()));
        }
    }
}

#[cfg(not(unix))]
fn read_blocking(
    _terminal: bool,
    prompt: Option<String>,
    _cancel: &AtomicBool,
) -> Result<Option<Vec<u8>>, Failed> {
    if let Some(p) = prompt {
        crate::output::print(&p).map_err(Failed::Prompt)?;
    }
    let mut line = String::new();
    let n = std::io::stdin().read_line(&mut line)?;
    Ok((n > 0).then(|| line.into_bytes()))
}

#[cfg(unix)]
mod unix {
    /// The terminal's current attributes, if stdin is a terminal.
    pub fn attributes() -> Option<libc::termios> {
        // SAFETY: tcgetattr fills a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0).then_some(t)
        }
    }

    /// Non-canonical, no-echo input while alive; the original attributes come back on drop.
    pub struct KeyMode {
        original: libc::termios,
    }

    impl KeyMode {
        pub fn enter() -> std::io::Result<KeyMode> {
            let original = attributes().ok_or_else(std::io::Error::last_os_error)?;
            let mut keys = original;
            keys.c_lflag &= !(libc::ICANON | libc::ECHO);
            keys.c_cc[libc::VMIN] = 1;
            keys.c_cc[libc::VTIME] = 0;
            // SAFETY: setting attributes on stdin from a termios we own; then dropping input typed
            // before the prompt appeared.
            unsafe {
                if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &keys) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH);
            }
            Ok(KeyMode { original })
        }
    }

    impl Drop for KeyMode {
        fn drop(&mut self) {
            // SAFETY: restoring the attributes read in `enter`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.original) };
        }
    }

    /// Whether stdin has input within `timeout_ms`.
    pub fn readable(timeout_ms: i32) -> std::io::Result<bool> {
        let mut fds = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polling one descriptor we describe.
        let n = unsafe { libc::poll(&mut fds, 1, timeout_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(n > 0 && fds.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_mean_what_the_prompt_says() {
        assert_eq!(key_for_byte(b'\r', 0), Some(Key::Run));
        assert_eq!(key_for_byte(b' ', 0), Some(Key::Run));
        assert_eq!(key_for_byte(b'b', 0), Some(Key::Back));
        assert_eq!(key_for_byte(0x7f, 0), Some(Key::Back), "Backspace");
        assert_eq!(key_for_byte(b'r', 0), Some(Key::Replay));
        assert_eq!(key_for_byte(b'q', 0), Some(Key::Quit));
        assert_eq!(key_for_byte(b'2', 3), Some(Key::Answer(2)));
        assert_eq!(key_for_byte(b'4', 3), None, "only offered answers");
        assert_eq!(key_for_byte(b'1', 0), None, "no quiz, no answers");
        assert_eq!(key_for_byte(b'x', 3), None);
        assert_eq!(key_for_byte(0x03, 0), Some(Key::Interrupt));
    }

    #[test]
    fn lines_mean_the_same() {
        assert_eq!(key_for_line("\n", 0), Some(Key::Run));
        assert_eq!(key_for_line(" q \n", 0), Some(Key::Quit));
        assert_eq!(key_for_line("B", 0), Some(Key::Back));
        assert_eq!(key_for_line("r", 0), Some(Key::Replay));
        assert_eq!(key_for_line("2", 2), Some(Key::Answer(2)));
        assert_eq!(key_for_line("3", 2), None);
        assert_eq!(key_for_line("what", 2), None);
    }
}
