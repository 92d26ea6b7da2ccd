//! `txlab bench`: flags → a validated [`BenchPlan`], the run in a lab, results in the chosen
//! format on stdout, and the exit code (0 ok, 1 an invariant broke, 2 error, 130 interrupted,
//! 143 terminated).
//!
//! Signals are raced here rather than by [`Lab::run`]: the first Ctrl-C (or SIGTERM) asks the run
//! to stop at the next transaction boundary so the partial results and invariants can still be
//! printed; a second one abandons the run, and the sandbox is cleaned up as after any error.

use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::watch;

use super::args::BenchArgs;
use super::exit;
use crate::bench::export;
use crate::bench::options::{
    self, BenchPlan, Contention, SWEEP_ACCOUNTS, Stop, Workload, parse_duration, parse_strategies,
};
use crate::bench::progress::LiveBars;
use crate::bench::run::{self, units_per_point};
use crate::error::{Result, TxlabError};
use crate::lab::Lab;
use crate::output::print;
use crate::render::Style;
use crate::signal::{self, Signal};

/// Turns the flags into a plan, or says which flag is wrong.
pub fn plan(args: &BenchArgs) -> Result<BenchPlan> {
    let strategies = parse_strategies(&args.strategy)?;
    if args.clients == 0 || args.clients > 1000 {
        return Err(options::invalid(
            "--clients",
            &args.clients.to_string(),
            "give between 1 and 1000 clients (the server's max_connections must allow them)",
        ));
    }
    let pool_size = args.pool_size.unwrap_or(args.clients);
    if pool_size == 0 {
        return Err(options::invalid(
            "--pool-size",
            "0",
            "the pool needs at least one connection",
        ));
    }
    let contention = match args.contention.as_deref().map(str::trim) {
        None | Some("fixed") => Contention::Fixed(args.accounts),
        Some("sweep") => Contention::Sweep(SWEEP_ACCOUNTS.to_vec()),
        Some(list) => Contention::Sweep(parse_k_list(list)?),
    };
    if args.workload == Workload::Counter && matches!(contention, Contention::Sweep(_)) {
        return Err(options::invalid(
            "--contention",
            args.contention.as_deref().unwrap_or(""),
            "the counter workload is one hot row; sweep contention with `txlab bench transfer`",
        ));
    }
    if args.workload == Workload::Transfer
        && let Contention::Fixed(k) = contention
        && k < 2
    {
        return Err(options::invalid(
            "--accounts",
            &k.to_string(),
            "a transfer needs two accounts: give --accounts 2 or more",
        ));
    }
    let sweep = matches!(contention, Contention::Sweep(_));
    let stop = match (args.transactions, &args.duration) {
        (Some(0), _) => {
            return Err(options::invalid(
                "--transactions",
                "0",
                "measure at least one transaction",
            ));
        }
        (Some(n), _) => Stop::Transactions(n),
        (None, Some(d)) => Stop::After(parse_duration(d)?),
        (None, None) => Stop::After(Duration::from_secs(if sweep { 2 } else { 10 })),
    };
    if stop == Stop::After(Duration::ZERO) {
        return Err(options::invalid(
            "--duration",
            args.duration.as_deref().unwrap_or("0"),
            "measure for some time, e.g. --duration 500ms",
        ));
    }
    let warmup = match &args.warmup {
        Some(w) => parse_duration(w)?,
        None => match stop {
            Stop::After(d) => (d / 5).min(Duration::from_secs(1)),
            Stop::Transactions(_) => Duration::from_millis(500),
        },
    };
    let initial_balance: Decimal = args
        .balance
        .trim()
        .parse()
        .ok()
        .filter(|b: &Decimal| !b.is_sign_negative() && b.scale() <= 2 && *b < Decimal::from(10_000_000_000i64))
        .ok_or_else(|| {
            options::invalid(
                "--balance",
                &args.balance,
                "an opening balance is a non-negative amount with at most two decimals, below 10,000,000,000 (e.g. 1000.00)",
            )
        })?;
    Ok(BenchPlan {
        workload: args.workload,
        strategies,
        clients: args.clients,
        pool_size,
        contention,
        stop,
        warmup,
        think: parse_duration(&args.think)?,
        initial_balance: initial_balance.round_dp(2),
        seed: args.seed,
        max_attempts: args.max_attempts.max(1),
        client_threads: args.threads.unwrap_or_else(default_threads).min(64),
    })
}

/// Client worker threads when `--threads` is not given. One thread driving every client halves
/// the throughput of a hot row compared with pgbench; two match it (docs/bench.md, "Is the
/// client the bottleneck?"). More than four only adds cross-thread wake-ups.
fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
}

fn parse_k_list(list: &str) -> Result<Vec<u32>> {
    let hint = "--contention takes `sweep` or a comma list of account counts, each 2 or more (e.g. 2,16,256)";
    let mut ks = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let k: u32 = item
            .parse()
            .ok()
            .filter(|k| *k >= 2)
            .ok_or_else(|| options::invalid("--contention", list, hint))?;
        if !ks.contains(&k) {
            ks.push(k);
        }
    }
    if ks.is_empty() {
        return Err(options::invalid("--contention", list, hint));
    }
    Ok(ks)
}

/// Runs `txlab bench`; returns the exit code.
pub async fn execute(database_url: Option<&str>, args: BenchArgs, style: &Style) -> Result<u8> {
    let plan = plan(&args)?;
    let mut signals = signal::Listener::default();
    let lab = Lab::open(database_url).await?;
    lab.announce_privileges(false);
    let points_per_strategy = plan.account_counts().len() as u64;
    let bars = LiveBars::new(
        style,
        &plan.strategies,
        units_per_point(&plan) * points_per_strategy,
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut first_signal = None;
    let result = {
        let (server, sandbox) = lab.postgres("txlab bench")?;
        let work = run::run(server, sandbox, &plan, &bars, stop_rx);
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => break r,
                heard = signals.next() => {
                    if first_signal.is_some() {
                        break Err(heard.error());
                    }
                    first_signal = Some(heard);
                    let _ = stop_tx.send(true);
                }
            }
        }
    };
    bars.clear();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            lab.cleanup().await;
            return Err(e);
        }
    };
    let exporter = export::exporter(args.format, *style);
    print(&export::to_string(exporter.as_ref(), &report))?;
    if !report.invariants_ok {
        let broken = report.broken();
        let e = TxlabError::InvariantBroken(broken.join("; "));
        super::report(&anyhow::Error::from(e), None);
        return Ok(exit::ANSWER_IS_NO);
    }
    Ok(match (report.interrupted, first_signal) {
        (true, Some(Signal::Terminate)) => exit::TERMINATED,
        (true, _) => exit::INTERRUPTED,
        (false, _) => exit::OK,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(line: &str) -> Result<BenchPlan> {
        let argv = std::iter::once("bench").chain(line.split_whitespace());
        plan(&Wrapper::try_parse_from(argv).unwrap().args)
    }

    #[test]
    fn defaults_and_sweep() {
        let p = parse("transfer").unwrap();
        assert_eq!(p.stop, Stop::After(Duration::from_secs(10)));
        assert_eq!(p.warmup, Duration::from_secs(1));
        assert_eq!(p.strategies.len(), 5);
        assert_eq!(p.pool_size, 8);
        let p = parse("transfer --strategy pessimistic,optimistic --contention sweep").unwrap();
        assert_eq!(p.account_counts(), SWEEP_ACCOUNTS.to_vec());
        assert_eq!(p.stop, Stop::After(Duration::from_secs(2)));
        assert_eq!(p.warmup, Duration::from_millis(400));
        assert_eq!(p.points().len(), 10);
        let p = parse("transfer --contention 4,2,4").unwrap();
        assert_eq!(p.account_counts(), vec![4, 2]);
        let p = parse("counter --transactions 100").unwrap();
        assert_eq!(p.stop, Stop::Transactions(100));
        assert_eq!(p.account_counts(), vec![1]);
    }

    #[test]
    fn bad_flags_say_what_to_do() {
        for line in [
            "transfer --clients 0",
            "transfer --accounts 1",
            "counter --contention sweep",
            "transfer --contention 1,2",
            "transfer --duration 0s",
            "transfer --duration fast",
            "transfer --balance=-5",
            "transfer --balance 1.234",
            "transfer --strategy fastest",
            "transfer --transactions 0",
        ] {
            let e = parse(line).expect_err(line);
            assert!(!e.hint().is_empty(), "{line}");
        }
    }
}
