//! Command-line flags, parsed by clap. Raw flags become a validated plan in the command modules
//! before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::ColorChoice;

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
a bench invariant broke · 2 error · 130 interrupted.";

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
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
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
        after_help = "Examples:\n  txlab run my-lesson.toml\n  txlab run lessons/write-skew.toml --level serializable --format json\n  txlab run deadlock-hard.spec                       timelines, one per permutation\n  txlab run deadlock-hard.spec --format isolationtester\n  txlab run lessons/lost-update.toml --all-permutations --level repeatable-read"
    )]
    Run(RunArgs),
    /// List the built-in lessons.
    List,
    /// Measure locking strategies under contention: throughput, latency, retries, lock waits.
    #[command(after_help = super::bench::EXAMPLES)]
    Bench(super::bench::BenchArgs),
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

    /// Seconds a step may neither complete nor block before it is cancelled.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub step_timeout: u64,

    /// Pause before each step: Enter or space runs it, b replays the lesson from the start, q quits.
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
    pub file: PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Run every interleaving of the steps that keeps each session's own order, and print a
    /// table of what each one did (see docs/specs.md).
    #[arg(long)]
    pub all_permutations: bool,
}

/// Output formats for runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Timelines for people.
    Text,
    /// One JSON document with a `results` array (docs/output.md).
    Json,
    /// A handout: explanation, timeline table, verdict (docs/classroom.md).
    Markdown,
    /// One self-contained page for a projector or to hand out (docs/classroom.md).
    Html,
    /// Exactly what PostgreSQL's isolationtester prints (for .spec files; docs/specs.md).
    Isolationtester,
}
