//! PostgreSQL behind the `db` seam: its binaries and throwaway clusters, connections (with
//! notices), the sandbox schema, the lock-wait probe (`sql/*.sql`), the inspection queries, and
//! the mapping of `tokio_postgres` replies into the engine-neutral [`crate::model`] answers, and
//! [`wire`], the protocol client `txlab bench` drives. Only this folder names `tokio_postgres`.

pub mod admin;
pub mod answer;
pub mod binaries;
pub mod cluster;
mod cluster_dirs;
pub mod connect;
pub mod inspect;
pub mod pool;
pub mod probe;
pub mod relay;
pub mod sandbox;
pub mod tls;
pub mod wire;

pub use answer::Link;
pub use connect::{Connected, Server, ServerNotice, ServerNotification, SessionOptions};
pub use pool::{ConnectionPool, PooledConnection};
pub use sandbox::Sandbox;
