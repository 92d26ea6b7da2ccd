//! TLS for PostgreSQL connections, with libpq's meaning of `sslmode` and `sslrootcert`.
//!
//! tokio-postgres understands only `sslmode=disable|prefer|require` and rejects `verify-ca`,
//! `verify-full` and `sslrootcert`, so txlab takes both settings out of the connection string
//! (URL or `key=value` form) before tokio-postgres parses it, fills in `PGSSLMODE` and
//! `PGSSLROOTCERT` as libpq does, and builds one rustls connector from them. Certificate
//! failures are turned into one [`TlsFailure`] that names what failed.

mod failure;
mod settings;
mod verify;

pub use failure::{TlsFailure, classify, classify_io};
pub use settings::{RootCert, SslMode, TlsSettings, split_settings};

use std::str::FromStr;

use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::TxlabError;

/// The connector every PostgreSQL connection (and cancel request) of one server goes through;
/// cheap to clone (the rustls configuration is shared).
pub type PgTls = MakeRustlsConnect;

impl TlsSettings {
    /// The rustls connector these settings ask for. Reads `sslrootcert` (or the system roots)
    /// now, so a missing file is reported before the first connection.
    pub fn connector(&self) -> Result<PgTls, String> {
        use verify::Check;
        let check = match (self.mode, &self.root_cert) {
            (SslMode::Disable, _) | (SslMode::Prefer | SslMode::Require, None) => Check::Nothing,
            // libpq: with a root certificate, `prefer` and `require` check the chain too.
            (SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, _) => Check::Chain,
            (SslMode::VerifyFull, _) => Check::ChainAndName,
        };
        let roots = match (check, &self.root_cert) {
            (Check::Nothing, _) => rustls::RootCertStore::empty(),
            (_, Some(RootCert::File(path))) => verify::roots_from_file(path)?,
            (_, Some(RootCert::System) | None) => verify::system_roots()?,
        };
        verify::connector(check, roots)
    }

    /// A connector for servers reached without any TLS settings (the throwaway local cluster):
    /// `prefer` with no certificate check, which over a unix socket means no TLS at all.
    pub fn plain() -> PgTls {
        TlsSettings::default()
            .connector()
            .expect("a connector that checks nothing needs no files")
    }
}

/// A server's TLS settings with the connector built from them, kept beside its `Config`.
#[derive(Clone)]
pub struct ServerTls {
    pub settings: TlsSettings,
    pub connector: PgTls,
}

impl ServerTls {
    /// No settings given (the throwaway local cluster, reached over a unix socket).
    pub fn plain() -> ServerTls {
        ServerTls {
            settings: TlsSettings::default(),
            connector: TlsSettings::plain(),
        }
    }

    /// Parses a connection string (URL or `key=value`) with libpq's TLS settings and the
    /// `PGSSLMODE`/`PGSSLROOTCERT` environment; the `Config` asks for TLS as the mode says.
    pub fn from_conninfo(conninfo: &str) -> Result<(Config, ServerTls), TxlabError> {
        let (rest, settings) = split_settings(conninfo, |name| std::env::var(name).ok())
            .map_err(TxlabError::TlsSettings)?;
        let mut config = Config::from_str(&rest).map_err(|e| TxlabError::BadUrl(e.to_string()))?;
        config.ssl_mode(settings.mode.wire());
        let connector = settings.connector().map_err(TxlabError::TlsSettings)?;
        Ok((
            config,
            ServerTls {
                settings,
                connector,
            },
        ))
    }

    /// The error to show when a connection failed because of TLS; `None` for other failures.
    pub fn explain(&self, error: &tokio_postgres::Error, target: &str) -> Option<TxlabError> {
        classify(error, &self.settings).map(|failure| TxlabError::Tls {
            target: target.to_string(),
            failure,
        })
    }
}
