//! One client: a loop that picks a transaction, borrows a connection from its thread's pool, runs attempts until
//! one commits (or the transaction is declined, fails, or runs out of attempts), backs off
//! between attempts, and tallies what happened. Clients never print; they report through
//! [`ClientStats`] at the end and a shared commit counter while they run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::options::{Strategy, Workload};
use super::rng::Rng;
use super::stats::ClientStats;
use super::strategy::{self, AttemptSettings, Op, Outcome};
use crate::db::postgres::wire::{WireError, WirePool, timer};
use crate::error::TxlabError;

/// Where a run is: warming up, measuring, or stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Warmup = 0,
    Measure = 1,
    Stop = 2,
}

/// What the controller and the clients of one point share.
#[derive(Debug)]
pub struct RunControl {
    phase: AtomicU8,
    /// `--transactions`: how many measured transactions are left to hand out.
    tickets: Option<AtomicU64>,
    /// Every commit so far, warm-up included: read by the progress display.
    pub live_committed: AtomicU64,
    /// Measured transactions finished so far (`--transactions` progress).
    pub measured_done: AtomicU64,
}

impl RunControl {
    pub fn new(transactions: Option<u64>) -> RunControl {
        RunControl {
            phase: AtomicU8::new(Phase::Warmup as u8),
            tickets: transactions.map(AtomicU64::new),
            live_committed: AtomicU64::new(0),
            measured_done: AtomicU64::new(0),
        }
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Warmup,
            1 => Phase::Measure,
            _ => Phase::Stop,
        }
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    fn counts_tickets(&self) -> bool {
        self.tickets.is_some()
    }

    /// Takes one measured transaction; false when they are all handed out.
    fn take_ticket(&self) -> bool {
        self.tickets.as_ref().is_some_and(|t| {
            t.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
        })
    }
}

/// Exponential backoff with full jitter: before attempt n+1 wait a uniformly random time in
/// `[0, min(cap, base · 2^(n-1))]`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// The wait after `failed_attempts` failed attempts (≥ 1).
    pub fn delay(&self, failed_attempts: u32, rng: &mut Rng) -> Duration {
        let shift = failed_attempts.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << shift).min(self.cap);
        Duration::from_micros(rng.range(0, ceiling.as_micros() as u64))
    }
}

/// What every client of a point runs.
#[derive(Debug, Clone, Copy)]
pub struct ClientSpec {
    pub workload: Workload,
    pub strategy: Strategy,
    pub accounts: u32,
    pub settings: AttemptSettings,
    pub max_attempts: u32,
    pub backoff: Backoff,
}

/// How one transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Committed,
    Declined,
    Failed,
    GaveUp,
    /// The run is stopping; the transaction was not retried further.
    Abandoned,
}

/// Picks the next transaction: a random transfer (distinct accounts, 1.00–100.00) or an
/// increment.
pub fn next_op(rng: &mut Rng, workload: Workload, accounts: u32) -> Op {
    match workload {
        Workload::Counter => Op::Increment,
        Workload::Transfer => {
            let k = u64::from(accounts.max(2));
            let from = rng.range(1, k);
            // Draw from the other k-1 accounts, uniformly.
            let mut to = rng.range(1, k - 1);
            if to >= from {
                to += 1;
            }
            let cents = rng.range(100, 10_000) as i64;
            Op::Transfer {
                from: from as i32,
                to: to as i32,
                amount: Decimal::new(cents, 2),
            }
        }
    }
}

/// Runs one client until the run stops. Fails only on errors that make the run meaningless
/// (lost connection, a statement the server does not understand).
pub async fn run(
    pool: WirePool,
    control: Arc<RunControl>,
    spec: ClientSpec,
    mut rng: Rng,
) -> Result<ClientStats, TxlabError> {
    let mut stats = ClientStats::default();
    loop {
        let phase = control.phase();
        if phase == Phase::Stop {
            break;
        }
        let ticketed = phase == Phase::Measure && control.counts_tickets();
        if ticketed && !control.take_ticket() {
            break;
        }
        let op = next_op(&mut rng, spec.workload, spec.accounts);

        let started = Instant::now();
        // An idle connection at hand (the usual case) is no wait: one clock read fewer.
        let (mut client, pool_wait) = match pool.try_get() {
            Some(client) => (client, Duration::ZERO),
            None => (pool.get().await.map_err(fatal)?, started.elapsed()),
        };

        let mut attempts = 0u32;
        let mut retries = 0u64;
        let mut conflicts = 0u64;
        let mut aborts: Vec<String> = Vec::new();
        let mut lock_time = Duration::ZERO;
        let end = loop {
            attempts += 1;
            match strategy::attempt(
                spec.strategy,
                op,
                &mut client,
                spec.settings,
                &mut lock_time,
            )
            .await
            {
                Ok(Outcome::Committed) => break End::Committed,
                Ok(Outcome::Declined) => break End::Declined,
                Ok(Outcome::Conflict) => conflicts += 1,
                Err(e) => match e.code() {
                    Some(code) if !is_fatal(code) => {
                        let retry = e.is_retryable();
                        aborts.push(code.to_owned());
                        if !retry {
                            break End::Failed;
                        }
                    }
                    _ => return Err(fatal(e)),
                },
            }
            if attempts >= spec.max_attempts {
                break End::GaveUp;
            }
            if control.phase() == Phase::Stop {
                break End::Abandoned;
            }
            retries += 1;
            timer::sleep(spec.backoff.delay(attempts, &mut rng)).await;
        };
        drop(client);
        let latency = started.elapsed();

        if end == End::Committed {
            stats.committed_total += 1;
            control.live_committed.fetch_add(1, Ordering::Relaxed);
        }
        let measured = if control.counts_tickets() {
            ticketed
        } else {
            control.phase() == Phase::Measure
        };
        if !measured {
            continue;
        }
        control.measured_done.fetch_add(1, Ordering::Relaxed);
        match end {
            End::Committed => {
                stats.committed += 1;
                stats
                    .latencies_us
                    .push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
            }
            End::Declined => stats.declined += 1,
            End::Failed => stats.failed += 1,
            End::GaveUp => stats.gave_up += 1,
            End::Abandoned => {}
        }
        stats.retries += retries;
        stats.conflicts += conflicts;
        for code in aborts {
            *stats.aborts.entry(code).or_default() += 1;
        }
        stats.lock_statement_time += lock_time;
        stats.pool_wait += pool_wait;
        stats.pool_wait_max = stats.pool_wait_max.max(pool_wait);
        stats.pool_gets += 1;
    }
    Ok(stats)
}

/// Errors after which going on would only repeat them: a lost connection, a statement the server
/// rejects as written, the server shutting down or out of resources.
fn is_fatal(code: &str) -> bool {
    ["42", "3F", "0A", "08", "XX", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class))
}

fn fatal(e: WireError) -> TxlabError {
    if let WireError::Open(e) = e {
        return *e;
    }
    if e.code() == Some("53300") {
        return TxlabError::BadBenchFlag {
            flag: "--clients / --pool-size".into(),
            value: "more connections than the server allows".into(),
            hint:
                "the server refused a connection (too many clients, max_connections); give fewer \
                   --clients or a smaller --pool-size"
                    .into(),
        };
    }
    TxlabError::Database(format!("a bench client stopped: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_pick_two_distinct_accounts_in_range() {
        let mut rng = Rng::new(3, 0);
        for _ in 0..2000 {
            match next_op(&mut rng, Workload::Transfer, 2) {
                Op::Transfer { from, to, amount } => {
                    assert_ne!(from, to);
                    assert!((1..=2).contains(&from) && (1..=2).contains(&to));
                    assert!(amount >= Decimal::ONE && amount <= Decimal::from(100));
                    assert_eq!(amount.scale(), 2);
                }
                Op::Increment => unreachable!(),
            }
        }
    }

    #[test]
    fn backoff_grows_then_caps() {
        let b = Backoff::default();
        let mut rng = Rng::new(1, 1);
        for _ in 0..200 {
            assert!(b.delay(1, &mut rng) <= Duration::from_millis(1));
            assert!(b.delay(4, &mut rng) <= Duration::from_millis(8));
            assert!(b.delay(30, &mut rng) <= Duration::from_millis(100));
        }
        let late: Duration = (0..200).map(|_| b.delay(12, &mut rng)).sum();
        assert!(
            late > Duration::from_millis(200 * 20),
            "jitter spans the range"
        );
    }

    #[test]
    fn tickets_run_out() {
        let c = RunControl::new(Some(2));
        assert!(c.take_ticket() && c.take_ticket());
        assert!(!c.take_ticket());
        assert!(!RunControl::new(None).take_ticket());
    }
}
