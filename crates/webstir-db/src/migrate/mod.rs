//! The migration runner behind the app binary's `migrate` subcommand.
//!
//! # Files
//!
//! Migrations are SQL files in one directory (by convention [`DEFAULT_DIR`], relative to the workspace root),
//! applied in file-name order. The id of a migration is its file name without `.sql`:
//!
//! ```sql
//! -- 0001_create_accounts.sql
//! CREATE TABLE accounts (
//!     id INTEGER PRIMARY KEY,
//!     email TEXT NOT NULL UNIQUE
//! );
//! INSERT INTO accounts (email) VALUES ('ada@example.com');
//!
//! -- migrate:down
//! DROP TABLE accounts;
//! ```
//!
//! * Everything before the `-- migrate:down` line is the **up** part; everything after it the **down** part.
//!   The down part is optional (without it, `--down` skips the migration).
//! * When the SQL differs between engines, write `0002_search.sqlite.sql` and `0002_search.postgres.sql`:
//!   both have the id `0002_search` and only the one for the current engine is used.
//! * Each migration runs in one transaction together with its history row, so a failing up leaves nothing
//!   behind (DDL is transactional on both engines). Do not put `BEGIN`/`COMMIT` in the files. Statements
//!   that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`) are not supported.
//! * The history table (default [`DEFAULT_TABLE`]) records the id, a SHA-256 checksum of the up part and the
//!   time it was applied. Editing the up part of an applied migration is reported by `--status` and makes
//!   applying fail until the file is restored; the down part may be fixed freely.
//! * Two processes migrating at once do not both apply a migration: each migration takes
//!   `pg_advisory_xact_lock` on PostgreSQL (`BEGIN IMMEDIATE` on SQLite) and re-checks the history first.
//!
//! # System migrations
//!
//! Tables the framework itself owns (API keys, later sessions, jobs…) are created by [`SystemMigration`]s:
//! SQL embedded in the binary, applied with [`apply_system`] and recorded in their own history table
//! ([`SYSTEM_TABLE`]), so the app's `migrate --status`/`--down` never see them. The runtime applies them
//! before the app's own migrations, with the same transaction, locking and checksum rules as above.

mod files;

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use crate::db::{Db, Engine, Transaction};
use crate::params;
use crate::value::timestamp_text;

use files::Migration;

/// The default history table (`DATABASE_MIGRATIONS_TABLE`).
pub const DEFAULT_TABLE: &str = "_webstir_migrations";

/// Where an app keeps its migrations, relative to the workspace root.
pub const DEFAULT_DIR: &str = "src/backend/db/migrations";

/// The history table of the framework's own [`SystemMigration`]s (separate from [`DEFAULT_TABLE`]).
pub const SYSTEM_TABLE: &str = "_webstir_system_migrations";

/// A migration of a framework-owned table, embedded in the binary and applied with [`apply_system`].
///
/// The id names it in the history (`"0001_api_keys"`); ids are applied in the order of the slice given to
/// [`apply_system`] and must never be reused. The SQL for the current engine is checksummed like the up part of
/// a migration file: once released, a system migration must not change (put the change in a new one), or
/// [`apply_system`] refuses with [`Error::SystemChanged`]. There is no down part. As with files, do not put
/// `BEGIN`/`COMMIT` in the SQL.
///
/// ```
/// use webstir_db::migrate::SystemMigration;
///
/// const SYSTEM_MIGRATIONS: &[SystemMigration] = &[SystemMigration::new(
///     "0001_api_keys",
///     "CREATE TABLE webstir_api_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE)",
///     "CREATE TABLE webstir_api_keys (id BIGSERIAL PRIMARY KEY, hash TEXT NOT NULL UNIQUE)",
/// )];
/// assert_eq!(SYSTEM_MIGRATIONS[0].id(), "0001_api_keys");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemMigration {
    id: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl SystemMigration {
    /// A system migration with its id and its SQL for each engine (often `include_str!` of a file).
    #[must_use]
    pub const fn new(id: &'static str, sqlite: &'static str, postgres: &'static str) -> Self {
        SystemMigration {
            id,
            sqlite,
            postgres,
        }
    }

    /// A system migration whose SQL is the same on both engines.
    #[must_use]
    pub const fn portable(id: &'static str, sql: &'static str) -> Self {
        Self::new(id, sql, sql)
    }

    /// The id recorded in the history table.
    #[must_use]
    pub const fn id(&self) -> &'static str {
        self.id
    }

    /// The SQL for `engine`.
    #[must_use]
    pub const fn sql(&self, engine: Engine) -> &'static str {
        match engine {
            Engine::Sqlite => self.sqlite,
            Engine::Postgres => self.postgres,
        }
    }

    /// As a migration file would be loaded (same checksum rules).
    fn to_migration(self, engine: Engine) -> Migration {
        let up = self.sql(engine).replace("\r\n", "\n");
        Migration {
            id: self.id.to_owned(),
            path: PathBuf::new(),
            checksum: files::checksum(&up),
            up,
            down: None,
        }
    }
}

/// What [`run`] should do (the flags of `migrate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrateCommand {
    /// `--list`: print the local migrations (does not touch the database).
    List,
    /// `--status`: print applied and pending counts, pending ids, changed and missing files.
    Status,
    /// No flag: apply pending migrations in order, all of them or the first `steps`.
    Up {
        /// `--steps N`.
        steps: Option<NonZeroUsize>,
    },
    /// `--down`: revert applied migrations, newest first, all of them or the last `steps`.
    Down {
        /// `--steps N`.
        steps: Option<NonZeroUsize>,
    },
}

/// What [`run`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Migrations applied by this run, in order.
    pub applied: Vec<String>,
    /// Migrations reverted by this run, in order.
    pub reverted: Vec<String>,
    /// Local migrations not applied after this run.
    pub pending: Vec<String>,
    /// Applied migrations whose file changed since (checksum mismatch).
    pub changed: Vec<String>,
    /// Applied migrations with no local file.
    pub missing: Vec<String>,
}

/// Errors from [`run`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The history table name is not a plain identifier.
    #[error(
        "DATABASE_MIGRATIONS_TABLE must be a single SQL identifier using letters, numbers, and underscores, \
         and must not start with a number (received \"{name}\")"
    )]
    InvalidTableName {
        /// The rejected name.
        name: String,
    },
    /// The directory or a file could not be read.
    #[error("could not read migrations from {}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A migration file is malformed.
    #[error("invalid migration file {}: {reason}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Two files have the same migration id.
    #[error("duplicate migration id(s): {}", ids.join(", "))]
    DuplicateIds {
        /// The duplicated ids, sorted.
        ids: Vec<String>,
    },
    /// An applied migration's file was edited afterwards.
    #[error(
        "migration {id} was changed after it was applied (the checksum of {} differs from the recorded one); \
         restore the file and put the change in a new migration",
        path.display()
    )]
    Changed {
        /// The migration id.
        id: String,
        /// Its file.
        path: PathBuf,
    },
    /// An applied system migration's SQL differs from the one in this binary.
    #[error(
        "system migration {id} differs from the one that was applied (its checksum differs from the recorded \
         one); system migrations must never change once released, add a new one instead"
    )]
    SystemChanged {
        /// The system migration id.
        id: String,
    },
    /// An applied migration has no local file, so it cannot be reverted.
    #[error("cannot revert migration {id}: there is no local migration file for it")]
    MissingFile {
        /// The migration id.
        id: String,
    },
    /// The up part failed; nothing of it was kept.
    #[error(
        "migration {id} failed while applying; the migration was rolled back and was not recorded as applied"
    )]
    ApplyFailed {
        /// The migration id.
        id: String,
        /// The database error.
        #[source]
        source: crate::Error,
    },
    /// The down part failed; the migration is still recorded as applied.
    #[error(
        "migration {id} failed while reverting; the migration record was kept so it can be retried"
    )]
    RevertFailed {
        /// The migration id.
        id: String,
        /// The database error.
        #[source]
        source: crate::Error,
    },
    /// Reading or updating the history table failed.
    #[error("could not read or update the migration history")]
    History(#[source] crate::Error),
    /// Writing to the output failed.
    #[error("could not write the migration output")]
    Output(#[source] std::io::Error),
}

/// Checks that `name` can be used as the history table (`^[A-Za-z_][A-Za-z0-9_]*$`).
///
/// # Errors
///
/// [`Error::InvalidTableName`].
///
/// ```
/// use webstir_db::migrate;
/// assert!(migrate::validate_table_name("_webstir_migrations").is_ok());
/// assert!(migrate::validate_table_name("migrations; DROP TABLE users").is_err());
/// ```
pub fn validate_table_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidTableName {
            name: name.to_owned(),
        })
    }
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(Error::Output)?
    };
}

/// Runs a migration command, printing `[migrate] …` lines to `out`.
///
/// `dir` holds the migration files, `table` is the history table (validated as an identifier).
///
/// # Errors
///
/// See [`Error`]. Print it with its source chain: the database's own message is in the source.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, migrate::{self, MigrateCommand}};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(
///     dir.path().join("0001_create_notes.sql"),
///     "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n",
/// ).unwrap();
///
/// let db = Db::connect(":memory:", dir.path())?;
/// let mut out = Vec::new();
/// let report = migrate::run(&db, dir.path(), migrate::DEFAULT_TABLE, MigrateCommand::Up { steps: None }, &mut out).await?;
/// assert_eq!(report.applied, ["0001_create_notes"]);
/// assert_eq!(String::from_utf8(out).unwrap(), "[migrate] Applying 0001_create_notes\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn run(
    db: &Db,
    dir: &Path,
    table: &str,
    command: MigrateCommand,
    out: &mut impl Write,
) -> Result<Report, Error> {
    let local = files::load(dir, db.engine())?;
    if command == MigrateCommand::List {
        if local.is_empty() {
            say!(out, "[migrate] No migrations found.");
        } else {
            say!(out, "[migrate] Available migrations:");
            for m in &local {
                say!(
                    out,
                    "- {}{}",
                    m.id,
                    if m.down.is_some() { "" } else { " (no down)" }
                );
            }
        }
        return Ok(Report {
            pending: local.iter().map(|m| m.id.clone()).collect(),
            ..Report::default()
        });
    }
    validate_table_name(table)?;
    let history = History { db, table };
    history.ensure().await.map_err(Error::History)?;
    let applied = history.applied().await.map_err(Error::History)?;
    let mut report = compare(&local, &applied);

    match command {
        MigrateCommand::List => {}
        MigrateCommand::Status => {
            say!(out, "[migrate] Status for {table}:");
            say!(out, "[migrate] Applied: {}", applied.len());
            say!(out, "[migrate] Pending: {}", report.pending.len());
            for id in &report.pending {
                say!(out, "- pending {id}");
            }
            if !report.changed.is_empty() {
                say!(
                    out,
                    "[migrate] Applied migrations whose file changed since:"
                );
                for id in &report.changed {
                    say!(out, "- changed {id}");
                }
            }
            if !report.missing.is_empty() {
                say!(
                    out,
                    "[migrate] Applied records without local migration files:"
                );
                for id in &report.missing {
                    say!(out, "- missing {id}");
                }
            }
        }
        MigrateCommand::Up { steps } => {
            if let Some(id) = report.changed.first() {
                let path = local
                    .iter()
                    .find(|m| &m.id == id)
                    .map(|m| m.path.clone())
                    .unwrap_or_default();
                return Err(Error::Changed {
                    id: id.clone(),
                    path,
                });
            }
            if local.is_empty() {
                say!(out, "[migrate] No migrations found under {}", dir.display());
                return Ok(report);
            }
            let limit = steps.map_or(usize::MAX, NonZeroUsize::get);
            let todo: Vec<&Migration> = local
                .iter()
                .filter(|m| report.pending.contains(&m.id))
                .take(limit)
                .collect();
            if todo.is_empty() {
                say!(out, "[migrate] Database is up to date.");
            }
            for m in todo {
                say!(out, "[migrate] Applying {}", m.id);
                let done = history
                    .apply(m)
                    .await
                    .map_err(|source| Error::ApplyFailed {
                        id: m.id.clone(),
                        source,
                    })?;
                if done {
                    report.applied.push(m.id.clone());
                } else {
                    say!(
                        out,
                        "[migrate] Skipping {} (already applied by another process)",
                        m.id
                    );
                }
                report.pending.retain(|id| id != &m.id);
            }
        }
        MigrateCommand::Down { steps } => {
            if applied.is_empty() {
                say!(out, "[migrate] No applied migrations to roll back.");
                return Ok(report);
            }
            let limit = steps.map_or(usize::MAX, NonZeroUsize::get);
            let targets: Vec<&Applied> = applied.iter().rev().take(limit).collect();
            if let Some(t) = targets.iter().find(|t| !local.iter().any(|m| m.id == t.id)) {
                return Err(Error::MissingFile { id: t.id.clone() });
            }
            for target in targets {
                let Some(m) = local.iter().find(|m| m.id == target.id) else {
                    continue;
                };
                let Some(down) = &m.down else {
                    say!(out, "[migrate] Skipping {} (no down part)", m.id);
                    continue;
                };
                say!(out, "[migrate] Reverting {}", m.id);
                history
                    .revert(&m.id, down)
                    .await
                    .map_err(|source| Error::RevertFailed {
                        id: m.id.clone(),
                        source,
                    })?;
                report.reverted.push(m.id.clone());
                report.changed.retain(|id| id != &m.id);
            }
            let applied_now = history.applied().await.map_err(Error::History)?;
            report.pending = compare(&local, &applied_now).pending;
        }
    }
    Ok(report)
}

/// Applies the pending `migrations` in order, recording them in `table` (normally [`SYSTEM_TABLE`]), and
/// returns the ids this call applied (empty when all were applied already).
///
/// Idempotent and safe to run from several processes at once: like [`run`], each migration runs in one
/// transaction with its history row, under `pg_advisory_xact_lock` (PostgreSQL) or `BEGIN IMMEDIATE`
/// (SQLite), and re-checks the history first, so a migration applied meanwhile by another process is skipped
/// (and not in the returned list). History rows without a migration in `migrations` (applied by a newer
/// binary) are ignored.
///
/// # Errors
///
/// [`Error::InvalidTableName`], [`Error::DuplicateIds`], [`Error::SystemChanged`] (checked for all of them
/// before anything is applied), [`Error::ApplyFailed`] naming the failing id (that migration is rolled back;
/// the ones before it stay applied), or [`Error::History`].
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, migrate::{self, SystemMigration}};
///
/// const SYSTEM: &[SystemMigration] = &[SystemMigration::portable(
///     "0001_api_keys",
///     "CREATE TABLE webstir_api_keys (hash TEXT PRIMARY KEY)",
/// )];
/// let db = Db::connect(":memory:", std::path::Path::new("."))?;
/// assert_eq!(migrate::apply_system(&db, SYSTEM, migrate::SYSTEM_TABLE).await?, ["0001_api_keys"]);
/// assert!(migrate::apply_system(&db, SYSTEM, migrate::SYSTEM_TABLE).await?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn apply_system(
    db: &Db,
    migrations: &[SystemMigration],
    table: &str,
) -> Result<Vec<String>, Error> {
    validate_table_name(table)?;
    let engine = db.engine();
    let local: Vec<Migration> = migrations.iter().map(|m| m.to_migration(engine)).collect();
    let mut ids: Vec<&str> = local.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    let mut duplicates: Vec<String> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].to_owned())
        .collect();
    if !duplicates.is_empty() {
        duplicates.dedup();
        return Err(Error::DuplicateIds { ids: duplicates });
    }

    let history = History { db, table };
    history.ensure().await.map_err(Error::History)?;
    let applied = history.applied().await.map_err(Error::History)?;
    let report = compare(&local, &applied);
    if let Some(id) = report.changed.into_iter().next() {
        return Err(Error::SystemChanged { id });
    }
    let mut done = Vec::new();
    for m in local.iter().filter(|m| report.pending.contains(&m.id)) {
        let applied_now = history
            .apply(m)
            .await
            .map_err(|source| Error::ApplyFailed {
                id: m.id.clone(),
                source,
            })?;
        if applied_now {
            tracing::info!(target: "webstir_db", id = %m.id, table, "applied system migration");
            done.push(m.id.clone());
        }
    }
    Ok(done)
}

/// Compares local files with the history.
fn compare(local: &[Migration], applied: &[Applied]) -> Report {
    let find = |id: &str| applied.iter().find(|a| a.id == id);
    Report {
        pending: local
            .iter()
            .filter(|m| find(&m.id).is_none())
            .map(|m| m.id.clone())
            .collect(),
        changed: local
            .iter()
            .filter(|m| find(&m.id).is_some_and(|a| a.checksum != m.checksum))
            .map(|m| m.id.clone())
            .collect(),
        missing: applied
            .iter()
            .filter(|a| !local.iter().any(|m| m.id == a.id))
            .map(|a| a.id.clone())
            .collect(),
        ..Report::default()
    }
}

/// A history row.
#[derive(Debug, serde::Deserialize)]
struct Applied {
    id: String,
    checksum: String,
}

struct History<'a> {
    db: &'a Db,
    table: &'a str,
}

impl History<'_> {
    /// Serialises migrators: an advisory lock held until the transaction ends on PostgreSQL; SQLite
    /// transactions already start with `BEGIN IMMEDIATE`.
    async fn lock(&self, tx: &Transaction) -> Result<(), crate::Error> {
        if self.db.engine() == Engine::Postgres {
            tx.execute(
                "SELECT pg_advisory_xact_lock(?)",
                params![lock_key(self.table)],
            )
            .await?;
        }
        Ok(())
    }

    async fn ensure(&self) -> Result<(), crate::Error> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (id TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            self.table
        );
        self.db
            .transaction(|tx| async move {
                self.lock(&tx).await?;
                tx.execute_batch(&sql).await
            })
            .await
    }

    async fn applied(&self) -> Result<Vec<Applied>, crate::Error> {
        let sql = format!(
            "SELECT id, checksum FROM {} ORDER BY applied_at, id",
            self.table
        );
        self.db.query_as(&sql, params![]).await
    }

    /// Applies one migration; `false` if another process applied it first.
    async fn apply(&self, m: &Migration) -> Result<bool, crate::Error> {
        let exists = format!("SELECT 1 FROM {} WHERE id = ?", self.table);
        let insert = format!(
            "INSERT INTO {} (id, checksum, applied_at) VALUES (?, ?, ?)",
            self.table
        );
        let now = timestamp_text(&jiff::Timestamp::now());
        self.db
            .transaction(|tx| async move {
                self.lock(&tx).await?;
                if tx
                    .query_optional::<i64>(&exists, params![&m.id])
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                tx.execute_batch(&m.up).await?;
                tx.execute(&insert, params![&m.id, &m.checksum, now])
                    .await?;
                Ok(true)
            })
            .await
    }

    /// Reverts one migration.
    async fn revert(&self, id: &str, down: &str) -> Result<(), crate::Error> {
        let exists = format!("SELECT 1 FROM {} WHERE id = ?", self.table);
        let delete = format!("DELETE FROM {} WHERE id = ?", self.table);
        self.db
            .transaction(|tx| async move {
                self.lock(&tx).await?;
                if tx
                    .query_optional::<i64>(&exists, params![id])
                    .await?
                    .is_none()
                {
                    return Ok(()); // reverted by another process meanwhile
                }
                tx.execute_batch(down).await?;
                tx.execute(&delete, params![id]).await?;
                Ok(())
            })
            .await
    }
}

/// A stable 64-bit advisory-lock key for a history table.
fn lock_key(table: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("webstir-migrate:{table}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for ok in ["_webstir_migrations", "migrations", "M1", "_"] {
            assert!(validate_table_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1migrations",
            "a b",
            "a;b",
            "schema.table",
            "\"quoted\"",
            "_webstir_migrations; DROP TABLE users",
            "é",
        ] {
            let err = validate_table_name(bad).unwrap_err().to_string();
            assert!(
                err.contains("DATABASE_MIGRATIONS_TABLE must be a single SQL identifier"),
                "{err}"
            );
            assert!(err.contains(&format!("(received \"{bad}\")")), "{err}");
        }
    }

    #[test]
    fn lock_keys_are_stable_per_table() {
        assert_eq!(lock_key("a"), lock_key("a"));
        assert_ne!(lock_key("a"), lock_key("b"));
    }
}
