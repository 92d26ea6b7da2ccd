//! The role's scratch database for single-spec runs on a server the user runs (issue 11): reused
//! while unchanged, created afresh after a spec left something behind, and a database of that
//! name that txlab did not mark is never used nor dropped.

use crate::util::{self, fixture, output, txlab};

/// A role of this test's own (so that no other test's runs share its scratch database), with
/// CREATEDB; its URL, or `None` (said) when it cannot be created.
fn role_url(role: &str) -> Option<String> {
    let created = util::runtime().block_on(async {
        let conn = util::pg().connect(&Default::default()).await.unwrap();
        let result = conn
            .execute(&format!(
                "DO $$ BEGIN
                   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                     CREATE ROLE {role} LOGIN CREATEDB;
                   END IF;
                 END $$;"
            ))
            .await;
        conn.close().await;
        result
    });
    if let Err(e) = created {
        util::skipped(format_args!("cannot create role {role}: {e}"));
        return None;
    }
    let url = util::database_url();
    Some(match url.split_once("user=") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map(|(_, r)| r).unwrap_or("");
            format!("{head}user={role} {rest}").trim().to_string()
        }
        None => format!("{url} user={role}"),
    })
}

/// The first column of the first row `sql` returns, on the shared server's default database.
fn ask(sql: &str) -> Option<String> {
    util::runtime().block_on(async {
        let conn = util::pg().connect(&Default::default()).await.unwrap();
        let answer = conn.run(sql).await;
        conn.close().await;
        answer.results.into_iter().find_map(|r| match r {
            txlab::model::StatementResult::Rows { rows, .. } => rows
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten()),
            _ => None,
        })
    })
}

fn oid_of(db: &str) -> Option<String> {
    ask(&format!(
        "SELECT oid::text FROM pg_database WHERE datname = '{db}'"
    ))
}

fn run_spec(url: &str, name: &str) -> String {
    let out = output(
        txlab()
            .env_remove("PGAPPNAME")
            .args(["--color", "never", "run", "--format", "isolationtester"])
            .arg(fixture(&format!("scratch/{name}.spec")))
            .args(["--database-url", url]),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.stdout
}

#[test]
fn a_clean_spec_reuses_the_scratch_database_and_a_messy_one_gets_it_afresh() {
    let Some(url) = role_url("txlab_scratch_t1") else {
        return;
    };
    let db = "txlab_scratch_txlab_scratch_t1";
    let first = run_spec(&url, "clean");
    assert!(first.contains(" 1\n(1 row)"), "{first}");
    let created = oid_of(db).expect("the scratch database is kept after the run");
    assert_eq!(run_spec(&url, "clean"), first);
    assert_eq!(
        oid_of(db),
        Some(created.clone()),
        "an unchanged scratch database is reused"
    );

    // `leaves` leaves its table behind: its second run must not find it (its setup would fail).
    let messy = run_spec(&url, "leaves");
    assert!(messy.contains(" 1\n(1 row)"), "{messy}");
    assert_eq!(run_spec(&url, "leaves"), messy);
    let after = oid_of(db).expect("the scratch database is kept");
    assert_ne!(
        after, created,
        "a changed scratch database is created afresh"
    );
}

#[test]
fn a_database_with_the_scratch_name_that_txlab_did_not_mark_is_left_alone() {
    let Some(url) = role_url("txlab_scratch_t2") else {
        return;
    };
    let db = "txlab_scratch_txlab_scratch_t2";
    let made = util::runtime().block_on(async {
        let conn = util::pg().connect(&Default::default()).await.unwrap();
        let mut made = conn.execute(&format!("DROP DATABASE IF EXISTS {db}")).await;
        if made.is_ok() {
            made = conn
                .execute(&format!("CREATE DATABASE {db} OWNER txlab_scratch_t2"))
                .await;
        }
        conn.close().await;
        made
    });
    made.unwrap();
    let before = oid_of(db).unwrap();
    let out = run_spec(&url, "leaves");
    assert!(out.contains(" 1\n(1 row)"), "{out}");
    assert_eq!(
        oid_of(db),
        Some(before),
        "someone else's database is neither used nor dropped"
    );
    assert_eq!(
        ask(&format!(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), 'none') FROM pg_database WHERE datname = '{db}'"
        ))
        .as_deref(),
        Some("none")
    );
}
