//! The template datadir: `mariadb-install-db` runs once (seconds) into the cache, and every run
//! copies the result (milliseconds). The template carries a `txlab@localhost` superuser without a
//! password, reachable only through the run's private unix socket (the server never listens on TCP).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::binaries::MariadbBinaries;
use super::dirs::{cache_dir, chown_tree, copy_tree, private_dir};
use super::server::{ServerUser, prepare_process};
use crate::error::{Result, TxlabError};

/// The account txlab uses on a throwaway server.
pub const TXLAB_USER: &str = "txlab";

/// InnoDB options that must be the same at initialisation and at every start (the redo log's
/// size is fixed when the datadir is created; a different value means a resize at start).
pub const INNODB_FIXED: [&str; 2] = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M"];

/// A grant written straight into the privilege table: `mariadb-install-db` bootstraps with grant
/// tables off, so `CREATE USER`/`GRANT` are refused there, but a row is what they would write.
const CREATE_TXLAB_USER: &str = r#"INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('localhost', 'txlab', '{"access":18446744073709551615,"plugin":"mysql_native_password","authentication_string":""}');
"#;

/// The marker a finished template carries; a half-written one (killed initialiser) lacks it.
const DONE_MARKER: &str = "txlab-template-ok";

/// The cached template's path for this server version.
pub fn template_path(binaries: &MariadbBinaries) -> PathBuf {
    cache_dir().join(format!("mariadb-{}-template", binaries.version))
}

/// Returns the template datadir, initialising it first when missing. Concurrent first runs each
/// build one in a private directory and the first rename wins, so they never see a half-built
/// template and need no lock file.
pub fn ensure_template(binaries: &MariadbBinaries, user: ServerUser) -> Result<PathBuf> {
    let template = template_path(binaries);
    if template.join(DONE_MARKER).is_file() {
        return Ok(template);
    }
    let work = private_dir("init");
    let data = work.join("data");
    let result = initialise(binaries, user, &work, &data).and_then(|()| store(&data, &template));
    let _ = fs::remove_dir_all(&work);
    result.map(|()| template)
}

fn initialise(
    binaries: &MariadbBinaries,
    user: ServerUser,
    work: &Path,
    data: &Path,
) -> Result<()> {
    fs::create_dir_all(data).map_err(io_error("create a directory for mariadb-install-db"))?;
    let extra = work.join("txlab-user.sql");
    fs::write(&extra, CREATE_TXLAB_USER).map_err(io_error("write the account script"))?;
    if user.switch {
        chown_tree(work, user.uid, user.gid)
            .map_err(io_error("hand the init directory to the mysql user"))?;
    }
    let mut cmd = Command::new(&binaries.install_db);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--extra-file={}", extra.display()))
        .args([
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            "--skip-name-resolve",
        ])
        .args(INNODB_FIXED);
    if let Some(dir) = binaries.server.parent().and_then(Path::parent) {
        // Where install-db finds `share/` and the server when it is not in the default place.
        if dir != Path::new("/usr") {
            cmd.arg(format!("--basedir={}", dir.display()));
        }
    }
    cmd.stdin(Stdio::null()).current_dir(work);
    prepare_process(&mut cmd, user);
    let out = cmd.output().map_err(io_error("run mariadb-install-db"))?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let why = text
            .lines()
            .find(|l| l.contains("ERROR"))
            .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("no output");
        return Err(TxlabError::LocalMariadb(format!(
            "mariadb-install-db failed: {}",
            why.trim()
        )));
    }
    fs::write(data.join(DONE_MARKER), b"mariadb-install-db finished\n")
        .map_err(io_error("mark the template"))
}

fn store(data: &Path, template: &Path) -> Result<()> {
    fs::create_dir_all(cache_dir()).map_err(io_error("create the cache directory"))?;
    let staged = template.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staged);
    if fs::rename(data, &staged).is_err() {
        copy_tree(data, &staged).map_err(io_error("store the template"))?;
    }
    if fs::rename(&staged, template).is_err() {
        // Another run stored its template first: use that one.
        let _ = fs::remove_dir_all(&staged);
    }
    Ok(())
}

pub(super) fn io_error(what: &'static str) -> impl Fn(io::Error) -> TxlabError {
    move |e| TxlabError::LocalMariadb(format!("could not {what}: {e}"))
}
