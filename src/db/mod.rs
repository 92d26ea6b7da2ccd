//! Everything about reaching a database server: finding or starting one, opening connections,
//! and keeping each run inside a place of its own. The engine asks through the seam ([`seam`]:
//! the [`LockProbe`](seam::LockProbe) and [`CancelStatement`](seam::CancelStatement) traits, and
//! the methods of [`Server`], [`Sandbox`] and [`Connected`]); PostgreSQL, in [`postgres`], is the
//! only implementation today and the only module that names a driver crate. docs/engines.md says
//! how a second engine joins.

pub mod connection;
pub mod engines;
pub mod failure;
pub mod local_server;
pub mod mariadb;
pub mod postgres;
pub mod privileges;
pub mod redact;
pub mod seam;
pub mod sqlstate;

pub use engines::{Connected, Link, Sandbox, Server};
pub use postgres::admin::CreatedDatabase;
pub use postgres::{
    ConnectionPool, PooledConnection, ServerNotice, ServerNotification, SessionOptions,
};
pub use postgres::{binaries, cluster, connect, sandbox, tls};
pub use sqlstate::SqlState;
