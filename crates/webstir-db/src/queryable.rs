//! [`Queryable`]: the statement methods shared by [`Db`] and [`Transaction`].

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::db::{Db, Engine, Transaction};
use crate::error::Error;
use crate::row::Row;
use crate::value::Value;

mod sealed {
    /// Keeps [`Queryable`](super::Queryable) implemented by this crate only, so methods can be added to it.
    pub trait Sealed {}
    impl Sealed for crate::Db {}
    impl Sealed for crate::Transaction {}
}

/// Something statements run on: the [`Db`] itself, or a [`Transaction`] inside [`Db::transaction`].
///
/// Write a data-access helper once, taking `&impl Queryable`, and call it with `&db` or with the transaction:
/// the same code then runs standalone or as part of a larger transaction. The returned futures are `Send`, so
/// helpers can be awaited from handlers and spawned tasks.
///
/// `Db` and `Transaction` also have every method as an inherent method, so calling `db.query(…)` needs no
/// import; import the trait only to write generic helpers. The trait is sealed (implemented by this crate
/// only).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, Error, Queryable, params};
///
/// async fn count_accounts(db: &impl Queryable) -> Result<i64, Error> {
///     db.query_one::<i64>("SELECT COUNT(*) FROM accounts", &[]).await
/// }
///
/// async fn open_account(db: &impl Queryable, name: &str) -> Result<u64, Error> {
///     db.execute("INSERT INTO accounts (name) VALUES (?)", params![name]).await
/// }
///
/// let db = Db::connect(":memory:", std::path::Path::new("."))?;
/// db.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL)").await?;
/// open_account(&db, "Ada").await?;
///
/// let seen = db
///     .transaction(async move |tx| {
///         open_account(&tx, "Grace").await?;
///         count_accounts(&tx).await // sees the uncommitted row
///     })
///     .await?;
/// assert_eq!(seen, 2);
/// assert_eq!(count_accounts(&db).await?, 2);
/// # Ok::<(), webstir_db::Error>(())
/// # }).unwrap();
/// ```
pub trait Queryable: Send + Sync + sealed::Sealed {
    /// Which engine the statements go to (for the rare dialect-specific statement).
    fn engine(&self) -> Engine;

    /// Runs a statement and returns its rows.
    ///
    /// # Errors
    ///
    /// See [`Error`]; notably [`Error::Constraint`] and [`Error::Unavailable`].
    fn query(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Runs a statement and converts every row into `T` (see [`Row`] for the conversion rules).
    ///
    /// # Errors
    ///
    /// As [`query`](Queryable::query), plus [`Error::Deserialize`].
    fn query_as<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send {
        async move {
            self.query(sql, params)
                .await?
                .iter()
                .map(Row::deserialize)
                .collect()
        }
    }

    /// Runs a statement and converts its first row into `T`.
    ///
    /// # Errors
    ///
    /// [`Error::NoRows`] when there is no row, otherwise as [`query_as`](Queryable::query_as).
    fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<T, Error>> + Send {
        async move { self.query_optional(sql, params).await?.ok_or(Error::NoRows) }
    }

    /// Runs a statement and converts its first row, if any, into `T`.
    ///
    /// # Errors
    ///
    /// As [`query_as`](Queryable::query_as).
    fn query_optional<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Option<T>, Error>> + Send {
        async move {
            self.query(sql, params)
                .await?
                .first()
                .map(Row::deserialize)
                .transpose()
        }
    }

    /// Runs a statement and returns the number of rows it inserted, updated or deleted.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    fn execute(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Runs several `;`-separated statements without parameters (see [`Db::execute_batch`]).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    fn execute_batch(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Queryable for Db {
    fn engine(&self) -> Engine {
        Db::engine(self)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        Db::query(self, sql, params)
    }

    fn execute(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        Db::execute(self, sql, params)
    }

    fn execute_batch(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send {
        Db::execute_batch(self, sql)
    }
}

impl Queryable for Transaction {
    fn engine(&self) -> Engine {
        Transaction::engine(self)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        Transaction::query(self, sql, params)
    }

    fn execute(
        &self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        Transaction::execute(self, sql, params)
    }

    fn execute_batch(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send {
        Transaction::execute_batch(self, sql)
    }
}
