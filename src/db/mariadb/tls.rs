//! TLS to MariaDB (issue 16): the MySQL client's `ssl-mode` / `ssl-ca` URL parameters, mapped
//! onto mysql_async's rustls support (ring provider, like PostgreSQL's TLS), and TLS failures
//! named in words a teacher can act on.

use std::path::PathBuf;

use mysql_async::{DriverError, SslOpts};
use rustls::CertificateError;

use crate::error::TxlabError;

/// The MySQL client's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disabled,
    /// The default: txlab connects without TLS (it does not try TLS opportunistically).
    #[default]
    Preferred,
    /// TLS, without checking the certificate.
    Required,
    /// TLS, the certificate must chain to a trusted CA; the host name is not checked. Refused
    /// for now by [`split_tls`]: the driver cannot skip only the name check.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyIdentity,
}

impl SslMode {
    /// Parses a mode, case-insensitively, with `-` or `_`.
    pub fn parse(value: &str) -> Option<SslMode> {
        match value.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => Some(SslMode::Disabled),
            "PREFERRED" => Some(SslMode::Preferred),
            "REQUIRED" => Some(SslMode::Required),
            "VERIFY_CA" => Some(SslMode::VerifyCa),
            "VERIFY_IDENTITY" => Some(SslMode::VerifyIdentity),
            _ => None,
        }
    }

    /// The mode as the MySQL client spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// The TLS settings of a MariaDB URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MariadbTls {
    pub mode: SslMode,
    /// `ssl-ca=PATH`: the CA certificates (PEM) to trust instead of the built-in roots.
    pub ca: Option<PathBuf>,
}

/// Takes `ssl-mode` and `ssl-ca` (or `ssl_mode` / `ssl_ca`) out of a URL's query, returning the
/// URL mysql_async can parse and the settings.
pub fn split_tls(url: &str) -> Result<(String, MariadbTls), TxlabError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), MariadbTls::default()));
    };
    let mut tls = MariadbTls::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key.to_ascii_lowercase().replace('_', "-").as_str() {
            "ssl-mode" => {
                tls.mode = SslMode::parse(value).ok_or_else(|| {
                    TxlabError::MariadbTlsSettings(format!("ssl-mode={value} is not a mode"))
                })?
            }
            "ssl-ca" if !value.is_empty() => tls.ca = Some(PathBuf::from(value)),
            "ssl-ca" => {
                return Err(TxlabError::MariadbTlsSettings(
                    "ssl-ca= names no file".into(),
                ));
            }
            _ => kept.push(pair),
        }
    }
    if tls.mode == SslMode::VerifyCa {
        // mysql_async 0.37's "skip the name check" matches rustls's old error text only, so a
        // name mismatch is still refused: better to say so than to pretend.
        return Err(TxlabError::MariadbTlsSettings(
            "ssl-mode=VERIFY_CA is not supported on MariaDB yet (the driver cannot skip only the host name check): use VERIFY_IDENTITY with a host name the certificate names, or REQUIRED".into(),
        ));
    }
    if let Some(ca) = &tls.ca
        && !ca.is_file()
    {
        return Err(TxlabError::MariadbTlsSettings(format!(
            "ssl-ca={}: no such file",
            ca.display()
        )));
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, tls))
}

impl MariadbTls {
    /// mysql_async's TLS options for this mode; `None` means a plain connection.
    pub fn ssl_opts(&self) -> Option<SslOpts> {
        let mut opts = SslOpts::default();
        if let Some(ca) = &self.ca {
            opts = opts
                .with_root_certs(vec![ca.clone().into()])
                .with_disable_built_in_roots(true);
        }
        match self.mode {
            SslMode::Disabled | SslMode::Preferred => None,
            SslMode::Required => Some(
                opts.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            SslMode::VerifyCa => Some(opts.with_danger_skip_domain_validation(true)),
            SslMode::VerifyIdentity => Some(opts),
        }
    }

    /// Where trusted roots come from, for messages.
    fn roots(&self) -> String {
        match &self.ca {
            Some(ca) => format!("ssl-ca {}", ca.display()),
            None => "the built-in roots (Mozilla's list)".into(),
        }
    }

    /// The TLS failure behind a connection error, as one message and a hint; `None` when the
    /// error was not about TLS.
    pub fn explain(&self, error: &mysql_async::Error, target: &str) -> Option<TxlabError> {
        let (failure, hint) = self.classify(error)?;
        Some(TxlabError::MariadbTls {
            target: target.to_string(),
            failure,
            hint,
        })
    }

    fn classify(&self, error: &mysql_async::Error) -> Option<(String, String)> {
        if let mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) = error {
            return Some((
                format!(
                    "the server does not offer TLS (no ssl-cert/ssl-key), and ssl-mode={} insists on it",
                    self.mode.as_str()
                ),
                "use ssl-mode=DISABLED or PREFERRED, or give the server --ssl-cert and --ssl-key"
                    .into(),
            ));
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(rustls_error) = as_rustls(e) {
                return Some(self.describe_rustls(rustls_error));
            }
            source = e.source();
        }
        None
    }

    fn describe_rustls(&self, error: &rustls::Error) -> (String, String) {
        let rustls::Error::InvalidCertificate(cert) = error else {
            return (
                format!("TLS handshake failed: {error}"),
                "ssl-mode=DISABLED connects without TLS where the server allows it; docs/tls.md lists the modes".into(),
            );
        };
        match cert {
            CertificateError::UnknownIssuer => (
                format!(
                    "certificate check failed (unknown CA): the server's certificate is not signed by a CA in {}",
                    self.roots()
                ),
                "pass ssl-ca=PATH of the CA certificate that signed the server's, or ssl-mode=REQUIRED to encrypt without checking who the server is".into(),
            ),
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => (
                format!(
                    "certificate check failed (name mismatch): the server's certificate is for {}, not {}",
                    presented.iter().map(|p| tidy_name(p)).collect::<Vec<_>>().join(", "),
                    expected.to_str()
                ),
                "connect with a host name the certificate names, or use ssl-mode=REQUIRED to encrypt without checking the certificate".into(),
            ),
            CertificateError::NotValidForName => (
                "certificate check failed (name mismatch): the server's certificate is for another host name".into(),
                "connect with a host name the certificate names, or use ssl-mode=REQUIRED to encrypt without checking the certificate".into(),
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                "certificate check failed (expired): the server's certificate has expired".into(),
                "the server's certificate must be renewed; ssl-mode=REQUIRED encrypts without checking it".into(),
            ),
            other => (
                format!(
                    "certificate check failed: {}",
                    rustls::Error::InvalidCertificate(other.clone())
                ),
                "ssl-mode=REQUIRED encrypts without checking the certificate; docs/tls.md lists the modes".into(),
            ),
        }
    }
}

/// rustls's error, directly or inside the `io::Error` tokio-rustls wraps it in.
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    })
}

/// webpki reports names as `DnsName("localhost")` / `IpAddress(127.0.0.1)`; keep the name.
fn tidy_name(presented: &str) -> String {
    for (prefix, suffix) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(name) = presented
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
        {
            return name.to_string();
        }
    }
    presented.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tls_parameters_and_keeps_the_rest() {
        let (url, tls) =
            split_tls("mysql://u@h/db?socket=/s&ssl-mode=verify_identity&pool_min=1").unwrap();
        assert_eq!(url, "mysql://u@h/db?socket=/s&pool_min=1");
        assert_eq!(tls.mode, SslMode::VerifyIdentity);
        let (url, tls) = split_tls("mysql://u@h/db?SSL_MODE=REQUIRED").unwrap();
        assert_eq!(url, "mysql://u@h/db");
        assert_eq!(tls.mode, SslMode::Required);
        assert!(tls.ssl_opts().is_some());
        let (_, tls) = split_tls("mysql://u@h/db").unwrap();
        assert_eq!(tls.mode, SslMode::Preferred);
        assert!(tls.ssl_opts().is_none());
    }

    #[test]
    fn rejects_unknown_modes_and_missing_ca_files() {
        assert!(split_tls("mysql://u@h/db?ssl-mode=sometimes").is_err());
        assert!(split_tls("mysql://u@h/db?ssl-ca=/no/such/ca.pem").is_err());
    }
}
