//! The command-line edge: parse flags, install the signal handlers, run one command, print errors
//! once as `error:` plus `hint:`, and map the outcome to a stable exit code (see [`exit`]). This is
//! the single exit point: commands return errors (a failed write to stdout included) and their
//! cleanup runs before the code is decided here.

pub mod args;
pub mod bench;
pub mod completions;
pub mod demo;
pub mod finish;
pub mod list;
pub mod replay;
pub mod shared;
pub mod spec;
pub mod spec_print;
pub mod suite;
pub mod suite_jobs;

use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command};
use crate::error::TxlabError;
use crate::output;
use crate::render::Style;

/// Exit codes, stable for scripts.
pub mod exit {
    /// Everything ran; also a closed stdout pipe (`txlab … | head`).
    pub const OK: u8 = 0;
    /// Ran, but the answer is no: `--check` found a run that differs from PostgreSQL's documented
    /// behaviour, or a bench invariant broke.
    pub const ANSWER_IS_NO: u8 = 1;
    /// An error, printed as `error:` and `hint:`.
    pub const ERROR: u8 = 2;
    /// Ctrl-C (SIGINT), after cleanup: 128 + 2.
    pub const INTERRUPTED: u8 = 130;
    /// SIGTERM, after cleanup: 128 + 15.
    pub const TERMINATED: u8 = 143;
}

/// Parses the command line, runs it and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = Style::detect(cli.global.color);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(
                &anyhow::anyhow!(e).context("cannot start the async runtime"),
                None,
            );
        }
    };
    // One thread drives every session: the order in which answers arrive on their sockets is the
    // order they are seen in, which keeps causally related completions in causal order.
    let result = runtime.block_on(async {
        // Before anything that needs cleaning up exists: from here on a signal unwinds the
        // command instead of killing the process.
        crate::signal::install()
            .map_err(|e| anyhow::anyhow!(e).context("cannot listen for signals"))?;
        dispatch(cli, style).await.map_err(anyhow::Error::from)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => match e.downcast_ref::<TxlabError>() {
            Some(e) if output::is_closed_pipe(e) => ExitCode::from(exit::OK),
            Some(e @ (TxlabError::Interrupted | TxlabError::Terminated)) => {
                eprintln!("error: {e}; {}", e.hint());
                ExitCode::from(if matches!(e, TxlabError::Terminated) {
                    exit::TERMINATED
                } else {
                    exit::INTERRUPTED
                })
            }
            _ => report(&e, None),
        },
    }
}

async fn dispatch(cli: Cli, style: Style) -> Result<u8, TxlabError> {
    let url = cli.global.database_url.as_deref();
    let engines = cli.global.engine.engines(url);
    match cli.command {
        Command::List => {
            output::print(&list::render(&style))?;
            if engines.contains(&crate::model::Engine::Mariadb) {
                output::print(&list::engine_notes(crate::model::Engine::Mariadb))?;
            }
            Ok(exit::OK)
        }
        Command::Demo(args) => {
            let plan = shared::plan_for_demo(&args.lesson, &args.flags)?;
            demo::run_engines(url, &engines, plan, &style).await
        }
        Command::Run(args) if suite::handles(&args) => suite::run(url, &args, &style).await,
        Command::Run(args) if args.jobs > 1 => Err(TxlabError::BadArguments(
            "--jobs runs a suite's specs side by side; one file runs on its own (give several specs with --expected DIR, or --schedule)".into(),
        )),
        Command::Run(args) if spec::handles(&args) => spec::run(url, &args, &style).await,
        Command::Run(args) => {
            let plan = shared::plan_for_file(args.file(), &args.flags)?;
            demo::run_engines(url, &engines, plan, &style).await
        }
        Command::Bench(args) => bench::execute(url, args, &style).await,
        Command::Replay(args) => replay::run(&args, &style).await,
        Command::Completions(args) => {
            completions::run(args.shell)?;
            Ok(exit::OK)
        }
    }
}

/// Prints an error once, with its hint, and returns the exit code.
fn report(e: &anyhow::Error, code: Option<u8>) -> ExitCode {
    let hint = e.downcast_ref::<TxlabError>().map(TxlabError::hint);
    let message = e.to_string().replace('\n', " ");
    eprintln!("error: {message}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(code.unwrap_or(exit::ERROR))
}
