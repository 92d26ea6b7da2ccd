//! Finding MariaDB's server programs, so a user with `mariadb-server` installed but no running
//! server still gets a throwaway one: `TXLAB_MARIADB_BINDIR`, then PATH, then `/usr/sbin` and
//! `/usr/bin` (Debian puts `mariadbd` in the first and `mariadb-install-db` in the second).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The two programs a throwaway server needs, with the server's version.
#[derive(Debug, Clone)]
pub struct MariadbBinaries {
    /// The server, `mariadbd` (`mysqld` on older installs).
    pub server: PathBuf,
    /// The datadir initialiser, `mariadb-install-db` (`mysql_install_db` on older installs).
    pub install_db: PathBuf,
    /// Version as the server prints it, e.g. `10.11.19`; keys the cached template.
    pub version: String,
}

/// Looks for the server programs; `None` when this machine has none.
pub fn find_mariadb_binaries() -> Option<MariadbBinaries> {
    let dirs = candidate_dirs();
    let server = find_program(&dirs, &["mariadbd", "mysqld"])?;
    let install_db = find_program(&dirs, &["mariadb-install-db", "mysql_install_db"])?;
    let out = Command::new(&server).arg("--version").output().ok()?;
    let version = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    Some(MariadbBinaries {
        server,
        install_db,
        version,
    })
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("TXLAB_MARIADB_BINDIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from));
    dirs
}

fn find_program(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    names
        .iter()
        .find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Extracts `10.11.19` from `mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu …`.
fn parse_version(text: &str) -> Option<String> {
    let after = text.split(" Ver ").nth(1)?.trim_start();
    let version: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (version.contains('.') && version.starts_with(|c: char| c.is_ascii_digit())).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_upstream_version_strings() {
        assert_eq!(
            parse_version(
                "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)\n"
            )
            .as_deref(),
            Some("10.11.19")
        );
        assert_eq!(
            parse_version("mariadbd  Ver 11.4.2-MariaDB for Linux on x86_64 (MariaDB Server)")
                .as_deref(),
            Some("11.4.2")
        );
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(parse_version("x Ver -MariaDB"), None);
    }
}
