//! A throwaway MariaDB server for users who have `mariadbd` but no running server: the cached
//! template datadir is copied onto tmpfs and `mariadbd` starts there on a unix socket only, in
//! its own process group (a terminal's Ctrl-C reaches txlab, which cleans up), as the `mysql` OS
//! user when txlab runs as root (mariadbd refuses root), and with a parent-death signal so it never
//! outlives txlab. Dropping the [`LocalMariadb`] kills it and removes its files.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::binaries::MariadbBinaries;
use super::dirs::run_parent_dir;
use super::dirs::{RUN_PREFIX, chown_tree, copy_tree, owner_pid, private_dir, process_alive};
use super::template::{INNODB_FIXED, TXLAB_USER, ensure_template, io_error};
use crate::db::local_server;
use crate::error::{Result, TxlabError};

/// How long a starting server may take before txlab gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings for a server whose data is deleted at exit: no durability, no binary log, a small
/// buffer pool, and InnoDB's lock list in `SHOW ENGINE INNODB STATUS` (the blocked probe reads
/// who holds the lock a session waits for from it).
const SERVER_SETTINGS: [&str; 11] = [
    "--skip-networking",
    "--skip-log-bin",
    "--skip-name-resolve",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-flush-method=fsync",
    "--innodb-use-native-aio=0",
    "--innodb-status-output-locks=ON",
    "--max-connections=200",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_bin",
];

pub use crate::db::local_server::ServerUser;

/// Who runs the server; an error when txlab is root and there is no `mysql` user.
pub fn server_user() -> Result<ServerUser> {
    local_server::server_user("mysql").ok_or_else(|| {
        TxlabError::LocalMariadb(
            "txlab runs as root, mariadbd refuses to, and there is no 'mysql' OS user to run it as"
                .into(),
        )
    })
}

/// How long it took to get the server going.
#[derive(Debug, Clone, Copy)]
pub struct MariadbTimings {
    /// `mariadb-install-db` (zero when the cached template was used).
    pub init: Duration,
    /// Copying the template and starting the server until it greets a client.
    pub start: Duration,
}

/// A running throwaway server.
#[derive(Debug)]
pub struct LocalMariadb {
    run_dir: PathBuf,
    pid: i32,
    keeper: Option<JoinHandle<()>>,
    pub binaries: MariadbBinaries,
    pub timings: MariadbTimings,
}

impl LocalMariadb {
    /// Starts a fresh server from the cached template, creating the template first if needed.
    pub fn start(binaries: MariadbBinaries) -> Result<LocalMariadb> {
        LocalMariadb::start_with(binaries, &[])
    }

    /// Like [`LocalMariadb::start`], with server options added after txlab's own (later ones
    /// win): the TLS tests add `--ssl-cert`/`--ssl-key` and TCP on 127.0.0.1, since MariaDB
    /// clients do not use TLS over a unix socket.
    pub fn start_with(binaries: MariadbBinaries, extra: &[String]) -> Result<LocalMariadb> {
        sweep_leftovers();
        let user = server_user()?;
        let t0 = Instant::now();
        let template = ensure_template(&binaries, user)?;
        let init = t0.elapsed();

        let t1 = Instant::now();
        let run_dir = private_dir("run");
        let data = run_dir.join("data");
        fs::create_dir_all(&run_dir).map_err(io_error("create the run directory"))?;
        let mut server = LocalMariadb {
            run_dir,
            pid: 0,
            keeper: None,
            binaries,
            timings: MariadbTimings {
                init,
                start: Duration::ZERO,
            },
        };
        copy_tree(&template, &data).map_err(io_error("copy the template datadir"))?;
        if user.switch {
            chown_tree(&server.run_dir, user.uid, user.gid)
                .map_err(io_error("hand the run directory to the mysql user"))?;
        }
        fs::set_permissions(&server.run_dir, fs::Permissions::from_mode(0o700))
            .map_err(io_error("protect the run directory"))?;

        let dir = &server.run_dir;
        let mut cmd = Command::new(&server.binaries.server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("server.log").display()))
            .arg(format!("--tmpdir={}", dir.display()))
            .args(INNODB_FIXED)
            .args(SERVER_SETTINGS)
            .args(extra);
        if let Some(plugin) = metadata_lock_plugin(&server.binaries) {
            cmd.arg(format!("--plugin-load-add={plugin}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        prepare_process(&mut cmd, user);
        let (keeper, pid) = spawn_kept(cmd)?;
        server.keeper = Some(keeper);
        server.pid = pid;
        server.wait_until_ready()?;
        server.timings.start = t1.elapsed();
        Ok(server)
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.run_dir.join("mysqld.sock")
    }

    /// The account the template created for txlab.
    pub fn user(&self) -> &'static str {
        TXLAB_USER
    }

    /// A URL for this server, as a user would pass it with `--database-url`.
    pub fn url(&self) -> String {
        format!(
            "mysql://{TXLAB_USER}@localhost/mysql?socket={}",
            self.socket().display()
        )
    }

    /// The server's process id (for measuring its memory).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits until the server greets a client on its socket: the greeting packet is sent only once
    /// the server accepts sessions. Polls a starting server; bounded by [`READY_TIMEOUT`].
    fn wait_until_ready(&mut self) -> Result<()> {
        let socket = self.socket();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if greets(&socket) {
                return Ok(());
            }
            if self.keeper.as_ref().is_some_and(JoinHandle::is_finished)
                || Instant::now() > deadline
            {
                let log = fs::read_to_string(self.run_dir.join("server.log")).unwrap_or_default();
                let why = log
                    .lines()
                    .rev()
                    .find(|l| l.contains("ERROR"))
                    .or_else(|| log.lines().rev().find(|l| !l.trim().is_empty()))
                    .unwrap_or("no output");
                return Err(TxlabError::LocalMariadb(format!(
                    "the server did not start: {why}"
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Kills the server (its data is thrown away, so no orderly shutdown) and removes its files.
    pub fn stop(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            // SAFETY: kill(2) on the server we started.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = keeper.join();
        }
        let _ = fs::remove_dir_all(&self.run_dir);
        crate::leftovers::cluster_stopped(&self.run_dir);
    }
}

impl Drop for LocalMariadb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a server answers on the socket with its handshake (protocol version 10).
fn greets(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && head[4] == 10
}

/// The `metadata_lock_info` plugin when the server has it: it names who holds a metadata or
/// `GET_LOCK` lock a session waits for.
fn metadata_lock_plugin(binaries: &MariadbBinaries) -> Option<&'static str> {
    let candidates = [
        "/usr/lib/mysql/plugin",
        "/usr/lib64/mysql/plugin",
        "/usr/local/mysql/lib/plugin",
    ];
    let here = binaries.server.parent()?.parent()?.join("lib/plugin");
    candidates
        .iter()
        .map(PathBuf::from)
        .chain([here])
        .any(|d| d.join("metadata_lock_info.so").is_file())
        .then_some("metadata_lock_info")
}

/// Own process group, the server user, and a parent-death signal: SIGKILL (mariadbd has no
/// gentler immediate stop that keeps nothing) when the spawning thread dies.
pub fn prepare_process(cmd: &mut Command, user: ServerUser) {
    local_server::prepare_process(cmd, user, libc::SIGKILL);
}

/// Spawns from a thread that lives exactly as long as the server (see
/// [`local_server::spawn_kept`]).
fn spawn_kept(cmd: Command) -> Result<(JoinHandle<()>, i32)> {
    local_server::spawn_kept(cmd, "txlab-mariadbd")
        .map_err(|e| TxlabError::LocalMariadb(format!("could not run mariadbd: {e}")))
}

/// Removes what killed txlab runs left: their run and init directories, and a server still
/// running in one (a parent-death signal cannot fire if the machine's txlab was SIGKILLed while
/// the keeper thread was being created).
pub fn sweep_leftovers() {
    let mut parents = vec![run_parent_dir(), std::env::temp_dir()];
    parents.dedup();
    let entries = parents
        .iter()
        .filter_map(|p| fs::read_dir(p).ok())
        .flatten();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(RUN_PREFIX) {
            continue;
        }
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        if let Ok(text) = fs::read_to_string(entry.path().join("mysqld.pid"))
            && let Ok(server) = text.trim().parse::<i32>()
            && is_mariadbd(server)
        {
            // SAFETY: kill(2) on an orphaned server of ours.
            unsafe { libc::kill(server, libc::SIGKILL) };
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}

/// Whether `pid` is a MariaDB server (a recycled pid must not be killed).
fn is_mariadbd(pid: i32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            (c.contains("mariadbd") || c.contains("mysqld")) && c.contains(RUN_PREFIX)
        })
        .unwrap_or(false)
}
