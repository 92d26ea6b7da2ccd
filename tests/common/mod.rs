//! The integration-test harness: one real PostgreSQL per test binary, started through the same
//! local-cluster code the CLI uses (or the server in `TXLAB_TEST_DATABASE_URL`), stopped when the
//! test process exits.
#![allow(dead_code)]

pub mod runs;

use std::sync::{Mutex, OnceLock};

use txlab::db::{Sandbox, Server};

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

/// The shared server for this test binary.
pub fn server() -> &'static Server {
    let cell = SERVER.get_or_init(|| {
        let url = std::env::var("TXLAB_TEST_DATABASE_URL").ok();
        let server = Server::resolve(url.as_deref()).expect(
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
    Sandbox::new()
}

/// A current-thread runtime, like the CLI's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A `postgres://` style URL for the shared server, for tests that run the binary.
pub fn database_url() -> String {
    if let Ok(url) = std::env::var("TXLAB_TEST_DATABASE_URL") {
        return url;
    }
    let server = server();
    let config = server.config();
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
