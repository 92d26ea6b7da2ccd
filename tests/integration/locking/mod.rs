//! Issue 4: the locking-strategy demos (`txlab demo withdrawals`, `counter`, `overbooking`, …) on a
//! real server. For every variant, at every level its lesson states an expectation for:
//! - the observed outcome is the one PostgreSQL documents;
//! - the invariant the demo is about (money conserved, no overdraft, every job once, participants
//!   within the limit, distinct versions…) is asserted from the tables' final state, read by this
//!   test's own query next to the lesson's verdict check, and from the timeline's waits;
//! - staged conflicts really went through the retry wrapper (`retries()`, `conflicts()`);
//! - a second run gives the same event order.
//!
//! The comparison block under each demo must report what each variant cost.

/// What each demo test does with its variants: run, observe, check (`check_demo`).
mod harness;

/// The catalogue: every demo of issue 4 is there, and each fixed variant says when to pick it.
mod catalogue;
/// Demos about counting right: counter, overbooking, version-race.
mod counting;
/// Demos about where money goes: transfer, withdrawals, retry, savepoints.
mod money;
/// Demos about who waits and for how long: nowait, skip-locked, for-share, long-lock.
mod waiting;
