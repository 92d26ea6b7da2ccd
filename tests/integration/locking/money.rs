//! Demos about where money goes: transfers conserve it, withdrawals never overdraw, a retry
//! wrapper saves the deadlock victim's transfer, savepoints keep a sign-up's account.

use std::time::Duration;

use super::harness::{check_comparison, check_demo, occurred};

#[test]
fn transfer_conserves_money() {
    let runs = check_demo(
        "transfer",
        |_| "SELECT json_build_object('total', sum(balance), 'min', min(balance)) FROM account",
        |seen| {
            let conserved = seen.num("total") == 300.0 && seen.num("min") >= 0.0;
            assert_eq!(occurred(seen), !conserved, "{}", seen.what());
        },
    );
    check_comparison(
        "transfer",
        &runs,
        &["1 retry", "optimistic conflict", "waited"],
    );
}

#[test]
fn withdrawals_never_overdraw() {
    let runs = check_demo(
        "withdrawals",
        |id| match id {
            "withdrawals-broken" | "withdrawals-account-lock" => {
                "SELECT json_build_object('balance', balance, 'reserved', 0, \
                 'paid_out', (SELECT coalesce(sum(amount), 0) FROM payout)) FROM account WHERE id = 1"
            }
            _ => {
                "SELECT json_build_object('balance', balance, \
                 'reserved', (SELECT coalesce(sum(reserved), 0) FROM buy_order), \
                 'paid_out', (SELECT coalesce(sum(amount), 0) FROM payout)) FROM account WHERE id = 1"
            }
        },
        |seen| {
            let (balance, reserved, paid) = (
                seen.num("balance"),
                seen.num("reserved"),
                seen.num("paid_out"),
            );
            assert_eq!(balance, 100.0 - paid, "payouts = debits: {}", seen.what());
            assert_eq!(occurred(seen), balance - reserved < 0.0, "{}", seen.what());
            if seen.run.lesson_id == "withdrawals-advisory-timeout" {
                let waited = seen.waited("b");
                assert!(
                    waited >= Duration::from_millis(45),
                    "the loser waits for lock_timeout: {waited:?}"
                );
                assert!(seen.errors().contains(&"55P03".to_string()));
                assert!(!seen.committed("b") && seen.committed("a"));
            }
        },
    );
    check_comparison(
        "withdrawals",
        &runs,
        &["OVERDRAFT OCCURRED", "55P03", "waited"],
    );
}

#[test]
fn retry_wrapper_saves_the_deadlock_victim() {
    let runs = check_demo(
        "retry",
        |_| {
            "SELECT json_build_object('alice', (SELECT balance FROM account WHERE id = 1), \
             'bob', (SELECT balance FROM account WHERE id = 2))"
        },
        |seen| {
            let both = seen.committed("a") && seen.committed("b");
            let serial = seen.num("alice") == 90.0 && seen.num("bob") == 110.0;
            assert_eq!(occurred(seen), !(both && serial), "{}", seen.what());
            assert_eq!(
                seen.num("alice") + seen.num("bob"),
                200.0,
                "{}",
                seen.what()
            );
            match seen.run.lesson_id.as_str() {
                "retry-broken" => {
                    assert_eq!(seen.errors()[0], "40P01", "{}", seen.what());
                    assert!(!seen.committed("b"), "the victim is not retried");
                }
                "retry-deadlock" => {
                    assert_eq!(seen.errors()[0], "40P01", "{}", seen.what());
                    assert!(both && serial, "the victim retried and committed");
                    assert_eq!(seen.retries(), 1);
                }
                _ => {}
            }
        },
    );
    check_comparison(
        "retry",
        &runs,
        &["TRANSFER LOST OCCURRED", "40P01", "1 retry"],
    );
}

#[test]
fn savepoints_keep_the_account() {
    let runs = check_demo(
        "savepoints",
        |_| {
            "SELECT json_build_object('account', EXISTS (SELECT 1 FROM app_user WHERE email = 'dana@example.org'), \
             'newsletter', (SELECT count(*) FROM newsletter))"
        },
        |seen| {
            let kept = seen.state["account"] == true;
            assert_eq!(occurred(seen), !kept, "{}", seen.what());
            assert_eq!(seen.num("newsletter"), 1.0);
            let errors = seen.errors();
            if seen.run.lesson_id == "savepoints-broken" {
                assert_eq!(errors, ["23503", "25P02"], "{}", seen.what());
            } else {
                assert_eq!(errors, ["23503", "23505"], "{}", seen.what());
                assert!(seen.committed("a"));
            }
        },
    );
    check_comparison(
        "savepoints",
        &runs,
        &["ACCOUNT LOST OCCURRED", "23503, 23505"],
    );
}
