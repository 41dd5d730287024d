//! The database error type.

use std::fmt;
use std::path::PathBuf;

use crate::db::Engine;

/// A boxed error from a driver or from our own decoding layer.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from [`Db`](crate::Db) and [`Transaction`](crate::Transaction).
///
/// Driver errors are kept as the [`source`](std::error::Error::source) of the variant, so print the whole chain
/// (`{:#}` with anyhow, or walk `source()`) when logging. Two groups matter to a handler:
///
/// * [`Error::Constraint`] (see [`Error::constraint_kind`]): the request conflicts with the data, map it to 409 (or
///   422 for `NotNull`/`Check`).
/// * [`Error::Unavailable`] (see [`Error::is_unavailable`]): the database cannot be reached or is locked, map it to
///   503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `DATABASE_URL` names no engine webstir supports.
    #[error(
        "unsupported DATABASE_URL '{url}'; use file:./path/to.sqlite, sqlite:./path/to.sqlite, :memory:, \
         or postgres://user@host:5432/dbname"
    )]
    UnsupportedUrl {
        /// The value that was given.
        url: String,
    },
    /// `DATABASE_URL` names an engine this build was compiled without (a Cargo feature of `webstir` /
    /// `webstir-db` is off).
    #[error(
        "DATABASE_URL is a {} URL but this build has no {} support; enable the `{engine}` feature of webstir",
        engine_name(*engine),
        engine_name(*engine)
    )]
    EngineDisabled {
        /// The engine the URL asks for; its [`Display`](std::fmt::Display) form is the feature name.
        engine: Engine,
    },
    /// `DATABASE_URL` looks like a PostgreSQL URL but could not be parsed.
    #[error("invalid PostgreSQL DATABASE_URL")]
    InvalidUrl {
        /// Why the URL was rejected.
        #[source]
        source: BoxError,
    },
    /// The SQLite database file (or its directory) could not be opened or created.
    #[error("could not open the SQLite database at {}", path.display())]
    Open {
        /// The resolved path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The database cannot be reached right now: connection refused or lost, timed out, or (SQLite) locked by
    /// another process for longer than the busy timeout.
    #[error("database unavailable")]
    Unavailable {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A constraint rejected the statement (unique, foreign key, not null, check).
    #[error("{kind} constraint violated{}", constraint.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Constraint {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The constraint name (PostgreSQL) or the columns involved (SQLite), when the engine reports them.
        constraint: Option<String>,
        /// The driver error.
        #[source]
        source: BoxError,
    },
    /// The statement failed for another reason (syntax error, missing table, type mismatch, ...).
    #[error("query failed")]
    Query {
        /// The driver error, with the engine's message.
        #[source]
        source: BoxError,
    },
    /// The number of `?` placeholders does not match the number of parameters.
    #[error("statement expects {expected} parameter(s) but {given} were given")]
    ParamCount {
        /// Placeholders in the statement.
        expected: usize,
        /// Parameters passed.
        given: usize,
    },
    /// [`query_one`](crate::Db::query_one) found no row.
    #[error("query returned no rows")]
    NoRows,
    /// A column value could not be read or converted.
    #[error("could not decode column `{column}`")]
    Decode {
        /// The column name.
        column: String,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// A row could not be converted into the requested type.
    #[error("could not convert a row into the requested type")]
    Deserialize {
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// `BEGIN`, `COMMIT`, `ROLLBACK` and friends are managed by [`Db::transaction`](crate::Db::transaction).
    #[error("transaction control statements are not allowed here; use Db::transaction")]
    TransactionControl,
    /// A statement failed inside the transaction, so the transaction was rolled back instead of committed.
    #[error("the transaction was rolled back because a statement inside it failed")]
    TransactionAborted,
    /// The transaction was already committed or rolled back.
    #[error("the transaction has already finished")]
    TransactionFinished,
    /// A write (or a nested transaction, or on `:memory:` any statement) went to the [`Db`](crate::Db) from
    /// inside a SQLite transaction on the same database. It would wait for that transaction forever; run it on
    /// the [`Transaction`](crate::Transaction) instead.
    #[error(
        "this statement would wait forever for the transaction this task has open on the same SQLite \
         database; run it on the Transaction"
    )]
    WouldDeadlock,
}

impl Error {
    /// The kind of constraint that was violated, if this is a constraint violation.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webstir_db::{ConstraintKind, Db, params};
    /// let db = Db::connect(":memory:", std::path::Path::new("."))?;
    /// db.execute_batch("CREATE TABLE users (email TEXT PRIMARY KEY)").await?;
    /// db.execute("INSERT INTO users (email) VALUES (?)", params!["ada@example.com"]).await?;
    /// let err = db.execute("INSERT INTO users (email) VALUES (?)", params!["ada@example.com"]).await.unwrap_err();
    /// assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique)); // -> 409 Conflict
    /// # Ok::<(), webstir_db::Error>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn constraint_kind(&self) -> Option<ConstraintKind> {
        match self {
            Error::Constraint { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the database could not be reached (map to 503).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres")),
        allow(dead_code, reason = "used by the engines")
    )]
    pub(crate) fn unavailable(source: impl Into<BoxError>) -> Error {
        Error::Unavailable {
            source: source.into(),
        }
    }

    pub(crate) fn decode(column: &str, source: impl Into<BoxError>) -> Error {
        Error::Decode {
            column: column.to_owned(),
            source: source.into(),
        }
    }
}

/// How the engine is named in messages.
fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}

/// The kind of a violated constraint, see [`Error::constraint_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// `UNIQUE` or `PRIMARY KEY`.
    Unique,
    /// `FOREIGN KEY` / `REFERENCES`.
    ForeignKey,
    /// `NOT NULL`.
    NotNull,
    /// `CHECK`.
    Check,
    /// Another constraint (for example a PostgreSQL exclusion constraint).
    Other,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::NotNull => "not null",
            ConstraintKind::Check => "check",
            ConstraintKind::Other => "database",
        })
    }
}

/// A plain message used as an error source.
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message(s.to_owned())
    }
}
