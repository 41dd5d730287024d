//! Process-wide services shared by handlers and jobs: the database, and where migrations live.

use std::path::PathBuf;
use std::sync::Arc;

use webstir_db::Db;

use crate::server::health::Check;
use crate::{Env, Module};

/// Process-wide services, cheap to clone.
#[derive(Clone, Default, Debug)]
pub(crate) struct Services {
    pub(crate) db: Option<Db>,
}

/// Why the services could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServicesError(#[from] webstir_db::Error);

/// The workspace root as seen through `env` (`WORKSPACE_ROOT`, `WEBSTIR_WORKSPACE_ROOT`, else the
/// current directory).
pub(crate) fn root_of(env: &Env) -> PathBuf {
    crate::env::root_from(|name| env.get(name).map(str::to_owned))
}

/// The SQLite file used in production when `DATABASE_URL` is not set, relative to the workspace
/// root (the development default, `data/dev.sqlite`, is never used by a production process).
pub(crate) const PRODUCTION_DATABASE_URL: &str = "file:./data/app.sqlite";

/// `DATABASE_URL`, else [`PRODUCTION_DATABASE_URL`] when `NODE_ENV=production`, else
/// [`Db::DEFAULT_URL`] (`file:./data/dev.sqlite`).
pub(crate) fn database_url(env: &Env) -> &str {
    match env.get_trimmed("DATABASE_URL") {
        Some(url) => url,
        None if env.get_trimmed("NODE_ENV") == Some("production") => PRODUCTION_DATABASE_URL,
        None => Db::DEFAULT_URL,
    }
}

/// Whether the module uses a database: it declares the `db` capability or has migrations, or
/// `DATABASE_URL` is set.
pub(crate) fn wants_db(module: &Module, env: &Env) -> bool {
    module.base.capabilities.iter().any(|c| c == "db")
        || module.migrations_dir.is_some()
        || env.get_trimmed("DATABASE_URL").is_some()
}

impl Services {
    /// Open what the module needs. Opening the database is cheap (PostgreSQL connects lazily; SQLite
    /// opens its file, creating `data/` under the workspace root).
    pub(crate) fn open(module: &Module, env: &Env) -> Result<Self, ServicesError> {
        if !wants_db(module, env) {
            return Ok(Self::default());
        }
        let db = Db::connect(database_url(env), &root_of(env))?;
        Ok(Self { db: Some(db) })
    }

    /// Readiness checks for `/readyz`.
    pub(crate) fn checks(&self) -> Vec<(String, Check)> {
        let mut checks: Vec<(String, Check)> = Vec::new();
        if let Some(db) = &self.db {
            let db = db.clone();
            checks.push((
                "database".to_owned(),
                Arc::new(move || {
                    let db = db.clone();
                    Box::pin(async move { db.ping().await.map_err(|e| error_chain(&e)) })
                }),
            ));
        }
        checks
    }
}

/// The migrations directory: `DATABASE_MIGRATIONS_DIR`, else `migrations/` beside the executable (a
/// published app), else the module's declared directory, else `src/backend/db/migrations` under the
/// workspace root.
pub(crate) fn migrations_dir(module: &Module, env: &Env) -> PathBuf {
    if let Some(dir) = env.get_trimmed("DATABASE_MIGRATIONS_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            root_of(env).join(dir)
        };
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|p| p.join("migrations")))
        .filter(|p| p.is_dir())
    {
        return beside;
    }
    if let Some(dir) = &module.migrations_dir {
        return dir.clone();
    }
    root_of(env).join(webstir_db::migrate::DEFAULT_DIR)
}

/// The framework's own tables, created by versioned system migrations recorded in
/// `_webstir_system_migrations` (apart from the app's history) and applied before the app's own.
pub(crate) const SYSTEM_MIGRATIONS: &[webstir_db::migrate::SystemMigration] = &[
    webstir_db::migrate::SystemMigration::portable("0001_api_keys", webstir_auth::API_KEYS_SCHEMA),
    webstir_db::migrate::SystemMigration::new(
        "0002_sessions",
        crate::session::SQLITE_SCHEMA,
        crate::session::POSTGRES_SCHEMA,
    ),
];

/// Apply pending system migrations; returns the ids applied now.
pub(crate) async fn apply_system(db: &Db) -> Result<Vec<String>, webstir_db::migrate::Error> {
    let applied =
        webstir_db::migrate::apply_system(db, SYSTEM_MIGRATIONS, webstir_db::migrate::SYSTEM_TABLE)
            .await?;
    for id in &applied {
        tracing::info!(target: "webstir::migrate", "[migrate] applied system migration {id}");
    }
    Ok(applied)
}

/// The app migrations in `dir` not yet applied to `db` (creates the history table when missing, like
/// `migrate --status`). Empty when `dir` does not exist.
pub(crate) async fn pending_migrations(
    db: &Db,
    dir: &std::path::Path,
    table: &str,
) -> Result<Vec<String>, webstir_db::migrate::Error> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let report = webstir_db::migrate::run(
        db,
        dir,
        table,
        webstir_db::migrate::MigrateCommand::Status,
        &mut std::io::sink(),
    )
    .await?;
    Ok(report.pending)
}

/// The migration history table (`DATABASE_MIGRATIONS_TABLE`).
pub(crate) fn migrations_table(env: &Env) -> Result<String, crate::ConfigError> {
    let table = env
        .get_trimmed("DATABASE_MIGRATIONS_TABLE")
        .unwrap_or(webstir_db::migrate::DEFAULT_TABLE);
    if table.eq_ignore_ascii_case(webstir_db::migrate::SYSTEM_TABLE) {
        return Err(crate::ConfigError {
            name: "DATABASE_MIGRATIONS_TABLE",
            value: table.to_owned(),
            problem: "is reserved for webstir's system migrations; choose another table name",
        });
    }
    Ok(table.to_owned())
}

/// Whether `serve` applies pending migrations at start: `MIGRATE_ON_START=on|off`; default on in
/// development, off in production.
pub(crate) fn migrate_on_start(env: &Env, production: bool) -> Result<bool, crate::ConfigError> {
    match env
        .get_trimmed("MIGRATE_ON_START")
        .map(str::to_ascii_lowercase)
    {
        None => Ok(!production),
        Some(v) if matches!(v.as_str(), "on" | "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "off" | "false" | "0" | "no") => Ok(false),
        Some(v) => Err(crate::ConfigError {
            name: "MIGRATE_ON_START",
            value: v,
            problem: "must be on or off",
        }),
    }
}

pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
