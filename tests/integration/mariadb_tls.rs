//! TLS to MariaDB (issue 16): a throwaway server with a certificate made here by rcgen, listening
//! on 127.0.0.1 (MariaDB clients never use TLS over a unix socket). `ssl-mode` behaves as in the
//! MySQL client, and a refused certificate is one message naming what failed, with a hint.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use txlab::db::mariadb::binaries::find_mariadb_binaries;
use txlab::db::mariadb::connect::{MariadbTarget, ResultSet};
use txlab::db::mariadb::server::LocalMariadb;
use txlab::error::TxlabError;

/// Certificates in a directory the server's OS user can read: a trusted CA, an unknown one, and
/// a server certificate for `localhost` only, signed by the trusted CA.
fn make_pki(dir: &Path) {
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), Issuer::new(params, key))
    };
    let (trusted_pem, trusted) = ca("txlab test CA");
    let (unknown_pem, _unknown) = ca("some other CA");
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &trusted).unwrap();
    fs::create_dir_all(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text) in [
        ("ca.pem", trusted_pem),
        ("other-ca.pem", unknown_pem),
        ("server.crt", cert.pem()),
        ("server.key", key.serialize_pem()),
    ] {
        fs::write(dir.join(name), text).unwrap();
        // A test key, readable by the `mysql` user the server runs as under root.
        fs::set_permissions(dir.join(name), fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// A throwaway server with TLS on a free port of 127.0.0.1, where `txlab@127.0.0.1` may log in.
async fn tls_server(pki: &Path) -> Option<(LocalMariadb, u16)> {
    let Some(binaries) = find_mariadb_binaries() else {
        eprintln!("mariadbd not found: skipping (apt-get install mariadb-server)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = |name: &str| pki.join(name).display().to_string();
    let extra = vec![
        "--skip-networking=0".to_string(),
        "--bind-address=127.0.0.1".to_string(),
        format!("--port={port}"),
        format!("--ssl-cert={}", file("server.crt")),
        format!("--ssl-key={}", file("server.key")),
        format!("--ssl-ca={}", file("ca.pem")),
    ];
    let server = LocalMariadb::start_with(binaries, &extra).expect("TLS MariaDB starts");
    let mut admin = MariadbTarget::local(&server).connect(None).await.unwrap();
    admin
        .simple("CREATE USER 'txlab'@'127.0.0.1'")
        .await
        .unwrap();
    admin
        .simple("GRANT ALL ON *.* TO 'txlab'@'127.0.0.1'")
        .await
        .unwrap();
    admin.close().await;
    Some((server, port))
}

fn pki_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("txlab-mariadb-tls-{name}-{}", std::process::id()))
}

async fn cipher(url: &str) -> Result<String, TxlabError> {
    let mut session = MariadbTarget::from_url(url)?.connect(None).await?;
    let outcome = session.run("SHOW STATUS LIKE 'Ssl_cipher'").await;
    session.close().await;
    match outcome.sets.first() {
        Some(ResultSet::Rows { rows, .. }) => Ok(rows[0][1].clone().unwrap_or_default()),
        other => panic!("no status row: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_modes_encrypt_check_and_refuse_as_the_mysql_client_does() {
    let dir = pki_dir("modes");
    make_pki(&dir);
    let Some((server, port)) = tls_server(&dir).await else {
        return;
    };
    let ca = dir.join("ca.pem").display().to_string();
    let other = dir.join("other-ca.pem").display().to_string();
    let at = |host: &str, query: &str| format!("mysql://txlab@{host}:{port}/mysql?{query}");

    // DISABLED and the default PREFERRED: plain.
    assert_eq!(
        cipher(&at("127.0.0.1", "ssl-mode=DISABLED")).await.unwrap(),
        ""
    );
    assert_eq!(cipher(&at("127.0.0.1", "")).await.unwrap(), "");
    // REQUIRED: encrypted, nothing checked (the CA is unknown to the built-in roots).
    let required = cipher(&at("127.0.0.1", "ssl-mode=REQUIRED")).await.unwrap();
    assert!(!required.is_empty(), "no cipher under REQUIRED");
    // VERIFY_CA: refused before connecting (the driver cannot skip only the name check).
    let err = MariadbTarget::from_url(&at("127.0.0.1", &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}")))
        .unwrap_err();
    assert!(
        err.to_string().contains("VERIFY_CA is not supported"),
        "{err}"
    );
    // VERIFY_IDENTITY with the right name and CA.
    let full = cipher(&at(
        "localhost",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ))
    .await;
    assert!(!full.unwrap().is_empty());

    // VERIFY_IDENTITY with the wrong host name: a name mismatch, and VERIFY_CA as the way out.
    let err = cipher(&at(
        "127.0.0.1",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, TxlabError::MariadbTls { .. }), "{err:?}");
    assert!(err.to_string().contains("name mismatch"), "{err}");
    assert!(err.to_string().contains("localhost"), "{err}");
    assert!(err.hint().contains("REQUIRED"), "{}", err.hint());

    // An unknown CA: named, with ssl-ca and REQUIRED as the ways out.
    let err = cipher(&at(
        "localhost",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={other}"),
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown CA"), "{err}");
    assert!(err.to_string().contains("other-ca.pem"), "{err}");
    assert!(err.hint().contains("ssl-ca="), "{}", err.hint());

    // A mode that does not exist is refused before connecting.
    let err = MariadbTarget::from_url(&at("localhost", "ssl-mode=SOMETIMES")).unwrap_err();
    assert!(matches!(err, TxlabError::MariadbTlsSettings(_)), "{err:?}");
    assert!(err.hint().contains("VERIFY_IDENTITY"), "{}", err.hint());

    drop(server);
    fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_against_a_server_without_tls_says_so() {
    let Some(binaries) = find_mariadb_binaries() else {
        eprintln!("mariadbd not found: skipping (apt-get install mariadb-server)");
        return;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let extra = vec![
        "--skip-networking=0".to_string(),
        "--bind-address=127.0.0.1".to_string(),
        format!("--port={port}"),
        "--skip-ssl".to_string(),
    ];
    let server = LocalMariadb::start_with(binaries, &extra).expect("MariaDB starts");
    let mut admin = MariadbTarget::local(&server).connect(None).await.unwrap();
    admin
        .simple("CREATE USER 'txlab'@'127.0.0.1'")
        .await
        .unwrap();
    admin.close().await;
    let url = format!("mysql://txlab@127.0.0.1:{port}/mysql?ssl-mode=REQUIRED");
    let err = cipher(&url).await.unwrap_err();
    assert!(matches!(err, TxlabError::MariadbTls { .. }), "{err:?}");
    assert!(err.to_string().contains("does not offer TLS"), "{err}");
    assert!(err.hint().contains("DISABLED"), "{}", err.hint());
    drop(server);
}
