//! Where a throwaway MariaDB keeps its files: its own directory names (so its sweep never touches
//! a PostgreSQL run's), on top of what every local server shares ([`crate::db::local_server`]:
//! the template cache, tmpfs run directories, tree copies).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub use crate::db::local_server::{
    cache_dir, chown_tree, copy_tree, process_alive, run_parent_dir,
};

static DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The prefix of every directory a run creates; the sweep recognises leftovers by it.
pub const RUN_PREFIX: &str = "txlab-mariadb-";

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
