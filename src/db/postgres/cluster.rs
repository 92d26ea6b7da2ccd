//! A throwaway PostgreSQL cluster for users who have the server programs but no running server.
//!
//! `initdb` runs once into a cache directory (the *template*); every run copies the template into a
//! private temporary directory and starts `postgres` there on a unix socket only. The server runs
//! in its own process group (so a terminal Ctrl-C reaches txlab first, which then cleans up), under
//! the `postgres` OS user when txlab runs as root (PostgreSQL refuses root), and with a parent-death
//! signal so that it never outlives txlab, even when txlab is killed.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::binaries::ServerBinaries;
use super::cluster_dirs::{
    ServerUser, cache_dir, chown_tree, copy_tree, private_dir, server_user, sweep_leftovers,
};
use crate::db::local_server;
pub use crate::db::local_server::run_parent_dir;
use crate::error::{Result, TxlabError};

/// Settings every throwaway cluster gets: durability is pointless for data deleted at exit, and
/// `max_prepared_transactions = 2` is what PostgreSQL's own isolation suite expects.
const SERVER_SETTINGS: &str = "
# --- txlab: a throwaway cluster ---
listen_addresses = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_prepared_transactions = 2
max_connections = 200
shared_buffers = 32MB
logging_collector = off
";

/// How long it took to get the cluster going, for `txlab` to report and the benchmarks to record.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct StartTimings {
    /// Time spent in initdb (zero when the cached template was used).
    pub initdb: Duration,
    /// Copying the template and starting the server until it accepts connections.
    pub start: Duration,
}

/// A running throwaway cluster. Dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct LocalCluster {
    run_dir: PathBuf,
    postmaster_pid: i32,
    keeper: Option<JoinHandle<()>>,
    pub binaries: ServerBinaries,
    pub timings: StartTimings,
}

impl LocalCluster {
    /// Starts a fresh cluster from the cached template, creating the template first if needed.
    pub fn start(binaries: ServerBinaries) -> Result<LocalCluster> {
        sweep_leftovers();
        let user = server_user()?;
        let t0 = Instant::now();
        let template = ensure_template(&binaries, user)?;
        let initdb = t0.elapsed();

        let t1 = Instant::now();
        let run_dir = private_dir("run");
        let data = run_dir.join("data");
        fs::create_dir_all(&run_dir).map_err(cluster_io("create the run directory"))?;
        copy_tree(&template, &data).map_err(cluster_io("copy the template cluster"))?;
        if user.switch {
            chown_tree(&run_dir, user.uid, user.gid)
                .map_err(cluster_io("hand the run directory to the postgres user"))?;
        }
        fs::set_permissions(&run_dir, fs::Permissions::from_mode(0o700))
            .map_err(cluster_io("protect the run directory"))?;

        let log = fs::File::create(run_dir.join("server.log"))
            .map_err(cluster_io("create the server log"))?;
        let mut cmd = Command::new(binaries.program("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&run_dir)
            .arg("-c")
            .arg("listen_addresses=");
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().map_err(cluster_io("open the log"))?)
            .stderr(log);
        prepare_server_process(&mut cmd, user);

        let (keeper, postmaster_pid) = spawn_kept(cmd)?;
        let mut cluster = LocalCluster {
            run_dir,
            postmaster_pid,
            keeper: Some(keeper),
            binaries,
            timings: StartTimings {
                initdb,
                start: Duration::ZERO,
            },
        };
        cluster.wait_until_ready()?;
        cluster.timings.start = t1.elapsed();
        Ok(cluster)
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The cluster's data directory (tests edit pg_hba.conf there).
    pub fn data_dir(&self) -> PathBuf {
        self.run_dir.join("data")
    }

    /// The port the socket file is named after (the server default).
    pub fn port(&self) -> u16 {
        5432
    }

    /// The superuser initdb created.
    pub fn superuser(&self) -> &'static str {
        "postgres"
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let pid_file = self.run_dir.join("data/postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = fs::read_to_string(&pid_file)
                && text.lines().nth(7).map(str::trim) == Some("ready")
            {
                return Ok(());
            }
            if self.keeper.as_ref().is_some_and(|k| k.is_finished()) || Instant::now() > deadline {
                let log = fs::read_to_string(self.run_dir.join("server.log")).unwrap_or_default();
                let last = log
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output")
                    .to_string();
                return Err(TxlabError::LocalCluster(format!(
                    "the server did not start: {last}"
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the server (immediate shutdown: the data is thrown away) and removes its files.
    pub fn stop(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            // SAFETY: plain kill(2) on the postmaster we started.
            unsafe { libc::kill(self.postmaster_pid, libc::SIGQUIT) };
            let _ = keeper.join();
        }
        let _ = fs::remove_dir_all(&self.run_dir);
        crate::leftovers::cluster_stopped(&self.run_dir);
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn cluster_io(what: &'static str) -> impl Fn(io::Error) -> TxlabError {
    move |e| TxlabError::LocalCluster(format!("could not {what}: {e}"))
}

/// Own process group, the server user, and a parent-death signal: SIGQUIT, PostgreSQL's
/// immediate shutdown, when the spawning thread dies.
fn prepare_server_process(cmd: &mut Command, user: ServerUser) {
    local_server::prepare_process(cmd, user, libc::SIGQUIT);
}

/// Spawns the postmaster from a thread that lives exactly as long as it (see
/// [`local_server::spawn_kept`]).
fn spawn_kept(cmd: Command) -> Result<(JoinHandle<()>, i32)> {
    local_server::spawn_kept(cmd, "txlab-postmaster")
        .map_err(|e| TxlabError::LocalCluster(format!("could not run postgres: {e}")))
}

/// Returns the template directory, running initdb once if it is missing. Concurrent first runs
/// each build one and the first rename wins, so no lock file is needed.
fn ensure_template(binaries: &ServerBinaries, user: ServerUser) -> Result<PathBuf> {
    let template = cache_dir().join(format!("pg-{}-template", binaries.major));
    if template.join("txlab-template-ok").is_file() {
        return Ok(template);
    }
    let work = private_dir("initdb");
    let data = work.join("data");
    fs::create_dir_all(&work).map_err(cluster_io("create a directory for initdb"))?;
    if user.switch {
        chown_tree(&work, user.uid, user.gid)
            .map_err(cluster_io("hand the initdb directory to the postgres user"))?;
    }
    let mut cmd = Command::new(binaries.program("initdb"));
    cmd.arg("-D").arg(&data);
    cmd.args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--wal-segsize=1",
    ]);
    cmd.stdin(Stdio::null()).current_dir(&work);
    prepare_server_process(&mut cmd, user);
    let out = cmd.output().map_err(cluster_io("run initdb"))?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&work);
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(TxlabError::LocalCluster(format!("initdb failed: {last}")));
    }
    let mut conf = fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .map_err(cluster_io("configure the template"))?;
    io::Write::write_all(&mut conf, SERVER_SETTINGS.as_bytes())
        .map_err(cluster_io("configure the template"))?;
    fs::write(data.join("txlab-template-ok"), b"initdb finished\n")
        .map_err(cluster_io("mark the template"))?;

    fs::create_dir_all(cache_dir()).map_err(cluster_io("create the cache directory"))?;
    let staged = template.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staged);
    if fs::rename(&data, &staged).is_err() {
        copy_tree(&data, &staged).map_err(cluster_io("store the template"))?;
    }
    let _ = fs::remove_dir_all(&work);
    if fs::rename(&staged, &template).is_err() {
        // Another run stored its template first; use that one.
        let _ = fs::remove_dir_all(&staged);
    }
    Ok(template)
}
