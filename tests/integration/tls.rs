//! TLS against a real PostgreSQL (issue 16): a server of the test's own, on a TCP port of
//! 127.0.0.1, with certificates made here by rcgen, restarted with different settings for each
//! group of cases. Every `sslmode` behaves as in libpq, and every certificate failure is one
//! message naming what failed, with a hint.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, lchown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command as BinCommand;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use txlab::db::SessionOptions;
use txlab::db::postgres::Server;
use txlab::db::postgres::wire::{Sql, Target, Wire, WireError};
use txlab::db::tls::TlsFailure;
use txlab::engine::session::SessionHandle;
use txlab::error::TxlabError;

/// A CA and the files a test hands to the server or the client.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Two CAs (one the client will trust, one it won't), a server certificate for `localhost`
    /// only, signed by the first, and an expired one signed by the first too.
    fn make(dir: &Path) -> Pki {
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
        let leaf = |not_after: Option<(i32, u8, u8)>| {
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            if let Some((y, m, d)) = not_after {
                params.not_before = rcgen::date_time_ymd(y - 1, m, d);
                params.not_after = rcgen::date_time_ymd(y, m, d);
            }
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &trusted).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key) = leaf(None);
        let (expired_pem, expired_key) = leaf(Some((2020, 1, 1)));
        for (name, text) in [
            ("ca.pem", trusted_pem),
            ("other-ca.pem", unknown_pem),
            ("server.crt", server_pem),
            ("server.key", server_key),
            ("expired.crt", expired_pem),
            ("expired.key", expired_key),
        ] {
            fs::write(dir.join(name), text).unwrap();
        }
        for key in ["server.key", "expired.key"] {
            fs::set_permissions(dir.join(key), fs::Permissions::from_mode(0o600)).unwrap();
        }
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// The OS user the server runs as: `postgres` when the tests run as root.
fn server_ids() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail; getpwnam returns static storage or null, copied at once.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let name = std::ffi::CString::new("postgres").unwrap();
        let pw = libc::getpwnam(name.as_ptr());
        assert!(!pw.is_null(), "running as root needs a 'postgres' OS user");
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

/// A PostgreSQL cluster of this test's own, listening on 127.0.0.1 only.
struct TcpServer {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
}

impl TcpServer {
    fn init() -> TcpServer {
        let bindir = txlab::db::binaries::find_server_binaries()
            .expect("tests need the PostgreSQL server binaries")
            .bindir;
        // Tests of this module run in parallel in one process: a directory per server.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("txlab-tls-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let ids = server_ids();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = TcpServer {
            dir,
            bindir,
            port,
            ids,
            child: None,
        };
        server.hand_over(&server.dir);
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(server.data()).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Makes a file or tree ours-for-the-server (PostgreSQL insists on owning its key file).
    fn hand_over(&self, path: &Path) {
        if let Some((uid, gid)) = self.ids {
            lchown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        let ids = self.ids;
        cmd.stdin(Stdio::null()).current_dir(&self.dir);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if let Some((uid, gid)) = ids
                    && (libc::setgroups(1, [gid].as_ptr()) != 0
                        || libc::setgid(gid) != 0
                        || libc::setuid(uid) != 0)
                {
                    return Err(io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        cmd
    }

    /// Starts the server with this pg_hba.conf and these settings; returns when it is ready.
    fn start(&mut self, hba: &str, settings: &[(&str, &str)]) {
        self.stop();
        fs::write(
            self.data().join("pg_hba.conf"),
            format!("local all all trust\n{hba}\n"),
        )
        .unwrap();
        let _ = fs::remove_file(self.data().join("postmaster.pid"));
        let log = fs::File::create(self.dir.join("server.log")).unwrap();
        let mut cmd = self.command("postgres");
        cmd.arg("-D").arg(self.data()).arg("-k").arg(&self.dir);
        cmd.arg("-p").arg(self.port.to_string());
        for (name, value) in [("listen_addresses", "127.0.0.1"), ("fsync", "off")]
            .iter()
            .chain(settings)
        {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        self.child = Some(cmd.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pid_file =
                fs::read_to_string(self.data().join("postmaster.pid")).unwrap_or_default();
            if pid_file.lines().nth(7).map(str::trim) == Some("ready") {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap().is_some();
            if exited || Instant::now() > deadline {
                panic!(
                    "the test server did not start: {}",
                    fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                );
            }
            // Polling the server's own readiness flag, not ordering steps.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on the postmaster this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
            let _ = child.wait();
        }
    }

    /// A URL for this server: `host` as given, the TCP address fixed to 127.0.0.1.
    fn url(&self, host: &str, params: &str) -> String {
        url_for(self.port, host, params)
    }
}

fn url_for(port: u16, host: &str, params: &str) -> String {
    format!("postgresql://postgres@{host}:{port}/postgres?hostaddr=127.0.0.1&{params}")
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects through txlab's own path; `Ok(true)` when the session is encrypted.
fn connect(url: &str) -> Result<bool, TxlabError> {
    let server = Server::from_url(url)?;
    runtime().block_on(async {
        let connected = server
            .connect(&SessionOptions {
                application_name: "txlab-tls-test",
                ..Default::default()
            })
            .await?;
        let row = connected
            .client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )
            .await
            .map_err(|e| TxlabError::Database(e.to_string()))?;
        let ssl: bool = row.get(0);
        connected.close().await;
        Ok(ssl)
    })
}

/// Cancels a running `pg_sleep` through the session's own cancel path; the sqlstate it ended with.
fn cancel_over_tls(url: &str) -> String {
    let server = Server::from_url(url).unwrap();
    runtime().block_on(async {
        let options = SessionOptions {
            application_name: "txlab-tls-test",
            ..Default::default()
        };
        let watcher = server.connect(&options).await.unwrap();
        let mut session = SessionHandle::spawn(txlab::db::Connected::from_postgres(
            server.connect(&options).await.unwrap(),
        ));
        assert!(session.send("SELECT pg_sleep(60)"));
        // Wait until the server runs the statement, by asking it (not by sleeping).
        loop {
            let running: bool = watcher
                .client
                .query_one(
                    "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
                    &[&session.pid],
                )
                .await
                .unwrap()
                .get(0);
            if running {
                break;
            }
        }
        session.cancel().await;
        let answer = session.answer().await.unwrap();
        session.close().await;
        watcher.close().await;
        answer.error.map(|e| e.sqlstate).unwrap_or_default()
    })
}

fn failure(result: Result<bool, TxlabError>) -> (TlsFailure, String, String) {
    match result {
        Err(e @ TxlabError::Tls { .. }) => {
            let (message, hint) = (e.to_string(), e.hint());
            let TxlabError::Tls { failure, .. } = e else {
                unreachable!()
            };
            (failure, message, hint)
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

/// A fresh server (not started) and the certificates for it, readable by the server user.
fn server_with_certificates() -> (TcpServer, Pki) {
    let server = TcpServer::init();
    let certs = server.dir.join("certs");
    fs::create_dir_all(&certs).unwrap();
    let pki = Pki::make(&certs);
    for entry in fs::read_dir(&certs).unwrap() {
        server.hand_over(&entry.unwrap().path());
    }
    server.hand_over(&certs);
    (server, pki)
}

#[test]
fn sslmodes_behave_like_libpq_against_a_real_server() {
    let (mut server, pki) = server_with_certificates();
    let ca = pki.path("ca.pem");

    // 1. ssl = off: prefer (the default) connects in plain text; require is refused.
    server.start("host all all 127.0.0.1/32 trust", &[("ssl", "off")]);
    assert_eq!(
        connect(&server.url("localhost", "sslmode=prefer")).ok(),
        Some(false)
    );
    assert_eq!(
        connect(&server.url("localhost", "application_name=x")).ok(),
        Some(false)
    );
    let (f, message, hint) = failure(connect(&server.url("localhost", "sslmode=require")));
    assert_eq!(
        f,
        TlsFailure::ServerHasNoTls {
            mode: txlab::db::tls::SslMode::Require
        }
    );
    assert!(message.contains("does not offer TLS"), "{message}");
    assert!(hint.contains("sslmode=prefer"), "{hint}");

    // 2. ssl = on, TLS-only pg_hba.conf, a certificate for `localhost` signed by our CA.
    let on = [
        ("ssl", "on"),
        ("ssl_cert_file", &*pki.path("server.crt")),
        ("ssl_key_file", &*pki.path("server.key")),
    ];
    server.start("hostssl all all 127.0.0.1/32 trust", &on);
    // require: encrypted, certificate unchecked (it would not pass for 127.0.0.1).
    assert_eq!(
        connect(&server.url("127.0.0.1", "sslmode=require")).ok(),
        Some(true)
    );
    // prefer takes TLS when offered.
    assert_eq!(
        connect(&server.url("127.0.0.1", "sslmode=prefer")).ok(),
        Some(true)
    );
    // verify-full with the right CA and the right name.
    let port = server.port;
    let full = |host: &str, root: &str| {
        url_for(
            port,
            host,
            &format!("sslmode=verify-full&sslrootcert={root}"),
        )
    };
    assert_eq!(connect(&full("localhost", &ca)).ok(), Some(true));
    // verify-full, wrong name: refused, naming both names.
    let (f, message, hint) = failure(connect(&full("127.0.0.1", &ca)));
    assert_eq!(
        f,
        TlsFailure::NameMismatch {
            host: "127.0.0.1".into(),
            names: vec!["localhost".into()]
        }
    );
    assert!(
        message.contains("name mismatch") && message.contains("not 127.0.0.1"),
        "{message}"
    );
    assert!(
        hint.contains("localhost") && hint.contains("sslmode=verify-ca"),
        "{hint}"
    );
    // verify-ca: the same wrong name passes, the chain is what counts.
    let ca_only = server.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    assert_eq!(connect(&ca_only).ok(), Some(true));
    // An unknown CA is refused in every verifying mode, and by require with a root (libpq).
    let other = pki.path("other-ca.pem");
    for params in [
        format!("sslmode=verify-full&sslrootcert={other}"),
        format!("sslmode=verify-ca&sslrootcert={other}"),
        format!("sslmode=require&sslrootcert={other}"),
    ] {
        let (f, message, hint) = failure(connect(&server.url("localhost", &params)));
        assert!(matches!(f, TlsFailure::UnknownCa { .. }), "{params}: {f:?}");
        assert!(
            message.contains("unknown CA") && message.contains("other-ca.pem"),
            "{message}"
        );
        assert!(hint.contains("sslrootcert="), "{hint}");
    }
    // disable against hostssl-only: the server's refusal, with a hint naming sslmode.
    let (f, message, hint) = failure(connect(&server.url("localhost", "sslmode=disable")));
    assert_eq!(
        f,
        TlsFailure::ServerRequiresTls {
            mode: txlab::db::tls::SslMode::Disable
        }
    );
    assert!(message.contains("sslmode=disable"), "{message}");
    assert!(hint.contains("sslmode=require"), "{hint}");
    // A root certificate file that is not there is a settings error before any connection.
    let missing = connect(&full("localhost", "/nonexistent/ca.pem")).unwrap_err();
    assert!(matches!(missing, TxlabError::TlsSettings(_)), "{missing:?}");
    assert!(missing.to_string().contains("/nonexistent/ca.pem"));

    // A cancel request travels over the same verify-full TLS (NoTls would be refused).
    assert_eq!(cancel_over_tls(&full("localhost", &ca)), "57014");

    // 3. The binary end to end: a lesson whose sessions (and cancels) all go over verify-full.
    let out = BinCommand::cargo_bin("txlab")
        .unwrap()
        .args(["demo", "deadlock", "--color", "never", "--database-url"])
        .arg(full("localhost", &ca))
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("deadlock"), "{stdout}");
    // txlab bench's pool goes through the same connector (pg_hba takes nothing else).
    let out = BinCommand::cargo_bin("txlab")
        .unwrap()
        .args(["bench", "counter", "--strategy", "atomic", "--clients", "2"])
        .args(["--duration", "200ms", "--warmup", "0ms", "--format", "json"])
        .arg("--database-url")
        .arg(full("localhost", &ca))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["results"][0]["committed"].as_u64().unwrap() > 0,
        "{doc}"
    );
    // PGSSLMODE / PGSSLROOTCERT fill in what the URL leaves out; the failure is one error line
    // and one hint line.
    let out = BinCommand::cargo_bin("txlab")
        .unwrap()
        .args(["demo", "deadlock", "--color", "never", "--database-url"])
        .arg(format!(
            "postgresql://postgres@localhost:{}/postgres?hostaddr=127.0.0.1",
            server.port
        ))
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &other)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("unknown CA"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("sslrootcert"),
        "{stderr}"
    );

    // 4. An expired certificate, named as such with its last day.
    let expired = [
        ("ssl", "on"),
        ("ssl_cert_file", &*pki.path("expired.crt")),
        ("ssl_key_file", &*pki.path("expired.key")),
    ];
    server.start("hostssl all all 127.0.0.1/32 trust", &expired);
    let (f, message, hint) = failure(connect(&full("localhost", &ca)));
    assert_eq!(
        f,
        TlsFailure::Expired {
            until: Some("2020-01-01".into())
        }
    );
    assert!(
        message.contains("(expired)") && message.contains("2020-01-01"),
        "{message}"
    );
    assert!(hint.contains("sslmode=require"), "{hint}");
    // require still encrypts (no check), as libpq does.
    assert_eq!(
        connect(&server.url("localhost", "sslmode=require")).ok(),
        Some(true)
    );
}

/// Opens one bench connection (`txlab bench`'s own protocol client) and asks the server whether it
/// is encrypted; `Ok(true)` when pg_stat_ssl says so (and the client agrees).
fn bench_connect(url: &str) -> Result<bool, TxlabError> {
    const SSL: Sql = Sql::new(
        60,
        "txlab_test_ssl",
        "SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl",
        &[],
    );
    let server = Server::from_url(url)?;
    runtime().block_on(async {
        let target = Target::new(&server, "txlab-tls-test", "public");
        let mut wire = Wire::connect(&target).await.map_err(|e| match e {
            WireError::Open(e) => *e,
            e => TxlabError::Database(e.to_string()),
        })?;
        let rows = wire.query(&SSL, &[]).await.unwrap();
        let ssl = rows[0].int8(0).unwrap() == 1;
        assert_eq!(ssl, wire.is_tls(), "client and server disagree about TLS");
        Ok(ssl)
    })
}

/// `txlab bench` speaks the protocol on its own socket (src/db/postgres/wire/), so it negotiates
/// TLS itself: every sslmode must mean what it means for txlab's other connections, with the
/// same certificate checks and the same errors.
#[test]
fn bench_connections_negotiate_tls_like_every_other_connection() {
    let (mut server, pki) = server_with_certificates();
    let (ca, other) = (pki.path("ca.pem"), pki.path("other-ca.pem"));
    let on = [
        ("ssl", "on"),
        ("ssl_cert_file", &*pki.path("server.crt")),
        ("ssl_key_file", &*pki.path("server.key")),
        ("log_connections", "on"),
    ];
    // `host`: plain and TLS both accepted, so only the client decides.
    server.start("host all all 127.0.0.1/32 trust", &on);
    let port = server.port;
    let url = |params: &str| url_for(port, "localhost", params);
    assert_eq!(bench_connect(&url("sslmode=require")).ok(), Some(true));
    assert_eq!(bench_connect(&url("sslmode=prefer")).ok(), Some(true));
    assert_eq!(bench_connect(&url("sslmode=disable")).ok(), Some(false));
    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_eq!(bench_connect(&url(&full)).ok(), Some(true));
    // A root that did not sign the server's certificate: txlab's TLS error and its hint.
    for mode in ["verify-full", "verify-ca", "require"] {
        let params = format!("sslmode={mode}&sslrootcert={other}");
        let (f, message, hint) = failure(bench_connect(&url(&params)));
        assert!(matches!(f, TlsFailure::UnknownCa { .. }), "{params}: {f:?}");
        assert!(message.contains("unknown CA"), "{message}");
        assert!(hint.contains("sslrootcert="), "{hint}");
    }
    let wrong_name = server.url("127.0.0.1", &full);
    let (f, _, hint) = failure(bench_connect(&wrong_name));
    assert!(matches!(f, TlsFailure::NameMismatch { .. }), "{f:?}");
    assert!(hint.contains("verify-ca"), "{hint}");

    // The binary end to end with sslmode=require: every connection of the run, the clients'
    // included, was encrypted (the server logs each one it authorized, with its TLS).
    let out = BinCommand::cargo_bin("txlab")
        .unwrap()
        .args([
            "bench",
            "transfer",
            "--strategy",
            "atomic",
            "--clients",
            "3",
        ])
        .args([
            "--transactions",
            "60",
            "--warmup",
            "0ms",
            "--format",
            "json",
        ])
        .arg("--database-url")
        .arg(url("sslmode=require"))
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"][0]["committed"], 60, "{doc}");
    let log = fs::read_to_string(server.dir.join("server.log")).unwrap();
    let app = format!("application_name=txlab-{}", out_pid(&log));
    let bench: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection authorized") && l.contains(&app))
        .collect();
    assert!(bench.len() >= 4, "control + 3 clients expected:\n{log}");
    assert!(
        bench.iter().all(|l| l.contains("SSL enabled")),
        "a bench connection without TLS:\n{}",
        bench.join("\n")
    );

    // ssl = off: prefer goes on in plain text, require is refused as elsewhere.
    server.start("host all all 127.0.0.1/32 trust", &[("ssl", "off")]);
    assert_eq!(bench_connect(&url("sslmode=prefer")).ok(), Some(false));
    let (f, _, hint) = failure(bench_connect(&url("sslmode=require")));
    assert!(matches!(f, TlsFailure::ServerHasNoTls { .. }), "{f:?}");
    assert!(hint.contains("sslmode=prefer"), "{hint}");
}

/// The pid in the `application_name=txlab-PID` of the last bench run's connections.
fn out_pid(log: &str) -> String {
    log.lines()
        .rev()
        .filter_map(|l| l.split("application_name=txlab-").nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .find(|pid| !pid.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// What a TLS handshake adds to opening a connection (wall time and this process's CPU time per
/// connection, by sslmode). A measurement, not a check: run it alone, on an idle machine,
/// `cargo test --release --test tls -- --ignored --nocapture handshake_cost`.
#[test]
#[ignore]
fn handshake_cost() {
    let (mut server, pki) = server_with_certificates();
    let on = [
        ("ssl", "on"),
        ("ssl_cert_file", &*pki.path("server.crt")),
        ("ssl_key_file", &*pki.path("server.key")),
    ];
    server.start("host all all 127.0.0.1/32 trust", &on);
    let ca = pki.path("ca.pem");
    let rounds = 50;
    for params in [
        "sslmode=disable".to_string(),
        "sslmode=require".to_string(),
        format!("sslmode=verify-full&sslrootcert={ca}"),
    ] {
        let target = Server::from_url(&server.url("localhost", &params)).unwrap();
        let rt = runtime();
        let options = SessionOptions {
            application_name: "txlab-tls-cost",
            ..Default::default()
        };
        let (wall0, cpu0) = (Instant::now(), cpu_time());
        for _ in 0..rounds {
            rt.block_on(async { target.connect(&options).await.unwrap().close().await });
        }
        let (wall, cpu) = (wall0.elapsed(), cpu_time() - cpu0);
        println!(
            "{params:<60} {:>6.2} ms wall, {:>6.2} ms client CPU per connection",
            wall.as_secs_f64() * 1e3 / rounds as f64,
            cpu.as_secs_f64() * 1e3 / rounds as f64
        );
    }
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}
