//! A suite of isolation specs in ONE database, as pg_isolation_regress runs them in
//! `isolation_regression`: the database is created once, every spec runs in it on its own
//! connections (named `isolation/<spec>/<session>` unless `PGAPPNAME` says otherwise), and the
//! catalog is compared before and after each spec so that one leaving objects behind is reported
//! rather than silently hidden. Like the rest of the engine it records and never formats.

use std::collections::BTreeSet;

use super::lesson::Lesson;
use super::run::SessionInfo;
use super::spec_place::{SpecPlace, create_place, drop_place, fresh_database_name};
use super::spec_runner::{
    PermutationRun, SpecRunOptions, app_base, regress_settings, run_in_place,
};
use crate::db::SessionOptions;
use crate::db::postgres::{Connected, Sandbox, Server};
use crate::error::Result;
use crate::model::StatementResult;

/// pg_regress's name for the database isolation specs run in.
pub const REGRESSION_DATABASE: &str = "isolation_regression";

/// The objects a spec may leave in the suite's database: relations and functions outside the
/// system schemas, and schemas other than `public`.
const CATALOG: &str = "\
SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c \
  JOIN pg_namespace n ON n.oid = c.relnamespace \
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
UNION ALL SELECT 'schema ' || nspname FROM pg_namespace \
  WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema') \
    AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%' \
UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p \
  JOIN pg_namespace n ON n.oid = p.pronamespace \
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')";

/// The suite's one database and a connection into it that watches its catalog.
pub struct SuiteDatabase {
    /// Where every spec runs.
    pub place: SpecPlace,
    /// Whether we are a superuser (then `lc_messages = C` is set, as pg_regress does).
    pub superuser: bool,
    admin: Connected,
    watcher: Connected,
    settings: Vec<(String, String)>,
    /// The catalog as the last spec left it: the next spec's "before", read once instead of
    /// twice between two specs (nothing else runs in the database meanwhile).
    last_seen: std::sync::Mutex<Option<BTreeSet<String>>>,
}

/// What one spec did in the suite.
pub struct SuiteSpecRun {
    /// The sessions with their backend pids (for NOTIFY senders), when the spec connected.
    pub sessions: Vec<SessionInfo>,
    /// Objects present after the spec that were not there before it.
    pub leftovers: Vec<String>,
}

impl SuiteDatabase {
    /// Creates a database for the suite (a schema when the role may not create databases).
    /// The first is named `isolation_regression` as pg_regress names it (`name`; some specs name
    /// their database, e.g. `GRANT … ON DATABASE isolation_regression`); when that name is taken
    /// on the server, and for the other jobs of `--jobs N` (`None`), a fresh name of txlab's own.
    pub async fn open(server: &Server, sandbox: &Sandbox, name: Option<&str>) -> Result<Self> {
        let admin = server
            .connect(&SessionOptions {
                application_name: sandbox.application_name(),
                ..Default::default()
            })
            .await?;
        admin.check_support().await?;
        let superuser = admin.is_superuser().await;
        let place = match name {
            Some(name) => match create_place(&admin, sandbox, name).await {
                Err(_) => create_place(&admin, sandbox, &fresh_database_name()).await,
                created => created,
            },
            None => create_place(&admin, sandbox, &fresh_database_name()).await,
        };
        let place = match place {
            Ok(place) => place,
            Err(e) => {
                admin.close().await;
                return Err(e);
            }
        };
        let (database, search_path) = place_options(&place);
        let watcher = server
            .connect(&SessionOptions {
                application_name: sandbox.application_name(),
                database,
                search_path,
                settings: &[],
            })
            .await;
        let watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let _ = drop_place(&admin, sandbox, &place).await;
                admin.close().await;
                return Err(e);
            }
        };
        Ok(SuiteDatabase {
            place,
            superuser,
            admin,
            watcher,
            settings: regress_settings(superuser),
            last_seen: std::sync::Mutex::new(None),
        })
    }

    /// Whether specs run in a schema of a shared database rather than a database of their own
    /// (then they cannot run side by side: the catalog check would see each other's objects).
    pub fn in_schema(&self) -> bool {
        matches!(self.place, SpecPlace::Schema(_))
    }

    /// The objects in the suite's database now.
    pub async fn catalog(&self) -> BTreeSet<String> {
        let answer = self.watcher.run(CATALOG).await;
        let mut objects = BTreeSet::new();
        for result in answer.results {
            if let StatementResult::Rows { rows, .. } = result {
                objects.extend(
                    rows.into_iter()
                        .filter_map(|r| r.into_iter().next().flatten()),
                );
            }
        }
        objects
    }

    /// Runs one spec in the suite's database, calling `on_permutation` after each permutation,
    /// and compares the catalog before and after it.
    pub async fn run_spec(
        &self,
        server: &Server,
        lesson: &Lesson,
        opts: &SpecRunOptions,
        on_permutation: &mut dyn FnMut(&[SessionInfo], &PermutationRun),
    ) -> (Result<usize>, SuiteSpecRun) {
        let known = self.last_seen.lock().map(|mut k| k.take()).unwrap_or(None);
        let before = match known {
            Some(before) => before,
            None => self.catalog().await,
        };
        let base = app_base(&lesson.id);
        let result = run_in_place(
            server,
            &base,
            &self.place,
            &self.settings,
            lesson,
            opts,
            on_permutation,
        )
        .await;
        let after = self.catalog().await;
        let (ran, sessions) = match result {
            Ok((ran, sessions)) => (Ok(ran), sessions),
            Err(e) => (Err(e), Vec::new()),
        };
        let leftovers = after.difference(&before).cloned().collect();
        if let Ok(mut last) = self.last_seen.lock() {
            *last = Some(after);
        }
        (
            ran,
            SuiteSpecRun {
                sessions,
                leftovers,
            },
        )
    }

    /// Drops the suite's database (ending any connection still in it) and closes.
    pub async fn close(self, sandbox: &Sandbox) -> Result<()> {
        self.watcher.close().await;
        let dropped = drop_place(&self.admin, sandbox, &self.place).await;
        self.admin.close().await;
        dropped
    }
}

fn place_options(place: &SpecPlace) -> (Option<&str>, Option<&str>) {
    match place {
        SpecPlace::Database(db) | SpecPlace::Scratch(db) => (Some(db.as_str()), None),
        SpecPlace::ServerDefault => (None, None),
        SpecPlace::Schema(schema) => (None, Some(schema.as_str())),
    }
}
