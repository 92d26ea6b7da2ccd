//! The command-line edge: parse flags, run one command, print errors once as `error:` plus
//! `hint:`, and map the outcome to a stable exit code (0 ok, 1 "ran, but the answer is no",
//! 2 error, 130 interrupted).

pub mod args;
pub mod bench;
pub mod demo;
pub mod lab;
pub mod list;
pub mod spec;

use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command};
use self::lab::Lab;
use crate::error::TxlabError;
use crate::render::Style;

/// Exit codes, stable for scripts.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ANSWER_IS_NO: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
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
    let result = runtime.block_on(dispatch(cli, style));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = if matches!(e, TxlabError::Interrupted) {
                exit::INTERRUPTED
            } else {
                exit::ERROR
            };
            report(&anyhow::Error::from(e), Some(code))
        }
    }
}

async fn dispatch(cli: Cli, style: Style) -> Result<u8, TxlabError> {
    match cli.command {
        Command::List => {
            demo::print_out(&list::render(&style));
            Ok(exit::OK)
        }
        Command::Demo(args) => {
            let plan = demo::Plan::for_demo(&args.lesson, &args.flags)?;
            run_plan(cli.global.database_url.as_deref(), plan, &style).await
        }
        Command::Run(args) if spec::handles(&args) => {
            spec::run(cli.global.database_url.as_deref(), &args, &style).await
        }
        Command::Run(args) => {
            let plan = demo::Plan::for_file(&args.file, &args.flags)?;
            run_plan(cli.global.database_url.as_deref(), plan, &style).await
        }
        Command::Bench(args) => {
            bench::execute(cli.global.database_url.as_deref(), args, &style).await
        }
    }
}

async fn run_plan(url: Option<&str>, plan: demo::Plan, style: &Style) -> Result<u8, TxlabError> {
    let lab = tokio::select! {
        lab = Lab::open(url) => lab?,
        _ = tokio::signal::ctrl_c() => return Err(TxlabError::Interrupted),
    };
    let ok = lab.run(demo::execute(&lab, plan, style)).await?;
    Ok(if ok { exit::OK } else { exit::ANSWER_IS_NO })
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
