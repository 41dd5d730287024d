//! `Queryable`: one helper, run on the `Db` and inside transactions.

use webstir_db::{Error, Queryable, params};

use crate::util::TestDb;

crate::engine_tests!(
    helpers_run_on_the_db_and_in_transactions,
    helper_writes_follow_the_transaction_outcome,
);

/// The kind of helper an app writes once and calls with `&db` or `&tx`.
async fn count_accounts(db: &impl Queryable) -> Result<i64, Error> {
    db.query_one::<i64>("SELECT COUNT(*) FROM accounts", &[])
        .await
}

async fn open_account(db: &impl Queryable, name: &str) -> Result<u64, Error> {
    db.execute("INSERT INTO accounts (name) VALUES (?)", params![name])
        .await
}

async fn names(db: &impl Queryable) -> Result<Vec<String>, Error> {
    db.query_as("SELECT name FROM accounts ORDER BY name", &[])
        .await
}

async fn find(db: &impl Queryable, name: &str) -> Result<Option<String>, Error> {
    db.query_optional("SELECT name FROM accounts WHERE name = ?", params![name])
        .await
}

async fn setup(db: &impl Queryable) {
    db.execute_batch("CREATE TABLE accounts (name TEXT PRIMARY KEY)")
        .await
        .unwrap();
}

#[derive(Debug)]
enum AppError {
    Db(#[allow(dead_code, reason = "only printed through Debug")] Error),
    Rollback,
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Db(e)
    }
}

async fn helpers_run_on_the_db_and_in_transactions(t: TestDb) {
    setup(&t.db).await;
    assert_eq!(open_account(&t.db, "ada").await.unwrap(), 1);
    assert_eq!(count_accounts(&t.db).await.unwrap(), 1);
    assert_eq!(Queryable::engine(&t.db), t.db.engine());

    let engine = t.db.engine();
    let (inside, listed, found, missing) =
        t.db.transaction(async move |tx| {
            assert_eq!(Queryable::engine(&tx), engine);
            open_account(&tx, "grace").await?;
            Ok::<_, Error>((
                count_accounts(&tx).await?,
                names(&tx).await?,
                find(&tx, "grace").await?,
                find(&tx, "nobody").await?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(inside, 2);
    assert_eq!(listed, ["ada", "grace"]);
    assert_eq!(found.as_deref(), Some("grace"));
    assert_eq!(missing, None);
    assert_eq!(names(&t.db).await.unwrap(), ["ada", "grace"]);

    // Errors are the same typed errors on both.
    let dup = open_account(&t.db, "ada").await.unwrap_err();
    assert!(dup.constraint_kind().is_some(), "{dup:?}");
    let err =
        t.db.transaction(async move |tx| open_account(&tx, "ada").await)
            .await
            .unwrap_err();
    assert!(err.constraint_kind().is_some(), "{err:?}");
}

async fn helper_writes_follow_the_transaction_outcome(t: TestDb) {
    setup(&t.db).await;
    open_account(&t.db, "ada").await.unwrap();

    // Rolled back: the helper's write is visible inside, gone afterwards.
    let result =
        t.db.transaction(async move |tx| {
            open_account(&tx, "rolled_back").await?;
            assert_eq!(count_accounts(&tx).await?, 2);
            Err::<(), _>(AppError::Rollback)
        })
        .await;
    assert!(matches!(result, Err(AppError::Rollback)), "{result:?}");
    assert_eq!(count_accounts(&t.db).await.unwrap(), 1);
    assert_eq!(find(&t.db, "rolled_back").await.unwrap(), None);

    // Committed: visible afterwards, also to another handle on the same database.
    t.db.transaction(async move |tx| {
        open_account(&tx, "committed").await?;
        Ok::<_, AppError>(())
    })
    .await
    .unwrap();
    assert_eq!(count_accounts(&t.db).await.unwrap(), 2);
    let other = t.reconnect();
    assert_eq!(names(&other).await.unwrap(), ["ada", "committed"]);
}
