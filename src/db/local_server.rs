//! What every throwaway server txlab starts needs, whichever engine it is: the OS account that runs
//! it (PostgreSQL and MariaDB both refuse root), the cache for its template, RAM-backed run
//! directories, a copy of a directory tree handed to that account, and a server process that dies
//! with txlab. Written once here so both engines keep the same promises (nothing left running,
//! nothing left on disk); each engine keeps only what is its own (initdb vs mariadb-install-db,
//! its own leftover names, its own shutdown signal).

use std::fs;
use std::io;
use std::os::unix::fs::lchown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

/// The OS account that runs a local server: ourselves, or the engine's account when we are root.
#[derive(Debug, Clone, Copy)]
pub struct ServerUser {
    pub uid: u32,
    pub gid: u32,
    /// True when txlab must switch to this user before exec.
    pub switch: bool,
}

/// Who runs the server: ourselves when not root, else `account` (`postgres`, `mysql`); `None`
/// when txlab is root and that account does not exist — each engine words that error itself.
pub fn server_user(account: &str) -> Option<ServerUser> {
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if euid != 0 {
        return Some(ServerUser {
            uid: euid,
            gid: egid,
            switch: false,
        });
    }
    let name = std::ffi::CString::new(account).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; the ids are copied at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: pw was checked for null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Some(ServerUser {
        uid,
        gid,
        switch: true,
    })
}

/// Own process group (Ctrl-C in a terminal goes to txlab only), the server user, and a
/// parent-death signal (`death_signal`: the engine's immediate shutdown) when the spawning thread
/// dies. The identity switch happens here, before the signal is armed: changing the effective uid
/// afterwards (as `mariadbd --user` would) clears it.
pub fn prepare_process(cmd: &mut Command, user: ServerUser, death_signal: i32) {
    cmd.process_group(0);
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || {
            if user.switch {
                let groups = [user.gid];
                if libc::setgroups(1, groups.as_ptr()) != 0
                    || libc::setgid(user.gid) != 0
                    || libc::setuid(user.uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal) != 0 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(not(target_os = "linux"))]
            let _ = death_signal;
            Ok(())
        });
    }
}

/// Spawns the server from a thread that lives exactly as long as the server: the parent-death
/// signal fires when the *thread* that forked exits, so it must not be a short-lived worker.
/// Returns the keeper thread and the server's pid.
pub fn spawn_kept(mut cmd: Command, thread_name: &str) -> io::Result<(JoinHandle<()>, i32)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let keeper = std::thread::Builder::new()
        .name(thread_name.into())
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id() as i32));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        })?;
    match rx.recv() {
        Ok(Ok(pid)) => Ok((keeper, pid)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::other("the server thread died")),
    }
}

/// Whether a process exists (signal 0); a process of another user counts.
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// Where initialised templates live between runs: `TXLAB_CACHE_DIR`, else the XDG cache.
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

/// Where run directories go: `TXLAB_RUN_DIR`, else RAM-backed `/dev/shm` when it is a tmpfs
/// with room to spare (a throwaway server gains nothing from a disk, and copying the template
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
pub fn free_bytes_on_tmpfs(path: &Path) -> Option<u64> {
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

/// Copies a directory tree, keeping permission bits (PostgreSQL insists on 0700 data dirs).
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
    fn copy_tree_keeps_modes_and_links_and_chown_keeps_owner_for_self() {
        use std::os::unix::fs::PermissionsExt;
        let base =
            std::env::temp_dir().join(format!("txlab-local-server-test-{}", std::process::id()));
        let from = base.join("from");
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::set_permissions(&from, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(from.join("sub/file"), b"x").unwrap();
        std::os::unix::fs::symlink("sub/file", from.join("link")).unwrap();
        let to = base.join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(
            fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(fs::read(to.join("sub/file")).unwrap(), b"x");
        assert_eq!(
            fs::read_link(to.join("link")).unwrap(),
            Path::new("sub/file")
        );
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        chown_tree(&to, uid, gid).unwrap();
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn our_own_process_is_alive_and_a_free_pid_is_not() {
        assert!(process_alive(std::process::id() as i32));
        assert!(!process_alive(i32::MAX - 1));
    }
}
