//! The database handle and transactions.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::exec::{Mode, Output};
use crate::placeholders;
use crate::postgres::{PgTx, Postgres};
use crate::queryable::Queryable;
use crate::row::Row;
use crate::sqlite::{Sqlite, SqliteTx};
use crate::url::{self, Target};
use crate::value::Value;

/// The database engine behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// Embedded SQLite (a file, or memory).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        })
    }
}

#[derive(Clone)]
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(
        dead_code,
        reason = "the variant of a disabled engine is never constructed"
    )
)]
enum Backend {
    Sqlite(Arc<Sqlite>),
    Postgres(Arc<Postgres>),
}

/// A handle on the application database, shared by the whole process.
///
/// Cloning is cheap (an `Arc`); every clone uses the same connections. Write SQL with `?` placeholders on both
/// engines and pass values with [`params!`](crate::params): values are always bound, never pasted into the SQL.
/// A `?` inside a string literal, quoted identifier or comment is not a placeholder.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, params};
///
/// let db = Db::connect(":memory:", std::path::Path::new("."))?;
/// db.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").await?;
/// let inserted = db.execute("INSERT INTO accounts (name) VALUES (?), (?)", params!["Ada", "Grace"]).await?;
/// assert_eq!(inserted, 2);
///
/// #[derive(serde::Deserialize)]
/// struct Account { id: i64, name: String }
/// let ada: Account = db.query_one("SELECT id, name FROM accounts WHERE name = ?", params!["Ada"]).await?;
/// assert_eq!((ada.id, ada.name.as_str()), (1, "Ada"));
/// let count: i64 = db.query_one("SELECT count(*) FROM accounts", params![]).await?;
/// assert_eq!(count, 2);
/// # Ok::<(), webstir_db::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Db {
    backend: Backend,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Sqlite(s) => f.debug_tuple("Db").field(s).finish(),
            Backend::Postgres(p) => f.debug_tuple("Db").field(p).finish(),
        }
    }
}

impl Db {
    /// The `DATABASE_URL` used when none is set.
    pub const DEFAULT_URL: &'static str = "file:./data/dev.sqlite";

    /// Opens the database named by a `DATABASE_URL`.
    ///
    /// Accepted forms:
    ///
    /// * `file:./data/dev.sqlite` (the default), `file:///abs/path.sqlite`, `sqlite:./x.db`, `sqlite://./x.db`,
    ///   or a bare path ending in `.sqlite`, `.sqlite3` or `.db`: a SQLite file. Relative paths are resolved
    ///   against `workspace_root` (not the current directory) and the parent directory is created.
    /// * `:memory:`: a SQLite database in memory, shared by every clone of this `Db` (each call to `connect`
    ///   creates a new, empty one).
    /// * `postgres://…` / `postgresql://…`: a PostgreSQL server (libpq URL syntax; TLS is not supported yet).
    ///
    /// Fast: SQLite opens one connection (switching the file to WAL) and starts its writer thread; PostgreSQL
    /// connects lazily on the first statement or [`ping`](Db::ping).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedUrl`] (the message names `DATABASE_URL` and the accepted forms),
    /// [`Error::InvalidUrl`], [`Error::Open`] when the SQLite file cannot be created, or
    /// [`Error::EngineDisabled`] when the URL names an engine whose Cargo feature (`sqlite`, `postgres`) is off.
    ///
    /// ```
    /// use webstir_db::{Db, Engine};
    /// let root = tempfile::tempdir().unwrap();
    /// let db = Db::connect(Db::DEFAULT_URL, root.path())?;
    /// assert_eq!(db.engine(), Engine::Sqlite);
    /// assert!(root.path().join("data/dev.sqlite").exists());
    ///
    /// let err = Db::connect("mysql://localhost/app", root.path()).unwrap_err();
    /// assert!(err.to_string().contains("DATABASE_URL"));
    /// # Ok::<(), webstir_db::Error>(())
    /// ```
    pub fn connect(url: &str, workspace_root: &Path) -> Result<Db, Error> {
        let backend = open(url::parse(url, workspace_root)?)?;
        Ok(Db { backend })
    }

    /// Which engine this handle talks to (for the rare dialect-specific statement).
    #[must_use]
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    async fn run(&self, sql: &str, params: &[Value], mode: Mode) -> Result<Output, Error> {
        match &self.backend {
            Backend::Sqlite(s) => {
                if placeholders::is_transaction_control(sql, false) {
                    return Err(Error::TransactionControl);
                }
                s.run(sql, params, mode).await
            }
            Backend::Postgres(p) => p.run(sql, params, mode).await,
        }
    }

    /// Runs a statement and returns its rows.
    ///
    /// # Errors
    ///
    /// See [`Error`]; notably [`Error::Constraint`] and [`Error::Unavailable`].
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Error> {
        rows(self.run(sql, params, Mode::Rows).await?)
    }

    /// Runs a statement and converts every row into `T` (see [`Row`] for the conversion rules).
    ///
    /// # Errors
    ///
    /// As [`query`](Db::query), plus [`Error::Deserialize`].
    pub fn query_as<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send {
        Queryable::query_as(self, sql, params)
    }

    /// Runs a statement and converts its first row into `T`.
    ///
    /// # Errors
    ///
    /// [`Error::NoRows`] when there is no row, otherwise as [`query_as`](Db::query_as).
    pub fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<T, Error>> + Send {
        Queryable::query_one(self, sql, params)
    }

    /// Runs a statement and converts its first row, if any, into `T`.
    ///
    /// # Errors
    ///
    /// As [`query_as`](Db::query_as).
    pub fn query_optional<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Option<T>, Error>> + Send {
        Queryable::query_optional(self, sql, params)
    }

    /// Runs a statement and returns the number of rows it inserted, updated or deleted.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        affected(self.run(sql, params, Mode::Execute).await?)
    }

    /// Runs several `;`-separated statements without parameters (schema setup, scripts).
    ///
    /// A script must not leave a transaction open (use [`transaction`](Db::transaction)): SQLite reports
    /// [`Error::TransactionControl`], PostgreSQL (where scripts run on a dedicated connection) rolls back
    /// whatever was left open.
    ///
    /// # Errors
    ///
    /// See [`Error`]. Statements before the failing one stay applied; use a [`transaction`](Db::transaction)
    /// when that matters.
    pub async fn execute_batch(&self, sql: &str) -> Result<(), Error> {
        match &self.backend {
            Backend::Sqlite(s) => {
                if placeholders::is_transaction_control(sql, false) {
                    return Err(Error::TransactionControl);
                }
                s.run_batch(sql).await
            }
            Backend::Postgres(p) => p.run_batch(sql).await,
        }
    }

    /// Checks that the database answers (for `/readyz`).
    ///
    /// On PostgreSQL this has a 3-second deadline and reconnects after the server comes back, so readiness
    /// recovers without a restart.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the database does not answer.
    pub async fn ping(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sqlite(s) => s.ping().await,
            Backend::Postgres(p) => p.ping().await,
        }
    }

    /// Runs `f` in a transaction: committed when `f` returns `Ok`, rolled back when it returns `Err`, panics,
    /// or its future is dropped.
    ///
    /// `f` receives the [`Transaction`] by value; run statements on it, not on the `Db` (on SQLite a write
    /// through the `Db` from inside the body would wait for this very transaction, so it fails with
    /// [`Error::WouldDeadlock`]). On SQLite the
    /// transaction starts with `BEGIN IMMEDIATE` (it holds the write lock from the start, so concurrent writers
    /// wait instead of failing); on PostgreSQL it runs on a dedicated pooled connection.
    ///
    /// As on PostgreSQL, a statement that fails inside the transaction spoils it: if `f` still returns `Ok`,
    /// the transaction is rolled back and [`Error::TransactionAborted`] is returned (handle expected conflicts
    /// with `INSERT … ON CONFLICT` instead).
    ///
    /// # Errors
    ///
    /// The error `f` returned, or a database error from `BEGIN`/`COMMIT` converted with `E::from`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webstir_db::{Db, Error, params};
    ///
    /// let db = Db::connect(":memory:", std::path::Path::new("."))?;
    /// db.execute_batch("CREATE TABLE accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL)").await?;
    /// db.execute("INSERT INTO accounts VALUES ('a', 10), ('b', 0)", params![]).await?;
    ///
    /// let moved = db
    ///     .transaction(async move |tx| {
    ///         tx.execute("UPDATE accounts SET balance = balance - ? WHERE name = 'a'", params![5]).await?;
    ///         tx.execute("UPDATE accounts SET balance = balance + ? WHERE name = 'b'", params![5]).await?;
    ///         Ok::<_, Error>(5)
    ///     })
    ///     .await?;
    /// assert_eq!(moved, 5);
    ///
    /// // An error rolls everything back.
    /// let failed = db
    ///     .transaction(|tx| async move {
    ///         tx.execute("UPDATE accounts SET balance = 0", params![]).await?;
    ///         tx.execute("INSERT INTO accounts VALUES ('a', 1)", params![]).await?; // duplicate key
    ///         Ok::<_, Error>(())
    ///     })
    ///     .await;
    /// assert!(failed.is_err());
    /// let b: i64 = db.query_one("SELECT balance FROM accounts WHERE name = 'b'", params![]).await?;
    /// assert_eq!(b, 5);
    /// # Ok::<(), webstir_db::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn transaction<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        let engine = match &self.backend {
            Backend::Sqlite(s) => TxEngine::Sqlite(s.begin().await?),
            Backend::Postgres(p) => TxEngine::Postgres(Box::new(p.begin().await?)),
        };
        let inner = Arc::new(TxInner {
            engine,
            failed: AtomicBool::new(false),
        });
        let body = f(Transaction {
            inner: Arc::clone(&inner),
        });
        let result = match &self.backend {
            Backend::Sqlite(s) => crate::sqlite::in_transaction_scope(s, body).await,
            Backend::Postgres(_) => body.await,
        };
        match result {
            Ok(value) if !inner.failed.load(Ordering::Acquire) => {
                inner.commit().await?;
                Ok(value)
            }
            Ok(_) => {
                inner.rollback_logged().await;
                Err(Error::TransactionAborted.into())
            }
            Err(e) => {
                inner.rollback_logged().await;
                Err(e)
            }
        }
    }
}

/// Opens the engine for `target`, or says which Cargo feature it needs.
fn open(target: Target) -> Result<Backend, Error> {
    match target {
        #[cfg(feature = "sqlite")]
        Target::SqliteFile(path) => Ok(Backend::Sqlite(Arc::new(Sqlite::open_file(path)?))),
        #[cfg(feature = "sqlite")]
        Target::SqliteMemory => Ok(Backend::Sqlite(Arc::new(Sqlite::open_memory()?))),
        #[cfg(feature = "postgres")]
        Target::Postgres(config) => Ok(Backend::Postgres(Arc::new(Postgres::new(*config)))),
        #[allow(
            unreachable_patterns,
            reason = "reachable when an engine feature is off"
        )]
        other => Err(Error::EngineDisabled {
            engine: other.engine(),
        }),
    }
}

fn rows(output: Output) -> Result<Vec<Row>, Error> {
    match output {
        Output::Rows(rows) => Ok(rows),
        Output::Affected(_) => Ok(Vec::new()),
    }
}

fn affected(output: Output) -> Result<u64, Error> {
    match output {
        Output::Affected(n) => Ok(n),
        Output::Rows(rows) => Ok(rows.len() as u64),
    }
}

enum TxEngine {
    Sqlite(SqliteTx),
    Postgres(Box<PgTx>),
}

struct TxInner {
    engine: TxEngine,
    /// A statement failed; the transaction must not commit.
    failed: AtomicBool,
}

impl TxInner {
    async fn commit(&self) -> Result<(), Error> {
        match &self.engine {
            TxEngine::Sqlite(t) => t.commit().await,
            TxEngine::Postgres(t) => t.commit().await,
        }
    }

    async fn rollback_logged(&self) {
        let result = match &self.engine {
            TxEngine::Sqlite(t) => t.rollback().await,
            TxEngine::Postgres(t) => t.rollback().await,
        };
        if let Err(e) = result {
            tracing::warn!(target: "webstir_db", error = %e, "transaction rollback failed");
        }
    }

    fn finished(&self) -> bool {
        match &self.engine {
            TxEngine::Sqlite(t) => t.is_finished(),
            TxEngine::Postgres(t) => t.is_finished(),
        }
    }

    fn track<R>(&self, result: Result<R, Error>) -> Result<R, Error> {
        if let Err(Error::Query { .. } | Error::Constraint { .. } | Error::Unavailable { .. }) =
            &result
        {
            self.failed.store(true, Ordering::Release);
        }
        result
    }

    async fn run(&self, sql: &str, params: &[Value], mode: Mode) -> Result<Output, Error> {
        if self.finished() {
            return Err(Error::TransactionFinished);
        }
        let result = match &self.engine {
            TxEngine::Sqlite(t) => {
                if placeholders::is_transaction_control(sql, true) {
                    return Err(Error::TransactionControl);
                }
                t.run(sql, params, mode).await
            }
            TxEngine::Postgres(t) => t.run(sql, params, mode).await,
        };
        self.track(result)
    }

    async fn run_batch(&self, sql: &str) -> Result<(), Error> {
        if self.finished() {
            return Err(Error::TransactionFinished);
        }
        let result = match &self.engine {
            TxEngine::Sqlite(t) => {
                if placeholders::is_transaction_control(sql, true) {
                    return Err(Error::TransactionControl);
                }
                t.run_batch(sql).await
            }
            TxEngine::Postgres(t) => t.run_batch(sql).await,
        };
        self.track(result)
    }
}

/// An open transaction, handed to the closure of [`Db::transaction`].
///
/// It has the same statement methods as [`Db`]; both implement [`Queryable`], so a helper taking
/// `&impl Queryable` runs on either. It is committed or rolled back by `Db::transaction` when the closure
/// returns; using it after that returns [`Error::TransactionFinished`].
pub struct Transaction {
    inner: Arc<TxInner>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("engine", &self.engine())
            .field("finished", &self.inner.finished())
            .finish()
    }
}

impl Transaction {
    /// Which engine the transaction runs on, like [`Db::engine`].
    #[must_use]
    pub fn engine(&self) -> Engine {
        match self.inner.engine {
            TxEngine::Sqlite(_) => Engine::Sqlite,
            TxEngine::Postgres(_) => Engine::Postgres,
        }
    }

    /// Like [`Db::query`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Error> {
        rows(self.inner.run(sql, params, Mode::Rows).await?)
    }

    /// Like [`Db::query_as`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub fn query_as<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send {
        Queryable::query_as(self, sql, params)
    }

    /// Like [`Db::query_one`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<T, Error>> + Send {
        Queryable::query_one(self, sql, params)
    }

    /// Like [`Db::query_optional`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub fn query_optional<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Option<T>, Error>> + Send {
        Queryable::query_optional(self, sql, params)
    }

    /// Like [`Db::execute`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        affected(self.inner.run(sql, params, Mode::Execute).await?)
    }

    /// Like [`Db::execute_batch`], inside the transaction.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn execute_batch(&self, sql: &str) -> Result<(), Error> {
        self.inner.run_batch(sql).await
    }
}
