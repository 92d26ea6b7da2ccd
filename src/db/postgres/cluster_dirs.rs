//! Where throwaway clusters live on disk and who owns them: the OS user that runs the server, the
//! template cache, private run directories (named after our pid so a later run can sweep what a
//! killed one left), and the copy/chown helpers that fill them.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::db::local_server;
pub(super) use crate::db::local_server::{
    ServerUser, cache_dir, chown_tree, copy_tree, process_alive, run_parent_dir,
};
use crate::error::{Result, TxlabError};

/// Who runs the cluster: ourselves, or `postgres` when we are root.
pub(super) fn server_user() -> Result<ServerUser> {
    local_server::server_user("postgres").ok_or_else(|| {
        TxlabError::LocalCluster(
            "txlab runs as root, PostgreSQL refuses to run as root, and there is no 'postgres' OS user to run it as".into(),
        )
    })
}

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

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
