//! Which MariaDB a run uses: the one a `mysql://`/`mariadb://` URL names, or a throwaway server
//! started from the installed binaries. Mirrors `db::Server::resolve` for PostgreSQL.

use super::binaries::find_mariadb_binaries;
use super::connect::MariadbTarget;
use super::server::LocalMariadb;
use crate::error::{Result, TxlabError};

/// A MariaDB server for one txlab process; dropping it stops a throwaway server.
pub struct MariadbServer {
    pub target: MariadbTarget,
    /// Kept alive as long as the server is used.
    local: Option<LocalMariadb>,
}

impl MariadbServer {
    /// Uses the URL when there is one, else starts a throwaway server; with neither a URL nor the
    /// binaries, [`TxlabError::NoMariadb`] (its hint names both ways out).
    pub fn resolve(url: Option<&str>) -> Result<MariadbServer> {
        if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
            return Ok(MariadbServer {
                target: MariadbTarget::from_url(url)?,
                local: None,
            });
        }
        let binaries = find_mariadb_binaries().ok_or(TxlabError::NoMariadb)?;
        let local = LocalMariadb::start(binaries)?;
        Ok(MariadbServer {
            target: MariadbTarget::local(&local),
            local: Some(local),
        })
    }

    /// The throwaway server, when txlab started one (its timings, socket, pid).
    pub fn local(&self) -> Option<&LocalMariadb> {
        self.local.as_ref()
    }

    /// What to call the server in messages and titles (the password masked).
    pub fn description(&self) -> &str {
        &self.target.description
    }
}
