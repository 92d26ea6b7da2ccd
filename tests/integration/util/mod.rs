//! The integration-test harness: one real PostgreSQL for the whole test binary, started through the
//! same local-cluster code the CLI uses (or the server in `TXLAB_TEST_DATABASE_URL`) and stopped
//! when the test process exits; the one way to run the `txlab` binary against it; paths to the
//! fixtures.

pub mod normalise;
pub mod runs;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use assert_cmd::cargo::CommandCargoExt;
use txlab::db::{Sandbox, Server};
use txlab::model::Engine;

static SERVER: OnceLock<Mutex<Option<&'static Server>>> = OnceLock::new();

extern "C" fn stop_server_at_exit() {
    if let Some(cell) = SERVER.get()
        && let Ok(mut guard) = cell.lock()
        && let Some(server) = guard.take()
    {
        // SAFETY: the pointer was leaked from a Box in `server()` and is taken exactly once here,
        // when no test runs any more.
        unsafe { drop(Box::from_raw(server as *const Server as *mut Server)) };
    }
}

/// The server every test of this binary shares; started by the first test that asks.
pub fn server() -> &'static Server {
    let cell = SERVER.get_or_init(|| {
        let url = std::env::var("TXLAB_TEST_DATABASE_URL").ok();
        let server = Server::resolve(url.as_deref(), Engine::Postgres).expect(
            "tests need PostgreSQL: install the server binaries or set TXLAB_TEST_DATABASE_URL",
        );
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_server_at_exit) };
        Mutex::new(Some(Box::leak(Box::new(server))))
    });
    cell.lock().unwrap().expect("server already stopped")
}

/// A fresh sandbox (schema registry) for one test.
pub fn sandbox() -> Sandbox {
    Sandbox::for_server(server())
}

/// The shared server's PostgreSQL side, for tests that reach past the seam (raw clients, bench).
pub fn pg() -> &'static txlab::db::postgres::Server {
    server()
        .postgres()
        .expect("the shared test server is PostgreSQL")
}

/// A fresh PostgreSQL sandbox, for PostgreSQL-only tools (bench).
pub fn pg_sandbox() -> txlab::db::postgres::Sandbox {
    txlab::db::postgres::Sandbox::new()
}

/// A current-thread runtime, like the CLI's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A connection string for the shared server, for tests that run the binary.
pub fn database_url() -> String {
    if let Ok(url) = std::env::var("TXLAB_TEST_DATABASE_URL") {
        return url;
    }
    let config = pg().config();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
    };
    format!(
        "host={host} port={} user={} dbname={}",
        config.get_ports().first().copied().unwrap_or(5432),
        config.get_user().unwrap_or("postgres"),
        config.get_dbname().unwrap_or("postgres")
    )
}

/// A file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `txlab` binary, pointed at the shared server (`DATABASE_URL`), in an environment that
/// does not depend on the developer's shell: no `NO_COLOR` (output is piped, so colour is off
/// unless a test forces it; tests of `NO_COLOR` set it themselves), no progress bars (`CI`),
/// 100 columns, isolationtester's default step timeout. A test that wants the CLI to start its
/// own throwaway cluster removes `DATABASE_URL`; a `--database-url` flag wins over it.
pub fn txlab() -> Command {
    let mut cmd = Command::cargo_bin("txlab").unwrap();
    cmd.env("DATABASE_URL", database_url())
        .env_remove("NO_COLOR")
        .env_remove("PGISOLATIONTIMEOUT")
        .env("CI", "true")
        .env("COLUMNS", "100");
    cmd
}

/// The `txlab` binary with no server given: it starts (and removes) a throwaway cluster of its own.
pub fn offline() -> Command {
    let mut cmd = txlab();
    cmd.env_remove("DATABASE_URL");
    cmd
}

/// Says that the running test skipped a check and why, where `cargo test` shows it: written to
/// stderr directly, past the test harness's capture (which hides what passing tests print).
pub fn skipped(why: std::fmt::Arguments) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED in {test}: {why}");
}

/// What a finished `txlab` printed, as text.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the command to the end; its exit code (-1 when killed by a signal), stdout and stderr.
pub fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the command with `input` on stdin (a pipe, not a terminal).
pub fn output_with_input(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
