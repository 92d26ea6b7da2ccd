//! Why a TLS connection failed, in words a teacher can act on. tokio-postgres wraps the rustls
//! error in an `io::Error` inside its own error; this module digs it out and names the failure
//! (unknown CA, name mismatch, expired, …) together with the `sslmode`/`sslrootcert` to try.

use std::fmt;

use rustls::CertificateError;

use super::settings::{RootCert, SslMode, TlsSettings};

/// One way a TLS connection can fail; `Display` is the message, [`TlsFailure::hint`] what to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate does not chain to a trusted root.
    UnknownCa { roots: String },
    /// The certificate is valid but for other names.
    NameMismatch { host: String, names: Vec<String> },
    /// The certificate's validity ended (`until`: its last day, when known).
    Expired { until: Option<String> },
    /// The certificate is not valid yet.
    NotValidYet,
    /// Any other certificate problem rustls reports.
    BadCertificate(String),
    /// The client insists on TLS (require / verify-*) but the server runs with `ssl = off`.
    ServerHasNoTls { mode: SslMode },
    /// The server takes only TLS connections (`hostssl` in pg_hba.conf) and this one was plain.
    ServerRequiresTls { mode: SslMode },
    /// The handshake failed for another reason (protocol, cipher, connection cut).
    Handshake(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::UnknownCa { roots } => write!(
                f,
                "certificate check failed (unknown CA): the server's certificate is not signed by a CA in {roots}"
            ),
            TlsFailure::NameMismatch { host, names } => write!(
                f,
                "certificate check failed (name mismatch): the server's certificate is for {}, not {host}",
                if names.is_empty() {
                    "no host name".to_string()
                } else {
                    names.join(", ")
                }
            ),
            TlsFailure::Expired { until } => match until {
                Some(day) => write!(
                    f,
                    "certificate check failed (expired): the server's certificate expired on {day}"
                ),
                None => write!(
                    f,
                    "certificate check failed (expired): the server's certificate has expired"
                ),
            },
            TlsFailure::NotValidYet => write!(
                f,
                "certificate check failed (not yet valid): the server's certificate starts later than this machine's clock"
            ),
            TlsFailure::BadCertificate(why) => write!(f, "certificate check failed: {why}"),
            TlsFailure::ServerHasNoTls { mode } => write!(
                f,
                "the server does not offer TLS (ssl = off), and sslmode={} insists on it",
                mode.as_str()
            ),
            TlsFailure::ServerRequiresTls { mode } => write!(
                f,
                "the server accepts only TLS connections (hostssl in pg_hba.conf), and sslmode={} connected without",
                mode.as_str()
            ),
            TlsFailure::Handshake(why) => write!(f, "TLS handshake failed: {why}"),
        }
    }
}

impl TlsFailure {
    /// What to try next, naming the `sslmode` or `sslrootcert` that would help.
    pub fn hint(&self) -> String {
        match self {
            TlsFailure::UnknownCa { .. } => "pass sslrootcert=PATH of the CA certificate that signed the server's (your provider's console or the server's admin has it), or sslmode=require to encrypt without checking who the server is".into(),
            TlsFailure::NameMismatch { names, .. } if !names.is_empty() => format!(
                "connect with a host name the certificate names ({}), or use sslmode=verify-ca to check the CA but not the name",
                names.join(", ")
            ),
            TlsFailure::NameMismatch { .. } => "use sslmode=verify-ca to check the CA but not the name".into(),
            TlsFailure::Expired { .. } => "the server's certificate must be renewed; sslmode=require encrypts without checking it".into(),
            TlsFailure::NotValidYet => "check this machine's clock; sslmode=require encrypts without checking the certificate".into(),
            TlsFailure::BadCertificate(_) => "sslmode=require encrypts without checking the certificate; docs/tls.md lists the modes".into(),
            TlsFailure::ServerHasNoTls { .. } => "use sslmode=prefer (TLS when the server offers it) or sslmode=disable, or turn ssl on at the server".into(),
            TlsFailure::ServerRequiresTls { .. } => "add sslmode=require (or sslmode=verify-full&sslrootcert=CA.pem) to the URL, and check that PGSSLMODE is not set to disable".into(),
            TlsFailure::Handshake(_) => "sslmode=disable connects without TLS where the server allows it; docs/tls.md lists the modes".into(),
        }
    }
}

/// The TLS failure behind a connection error, if it was one. `settings` say where the roots
/// came from and which mode was asked for.
pub fn classify(error: &tokio_postgres::Error, settings: &TlsSettings) -> Option<TlsFailure> {
    if let Some(db) = error.as_db_error() {
        // PostgreSQL 12+: "no pg_hba.conf entry for host …, no encryption".
        return (db.code().code() == "28000" && db.message().contains("no encryption")).then_some(
            TlsFailure::ServerRequiresTls {
                mode: settings.mode,
            },
        );
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(rustls_error) = as_rustls(e) {
            return Some(from_rustls(rustls_error, settings));
        }
        if e.to_string() == "server does not support TLS" {
            return Some(TlsFailure::ServerHasNoTls {
                mode: settings.mode,
            });
        }
        source = e.source();
    }
    // A TLS-kind error without a rustls cause (e.g. a host name rustls cannot use).
    let text = error.to_string();
    text.starts_with("error performing TLS handshake").then(|| {
        let why = std::error::Error::source(error)
            .map(|s| s.to_string())
            .unwrap_or(text);
        TlsFailure::Handshake(why)
    })
}

/// The failure behind a TLS handshake txlab ran itself (the bench's connections, which speak
/// the protocol on their own socket): rustls's error inside the `io::Error`, or the error as is.
pub fn classify_io(error: &std::io::Error, settings: &TlsSettings) -> TlsFailure {
    match as_rustls(error) {
        Some(rustls_error) => from_rustls(rustls_error, settings),
        None => TlsFailure::Handshake(error.to_string()),
    }
}

/// rustls's error, directly or inside the `io::Error` tokio-rustls wraps it in (whose `source()`
/// skips the wrapped error, so it must be unwrapped by hand).
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    })
}

fn from_rustls(error: &rustls::Error, settings: &TlsSettings) -> TlsFailure {
    let rustls::Error::InvalidCertificate(cert) = error else {
        return TlsFailure::Handshake(error.to_string());
    };
    match cert {
        CertificateError::UnknownIssuer => TlsFailure::UnknownCa {
            roots: match &settings.root_cert {
                Some(RootCert::File(path)) => format!("sslrootcert {}", path.display()),
                Some(RootCert::System) | None => "the system's trusted roots".into(),
            },
        },
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => TlsFailure::NameMismatch {
            host: expected.to_str().into_owned(),
            names: presented.iter().map(|p| tidy_name(p)).collect(),
        },
        CertificateError::NotValidForName => TlsFailure::NameMismatch {
            host: "the host connected to".into(),
            names: Vec::new(),
        },
        CertificateError::ExpiredContext { not_after, .. } => TlsFailure::Expired {
            until: Some(civil_date(not_after.as_secs())),
        },
        CertificateError::Expired => TlsFailure::Expired { until: None },
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TlsFailure::NotValidYet
        }
        other => {
            TlsFailure::BadCertificate(rustls::Error::InvalidCertificate(other.clone()).to_string())
        }
    }
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

/// Seconds since 1970 as `YYYY-MM-DD` (UTC), without a date crate (Howard Hinnant's algorithm).
fn civil_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_names_read_as_people_write_them() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_767_225_599), "2025-12-31");
        assert_eq!(tidy_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(tidy_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(tidy_name("Unsupported(0x01)"), "Unsupported(0x01)");
    }

    #[test]
    fn each_failure_names_what_failed_and_a_setting_to_try() {
        let settings = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some(RootCert::File("ca.pem".into())),
        };
        let unknown = from_rustls(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &settings,
        );
        assert!(unknown.to_string().contains("unknown CA"));
        assert!(unknown.to_string().contains("sslrootcert ca.pem"));
        assert!(unknown.hint().contains("sslrootcert="));
        let mismatch = TlsFailure::NameMismatch {
            host: "127.0.0.1".into(),
            names: vec!["localhost".into()],
        };
        assert!(mismatch.to_string().contains("name mismatch"));
        assert!(mismatch.hint().contains("verify-ca"));
        let expired = from_rustls(
            &rustls::Error::InvalidCertificate(CertificateError::Expired),
            &settings,
        );
        assert!(expired.to_string().contains("(expired)"));
        assert!(
            TlsFailure::ServerRequiresTls {
                mode: SslMode::Disable
            }
            .hint()
            .contains("sslmode=require")
        );
    }
}
