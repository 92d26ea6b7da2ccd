//! The library's own error type. Every variant knows the one-line hint that tells a user what to
//! try next, so the edge (`main`) can print `error: …` and `hint: …` without guessing.

use std::path::PathBuf;

/// Everything that can stop txlab before or while it runs a lesson.
#[derive(Debug, thiserror::Error)]
pub enum TxlabError {
    #[error("unknown lesson '{name}'")]
    UnknownLesson { name: String, known: Vec<String> },

    #[error("unknown isolation level '{0}'")]
    UnknownLevel(String),

    #[error("{file}:{line}: {message}")]
    LessonFile {
        file: String,
        line: usize,
        message: String,
    },

    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot reach PostgreSQL at {target}: {reason}")]
    Unreachable { target: String, reason: String },

    #[error("PostgreSQL at {target} refused the login: {reason}")]
    LoginRefused { target: String, reason: String },

    #[error("invalid database URL: {0}")]
    BadUrl(String),

    #[error("this server has no pg_isolation_test_session_is_blocked() (PostgreSQL {version})")]
    NoBlockedProbe { version: String },

    #[error(
        "no PostgreSQL to run against: no --database-url / DATABASE_URL and no server binaries found"
    )]
    NoPostgres,

    #[error("could not start a local PostgreSQL cluster: {0}")]
    LocalCluster(String),

    #[error(
        "step {step} ({session}) neither completed nor blocked within {seconds} s; it was cancelled"
    )]
    StepTimeout {
        step: String,
        session: String,
        seconds: u64,
    },

    #[error("the lesson cannot go on: {0}")]
    Schedule(String),

    #[error(
        "step {waiting} waits for a lock that only a later step can release{}",
        due.as_ref().map(|d| format!(", so step {d} cannot run after it")).unwrap_or_default()
    )]
    ImpossibleInterleaving {
        /// The step still waiting.
        waiting: String,
        /// The step of the same session that was due next, if any.
        due: Option<String>,
    },

    #[error("setup SQL failed: {0}")]
    Setup(String),

    #[error("database error: {0}")]
    Database(String),

    /// SIGINT (Ctrl-C): the run was unwound and cleaned up; exit 130.
    #[error("interrupted")]
    Interrupted,

    /// SIGTERM: the run was unwound and cleaned up; exit 143.
    #[error("terminated (SIGTERM)")]
    Terminated,

    /// Standard output could not be written (a full disk; a closed pipe ends quietly instead).
    #[error("cannot write to standard output: {0}")]
    Output(std::io::Error),

    #[error("invalid {flag} '{value}'")]
    BadBenchFlag {
        flag: String,
        value: String,
        hint: String,
    },

    #[error("invariant broken: {0}")]
    InvariantBroken(String),

    /// A step gate said stop (`--step`: replay or quit). Not a failure: the caller asked for it.
    #[error("stopped before the lesson ended")]
    Stopped,

    #[error("{0}")]
    Classroom(String),
    #[error("{0}")]
    BadArguments(String),

    /// A TLS failure while connecting (issue 16): what failed, in the failure's own words.
    #[error("PostgreSQL at {target}: {failure}")]
    Tls {
        target: String,
        failure: crate::db::tls::TlsFailure,
    },

    /// `sslmode` / `sslrootcert` (or `PGSSLMODE` / `PGSSLROOTCERT`) cannot be used.
    #[error("{0}")]
    TlsSettings(String),

    #[error("no MariaDB to run against: no mysql:// URL and no mariadbd found")]
    NoMariadb,

    #[error("could not start a local MariaDB server: {0}")]
    LocalMariadb(String),

    #[error("cannot use MariaDB at {target}: {reason}")]
    MariadbUnreachable { target: String, reason: String },

    /// The session ended under txlab: the server stopped, crashed, or an administrator ended it
    /// (SQLSTATE class 08, 57P01–57P03).
    #[error("the server closed the connection during {during}: {reason}")]
    ConnectionLost { during: String, reason: String },

    /// The role lacks a privilege txlab needs (42501).
    #[error("{during} was refused: {reason}")]
    MissingPrivilege { during: String, reason: String },
    #[error("{file}: {reason}")]
    Recording { file: String, reason: String },

    #[error(
        "{file} was recorded in format version {found}; this txlab reads up to version {supported}"
    )]
    RecordingTooNew {
        file: String,
        found: u64,
        supported: u64,
    },

    /// A PostgreSQL-only tool (isolationtester specs, `bench`, `--versions`) asked of MariaDB.
    #[error("{0} runs on PostgreSQL only")]
    PostgresOnly(String),

    /// A lesson that cannot run on the chosen engine, with the lesson's reason.
    #[error("lesson {lesson} does not run on {engine}: {reason}")]
    NotOnEngine {
        lesson: String,
        engine: &'static str,
        reason: String,
    },

    /// A TLS failure while connecting to MariaDB (issue 16): what failed, and what to try.
    #[error("MariaDB at {target}: {failure}")]
    MariadbTls {
        target: String,
        failure: String,
        hint: String,
    },

    /// `ssl-mode` / `ssl-ca` in a MariaDB URL cannot be used.
    #[error("{0}")]
    MariadbTlsSettings(String),

    /// `--versions` asked of MariaDB, whose old row versions live in the undo log, out of SQL's reach.
    #[error(
        "--versions shows PostgreSQL's row versions (xmin, xmax, ctid); MariaDB has none to show: InnoDB keeps a row's older versions in its undo log, which SQL cannot read"
    )]
    VersionsOnMariadb,
    /// Setup SQL (the lesson's, or a session's) ran past `--step-timeout` and was cancelled.
    #[error("{during} did not finish within {seconds} s; it was cancelled")]
    SetupTimeout { during: String, seconds: u64 },
}

impl TxlabError {
    /// What the user should try next; printed as `hint: …` under the error.
    pub fn hint(&self) -> String {
        match self {
            TxlabError::UnknownLesson { known, .. } => {
                format!("`txlab list` shows the lessons; known: {}", known.join(", "))
            }
            TxlabError::UnknownLevel(_) => "levels are read-uncommitted, read-committed, repeatable-read, serializable".into(),
            TxlabError::LessonFile { file, .. } if file.ends_with(".spec") => "docs/specs.md describes the spec format (PostgreSQL's src/test/isolation/README) as txlab reads it".into(),
            TxlabError::LessonFile { .. } => "docs/lessons.md describes the lesson format, with a complete example".into(),
            TxlabError::ReadFile { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => "the file is not UTF-8 text; save it as UTF-8 (e.g. `iconv -t UTF-8`) and run it again".into(),
            TxlabError::ReadFile { .. } => "check the path; `txlab run` takes a lesson file (.toml) or a PostgreSQL isolation spec (.spec)".into(),
            TxlabError::Unreachable { .. } => "is the server running? `docker compose up -d` starts one (URL: postgres://txlab:txlab@localhost:5432/txlab); or leave out --database-url and txlab starts a throwaway local cluster".into(),
            TxlabError::LoginRefused { .. } => "check the user and password in the URL (postgres://USER:PASSWORD@HOST:PORT/DB)".into(),
            TxlabError::BadUrl(_) => "a URL looks like postgres://USER:PASSWORD@HOST:PORT/DB".into(),
            TxlabError::NoBlockedProbe { .. } => "txlab needs PostgreSQL 10 or newer to see which sessions wait for locks".into(),
            TxlabError::NoPostgres => "install PostgreSQL (e.g. `apt-get install postgresql`, `brew install postgresql`), or run `docker compose up -d` and pass --database-url postgres://txlab:txlab@localhost:5432/txlab".into(),
            TxlabError::LocalCluster(_) => "pass --database-url to use a server you run yourself, or set TXLAB_PG_BINDIR to the directory holding initdb and postgres".into(),
            TxlabError::StepTimeout { .. } => "a step that waits for something no later step releases never ends; check the lesson's step order (--step-timeout changes the limit)".into(),
            TxlabError::Schedule(_) => "check the lesson's step order: a session runs one statement at a time".into(),
            TxlabError::ImpossibleInterleaving { .. } => "this order of steps cannot happen in real life: a session does nothing while it waits; in a lesson file, move a step that releases the lock (a COMMIT, say) before the waiting session's next step".into(),
            TxlabError::Setup(_) => "the lesson's setup SQL must run on an empty schema; try it in psql".into(),
            TxlabError::Database(_) => "the server's own words are above; if the lesson is a built-in one, report it with the command you ran".into(),
            TxlabError::Interrupted | TxlabError::Terminated => crate::leftovers::summary(),
            TxlabError::Output(_) => "check where standard output goes: a full disk, or a file that cannot grow".into(),
            TxlabError::BadBenchFlag { hint, .. } => hint.clone(),
            TxlabError::InvariantBroken(_) => "a strategy let concurrent transactions lose updates or money; its figures are not to be trusted (docs/bench.md, \"Invariants\")".into(),
            TxlabError::Stopped => "the run was stopped at a step; its schema and connections were removed".into(),
            TxlabError::Classroom(_) => "--step and --quiz read keys from a terminal (or lines from standard input) and print timelines: use them with --format text".into(),
            TxlabError::BadArguments(_) => "`txlab run --help` lists the flags; docs/specs.md describes specs and --all-permutations".into(),
            TxlabError::Tls { failure, .. } => failure.hint(),
            TxlabError::TlsSettings(_) => "sslmode is one of disable, prefer, require, verify-ca, verify-full; sslrootcert names a PEM file of CA certificates (or `system`); docs/tls.md has examples".into(),
            TxlabError::NoMariadb => "install the server (`apt-get install mariadb-server`; txlab starts a throwaway one), or run `docker compose up -d mariadb` and pass --database-url mysql://root:txlab@127.0.0.1:3306/txlab".into(),
            TxlabError::LocalMariadb(_) => "pass a mysql:// --database-url to use a server you run yourself, or set TXLAB_MARIADB_BINDIR to the directory holding mariadbd and mariadb-install-db".into(),
            TxlabError::MariadbUnreachable { .. } => "is the server running, and are the user and password right? a URL looks like mysql://USER:PASSWORD@HOST:PORT/DB or mysql://USER@localhost/DB?socket=/run/mysqld/mysqld.sock".into(),
            TxlabError::ConnectionLost { .. } => "the server stopped, restarted or ended txlab's session (an administrator, a crash, a shutdown); nothing of the run is left on it once it is back; run the command again then".into(),
            TxlabError::MissingPrivilege { .. } => "txlab needs CREATE on the database to make its own schema (GRANT CREATE ON DATABASE <db> TO <role>), or CREATEDB for .spec files; docs/classroom.md lists what a student's role needs".into(),
            TxlabError::Recording { .. } => "`txlab replay` reads what `txlab demo … --record FILE` or `txlab run … --record FILE` wrote, or their `--format json` output (docs/output.md, \"Recordings\"); record the run again".into(),
            TxlabError::RecordingTooNew { .. } => "a newer txlab made this recording: replay it with that version (`txlab --version` shows yours), or record the run again with this one".into(),
            TxlabError::PostgresOnly(_) => "leave out --engine mariadb and mysql:// URLs for this command".into(),
            TxlabError::NotOnEngine { .. } => "`txlab list --engine mariadb` shows which lessons run on MariaDB".into(),
            TxlabError::MariadbTls { hint, .. } => hint.clone(),
            TxlabError::MariadbTlsSettings(_) => "ssl-mode is one of DISABLED, PREFERRED, REQUIRED, VERIFY_IDENTITY (VERIFY_CA is not supported on MariaDB yet); ssl-ca names a PEM file of CA certificates; docs/tls.md has examples".into(),
            TxlabError::VersionsOnMariadb => "run it with --engine postgres to see row versions; --locks works on MariaDB (who waits for whom, from the InnoDB monitor)".into(),
            TxlabError::SetupTimeout { .. } => "setup SQL that waits (a pg_sleep, a lock another connection holds) would keep the lesson from ever starting; --step-timeout changes the limit".into(),
        }
    }
}

/// Shorthand used across the library.
pub type Result<T, E = TxlabError> = std::result::Result<T, E>;
