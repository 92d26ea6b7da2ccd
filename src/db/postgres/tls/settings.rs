//! Reading `sslmode` and `sslrootcert` from a connection string and the environment, the way
//! libpq does, and handing tokio-postgres the rest of the string untouched.

use std::path::PathBuf;

/// libpq's `sslmode`, all five values (tokio-postgres knows three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, plain otherwise; libpq's default.
    #[default]
    Prefer,
    /// TLS or nothing; the certificate is not checked (unless a root certificate is given).
    Require,
    /// TLS, and the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS, a trusted chain, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling.
    pub fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq also accepts `allow` (plain first, TLS if refused); txlab tries TLS first.
            "allow" => SslMode::Prefer,
            _ => return None,
        })
    }

    /// libpq's spelling, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether to ask for TLS and whether to insist. The verify
    /// modes insist; what they check is up to the connector.
    pub fn wire(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Wire;
        match self {
            SslMode::Disable => Wire::Disable,
            SslMode::Prefer => Wire::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Wire::Require,
        }
    }
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file (`sslrootcert=ca.pem`).
    File(PathBuf),
    /// The operating system's store (`sslrootcert=system`, as libpq 16).
    System,
}

/// The TLS part of a connection string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `None`: the system roots, for the verify modes.
    pub root_cert: Option<RootCert>,
}

/// Takes `sslmode` and `sslrootcert` out of a connection string (URL or `key=value`), fills
/// them in from `env` (`PGSSLMODE`, `PGSSLROOTCERT`) when absent, and returns the string for
/// tokio-postgres with both removed. `env` is a parameter so tests need not touch the process.
pub fn split_settings(
    conninfo: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, TlsSettings), String> {
    let (rest, found) = if conninfo.contains("://") {
        strip_url(conninfo)
    } else {
        strip_key_values(conninfo)
    };
    let mode_text = found
        .mode
        .or_else(|| env("PGSSLMODE").filter(|v| !v.is_empty()));
    let root_text = found
        .root_cert
        .or_else(|| env("PGSSLROOTCERT").filter(|v| !v.is_empty()));
    let root_cert = root_text.map(|r| match r.as_str() {
        "system" => RootCert::System,
        _ => RootCert::File(PathBuf::from(r)),
    });
    let mode = match mode_text {
        Some(text) => SslMode::parse(&text).ok_or_else(|| {
            format!(
                "invalid sslmode '{text}' (one of disable, prefer, require, verify-ca, verify-full)"
            )
        })?,
        // libpq 16: `sslrootcert=system` alone means verify-full.
        None if root_cert == Some(RootCert::System) => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if root_cert == Some(RootCert::System) && !matches!(mode, SslMode::VerifyFull) {
        return Err(format!(
            "sslrootcert=system needs sslmode=verify-full (not {}): any certificate a public CA issued would pass a weaker check",
            mode.as_str()
        ));
    }
    Ok((rest, TlsSettings { mode, root_cert }))
}

/// The raw values found in the string.
#[derive(Debug, Default)]
struct Found {
    mode: Option<String>,
    root_cert: Option<String>,
}

impl Found {
    /// Keeps the value when `key` is one of ours; says whether it was.
    fn take(&mut self, key: &str, value: String) -> bool {
        match key {
            "sslmode" => self.mode = Some(value),
            "sslrootcert" => self.root_cert = Some(value),
            _ => return false,
        }
        true
    }
}

/// `postgres://…?a=1&sslmode=require&b=2` → `postgres://…?a=1&b=2`.
fn strip_url(url: &str) -> (String, Found) {
    let mut found = Found::default();
    let Some(q) = url.find('?') else {
        return (url.to_string(), found);
    };
    let (base, query) = (&url[..q], &url[q + 1..]);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|param| {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            !found.take(&percent_decode(key), percent_decode(value))
        })
        .collect();
    let rest = if kept.iter().all(|p| p.is_empty()) {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, found)
}

/// `%2F` → `/`; a malformed escape stays as written (tokio-postgres reports it later).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `host=x sslmode='verify-full' user=y` → `host=x user=y`, by libpq's quoting rules: values
/// may be single-quoted, and a backslash escapes the next character. An unparsable string is
/// left whole for tokio-postgres to report.
fn strip_key_values(conninfo: &str) -> (String, Found) {
    let mut found = Found::default();
    let mut kept = String::new();
    let chars: Vec<(usize, char)> = conninfo.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(conninfo.len(), |&(o, _)| o);
    let mut i = 0;
    loop {
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        if at(i).is_none() {
            break;
        }
        let start = i;
        while at(i).is_some_and(|c| c != '=' && !c.is_whitespace()) {
            i += 1;
        }
        let key = &conninfo[offset(start)..offset(i)];
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        if at(i) != Some('=') {
            return (conninfo.to_string(), Found::default());
        }
        i += 1;
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        let mut value = String::new();
        let quoted = at(i) == Some('\'');
        if quoted {
            i += 1;
        }
        loop {
            match at(i) {
                None if quoted => return (conninfo.to_string(), Found::default()),
                None => break,
                Some('\'') if quoted => {
                    i += 1;
                    break;
                }
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => {
                    if let Some(c) = at(i + 1) {
                        value.push(c);
                    }
                    i += 2;
                }
                Some(c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if !found.take(key, value) {
            if !kept.is_empty() {
                kept.push(' ');
            }
            kept.push_str(&conninfo[offset(start)..offset(i.min(chars.len()))]);
        }
    }
    (kept, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn url_settings_are_taken_out_and_the_rest_kept() {
        let (rest, tls) = split_settings(
            "postgres://u:p@db.example.edu:5433/class?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
            no_env,
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p@db.example.edu:5433/class?application_name=x"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(RootCert::File("/tmp/ca.pem".into())));
        let (rest, tls) = split_settings("postgresql://h/db?sslmode=require", no_env).unwrap();
        assert_eq!(rest, "postgresql://h/db");
        assert_eq!(tls.mode, SslMode::Require);
    }

    #[test]
    fn key_value_settings_are_taken_out_with_quotes_and_escapes() {
        let (rest, tls) = split_settings(
            r"host=db port = 5433 sslmode = 'verify-ca' sslrootcert='/my certs/ca\'s.pem' user=me",
            no_env,
        )
        .unwrap();
        assert_eq!(rest, "host=db port = 5433 user=me");
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(
            tls.root_cert,
            Some(RootCert::File("/my certs/ca's.pem".into()))
        );
        // Unparsable strings go to tokio-postgres whole, so its error is the one shown.
        let (rest, _) = split_settings("host='unterminated sslmode=require", no_env).unwrap();
        assert_eq!(rest, "host='unterminated sslmode=require");
    }

    #[test]
    fn environment_fills_in_what_the_string_leaves_out() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("require".to_string()),
            "PGSSLROOTCERT" => Some("ca.pem".to_string()),
            _ => None,
        };
        let (_, tls) = split_settings("postgres://h/db", env).unwrap();
        assert_eq!(tls.mode, SslMode::Require);
        assert_eq!(tls.root_cert, Some(RootCert::File("ca.pem".into())));
        // The string wins over the environment, as in libpq.
        let (_, tls) = split_settings("host=h sslmode=disable", env).unwrap();
        assert_eq!(tls.mode, SslMode::Disable);
    }

    #[test]
    fn defaults_and_bad_values() {
        let (_, tls) = split_settings("postgres://h/db", no_env).unwrap();
        assert_eq!(tls, TlsSettings::default());
        assert_eq!(tls.mode, SslMode::Prefer);
        let err = split_settings("postgres://h/db?sslmode=verify_full", no_env).unwrap_err();
        assert!(err.contains("invalid sslmode 'verify_full'"), "{err}");
        let (_, tls) = split_settings("postgres://h/db?sslrootcert=system", no_env).unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        let err = split_settings("postgres://h/db?sslrootcert=system&sslmode=require", no_env)
            .unwrap_err();
        assert!(err.contains("needs sslmode=verify-full"), "{err}");
    }

    #[test]
    fn verify_modes_insist_on_tls_on_the_wire() {
        use tokio_postgres::config::SslMode as Wire;
        assert_eq!(SslMode::VerifyFull.wire(), Wire::Require);
        assert_eq!(SslMode::VerifyCa.wire(), Wire::Require);
        assert_eq!(SslMode::Prefer.wire(), Wire::Prefer);
        assert_eq!(SslMode::Disable.wire(), Wire::Disable);
    }
}
