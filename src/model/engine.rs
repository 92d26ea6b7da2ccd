//! Which database engine a run talks to: plain data shared by the command line, the lessons
//! (per-engine variants), the runner and the renderers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A database engine txlab can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mariadb,
}

impl Engine {
    /// Both engines, in the order the side-by-side matrix shows them.
    pub const ALL: [Engine; 2] = [Engine::Postgres, Engine::Mariadb];

    /// The command-line and JSON spelling (`postgres`, `mariadb`).
    pub fn slug(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mariadb",
        }
    }

    /// The product name, for titles and messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mariadb => "MariaDB",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}
