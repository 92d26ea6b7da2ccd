//! Everything about reaching PostgreSQL: finding or starting a server, opening connections, and
//! keeping each run inside a schema of its own.

pub mod binaries;
pub mod cluster;
pub mod connect;
pub mod mariadb;
pub mod sandbox;
pub mod sqlstate;

pub use connect::{Connected, Server, ServerNotice, ServerNotification, SessionOptions};
pub use sandbox::Sandbox;
pub use sqlstate::SqlState;
