//! One way to show a connection string without its password, for every engine and every place a
//! server is described (errors, JSON `server`, the HTML footer, the Markdown handout). Handouts
//! are shared with a class: a password must not survive in any spelling — URL userinfo
//! (`user:pw@`), a query parameter (`?password=`), or a key=value conninfo (`password=pw`,
//! `password='p w'`).

/// The mask written in place of a password.
const MASK: &str = "***";

/// The connection string with every password masked; everything else is kept as written.
pub fn redact(conninfo: &str) -> String {
    if conninfo.contains("://") {
        redact_url(conninfo)
    } else {
        redact_key_values(conninfo)
    }
}

/// Whether a parameter name carries a secret: `password`, `pass`, `pwd`, `passwd`, `sslpassword`,
/// and anything else containing `password`, in any case.
fn is_password_key(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    matches!(key.as_str(), "pass" | "pwd" | "passwd") || key.contains("password")
}

/// `scheme://user:pw@host/db?password=pw&…`: the userinfo's password and every password
/// parameter are masked.
fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match (head.find("://"), head.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &head[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:{MASK}{}",
                    &head[..scheme + 3],
                    &userinfo[..colon],
                    &head[at..]
                ),
                None => head.to_string(),
            }
        }
        _ => head.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if is_password_key(&percent_decoded(key)) => {
                    format!("{key}={MASK}")
                }
                _ => param.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// A query key with `%xx` escapes decoded, so `pass%77ord` is still seen as `password`.
fn percent_decoded(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = key
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `host=/tmp user=me password='s e c' dbname=x`: libpq's key=value form. Values may be quoted
/// with single quotes (with `\'` and `\\` escapes) and spaces may surround `=`.
fn redact_key_values(conninfo: &str) -> String {
    let chars: Vec<char> = conninfo.chars().collect();
    let mut out = String::with_capacity(conninfo.len());
    let mut i = 0;
    while i < chars.len() {
        // Copy whitespace between pairs.
        if chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The key.
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        out.push_str(&key);
        // Spaces and the '='.
        while i < chars.len() && chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            continue;
        }
        out.push('=');
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
        }
        // The value: quoted or up to the next whitespace.
        let value_start = i;
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = i.min(chars.len());
        }
        if is_password_key(&key) {
            out.push_str(MASK);
        } else {
            out.extend(&chars[value_start..i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hides(conninfo: &str, secret: &str) {
        let shown = redact(conninfo);
        assert!(
            !shown.contains(secret),
            "{conninfo:?} was shown as {shown:?}"
        );
    }

    #[test]
    fn masks_the_userinfo_password() {
        assert_eq!(
            redact("postgres://txlab:secret@localhost:5432/txlab"),
            "postgres://txlab:***@localhost:5432/txlab"
        );
        assert_eq!(redact("mariadb://u:p@ss@h/x"), "mariadb://u:***@h/x");
        hides("postgresql://u:s3cret@h/db?sslmode=disable", "s3cret");
    }

    #[test]
    fn masks_query_parameters_in_any_case() {
        assert_eq!(
            redact("postgres://u@/db?host=/tmp/sock&password=s3cret"),
            "postgres://u@/db?host=/tmp/sock&password=***"
        );
        assert_eq!(
            redact("mysql://root@localhost/x?socket=/run/m.sock&password=s3&PWD=t&Pass=u"),
            "mysql://root@localhost/x?socket=/run/m.sock&password=***&PWD=***&Pass=***"
        );
        hides("mysql://a:b@h/x?db_password=zz", "zz");
        hides("postgres://u@h/db?PassWord=s3cret&x=1", "s3cret");
        hides("postgres://u@h/db?sslpassword=s3cret", "s3cret");
        hides("postgres://u@h/db?pass%77ord=s3cret", "s3cret");
    }

    #[test]
    fn masks_key_value_passwords_quoted_or_not() {
        assert_eq!(
            redact("host=/tmp user=me password=s3cret dbname=x"),
            "host=/tmp user=me password=*** dbname=x"
        );
        assert_eq!(
            redact("host=/tmp password='s3 cret' dbname=x"),
            "host=/tmp password=*** dbname=x"
        );
        hides("password = s3cret host=h", "s3cret");
        hides("PASSWORD='it\\'s s3cret' host=h", "s3cret");
        hides("host=h password=s3\\ cret", "cret");
        hides("host=h sslpassword=s3cret", "s3cret");
    }

    #[test]
    fn leaves_strings_without_passwords_alone() {
        for plain in [
            "postgres://txlab@localhost/txlab",
            "host=/tmp user=me",
            "mysql://root@localhost/x",
            "",
            "password",
        ] {
            assert_eq!(redact(plain), plain);
        }
    }
}
