//! `txlab bench`: flags → a validated [`BenchPlan`], the run in a lab, results in the chosen
//! format on stdout, and the exit code (0 ok, 1 an invariant broke, 2 error, 130 interrupted).
//!
//! Ctrl-C is handled here rather than by [`Lab::run`]: the first one asks the run to stop at the
//! next transaction boundary so the partial results and invariants can still be printed; a second
//! one abandons the run, and the sandbox is cleaned up as after any error.

use std::time::Duration;

use clap::Args;
use rust_decimal::Decimal;
use tokio::sync::watch;

use super::demo::print_out;
use super::exit;
use super::lab::Lab;
use crate::bench::export::{self, BenchFormat};
use crate::bench::options::{
    self, BenchPlan, Contention, SWEEP_ACCOUNTS, Stop, Workload, parse_duration, parse_strategies,
};
use crate::bench::progress::LiveBars;
use crate::bench::run::{self, units_per_point};
use crate::error::{Result, TxlabError};
use crate::render::Style;

pub const EXAMPLES: &str = "\
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
    let mut signals = Signals::new()?;
    let lab = tokio::select! {
        lab = Lab::open(database_url) => lab?,
        _ = signals.next() => return Err(TxlabError::Interrupted),
    };
    let points_per_strategy = plan.account_counts().len() as u64;
    let bars = LiveBars::new(
        style,
        &plan.strategies,
        units_per_point(&plan) * points_per_strategy,
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let result = {
        let work = run::run(&lab.server, &lab.sandbox, &plan, &bars, stop_rx);
        tokio::pin!(work);
        let mut stopping = false;
        loop {
            tokio::select! {
                r = &mut work => break r,
                _ = signals.next() => {
                    if stopping {
                        break Err(TxlabError::Interrupted);
                    }
                    stopping = true;
                    let _ = stop_tx.send(true);
                }
            }
        }
    };
    bars.clear();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            lab.sandbox.cleanup(&lab.server).await;
            return Err(e);
        }
    };
    let exporter = export::exporter(args.format, *style);
    print_out(&export::to_string(exporter.as_ref(), &report));
    if !report.invariants_ok {
        let broken = report.broken();
        let e = TxlabError::InvariantBroken(broken.join("; "));
        super::report(&anyhow::Error::from(e), None);
        return Ok(exit::ANSWER_IS_NO);
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

/// SIGINT and SIGTERM as a stream, so the second one can be told from the first.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind| {
            signal(kind)
                .map_err(|e| TxlabError::Database(format!("cannot listen for signals: {e}")))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
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
