//! The integration tests, as one binary: the whole suite starts one throwaway PostgreSQL cluster
//! (through the same code the CLI uses, in `util`) and links once. Each module below is one
//! concern; `cargo test --test integration MODULE::` runs just that one.
//!
//! Tests run in parallel threads of this one process, so a test must never assume it is alone on
//! the server: schemas are numbered per process (`txlab_<pid>_<n>`), so a test that checks what a
//! run left behind looks for that run's own schema (or for a child process's pid), never for "any
//! schema of this process".

/// What every test shares: the server, a sandbox, a runtime, the `txlab` command, the normaliser.
mod util;

/// `txlab bench`: invariants per strategy, retries under contention, output formats, Ctrl-C.
mod bench;
/// Classroom mode: the step gate, `--locks`, `--versions`, quizzes, handouts.
mod classroom;
/// The binary as a user meets it: clean errors, script-friendly output, signals.
mod cli;
/// The same lesson gives the same verdict and event order, twenty rounds in a row.
mod determinism;
/// How txlab ends: a full disk, a closed pipe, SIGINT/SIGTERM during start-up.
mod exit_codes;
/// Every built-in lesson behaves as the PostgreSQL manual documents, at every level.
mod lessons;
/// The first end-to-end check: lost update at every level.
mod lessons_smoke;
/// The locking-strategy demos: invariants, retries, costs.
mod locking;
/// MariaDB's folder against a real throwaway MariaDB: connections, the blocked probe, anomalies.
mod mariadb;
/// Lessons on MariaDB through the CLI (issue 12).
mod mariadb_lessons;
/// The locking demos on MariaDB: expectations at every level, determinism, --locks, --versions refused (issue 12).
mod mariadb_locking;
mod mariadb_tls;
/// Issue 10: a student's plain role runs every demo; deadlocks explained from the run.
mod plain_role;
/// Connection-pool lessons: the waits the server cannot see.
mod pools;
/// Snapshots of timelines and the matrix.
mod render_snapshots;
/// `--record` and `txlab replay`: byte-for-byte replays, broken files, stepping back.
mod replay;
/// Issue 13: spec recordings, `--format json` output replayed, plain-role recordings.
mod replay_specs;
/// Issue 10: no password printed, no schema left by a signal at any moment, plain roles.
mod safety;
/// Issue 10: twenty students on one server; a server stopped mid-run.
mod shared_server;
/// PostgreSQL's own isolation specs, byte for byte.
mod spec_conformance;
/// The role's scratch database for single-spec runs (issue 11).
mod spec_scratch;
/// `--step` in a real terminal (tmux).
mod step_tmux;
/// Suite mode: many specs against expected files, one database, TAP report (issue 11).
mod suite;
/// TLS: libpq's sslmode semantics against a server of the test's own with ssl=on.
mod tls;
