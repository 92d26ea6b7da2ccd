//! Every command-line flag, parsed by clap, in one file (as sqlx-cli's `opt.rs`). Raw flags become
//! a validated plan in the command modules before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::export::BenchFormat;
use crate::bench::options::Workload;
use crate::render::ColorChoice;
pub use crate::render::OutputFormat;

const EXAMPLES: &str = "\
Examples:
  txlab demo deadlock                                 two transfers deadlock; one is aborted
  txlab demo lock-ordering                            the same transfers, locks in id order: no deadlock
  txlab demo isolation                                every anomaly at every level, then the matrix
  txlab demo isolation --level repeatable-read        every anomaly at one level
  txlab demo lost-update --level read-committed       one lesson at one level
  txlab list                                          the built-in lessons
  txlab run my-lesson.toml                            a lesson file of your own (see docs/lessons.md)
  txlab run deadlock-hard.spec --format isolationtester   a PostgreSQL isolation spec, as isolationtester prints it
  txlab run my-lesson.toml --all-permutations         every interleaving of the steps, classified
  txlab demo isolation --format json | jq .           machine-readable results
  txlab bench transfer --contention sweep             locking strategies measured under contention
  txlab demo lost-update -l read-committed --step --quiz --locks
                                                      step through with a class (docs/classroom.md)
  txlab demo deadlock --format html > deadlock.html   a handout page (or --format markdown)

Without --database-url (or DATABASE_URL) txlab starts a throwaway PostgreSQL cluster from the
installed server binaries and removes it afterwards. Everything a run creates lives in a schema of
its own, dropped at the end (Ctrl-C included).

Exit codes: 0 ok · 1 --check found a run that differs from PostgreSQL's documented behaviour, or
a bench invariant broke · 2 error · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).";

/// txlab: watch real PostgreSQL transactions collide, one step at a time.
#[derive(Debug, Parser)]
#[command(name = "txlab", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalOpts {
    /// PostgreSQL to use (postgres://USER:PASSWORD@HOST:PORT/DB); without it txlab starts a
    /// throwaway local cluster. TLS as libpq: sslmode=disable|prefer|require|verify-ca|verify-full,
    /// sslrootcert=FILE (URL parameters, or PGSSLMODE / PGSSLROOTCERT); see docs/tls.md.
    /// MariaDB (mysql://): ?ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_IDENTITY&ssl-ca=FILE.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// The database engine: postgres, mariadb, or all (each lesson on both, the matrix side by
    /// side). A mysql:// or mariadb:// --database-url selects MariaDB (?socket=PATH for a unix
    /// socket); without a URL txlab starts a throwaway server of each engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Postgres, global = true)]
    pub engine: EngineChoice,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    Postgres,
    Mariadb,
    All,
}

impl EngineChoice {
    /// The engines to run, given the URL (a mysql:// URL means MariaDB whatever the flag says).
    pub fn engines(self, url: Option<&str>) -> Vec<crate::model::Engine> {
        use crate::model::Engine;
        match (self, url) {
            (EngineChoice::All, _) => Engine::ALL.to_vec(),
            (_, Some(u)) if crate::db::mariadb::connect::is_mariadb_url(u) => vec![Engine::Mariadb],
            (EngineChoice::Mariadb, _) => vec![Engine::Mariadb],
            (EngineChoice::Postgres, _) => vec![Engine::Postgres],
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a built-in lesson (or `isolation`: every anomaly lesson, then the matrix).
    #[command(
        after_help = "Examples:\n  txlab demo deadlock\n  txlab demo isolation --level repeatable-read\n  txlab demo lost-update --level read-committed --level serializable"
    )]
    Demo(DemoArgs),
    /// Run a lesson file of your own, or a PostgreSQL isolation spec.
    #[command(
        after_help = "Examples:\n  txlab run my-lesson.toml\n  txlab run lessons/write-skew.toml --level serializable --format json\n  txlab run deadlock-hard.spec                       timelines, one per permutation\n  txlab run deadlock-hard.spec --format isolationtester\n  txlab run lessons/lost-update.toml --all-permutations --level repeatable-read\n  txlab run specs/*.spec --expected expected/        a suite, as pg_isolation_regress runs it\n  txlab run --schedule isolation_schedule --specs specs/ --expected expected/ --jobs 2"
    )]
    Run(RunArgs),
    /// List the built-in lessons.
    List,
    /// Show a recorded run again (`--record FILE`), without a database or server binaries.
    #[command(
        after_help = "Examples:\n  txlab demo lost-update -l read-committed --record lecture.json\n  txlab replay lecture.json\n  txlab replay lecture.json --format html > handout.html\n  txlab replay lecture.json --step         Enter: next step, Backspace or b: back one step, q: quit\n  txlab run deadlock-hard.spec --record spec.json\n  txlab replay spec.json --format isolationtester\n  txlab demo isolation --format json > matrix.json; txlab replay matrix.json"
    )]
    Replay(ReplayArgs),
    /// Print shell completions for bash, zsh or fish.
    #[command(
        after_help = "Examples:\n  txlab completions bash > ~/.local/share/bash-completion/completions/txlab\n  txlab completions zsh > ~/.zfunc/_txlab\n  txlab completions fish > ~/.config/fish/completions/txlab.fish"
    )]
    Completions(CompletionsArgs),
    /// Measure locking strategies under contention: throughput, latency, retries, lock waits.
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
}

/// How a lesson run is shown and judged; shared by `demo` and `run`.
#[derive(Debug, Args, Clone)]
pub struct RunFlags {
    /// Isolation level to run at; repeat for several. Default: the lesson's own levels.
    #[arg(long = "level", short = 'l', value_name = "LEVEL")]
    pub levels: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Exit 1 when any run differs from PostgreSQL's documented behaviour.
    #[arg(long)]
    pub check: bool,

    /// Seconds a step may neither complete nor block before it is cancelled (at least 1).
    /// Lessons default to 10 s and their setup, teardown and verdict checks obey it too; .spec
    /// files default to isolationtester's PGISOLATIONTIMEOUT (300 s).
    #[arg(long, value_name = "SECONDS", value_parser = parse_step_timeout)]
    pub step_timeout: Option<u64>,

    /// Pause before each step: Enter or space runs it, Backspace or b goes back one step (shows
    /// what was recorded; nothing is undone), r replays the lesson from the start, q quits.
    #[arg(long, help_heading = "Classroom")]
    pub step: bool,

    /// Ask the class to predict the outcome at the lesson's quiz points, then reveal it and count
    /// right answers (pauses at quiz points; with --step, everywhere).
    #[arg(long, help_heading = "Classroom")]
    pub quiz: bool,

    /// When a step blocks, show who waits for whom on which lock, and a deadlock's wait-for cycle.
    #[arg(long, help_heading = "Classroom")]
    pub locks: bool,

    /// After each step, show the row versions (xmin, xmax, ctid) and the snapshot each session sees.
    #[arg(long, help_heading = "Classroom")]
    pub versions: bool,

    /// Also save the finished run to FILE (versioned JSON) for `txlab replay`: no database needed
    /// to show it again.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Lesson name (see `txlab list`), or `isolation` for every anomaly lesson.
    pub lesson: String,
    #[command(flatten)]
    pub flags: RunFlags,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A lesson file (.toml) or a PostgreSQL isolation spec (.spec).
    #[arg(required_unless_present = "schedule")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Run every interleaving of the steps that keeps each session's own order, and print a
    /// table of what each one did (see docs/specs.md).
    #[arg(long)]
    pub all_permutations: bool,
    /// More specs: with --expected, `txlab run specs/*.spec --expected expected/` runs a suite.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
    /// A suite: compare each spec's isolationtester output with DIR/NAME.out (or NAME_N.out, the
    /// closest), print `ok`/`not ok` lines and diffs; exit 1 when any differs.
    #[arg(long, value_name = "DIR")]
    pub expected: Option<PathBuf>,
    /// A suite from pg_isolation_regress's schedule file (`test: a b c` lines); specs in --specs.
    #[arg(long, value_name = "FILE", requires = "expected")]
    pub schedule: Option<PathBuf>,
    /// Where the schedule's specs are (default: the schedule file's directory + `specs/`).
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
    /// A suite: run up to N specs at once, each in a database of its own. Specs that touch what
    /// the whole server shares (VACUUM, prepared transactions, roles, statistics, timeouts…) still
    /// run alone (docs/specs.md). Default 1: one after the other, as pg_isolation_regress does.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

impl RunArgs {
    /// The one file of a single run (empty in a schedule-only suite, which never asks).
    pub fn file(&self) -> &std::path::Path {
        self.file.as_deref().unwrap_or(std::path::Path::new(""))
    }
}

/// The examples under `txlab bench --help`.
pub const BENCH_EXAMPLES: &str = "\
Examples:
  txlab bench transfer --strategy all --clients 8 --accounts 1000 --duration 10s
  txlab bench transfer --strategy pessimistic,optimistic --clients 8 --contention sweep
  txlab bench counter --strategy all --clients 16 --duration 5s --format json
  txlab bench counter --strategy naive --clients 8 --duration 1s     lost updates: exit 1

Every (strategy, K) point gets fresh tables and a fresh pool; figures are for the measured window
after the warm-up. docs/bench.md explains each strategy and how each figure is measured.";

/// Flags of `txlab bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What every transaction does: `transfer` (random transfers between K accounts) or
    /// `counter` (one hot row).
    #[arg(value_enum)]
    pub workload: Workload,

    /// Strategies to compare: `all`, or a comma list of pessimistic, optimistic, atomic,
    /// serializable, advisory (and naive: no protection, to watch the invariant check fail).
    #[arg(long, short = 's', default_value = "all", value_name = "LIST")]
    pub strategy: Vec<String>,

    /// Concurrent clients.
    #[arg(long, short = 'c', default_value_t = 8)]
    pub clients: usize,

    /// Accounts for `transfer`: fewer accounts, hotter rows.
    #[arg(long, short = 'k', default_value_t = 1000, value_name = "K")]
    pub accounts: u32,

    /// `sweep` runs each strategy at K = 2, 8, 32, 128, 1024 and charts throughput against K;
    /// a comma list of K values sweeps those instead.
    #[arg(long, value_name = "sweep|K,K,...")]
    pub contention: Option<String>,

    /// Measured time per point, e.g. 10s or 500ms [default: 10s; 2s per point in a sweep].
    #[arg(long, short = 'd', conflicts_with = "transactions")]
    pub duration: Option<String>,

    /// Measure this many transactions per point instead of a duration.
    #[arg(long, short = 't')]
    pub transactions: Option<u64>,

    /// Warm-up before each measured window [default: a fifth of the duration, at most 1s].
    #[arg(long)]
    pub warmup: Option<String>,

    /// Application work between a transaction's read and its write (e.g. 5ms); pessimistic and
    /// advisory hold their locks through it.
    #[arg(long, default_value = "0ms")]
    pub think: String,

    /// Pooled connections [default: one per client].
    #[arg(long)]
    pub pool_size: Option<usize>,

    /// Opening balance of every account (NUMERIC, two decimals).
    #[arg(long, default_value = "1000000.00")]
    pub balance: String,

    /// Seed for the accounts, amounts and backoff jitter each client draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Attempts per transaction before it is given up.
    #[arg(long, default_value_t = 50)]
    pub max_attempts: u32,

    /// Worker threads that run the clients; 0 runs them on txlab's own thread [default: the
    /// number of CPUs, at most 4].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: BenchFormat,
}

/// `--step-timeout`: whole seconds, at least 1 (0 used to become 1 s silently).
fn parse_step_timeout(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(0) => Err(
            "0 is not a limit: give at least 1 second (the default is 10 s for lessons, \
                      PGISOLATIONTIMEOUT or 300 s for .spec files)"
                .into(),
        ),
        Ok(seconds) => Ok(seconds),
        Err(_) => Err(format!("'{value}' is not a whole number of seconds")),
    }
}

/// Flags of `txlab replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording written by `--record FILE`, or a `--format json` document (it carries one).
    pub file: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Walk through the recording one step at a time: Enter or space shows the next step,
    /// Backspace or b goes back one step, q quits.
    #[arg(long, help_heading = "Classroom")]
    pub step: bool,
}

/// Flags of `txlab completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `txlab completions` writes scripts for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}
