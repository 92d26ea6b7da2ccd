//! The one stdout writer. Everything txlab prints for the user goes through [`print`], which
//! returns a failed write to the caller rather than ending the process: the command unwinds, its
//! cleanup runs (schemas dropped, a throwaway cluster stopped), and the edge decides the exit code
//! (a closed pipe, `txlab … | head`, is a quiet success; a full disk is an error).

use std::io::Write;

use crate::error::{Result, TxlabError};

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> Result<()> {
    write_to(&mut std::io::stdout().lock(), text)
}

/// Writes `text` to `out` and flushes it; a failure becomes [`TxlabError::Output`].
pub fn write_to(out: &mut impl Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(TxlabError::Output)
}

/// Whether `e` is a write into a pipe whose reader has gone (`| head`): not a failure.
pub fn is_closed_pipe(e: &TxlabError) -> bool {
    matches!(e, TxlabError::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(std::io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_returned_and_only_a_closed_pipe_is_quiet() {
        let mut buf = Vec::new();
        write_to(&mut buf, "ok\n").unwrap();
        assert_eq!(buf, b"ok\n");
        let pipe = write_to(&mut Failing(std::io::ErrorKind::BrokenPipe), "x").unwrap_err();
        assert!(is_closed_pipe(&pipe));
        let full = write_to(&mut Failing(std::io::ErrorKind::StorageFull), "x").unwrap_err();
        assert!(!is_closed_pipe(&full));
        assert!(
            full.to_string()
                .starts_with("cannot write to standard output")
        );
    }
}
