//! The scratch database single-spec runs reuse on a server the user runs (issue 11): creating and
//! dropping a database for every `txlab run x.spec` costs 150–500 ms, far more than a small spec.
//! Instead each role keeps one database, `txlab_scratch_<role>`, created from `template0` the first
//! time and used again while it is still as a spec found it — a sandbox as safe as a fresh one:
//!
//! - it is ours: owned by the role and marked by a comment txlab wrote; a database of that name
//!   without the mark is never used (nor dropped), the run gets a fresh database instead;
//! - one run at a time: the run holds an advisory lock inside it; a second concurrent run gets a
//!   fresh database;
//! - unchanged: `sql/scratch_state.sql` signs everything a spec could leave behind (any object
//!   created after `template0`'s, grants, database settings, prepared transactions); the comment
//!   keeps the signature of the empty database, and a run that finds another one drops the
//!   database (never with FORCE: a database someone is connected to is left alone) and creates it
//!   afresh.
//!
//! The connection that claimed it stays in it for the run, holding the lock, as the suite's catalog
//! watcher stays in `isolation_regression`.

use crate::db::SessionOptions;
use crate::db::postgres::{Connected, Server};
use crate::error::{Result, TxlabError};
use crate::model::StatementResult;

/// How txlab's comment on its scratch database starts; the signature follows.
const MARK: &str = "txlab scratch database for isolation specs, reused while its signature is ";

/// The scratch database claimed for one run.
pub struct Scratch {
    /// In the scratch database, holding the run's advisory lock until it is closed.
    pub admin: Connected,
    pub name: String,
    /// Whether the role is a superuser (then `lc_messages = C` is set, as pg_regress does).
    pub superuser: bool,
}

/// `txlab_scratch_<role>`: the role's name when it is a plain identifier, else a hash of it.
pub fn scratch_name(user: &str) -> String {
    let plain = !user.is_empty()
        && user.len() <= 40
        && user
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        format!("txlab_scratch_{user}")
    } else {
        // FNV-1a: stable across runs and builds, unlike std's hasher.
        let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("txlab_scratch_{hash:016x}")
    }
}

/// What `sql/scratch_state.sql` says.
struct State {
    locked: bool,
    superuser: bool,
    mine: bool,
    note: Option<String>,
    signature: String,
}

/// Claims the role's scratch database, creating it (or re-creating it when a spec changed it)
/// as needed. `None` when it cannot be had — taken by another run, not ours, not creatable —
/// and the caller makes a fresh database as before.
pub async fn claim(server: &Server, app: &str) -> Result<Option<Scratch>> {
    let Some(user) = server.user() else {
        return Ok(None);
    };
    let name = scratch_name(user);
    let opts = SessionOptions {
        application_name: app,
        database: Some(&name),
        ..Default::default()
    };
    let (admin, created) = match server.connect(&opts).await {
        Ok(admin) => (admin, false),
        Err(_) => {
            if !recreate(server, app, &name, false).await {
                return Ok(None);
            }
            match server.connect(&opts).await {
                Ok(admin) => (admin, true),
                Err(_) => return Ok(None),
            }
        }
    };
    if let Err(e) = admin.check_support().await {
        admin.close().await;
        return Err(e);
    }
    let state = read_state(&admin).await?;
    let expected = format!("{MARK}{}", state.signature);
    let usable = state.locked && state.mine;
    match state.note.as_deref() {
        Some(note) if usable && note == expected => return Ok(Some(claimed(admin, name, &state))),
        None if usable && created => {
            mark(&admin, &name, &state.signature).await?;
            return Ok(Some(claimed(admin, name, &state)));
        }
        Some(note) if usable && note.starts_with(MARK) => {}
        _ => {
            admin.close().await;
            return Ok(None);
        }
    }
    // A spec (or an interrupted run) left something behind: start again from template0.
    admin.close().await;
    if !recreate(server, app, &name, true).await {
        return Ok(None);
    }
    let Ok(admin) = server.connect(&opts).await else {
        return Ok(None);
    };
    let state = read_state(&admin).await?;
    if !state.locked {
        admin.close().await;
        return Ok(None);
    }
    mark(&admin, &name, &state.signature).await?;
    Ok(Some(claimed(admin, name, &state)))
}

fn claimed(admin: Connected, name: String, state: &State) -> Scratch {
    Scratch {
        admin,
        name,
        superuser: state.superuser,
    }
}

/// Creates the database from `template0` (dropping it first when asked, without FORCE), on a
/// connection to the server's default database. False when that is refused.
async fn recreate(server: &Server, app: &str, name: &str, drop_first: bool) -> bool {
    let Ok(conn) = server
        .connect(&SessionOptions {
            application_name: app,
            ..Default::default()
        })
        .await
    else {
        return false;
    };
    let dropped = !drop_first
        || conn
            .execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .is_ok();
    let created = dropped
        && matches!(
            conn.create_database(name).await,
            Ok(crate::db::CreatedDatabase::Created)
        );
    conn.close().await;
    created
}

/// Writes the empty database's signature into its comment.
async fn mark(admin: &Connected, name: &str, signature: &str) -> Result<()> {
    admin
        .execute(&format!(
            "COMMENT ON DATABASE {name} IS '{MARK}{signature}'"
        ))
        .await
}

async fn read_state(conn: &Connected) -> Result<State> {
    let answer = conn.run(include_str!("../../sql/scratch_state.sql")).await;
    if let Some(e) = answer.error {
        return Err(TxlabError::Database(format!(
            "cannot inspect the scratch database: {}",
            e.message
        )));
    }
    let row = answer.results.into_iter().find_map(|r| match r {
        StatementResult::Rows { mut rows, .. } if !rows.is_empty() => Some(rows.swap_remove(0)),
        _ => None,
    });
    let Some(row) = row else {
        return Err(TxlabError::Database(
            "cannot inspect the scratch database: no answer".into(),
        ));
    };
    let flag = |i: usize| row.get(i).cloned().flatten().as_deref() == Some("t");
    Ok(State {
        locked: flag(0),
        superuser: flag(1),
        mine: flag(2),
        note: row.get(3).cloned().flatten(),
        signature: row.get(4).cloned().flatten().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_role_names_are_kept_and_others_hashed() {
        assert_eq!(scratch_name("postgres"), "txlab_scratch_postgres");
        let odd = scratch_name("Anna \"x\"");
        assert!(
            odd.starts_with("txlab_scratch_") && odd.len() == 14 + 16,
            "{odd}"
        );
        assert!(odd[14..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(odd, scratch_name("Anna \"x\""));
        assert_ne!(odd, scratch_name("Anna \"y\""));
    }
}
