//! The database a [`TestApp`](super::TestApp) owns: a temporary SQLite file, or a fresh schema on a
//! PostgreSQL server; removed when the app is dropped.

use std::path::PathBuf;

use webstir_db::Db;

/// A database created for one test app and removed on drop.
pub(crate) enum TestDatabase {
    /// A directory under the system temp dir holding `app.sqlite` (and its `-wal`/`-shm` files).
    Sqlite { dir: PathBuf },
    /// A schema on the server at `url`, the first on the app's `search_path`.
    Postgres { url: String, schema: String },
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestDatabase::Sqlite { dir } => f
                .debug_struct("Sqlite")
                .field("file", &dir.join(SQLITE_FILE))
                .finish(),
            TestDatabase::Postgres { schema, .. } => {
                f.debug_struct("Postgres").field("schema", schema).finish()
            }
        }
    }
}

const SQLITE_FILE: &str = "app.sqlite";

impl TestDatabase {
    /// A new, empty directory for a SQLite file.
    pub(crate) fn sqlite() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("webstir-test-{}", super::unique_name()));
        std::fs::create_dir_all(&dir)?;
        Ok(TestDatabase::Sqlite { dir })
    }

    /// A new, empty schema on the PostgreSQL server at `url`.
    pub(crate) async fn postgres(url: &str) -> Result<Self, webstir_db::Error> {
        let schema = format!("webstir_test_{}", super::unique_name());
        let admin = Db::connect(url, &std::env::temp_dir())?;
        admin
            .execute_batch(&format!("CREATE SCHEMA \"{schema}\""))
            .await?;
        Ok(TestDatabase::Postgres {
            url: url.to_owned(),
            schema,
        })
    }

    /// The `DATABASE_URL` the app is given.
    pub(crate) fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { dir } => format!("file:{}", dir.join(SQLITE_FILE).display()),
            TestDatabase::Postgres { url, schema } => {
                // libpq's `options`: every connection of the app starts with the schema first on
                // its search path, so unqualified tables (and the migration history) live there.
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// The SQLite file, for tests of the kit itself.
    pub(crate) fn sqlite_file(&self) -> Option<PathBuf> {
        match self {
            TestDatabase::Sqlite { dir } => Some(dir.join(SQLITE_FILE)),
            TestDatabase::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL schema, for tests of the kit itself.
    pub(crate) fn schema(&self) -> Option<&str> {
        match self {
            TestDatabase::Sqlite { .. } => None,
            TestDatabase::Postgres { schema, .. } => Some(schema),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite { dir } => {
                // Best effort: on Unix open handles (a request still in flight) keep working on
                // the unlinked files.
                let _ = std::fs::remove_dir_all(&*dir);
            }
            TestDatabase::Postgres { url, schema } => {
                // `Drop` cannot await, and the test's runtime may be single-threaded: drop the
                // schema from a thread with its own runtime.
                let (url, name) = (url.clone(), schema.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    runtime.block_on(async {
                        let db =
                            Db::connect(&url, &std::env::temp_dir()).map_err(|e| e.to_string())?;
                        db.execute_batch(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                            .await
                            .map_err(|e| e.to_string())
                    })
                })
                .join();
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => {
                        eprintln!("webstir::testing: could not drop test schema {schema}: {err}");
                    }
                    Err(_) => {
                        eprintln!("webstir::testing: dropping test schema {schema} panicked");
                    }
                }
            }
        }
    }
}
