//! Where a throwaway MariaDB keeps its files, and the few file-system chores around them. Mirrors
//! the PostgreSQL cluster's choices (cache for the template, tmpfs for runs) without depending on
//! its module, so this folder stands on its own.

use std::fs;
use std::io;
use std::os::unix::fs::lchown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

static DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The prefix of every directory a run creates; the sweep recognises leftovers by it.
pub const RUN_PREFIX: &str = "txlab-mariadb-";

/// Where the initialised template datadir lives between runs.
pub fn cache_dir() -> PathBuf {
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

/// `TXLAB_RUN_DIR`, else `/dev/shm` when it is a tmpfs with 1 GiB free, else the temp directory:
/// a server whose data is deleted at exit gains nothing from a disk.
pub fn run_parent_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TXLAB_RUN_DIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if tmpfs_free_bytes(shm).is_some_and(|free| free >= 1 << 30) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

fn tmpfs_free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs fills a struct we own; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 || st.f_type as i64 != TMPFS_MAGIC {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_bsize as u64)
}

/// A fresh directory name `txlab-mariadb-<kind>-<pid>-<n>`; the pid lets a later run tell a
/// killed run's leftovers from a live run's files.
pub fn private_dir(kind: &str) -> PathBuf {
    let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
    run_parent_dir().join(format!("{RUN_PREFIX}{kind}-{}-{n}", std::process::id()))
}

/// The pid a private directory name carries, if it is one of ours.
pub fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(RUN_PREFIX)?;
    let mut parts = rest.split('-');
    let _kind = parts.next()?;
    parts.next()?.parse().ok()
}

/// Whether a process exists (signal 0).
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// Copies a directory tree with its permission bits.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
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

/// Hands a tree to another OS user (the server's, when txlab runs as root).
pub fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    lchown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_carry_their_owner_pid() {
        let dir = private_dir("run");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id() as i32));
        assert_eq!(owner_pid("txlab-run-12-0-ff"), None);
        assert_eq!(owner_pid("txlab-mariadb-run-x-1"), None);
    }
}
