//! Opening a bench connection: the socket, TLS as the server's `sslmode` asks (the same rustls
//! connector and certificate checks as every other txlab connection), then the startup and
//! authentication, which tokio-postgres runs on the stream before handing it back.
//!
//! The TLS negotiation is done here rather than by tokio-postgres because its client keeps the
//! stream it encrypted: asked to connect with TLS, it would own the socket. So, as libpq does:
//! `SSLRequest`; on `S` the rustls handshake; then `connect_raw` on the encrypted stream with a
//! copy of the settings that asks for no further TLS; on `N`, plain text on the same socket
//! unless the mode insists on TLS. `sslmode=disable` sends no `SSLRequest`.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, NoTls};

use super::WireError;
use super::socket::Stream;
use super::timer;
use crate::db::postgres::Server;
use crate::db::postgres::tls::{ServerTls, TlsFailure, classify_io};
use crate::error::TxlabError;

/// Where bench connections go and how: the server's settings with the run's application name,
/// schema and statement timeout, its TLS settings and connector, and its name for errors.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: ServerTls,
    description: String,
}

impl Target {
    /// Connections to `server` that work in `schema` under `application_name`.
    pub fn new(server: &Server, application_name: &str, schema: &str) -> Target {
        let mut config = server.config().clone();
        config.application_name(application_name);
        config.connect_timeout(Duration::from_secs(10));
        config.options(format!("-c search_path={schema} -c statement_timeout=60s"));
        Target {
            config,
            tls: server.server_tls().clone(),
            description: server.description.clone(),
        }
    }

    /// Refusals txlab explains (TLS, login) become [`WireError::Open`]; others keep their
    /// SQLSTATE (too many connections: 53300, for the bench's hint).
    fn startup_error(&self, e: tokio_postgres::Error) -> WireError {
        if let Some(tls) = self.tls.explain(&e, &self.description) {
            return WireError::Open(Box::new(tls));
        }
        match e.as_db_error() {
            Some(db) if db.code().code().starts_with("28") || db.code().code() == "3D000" => {
                WireError::Open(Box::new(TxlabError::LoginRefused {
                    target: self.description.clone(),
                    reason: db.message().to_owned(),
                }))
            }
            Some(db) => WireError::Db {
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
            },
            None => WireError::Connection(e.to_string()),
        }
    }

    fn tls_error(&self, failure: TlsFailure) -> WireError {
        WireError::Open(Box::new(TxlabError::Tls {
            target: self.description.clone(),
            failure,
        }))
    }
}

/// Connects to the first of the target's hosts that answers, as tokio-postgres would (`host`,
/// `hostaddr`, one port or one per host).
pub(super) async fn open(target: &Target) -> Result<Stream, WireError> {
    let config = &target.config;
    let timeout = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(Duration::from_secs(10));
    let (hosts, addrs, ports) = (
        config.get_hosts(),
        config.get_hostaddrs(),
        config.get_ports(),
    );
    let mut last = WireError::Connection("no host to connect to".into());
    for i in 0..hosts.len().max(addrs.len()) {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        // The host's name checks the certificate; `hostaddr`, when given, is where to connect.
        let name = match hosts.get(i) {
            Some(Host::Tcp(name)) => Some(name.as_str()),
            _ => None,
        };
        let host = match (addrs.get(i), hosts.get(i)) {
            (Some(addr), _) => Host::Tcp(addr.to_string()),
            (None, Some(host)) => host.clone(),
            (None, None) => break,
        };
        // On a client thread, whose runtime has no timer, the timeout runs on the command's.
        match timer::timeout(timeout, open_host(target, &host, name, port)).await {
            Some(Ok(stream)) => return Ok(stream),
            Some(Err(e @ WireError::Open(_))) => return Err(e),
            Some(Err(e)) => last = e,
            None => last = WireError::Connection(format!("timed out after {timeout:?}")),
        }
    }
    Err(last)
}

async fn open_host(
    target: &Target,
    host: &Host,
    name: Option<&str>,
    port: u16,
) -> Result<Stream, WireError> {
    match host {
        Host::Unix(dir) => {
            let path = dir.join(format!(".s.PGSQL.{port}"));
            let mut socket = UnixStream::connect(path).await.map_err(WireError::io)?;
            // The server never offers TLS on a unix socket; `require` fails as elsewhere.
            if negotiate(target, &mut socket).await? {
                return Err(target.tls_error(TlsFailure::Handshake(
                    "no hostname provided for TLS handshake".into(),
                )));
            }
            startup(target, &mut socket).await?;
            Stream::unix(socket).map_err(WireError::io)
        }
        Host::Tcp(addr) => {
            let mut socket = TcpStream::connect((addr.as_str(), port))
                .await
                .map_err(WireError::io)?;
            socket.set_nodelay(true).map_err(WireError::io)?;
            if !negotiate(target, &mut socket).await? {
                startup(target, &mut socket).await?;
                return Stream::tcp(socket).map_err(WireError::io);
            }
            let Some(name) = name else {
                return Err(target.tls_error(TlsFailure::Handshake(
                    "no hostname provided for TLS handshake".into(),
                )));
            };
            let mut connector = target.tls.connector.clone();
            let Ok(connect) =
                <_ as MakeTlsConnect<TcpStream>>::make_tls_connect(&mut connector, name);
            let mut tls = connect
                .connect(socket)
                .await
                .map_err(|e| target.tls_error(classify_io(&e, &target.tls.settings)))?;
            startup(target, &mut tls).await?;
            Ok(Stream::Tls(Box::new(tls)))
        }
    }
}

/// Sends `SSLRequest` when the mode allows TLS; true when the server agreed to it. `N` to a mode
/// that insists is txlab's "the server does not offer TLS" error.
async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    target: &Target,
    socket: &mut S,
) -> Result<bool, WireError> {
    if target.config.get_ssl_mode() == SslMode::Disable {
        return Ok(false);
    }
    let mut request = bytes::BytesMut::new();
    postgres_protocol::message::frontend::ssl_request(&mut request);
    socket.write_all(&request).await.map_err(WireError::io)?;
    let mut answer = [0];
    socket
        .read_exact(&mut answer)
        .await
        .map_err(WireError::io)?;
    match (answer[0], target.config.get_ssl_mode()) {
        (b'S', _) => Ok(true),
        (_, SslMode::Require) => Err(target.tls_error(TlsFailure::ServerHasNoTls {
            mode: target.tls.settings.mode,
        })),
        _ => Ok(false),
    }
}

/// The startup and authentication, by tokio-postgres on the (possibly encrypted) stream; its
/// client and connection are dropped unpolled: nothing more is sent or read through them, and
/// the server has nothing more to say before the first request.
async fn startup<S: AsyncRead + AsyncWrite + Unpin>(
    target: &Target,
    stream: &mut S,
) -> Result<(), WireError> {
    let mut config = target.config.clone();
    config.ssl_mode(SslMode::Disable);
    let connected = config.connect_raw(stream, NoTls).await;
    drop(connected.map_err(|e| target.startup_error(e))?);
    Ok(())
}
