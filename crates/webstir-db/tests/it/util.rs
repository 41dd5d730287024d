//! Test harness: run the same test body against SQLite (file), SQLite (`:memory:`) and PostgreSQL.
//!
//! PostgreSQL tests need `WEBSTIR_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Each
//! test gets its own schema (selected with `search_path` in the URL) and its own `application_name`, dropped
//! when the test ends; without the variable the test prints `skipping: ...` and passes.

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;
use webstir_db::Db;

pub(crate) const PG_ENV: &str = "WEBSTIR_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(dead_code, reason = "the tests of a disabled engine are not compiled")
)]
pub(crate) enum Kind {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// One test's database.
pub(crate) struct TestDb {
    pub db: Db,
    pub kind: Kind,
    /// The `DATABASE_URL` the test connected with.
    pub url: String,
    /// A fresh workspace root (the SQLite file lives under it; migrations can go under it too).
    pub root: TempDir,
    /// PostgreSQL: the test's schema and application name.
    pub schema: Option<String>,
}

impl TestDb {
    /// Another handle on the same database. For files and PostgreSQL it is an independent `Db` (its own
    /// connections, as a second process would have); `:memory:` cannot be reopened, so it is a clone.
    pub(crate) fn reconnect(&self) -> Db {
        match self.kind {
            Kind::SqliteMemory => self.db.clone(),
            _ => Db::connect(&self.url, self.root.path()).expect("reconnect"),
        }
    }

    /// A directory for migration files.
    pub(crate) fn migrations_dir(&self) -> PathBuf {
        let dir = self.root.path().join("migrations");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Picks the SQL for this engine.
    pub(crate) fn sql<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        if self.kind == Kind::Postgres {
            postgres
        } else {
            sqlite
        }
    }
}

/// Prints past the test harness's output capture, so skips are visible in a normal `cargo test` run.
pub(crate) fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub(crate) fn postgres_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Runs `sql` on a separate admin connection.
pub(crate) async fn pg_admin(base: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(conn);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = task.await;
    result
}

fn with_query(base: &str, extra: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{extra}")
}

async fn setup(kind: Kind, name: &str) -> Option<TestDb> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let root = tempfile::tempdir().unwrap();
    let (url, schema) = match kind {
        Kind::SqliteFile => ("file:./data/test.sqlite".to_owned(), None),
        Kind::SqliteMemory => (":memory:".to_owned(), None),
        Kind::Postgres => {
            let Some(base) = postgres_url() else {
                say(&format!("skipping: {PG_ENV} not set ({name})"));
                return None;
            };
            let short: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(30)
                .collect();
            let schema = format!(
                "wst_{short}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            )
            .to_ascii_lowercase();
            pg_admin(&base, &format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create the test schema");
            let url = with_query(
                &base,
                &format!("options=-c%20search_path%3D{schema}&application_name={schema}"),
            );
            (url, Some(schema))
        }
    };
    let db = Db::connect(&url, root.path()).expect("connect");
    Some(TestDb {
        db,
        kind,
        url,
        root,
        schema,
    })
}

/// Runs `test` against `kind`, cleaning up the PostgreSQL schema even when the test panics.
pub(crate) async fn run<F, Fut>(kind: Kind, name: &str, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(t) = setup(kind, name).await else {
        return;
    };
    let schema = t.schema.clone();
    let result = tokio::spawn(test(t)).await;
    if let (Some(schema), Some(base)) = (schema, postgres_url())
        && let Err(e) = pg_admin(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await
    {
        say(&format!("warning: could not drop schema {schema}: {e}"));
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Writes a migration file.
pub(crate) fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

/// Declares `sqlite_file::NAME`, `sqlite_memory::NAME` and `postgres::NAME` tests for each `async fn NAME(TestDb)`
/// in the calling module (each group only when its engine's feature is on).
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "sqlite")]
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::util::run($crate::util::Kind::SqliteFile, stringify!($name), super::$name).await;
                }
            )*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::util::run($crate::util::Kind::SqliteMemory, stringify!($name), super::$name).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::util::run($crate::util::Kind::Postgres, stringify!($name), super::$name).await;
                }
            )*
        }
    };
}
