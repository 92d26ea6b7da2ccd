//! MariaDB as txlab's second engine, self-contained: finding and starting a throwaway server,
//! connections, the blocked probe (from `SHOW ENGINE INNODB STATUS` and the process list), the
//! per-run database, and the server's error codes. The engine seam will wrap these.

pub mod binaries;
pub mod connect;
pub mod dirs;
pub mod errors;
pub mod innodb_status;
pub mod lock_report;
pub mod probe;
pub mod resolve;
pub mod sandbox;
pub mod seam;
pub mod server;
mod template;
pub mod tls;
