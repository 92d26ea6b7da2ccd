//! Which of the grants docs/classroom.md lists txlab had on a server it was given, asked of the
//! server once per run (never assumed from the role's name): a class on a shared server sees at
//! once why a deadlock lesson picked another victim, or why a `.spec` file cannot run.
//!
//! Only for PostgreSQL servers named by `--database-url`: on txlab's own throwaway cluster it is
//! the superuser, and on MariaDB there is no `deadlock_timeout` to grant (InnoDB picks deadlock
//! victims itself) and a missing `CREATE` stops the run at once with its own error.

use serde::{Deserialize, Serialize};

use super::engines::Connected;
use crate::model::{Engine, StatementResult};

/// The grants txlab can use, as the server reported them for the role it connected as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    /// A superuser has every grant below.
    pub superuser: bool,
    /// `CREATE` on the database: txlab creates (and drops) a schema per run.
    pub create_on_database: bool,
    /// `CREATEDB`: only `txlab run FILE.spec` needs it (a spec runs in a database of its own).
    pub createdb: bool,
    /// `SET` on `deadlock_timeout` (superuser, or `GRANT SET ON PARAMETER` on PostgreSQL 15+):
    /// lets the deadlock lessons choose their victim.
    pub set_deadlock_timeout: bool,
}

impl Privileges {
    /// Asks the server; `None` when it cannot say (not PostgreSQL, or the question failed).
    pub async fn ask(conn: &Connected) -> Option<Privileges> {
        if conn.engine() != Engine::Postgres {
            return None;
        }
        let version = first_row(
            conn,
            "SELECT current_setting('server_version_num')::int::text",
        )
        .await?
        .first()?
        .parse::<u32>()
        .ok()?;
        // has_parameter_privilege (and GRANT SET ON PARAMETER) are new in PostgreSQL 15; before,
        // only a superuser may set deadlock_timeout.
        let set = if version >= 150_000 {
            "has_parameter_privilege('deadlock_timeout', 'SET')"
        } else {
            "false"
        };
        let sql = format!(
            "SELECT (current_setting('is_superuser') = 'on')::text, \
                    has_database_privilege(current_database(), 'CREATE')::text, \
                    rolcreatedb::text, ({set})::text \
             FROM pg_roles WHERE rolname = current_user"
        );
        let row = first_row(conn, &sql).await?;
        let flag = |i: usize| row.get(i).is_some_and(|v| v == "true");
        let superuser = flag(0);
        Some(Privileges {
            superuser,
            create_on_database: superuser || flag(1),
            createdb: superuser || flag(2),
            set_deadlock_timeout: superuser || flag(3),
        })
    }

    /// The one line txlab prints (on stderr) for a run on a given server.
    pub fn line(&self) -> String {
        if self.superuser {
            return "privileges: superuser ✓ (CREATE on database, CREATEDB and SET \
                    deadlock_timeout included)"
                .to_string();
        }
        let mark = |had: bool| if had { "✓" } else { "✗" };
        let mut parts = vec![format!(
            "CREATE on database {}{}",
            mark(self.create_on_database),
            if self.create_on_database {
                ""
            } else {
                " (txlab cannot create its schema: runs stop)"
            }
        )];
        parts.push(format!(
            "CREATEDB {}{}",
            mark(self.createdb),
            if self.createdb {
                ""
            } else {
                " (only .spec files need it)"
            }
        ));
        parts.push(format!(
            "SET deadlock_timeout {}{}",
            mark(self.set_deadlock_timeout),
            if self.set_deadlock_timeout {
                ""
            } else {
                " (the server picks deadlock victims by its own timing)"
            }
        ));
        format!("privileges: {}", parts.join(" · "))
    }
}

/// The first row of a query's answer, every value as text (NULL as empty).
async fn first_row(conn: &Connected, sql: &str) -> Option<Vec<String>> {
    let answer = conn.run(sql).await;
    if answer.error.is_some() {
        return None;
    }
    answer.results.into_iter().find_map(|r| match r {
        StatementResult::Rows { rows, .. } => rows
            .into_iter()
            .next()
            .map(|row| row.into_iter().map(Option::unwrap_or_default).collect()),
        StatementResult::Command { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_role_sees_what_it_lacks_and_what_that_changes() {
        let plain = Privileges {
            superuser: false,
            create_on_database: true,
            createdb: false,
            set_deadlock_timeout: false,
        };
        assert_eq!(
            plain.line(),
            "privileges: CREATE on database ✓ · CREATEDB ✗ (only .spec files need it) · \
             SET deadlock_timeout ✗ (the server picks deadlock victims by its own timing)"
        );
        let granted = Privileges {
            set_deadlock_timeout: true,
            ..plain
        };
        assert!(granted.line().ends_with("SET deadlock_timeout ✓"));
    }

    #[test]
    fn a_superuser_has_everything() {
        let su = Privileges {
            superuser: true,
            create_on_database: true,
            createdb: true,
            set_deadlock_timeout: true,
        };
        assert!(su.line().starts_with("privileges: superuser ✓"));
    }
}
