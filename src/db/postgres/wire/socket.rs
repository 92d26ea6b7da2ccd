//! A bench connection's byte stream: a plain socket registered with the client thread's reactor
//! for readability only, or a TLS stream over a tokio `TcpStream`.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio_postgres::tls::MakeTlsConnect;

use crate::db::postgres::tls::PgTls;

/// The TLS stream txlab's rustls connector makes of a TCP socket.
pub(super) type TlsStream = <PgTls as MakeTlsConnect<TcpStream>>::Stream;

/// The connection's stream. A plain socket is registered for readability only: tokio's own
/// streams also ask for writability, and with edge-triggered epoll every time the server drained
/// a request from the socket buffer that woke the thread for nothing — two `epoll_wait`s per
/// statement instead of one (strace). A write that finds the buffer full (requests are a few
/// dozen bytes, so all but never) waits for writability through a second registration made
/// for that wait ([`writable`]). Under TLS, rustls owns the reads and writes, so the stream is
/// tokio's, registered both ways.
pub(super) enum Stream {
    Unix(AsyncFd<std::os::unix::net::UnixStream>),
    Tcp(AsyncFd<std::net::TcpStream>),
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Registers a connected, authenticated plain socket with the reactor, readable only.
    pub(super) fn unix(socket: tokio::net::UnixStream) -> std::io::Result<Stream> {
        readable_only(socket.into_std()?).map(Stream::Unix)
    }

    /// As [`Stream::unix`], for TCP.
    pub(super) fn tcp(socket: TcpStream) -> std::io::Result<Stream> {
        readable_only(socket.into_std()?).map(Stream::Tcp)
    }

    pub(super) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Writes all of `data` (and, under TLS, flushes the record out).
    pub(super) async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Unix(fd) => write_all(fd, data).await,
            Stream::Tcp(fd) => write_all(fd, data).await,
            Stream::Tls(tls) => {
                tls.write_all(data).await?;
                tls.flush().await
            }
        }
    }

    /// Reads what has arrived into `scratch`, waiting for something; 0 when the server closed.
    pub(super) async fn read(&mut self, scratch: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(fd) => read(fd, scratch).await,
            Stream::Tcp(fd) => read(fd, scratch).await,
            Stream::Tls(tls) => tls.read(scratch).await,
        }
    }
}

async fn write_all<T: AsFd + std::os::fd::AsRawFd>(
    fd: &AsyncFd<T>,
    mut data: &[u8],
) -> std::io::Result<()>
where
    for<'a> &'a T: Write,
{
    while !data.is_empty() {
        match fd.get_ref().write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => writable(fd.get_ref()).await?,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits until `socket` has room to write. Its own registration asks for readability only, and
/// epoll takes one registration per descriptor, so a duplicate of the descriptor is registered
/// for writability for the length of the wait. Registering reports the state at that moment
/// (epoll checks readiness when a descriptor is added), so room made between the failed write
/// and the registration is not missed. Dropping the `AsyncFd` deregisters the duplicate before
/// closing it.
async fn writable(socket: &impl AsFd) -> std::io::Result<()> {
    let duplicate = socket.as_fd().try_clone_to_owned()?;
    // SAFETY: the `OwnedFd` owns the duplicate and reports the same descriptor until it is
    // dropped, which happens only with the `AsyncFd` that now owns it.
    let waiter = unsafe { AsyncFd::register_with_interest(duplicate, Interest::WRITABLE) }
        .map_err(|e| e.into_parts().1)?;
    let _ready = waiter.writable().await?;
    Ok(())
}

async fn read<T: std::os::fd::AsRawFd>(
    fd: &AsyncFd<T>,
    scratch: &mut [u8],
) -> std::io::Result<usize>
where
    for<'a> &'a T: Read,
{
    loop {
        let mut ready = fd.readable().await?;
        match ready.try_io(|inner| inner.get_ref().read(scratch)) {
            Ok(Ok(n)) => {
                // Less than asked for: the socket is drained, so wait for the next readiness
                // event instead of trying a read that would block (tokio's streams do the same).
                if n > 0 && n < scratch.len() {
                    ready.clear_ready();
                }
                return Ok(n);
            }
            Ok(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {}
        }
    }
}

/// Registers a (non-blocking) socket with the reactor for readability only.
fn readable_only<T: std::os::fd::AsRawFd>(socket: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: a std socket owns its descriptor and reports the same one until it is dropped,
    // which happens only with the `AsyncFd` that now owns it.
    unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write far larger than the socket buffer blocks many times; each time it must wake when
    /// the reader makes room (no timer involved), and every byte must arrive in order.
    #[tokio::test]
    async fn a_write_that_fills_the_socket_waits_for_room() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut stream = Stream::unix(a).unwrap();
        let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut reader = b;
        let expected = data.clone();
        let read_all = async move {
            let mut got = vec![0; expected.len()];
            reader.read_exact(&mut got).await.unwrap();
            assert!(got == expected, "bytes arrived out of order");
        };
        let (written, ()) = tokio::join!(stream.write_all(&data), read_all);
        written.unwrap();
        // Reads still work after the write registrations came and went.
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let mut stream = Stream::unix(a).unwrap();
        b.write_all(b"ready").await.unwrap();
        let mut scratch = [0; 16];
        assert_eq!(stream.read(&mut scratch).await.unwrap(), 5);
    }
}
