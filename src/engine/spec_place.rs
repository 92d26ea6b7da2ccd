//! Where a spec runs and in what environment: pg_regress's settings, and a place of its own (a
//! fresh database, the throwaway cluster's default database, or a schema when the role may not
//! create databases), created and dropped through the `db` seam.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::db::CreatedDatabase;
use crate::db::SessionOptions;
use crate::db::postgres::{Connected, Sandbox, Server};
use crate::error::{Result, TxlabError};

/// The settings pg_regress gives every test, as `(name, value)`; `lc_messages` only when the
/// role may set it (superuser), since a refused startup option refuses the connection.
pub fn regress_settings(superuser: bool) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = [
        ("lc_monetary", "C"),
        ("lc_numeric", "C"),
        ("lc_time", "C"),
        ("bytea_output", "hex"),
        ("timezone_abbreviations", "Default"),
        ("timezone", "America/Los_Angeles"),
        ("datestyle", "Postgres, MDY"),
        ("intervalstyle", "postgres_verbose"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if superuser {
        settings.insert(0, ("lc_messages".into(), "C".into()));
    }
    settings
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A database name unique to this process and call.
pub fn fresh_database_name() -> String {
    format!(
        "txlab_spec_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where the spec's objects live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SpecPlace {
    /// A database of its own (the normal case).
    Database(String),
    /// The server's default database, untouched: a throwaway cluster's fresh `postgres`.
    ServerDefault,
    /// A schema in the server's default database, when the role may not create databases.
    Schema(String),
    /// The role's scratch database, kept between runs while unchanged (`spec_scratch`).
    Scratch(String),
}

/// Creates `database` for the spec (registered with the sandbox first, so that an interruption
/// still drops it), or a schema when the role may not create databases. A name already on the
/// server is refused without trying: it is somebody else's, and must never be registered.
pub(super) async fn create_place(
    admin: &Connected,
    sandbox: &Sandbox,
    database: &str,
) -> Result<SpecPlace> {
    if admin.database_exists(database).await? {
        return Err(TxlabError::Database(format!(
            "a database named {database} already exists on the server"
        )));
    }
    sandbox.register_database(database);
    let created = admin.create_database(database).await;
    if !matches!(created, Ok(CreatedDatabase::Created)) {
        sandbox.forget_database(database);
    }
    match created? {
        CreatedDatabase::Created => Ok(SpecPlace::Database(database.to_string())),
        CreatedDatabase::NotPermitted(refusal) => match sandbox.create_schema(admin).await {
            Ok(schema) => Ok(SpecPlace::Schema(schema)),
            Err(TxlabError::Database(why)) => Err(TxlabError::Database(format!(
                "this role may create neither a database for the spec ({refusal}) nor a schema: {why}"
            ))),
            Err(other) => Err(other),
        },
    }
}

/// Drops the spec's database (ending any connection still in it) or schema.
pub async fn drop_place(admin: &Connected, sandbox: &Sandbox, place: &SpecPlace) -> Result<()> {
    match place {
        SpecPlace::Database(name) => {
            drop_database(admin, name).await?;
            sandbox.forget_database(name);
            Ok(())
        }
        SpecPlace::ServerDefault | SpecPlace::Scratch(_) => Ok(()),
        SpecPlace::Schema(name) => sandbox.drop_schema(admin, name).await,
    }
}

/// `DROP DATABASE IF EXISTS … WITH (FORCE)`: also after an interruption, when connections may
/// still be open.
pub async fn drop_database(admin: &Connected, name: &str) -> Result<()> {
    admin.drop_database(name).await
}

/// The admin connection, whether the role is a superuser, and where the spec runs: the role's
/// scratch database when asked and it can be had, else `opts.database` created afresh, else the
/// server's default database.
pub(super) async fn open_place(
    server: &Server,
    sandbox: &Sandbox,
    app: &str,
    opts: &super::spec_runner::SpecRunOptions,
) -> Result<(Connected, bool, SpecPlace)> {
    if opts.scratch
        && let Some(s) = super::spec_scratch::claim(server, app).await?
    {
        return Ok((s.admin, s.superuser, SpecPlace::Scratch(s.name)));
    }
    let admin = server
        .connect(&SessionOptions {
            application_name: app,
            ..Default::default()
        })
        .await?;
    admin.check_support().await?;
    let superuser = admin.is_superuser().await;
    let place = match &opts.database {
        Some(database) => create_place(&admin, sandbox, database).await,
        None => Ok(SpecPlace::ServerDefault),
    };
    match place {
        Ok(place) => Ok((admin, superuser, place)),
        Err(e) => {
            admin.close().await;
            Err(e)
        }
    }
}
