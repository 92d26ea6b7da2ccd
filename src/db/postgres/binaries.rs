//! Finding PostgreSQL's server programs. A user without a server still gets a demo, so txlab looks
//! where installers put `initdb` and `postgres`: `TXLAB_PG_BINDIR`, PATH, `pg_config --bindir`,
//! Debian's `/usr/lib/postgresql/<major>/bin` (newest first) and Homebrew's prefixes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory holding `initdb` and `postgres`, with the server's version.
#[derive(Debug, Clone)]
pub struct ServerBinaries {
    pub bindir: PathBuf,
    /// Full version string as the server prints it, e.g. `15.18`.
    pub version: String,
    /// Major version, used to key the cached template cluster.
    pub major: u32,
}

impl ServerBinaries {
    /// The path of one of the server programs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Looks for usable server binaries; `None` when there are none on this machine.
pub fn find_server_binaries() -> Option<ServerBinaries> {
    candidate_dirs().into_iter().find_map(|dir| probe_dir(&dir))
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("TXLAB_PG_BINDIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let postgres = dir.join("postgres");
            if postgres.is_file() {
                // Debian links /usr/local/bin/postgres into /usr/lib/postgresql/N/bin: follow it so
                // initdb is looked for beside the real program.
                let real = std::fs::canonicalize(&postgres).unwrap_or(postgres);
                dirs.push(real.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    dirs.extend(versioned_dirs("/usr/lib/postgresql", "", "bin"));
    for prefix in ["/opt/homebrew/opt", "/usr/local/opt"] {
        dirs.extend(versioned_dirs(prefix, "postgresql@", "bin"));
        dirs.push(PathBuf::from(prefix).join("postgresql/bin"));
    }
    dirs.push(PathBuf::from("/opt/homebrew/bin"));
    dirs.push(PathBuf::from("/usr/local/pgsql/bin"));
    dirs
}

/// `<root>/<prefix><major>/<sub>` directories, newest major first.
fn versioned_dirs(root: &str, prefix: &str, sub: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let major = name.strip_prefix(prefix)?.split('.').next()?.parse().ok()?;
            Some((major, e.path().join(sub)))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, p)| p).collect()
}

fn probe_dir(dir: &Path) -> Option<ServerBinaries> {
    if !dir.join("initdb").is_file() || !dir.join("postgres").is_file() {
        return None;
    }
    let out = Command::new(dir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let version = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    let major = version.split('.').next()?.parse().ok()?;
    Some(ServerBinaries {
        bindir: dir.to_path_buf(),
        version,
        major,
    })
}

/// Extracts `15.18` from `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
fn parse_version(text: &str) -> Option<String> {
    let after = text.split(')').nth(1)?.trim();
    let version = after.split_whitespace().next()?;
    version
        .chars()
        .next()?
        .is_ascii_digit()
        .then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_plain_version_strings() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").as_deref(),
            Some("15.18")
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 16.2\n").as_deref(),
            Some("16.2")
        );
        assert_eq!(parse_version("garbage"), None);
    }
}
