//! A local relay between a pool lesson's connections and the server, for the stale-connection
//! lesson (issue 15). tokio-postgres reads every socket all the time, so it learns at once that
//! the server ended a session resting in the pool (`is_closed()`), and even deadpool's fast
//! recycling drops it. Many drivers (JDBC, psycopg2) read a connection only when it is used, and
//! a connection cut by a failover or a firewall may never be told at all: deadpool's own docs say
//! `is_closed()` can then be false while the connection is dead. The relay plays that part.
//!
//! After [`Relay::quiet`], what the server sends on a link is held until the client next writes
//! on it, and then delivered before anything else, as a driver that reads only when it is used
//! would find it; the server's end of the link closing is passed on at that moment too. Bytes are
//! never changed or parsed, so TLS and authentication pass through untouched.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::JoinSet;

use crate::error::{Result, TxlabError};

/// Where the relay forwards to.
#[derive(Debug, Clone)]
pub enum Target {
    Tcp {
        host: String,
        port: u16,
    },
    /// The server's socket file (`<dir>/.s.PGSQL.<port>`).
    Unix(PathBuf),
}

/// A running relay on a local TCP port; dropping it ends every link.
pub struct Relay {
    port: u16,
    /// Bumped by [`Relay::quiet`]; a link last written to by its client in an older epoch holds
    /// what the server sends.
    epoch: Arc<AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listens on 127.0.0.1 (a free port) and forwards each connection to `target`. Must be
    /// called inside the tokio runtime.
    pub fn start(target: Target) -> Result<Relay> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| TxlabError::Database(format!("the pool's relay could not listen: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| TxlabError::Database(format!("the pool's relay has no port: {e}")))?
            .port();
        let listener = TcpListener::from_std(listener)
            .map_err(|e| TxlabError::Database(format!("the pool's relay could not listen: {e}")))?;
        let epoch = Arc::new(AtomicU64::new(0));
        let accept = tokio::spawn(accept_links(listener, target, epoch.clone()));
        Ok(Relay {
            port,
            epoch,
            accept,
        })
    }

    /// The local port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on every link holds what the server sends until its client writes again. Call it
    /// only while no statement is in flight (an answer on its way would be held too).
    pub fn quiet(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every link.
        self.accept.abort();
    }
}

async fn accept_links(listener: TcpListener, target: Target, epoch: Arc<AtomicU64>) {
    let mut links = JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        let _ = client.set_nodelay(true);
        let epoch = epoch.clone();
        let target = target.clone();
        links.spawn(async move {
            match target {
                Target::Tcp { host, port } => {
                    if let Ok(server) = TcpStream::connect((host.as_str(), port)).await {
                        let _ = server.set_nodelay(true);
                        link(client, server, epoch).await;
                    }
                }
                Target::Unix(path) => {
                    if let Ok(server) = UnixStream::connect(&path).await {
                        link(client, server, epoch).await;
                    }
                }
            }
        });
        // Reap finished links so the set does not grow.
        while links.try_join_next().is_some() {}
    }
}

/// Copies bytes both ways until either side is done, holding the server's bytes while the link
/// is quiet (see the module docs).
async fn link<S>(client: TcpStream, server: S, epoch: Arc<AtomicU64>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = tokio::io::split(server);
    let mut awake = epoch.load(Ordering::SeqCst);
    let mut held: Vec<u8> = Vec::new();
    let mut server_done = false;
    let mut from_client = [0u8; 8192];
    let mut from_server = [0u8; 8192];
    loop {
        tokio::select! {
            read = client_in.read(&mut from_client) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        let _ = server_out.shutdown().await;
                        return;
                    }
                    Ok(n) => n,
                };
                // The client uses the link: it now finds whatever the server sent meanwhile.
                awake = epoch.load(Ordering::SeqCst);
                if !held.is_empty() {
                    if client_out.write_all(&held).await.is_err() {
                        return;
                    }
                    held.clear();
                }
                if server_done {
                    let _ = client_out.shutdown().await;
                    return;
                }
                if server_out.write_all(&from_client[..n]).await.is_err() {
                    let _ = client_out.shutdown().await;
                    return;
                }
            }
            read = server_in.read(&mut from_server), if !server_done => {
                let quiet = epoch.load(Ordering::SeqCst) > awake;
                match read {
                    Ok(0) | Err(_) => {
                        server_done = true;
                        if !quiet {
                            let _ = client_out.shutdown().await;
                            return;
                        }
                    }
                    Ok(n) if quiet => held.extend_from_slice(&from_server[..n]),
                    Ok(n) => {
                        if client_out.write_all(&from_server[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quiet link delivers what the server said meanwhile, and its hang-up, when the client
    /// next writes; the client's bytes then go nowhere (the server is gone).
    #[tokio::test]
    async fn a_quiet_link_delivers_the_servers_last_words_when_next_used() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        let relay = Relay::start(Target::Tcp {
            host: "127.0.0.1".into(),
            port,
        })
        .unwrap();
        let mut client = TcpStream::connect(("127.0.0.1", relay.port()))
            .await
            .unwrap();
        let (mut backend, _) = server.accept().await.unwrap();
        let mut buf = [0u8; 16];
        // Awake: both ways at once.
        client.write_all(b"hi").await.unwrap();
        backend.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(&buf[..2], b"hi");
        backend.write_all(b"ok").await.unwrap();
        client.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(&buf[..2], b"ok");
        // Quiet: the server says goodbye and hangs up; the client learns it on its next write.
        relay.quiet();
        backend.write_all(b"bye").await.unwrap();
        drop(backend);
        client.write_all(b"q").await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"bye");
    }
}
