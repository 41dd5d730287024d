//! The webstir database helper: embedded SQLite by default, PostgreSQL by changing `DATABASE_URL`, one API.
//!
//! * [`Db`] is the process-wide handle (cheap to clone). Open it with [`Db::connect`] from `DATABASE_URL`
//!   (default [`Db::DEFAULT_URL`], `file:./data/dev.sqlite`).
//! * Statements use `?` placeholders on both engines and bind [`Value`]s built with [`params!`].
//! * Results are [`Row`]s: JSON-friendly maps, or any `serde::Deserialize` type via [`Db::query_as`],
//!   [`Db::query_one`] and [`Db::query_optional`].
//! * [`Db::transaction`] runs a closure in a transaction (commit on `Ok`, rollback on `Err`, panic or drop).
//! * [`Queryable`] is implemented by [`Db`] and [`Transaction`]: write a helper taking `&impl Queryable` once and
//!   run it standalone or inside a transaction.
//! * [`Error`] separates constraint violations ([`Error::constraint_kind`], a 409) and an unreachable database
//!   ([`Error::is_unavailable`], a 503) from other failures.
//! * [`migrate`] is the migration runner behind the app binary's `migrate` subcommand.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use webstir_db::{Db, params};
//!
//! let db = Db::connect(":memory:", std::path::Path::new("."))?;
//! db.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, done BOOLEAN NOT NULL)").await?;
//! db.execute("INSERT INTO notes (body, done) VALUES (?, ?)", params!["write docs", false]).await?;
//!
//! let rows = db.query("SELECT id, body, done FROM notes WHERE body <> '?'", params![]).await?;
//! assert_eq!(serde_json::Value::Object(rows[0].to_map()), serde_json::json!({"id": 1, "body": "write docs", "done": false}));
//! # Ok::<(), webstir_db::Error>(())
//! # }).unwrap();
//! ```
//!
//! How the engines are driven (threads, connections, measurements) is described in the crate's `README.md`;
//! none of it changes the API.
//!
//! # Cargo features
//!
//! | feature | engine | default |
//! |---|---|---|
//! | `sqlite` | embedded SQLite (rusqlite, bundled) | yes |
//! | `postgres` | PostgreSQL (tokio-postgres) | yes |
//!
//! The API is the same with any combination; a `DATABASE_URL` for an engine that is not compiled in makes
//! [`Db::connect`] return [`Error::EngineDisabled`], naming the feature to enable.

mod db;
mod de;
mod error;
mod exec;
pub mod migrate;
mod placeholders;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(not(feature = "postgres"))]
#[path = "disabled/postgres.rs"]
mod postgres;
mod queryable;
mod row;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(not(feature = "sqlite"))]
#[path = "disabled/sqlite.rs"]
mod sqlite;
mod url;
mod value;

#[doc(inline)]
pub use db::{Db, Engine, Transaction};
#[doc(inline)]
pub use error::{ConstraintKind, Error};
#[doc(inline)]
pub use queryable::Queryable;
#[doc(inline)]
pub use row::Row;
#[doc(inline)]
pub use value::Value;

#[cfg(all(test, feature = "sqlite"))]
mod send_tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send() {
        let db = Db::connect(":memory:", std::path::Path::new(".")).unwrap();
        assert_send(&db.query("SELECT 1", params![]));
        assert_send(&db.execute("SELECT 1", params![]));
        assert_send(&db.ping());
        assert_send(&db.transaction(|tx| async move { tx.execute("SELECT 1", params![]).await }));
        // A generic helper over `Queryable` is `Send` on both, so it can be awaited from a handler.
        async fn helper(q: &impl Queryable) -> Result<Option<i64>, Error> {
            q.query_optional::<i64>("SELECT 1", &[]).await
        }
        assert_send(&helper(&db));
        assert_send(&db.transaction(|tx| async move { helper(&tx).await }));
        let mut out = Vec::new();
        assert_send(&migrate::run(
            &db,
            std::path::Path::new("."),
            "t",
            migrate::MigrateCommand::Status,
            &mut out,
        ));
        assert_send(&migrate::apply_system(&db, &[], migrate::SYSTEM_TABLE));
    }
}

/// Entry points for the cargo-fuzz targets in `fuzz/`. Compiled only under `--cfg fuzzing` (which
/// cargo-fuzz sets), so they are not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    /// The `?` → `$n` rewriter: the PostgreSQL text and the parameter count.
    pub fn to_postgres(sql: &str) -> (String, usize) {
        let rewritten = crate::placeholders::to_postgres(sql);
        (rewritten.sql, rewritten.params)
    }

    /// Whether the statement is transaction control, outside and inside a transaction.
    pub fn is_transaction_control(sql: &str) -> [bool; 2] {
        [false, true].map(|inside| crate::placeholders::is_transaction_control(sql, inside))
    }
}
