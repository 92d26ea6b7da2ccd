//! Where throwaway clusters live on disk and who owns them: the OS user that runs the server, the
//! template cache, private run directories (named after our pid so a later run can sweep what a
//! killed one left), and the copy/chown helpers that fill them.

use std::fs;
use std::io;
use std::os::unix::fs::lchown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Result, TxlabError};

/// The OS account that runs the server: ourselves, or `postgres` when we are root.
#[derive(Debug, Clone, Copy)]
pub(super) struct ServerUser {
    pub(super) uid: u32,
    pub(super) gid: u32,
    /// True when txlab must switch to this user to start the server.
    pub(super) switch: bool,
}

pub(super) fn server_user() -> Result<ServerUser> {
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if euid != 0 {
        return Ok(ServerUser {
            uid: euid,
            gid: egid,
            switch: false,
        });
    }
    let name = std::ffi::CString::new("postgres").expect("static name");
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy the ids at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(TxlabError::LocalCluster(
            "txlab runs as root, PostgreSQL refuses to run as root, and there is no 'postgres' OS user to run it as".into(),
        ));
    }
    // SAFETY: pw was checked for null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(ServerUser {
        uid,
        gid,
        switch: true,
    })
}

/// Where the initdb'd template lives between runs.
pub(super) fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TXLAB_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("txlab");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache/txlab");
    }
    std::env::temp_dir().join("txlab-cache")
}

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Where run directories go: `TXLAB_RUN_DIR`, else RAM-backed `/dev/shm` when it is a tmpfs
/// with room to spare (a throwaway cluster gains nothing from a disk, and copying the template
/// onto one costs up to a second where the file system journals or discards), else the system
/// temp directory.
pub fn run_parent_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TXLAB_RUN_DIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if free_bytes_on_tmpfs(shm).is_some_and(|free| free >= 1 << 30) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// Free bytes of a tmpfs mount; `None` for anything else (or where it cannot be told).
pub(super) fn free_bytes_on_tmpfs(path: &Path) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        // SAFETY: statfs fills a struct we own; the path is NUL-terminated.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 || st.f_type as i64 != TMPFS_MAGIC
        {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_bsize as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// A unique directory name for this process: `txlab-<pid>-<n>`; the pid lets a later run remove
/// what a killed run left behind.
pub(super) fn private_dir(kind: &str) -> PathBuf {
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    run_parent_dir().join(format!(
        "txlab-{kind}-{}-{n}-{:x}",
        std::process::id(),
        nanos & 0xffff
    ))
}

/// Removes run directories left by txlab processes that no longer exist (killed with SIGKILL).
pub(super) fn sweep_leftovers() {
    let mut parents = vec![run_parent_dir(), std::env::temp_dir()];
    parents.dedup();
    let entries = parents
        .iter()
        .filter_map(|p| fs::read_dir(p).ok())
        .flatten();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix("txlab-run-")
            .or_else(|| name.strip_prefix("txlab-initdb-"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        if let Ok(text) = fs::read_to_string(entry.path().join("data/postmaster.pid"))
            && let Some(pm) = text
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<i32>().ok())
            && process_alive(pm)
        {
            // SAFETY: kill(2) on an orphaned postmaster of ours.
            unsafe { libc::kill(pm, libc::SIGQUIT) };
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}

pub(super) fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// Copies a directory tree, keeping permission bits (PostgreSQL insists on 0700 data dirs).
pub(super) fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::metadata(from)?.permissions())?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

pub(super) fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    lchown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
