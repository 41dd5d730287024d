//! Transactions: commit, rollback on error, panic and cancellation, and constraint errors.

use webstir_db::{ConstraintKind, Db, Error, Transaction, params};

use crate::util::{Kind, TestDb};

crate::engine_tests!(
    commits_on_ok,
    rolls_back_on_err,
    rolls_back_on_panic,
    rolls_back_when_the_future_is_dropped,
    failed_statement_spoils_the_transaction,
    transaction_is_unusable_after_it_finished,
    constraint_violations_are_typed,
    using_the_db_inside_a_transaction_body,
    concurrent_writers_all_succeed,
);

async fn count(db: &Db) -> i64 {
    db.query_one("SELECT count(*) FROM items", params![])
        .await
        .unwrap()
}

async fn items(t: &TestDb) {
    t.db.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        .await
        .unwrap();
}

async fn commits_on_ok(t: TestDb) {
    items(&t).await;
    let seen =
        t.db.transaction(async |tx: Transaction| {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![1, "a"],
            )
            .await?;
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![2, "b"],
            )
            .await?;
            // Reads inside the transaction see its own writes.
            tx.query_one::<i64>("SELECT count(*) FROM items", params![])
                .await
        })
        .await
        .unwrap();
    assert_eq!(seen, 2);
    assert_eq!(count(&t.db).await, 2);
}

async fn rolls_back_on_err(t: TestDb) {
    items(&t).await;
    #[derive(Debug)]
    struct AppError;
    impl From<Error> for AppError {
        fn from(_: Error) -> Self {
            AppError
        }
    }
    let result =
        t.db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![1, "a"],
            )
            .await?;
            tx.execute_batch("CREATE TABLE made_in_tx (x INTEGER)")
                .await?;
            Err::<(), _>(AppError)
        })
        .await;
    assert!(matches!(result, Err(AppError)));
    assert_eq!(count(&t.db).await, 0);
    // DDL was rolled back too.
    t.db.execute_batch("CREATE TABLE made_in_tx (x INTEGER)")
        .await
        .unwrap();
}

async fn rolls_back_on_panic(t: TestDb) {
    items(&t).await;
    let db = t.db.clone();
    let handle = tokio::spawn(async move {
        db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![1, "a"],
            )
            .await?;
            if tx
                .query_one::<i64>("SELECT count(*) FROM items", params![])
                .await?
                == 1
            {
                panic!("boom inside the transaction");
            }
            Ok::<_, Error>(())
        })
        .await
    });
    let err = handle.await.unwrap_err();
    assert!(err.is_panic());
    // The insert is gone and the writer (SQLite) / connection slot (PostgreSQL) is free again.
    assert_eq!(count(&t.db).await, 0);
    t.db.transaction(|tx| async move {
        tx.execute("INSERT INTO items (id, name) VALUES (1, 'b')", params![])
            .await
    })
    .await
    .unwrap();
    assert_eq!(count(&t.db).await, 1);
}

async fn rolls_back_when_the_future_is_dropped(t: TestDb) {
    items(&t).await;
    let (inserted_tx, inserted_rx) = tokio::sync::oneshot::channel::<()>();
    let db = t.db.clone();
    let task = tokio::spawn(async move {
        db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![1, "a"],
            )
            .await?;
            inserted_tx.send(()).unwrap();
            std::future::pending::<()>().await; // never finishes; the task is aborted here
            Ok::<_, Error>(())
        })
        .await
    });
    inserted_rx.await.unwrap();
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // A new transaction gets the writer / a connection and does not see the abandoned insert.
    let n =
        t.db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (?, ?)",
                params![2, "b"],
            )
            .await?;
            tx.query_one::<i64>("SELECT count(*) FROM items", params![])
                .await
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(count(&t.db).await, 1);
}

async fn failed_statement_spoils_the_transaction(t: TestDb) {
    items(&t).await;
    t.db.execute(
        "INSERT INTO items (id, name) VALUES (1, 'taken')",
        params![],
    )
    .await
    .unwrap();
    let result =
        t.db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (2, 'fresh')",
                params![],
            )
            .await?;
            let dup = tx
                .execute(
                    "INSERT INTO items (id, name) VALUES (3, 'taken')",
                    params![],
                )
                .await;
            assert_eq!(
                dup.unwrap_err().constraint_kind(),
                Some(ConstraintKind::Unique)
            );
            Ok::<_, Error>(()) // the error was "handled", but the transaction cannot commit
        })
        .await;
    assert!(
        matches!(result, Err(Error::TransactionAborted)),
        "{result:?}"
    );
    assert_eq!(count(&t.db).await, 1);
}

async fn transaction_is_unusable_after_it_finished(t: TestDb) {
    items(&t).await;
    let leaked =
        t.db.transaction(|tx| async move { Ok::<_, Error>(tx) })
            .await
            .unwrap();
    let err = leaked
        .execute("INSERT INTO items (id, name) VALUES (1, 'late')", params![])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TransactionFinished), "{err:?}");
    assert!(format!("{leaked:?}").contains("finished: true"));
    drop(leaked);
    assert_eq!(count(&t.db).await, 0);
    // Transaction control statements are managed by `Db::transaction`.
    let err =
        t.db.transaction(|tx| async move { tx.execute_batch("COMMIT").await })
            .await
            .unwrap_err();
    assert!(matches!(err, Error::TransactionControl), "{err:?}");
    // Savepoints are fine.
    t.db.transaction(|tx| async move {
        tx.execute_batch("SAVEPOINT s1").await?;
        tx.execute(
            "INSERT INTO items (id, name) VALUES (1, 'rolled back to savepoint')",
            params![],
        )
        .await?;
        tx.execute_batch("ROLLBACK TO SAVEPOINT s1").await?;
        tx.execute("INSERT INTO items (id, name) VALUES (2, 'kept')", params![])
            .await
    })
    .await
    .unwrap();
    let names: Vec<String> =
        t.db.query_as("SELECT name FROM items", params![])
            .await
            .unwrap();
    assert_eq!(names, ["kept"]);
}

async fn constraint_violations_are_typed(t: TestDb) {
    let db = &t.db;
    db.execute_batch(
        "CREATE TABLE owners (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, age INTEGER CHECK (age >= 0));
         CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES owners (id));",
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO owners (id, email, age) VALUES (?, ?, ?)",
        params![1, "a@example.com", 30],
    )
    .await
    .unwrap();

    let cases = [
        (
            "INSERT INTO owners (id, email, age) VALUES (2, 'a@example.com', 1)",
            ConstraintKind::Unique,
        ),
        (
            "INSERT INTO owners (id, email, age) VALUES (1, 'b@example.com', 1)",
            ConstraintKind::Unique,
        ),
        (
            "INSERT INTO owners (id, email, age) VALUES (3, NULL, 1)",
            ConstraintKind::NotNull,
        ),
        (
            "INSERT INTO owners (id, email, age) VALUES (4, 'c@example.com', -1)",
            ConstraintKind::Check,
        ),
        (
            "INSERT INTO pets (id, owner_id) VALUES (1, 999)",
            ConstraintKind::ForeignKey,
        ),
    ];
    for (sql, kind) in cases {
        let err = db.execute(sql, params![]).await.unwrap_err();
        assert_eq!(err.constraint_kind(), Some(kind), "{sql}: {err:?}");
        assert!(matches!(err, Error::Constraint { .. }));
        assert!(err.to_string().contains("constraint violated"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
        assert!(!err.is_unavailable());
    }
    // The unique violation names what it hit.
    let err = db.execute(cases[0].0, params![]).await.unwrap_err();
    let Error::Constraint {
        constraint: Some(name),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(name.contains("email"), "{name}");
    // Same inside a transaction.
    let err = db
        .transaction(|tx| async move {
            tx.execute("INSERT INTO pets (id, owner_id) VALUES (1, 999)", params![])
                .await
        })
        .await
        .unwrap_err();
    assert_eq!(err.constraint_kind(), Some(ConstraintKind::ForeignKey));
}

/// Eight writers, each with its own handle (its own connections, as separate processes would have on a file),
/// interleave read-then-write transactions and plain inserts. None may fail with "database is locked".
async fn concurrent_writers_all_succeed(t: TestDb) {
    const WRITERS: i64 = 8;
    const ROUNDS: i64 = 15;
    t.db.execute_batch(
        "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
         CREATE TABLE log (writer INTEGER NOT NULL, round INTEGER NOT NULL, seen INTEGER NOT NULL);",
    )
    .await
    .unwrap();
    t.db.execute("INSERT INTO counter (id, n) VALUES (1, 0)", params![])
        .await
        .unwrap();
    // SQLite's BEGIN IMMEDIATE serializes the transactions; PostgreSQL needs the row lock.
    let read = t.sql(
        "SELECT n FROM counter WHERE id = 1",
        "SELECT n FROM counter WHERE id = 1 FOR UPDATE",
    );
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let db = t.reconnect();
        let read = read.to_owned();
        tasks.push(tokio::spawn(async move {
            for round in 0..ROUNDS {
                // Read, then write, in one transaction: the classic lock-upgrade trap without BEGIN IMMEDIATE.
                let read = read.as_str();
                db.transaction(|tx| async move {
                    let n: i64 = tx.query_one(read, params![]).await?;
                    tx.execute("UPDATE counter SET n = ? WHERE id = 1", params![n + 1])
                        .await?;
                    tx.execute(
                        "INSERT INTO log (writer, round, seen) VALUES (?, ?, ?)",
                        params![w, round, n],
                    )
                    .await
                })
                .await?;
                db.execute(
                    "INSERT INTO log (writer, round, seen) VALUES (?, ?, -1)",
                    params![w, round],
                )
                .await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let n: i64 =
        t.db.query_one("SELECT n FROM counter WHERE id = 1", params![])
            .await
            .unwrap();
    assert_eq!(
        n,
        WRITERS * ROUNDS,
        "every increment survived (no lost update)"
    );
    let logged: i64 =
        t.db.query_one("SELECT count(*) FROM log", params![])
            .await
            .unwrap();
    assert_eq!(logged, WRITERS * ROUNDS * 2);
    // Each transaction saw a distinct counter value: they were serialized.
    let distinct: i64 =
        t.db.query_one(
            "SELECT count(DISTINCT seen) FROM log WHERE seen >= 0",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(distinct, WRITERS * ROUNDS);
}

/// Inside `transaction`, statements belong on the `Transaction`. A write through the `Db` itself would, on
/// SQLite, wait forever for the writer this very task holds: it is refused instead of hanging.
async fn using_the_db_inside_a_transaction_body(t: TestDb) {
    items(&t).await;
    let db = t.db.clone();
    let (outside, write, nested) =
        t.db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (1, 'in tx')",
                params![],
            )
            .await?;
            // Reads through the Db see only committed data (on `:memory:`, where everything runs on the
            // writer, they are refused like writes).
            let outside = db
                .query_one::<i64>("SELECT count(*) FROM items", params![])
                .await;
            let write = db
                .execute(
                    "INSERT INTO items (id, name) VALUES (2, 'outside')",
                    params![],
                )
                .await;
            let nested = db
                .transaction(|inner| async move { inner.execute("SELECT 1", params![]).await })
                .await;
            Ok::<_, Error>((outside, write, nested))
        })
        .await
        .unwrap();
    match t.kind {
        Kind::SqliteMemory => assert!(matches!(outside, Err(Error::WouldDeadlock)), "{outside:?}"),
        _ => assert_eq!(outside.unwrap(), 0),
    }
    if t.kind == Kind::Postgres {
        // Separate connections: the write commits on its own, the nested transaction runs beside.
        assert_eq!(write.unwrap(), 1);
        nested.unwrap();
        assert_eq!(count(&t.db).await, 2);
    } else {
        assert!(matches!(write, Err(Error::WouldDeadlock)), "{write:?}");
        assert!(matches!(nested, Err(Error::WouldDeadlock)), "{nested:?}");
        assert_eq!(
            count(&t.db).await,
            1,
            "the refused write did not spoil the transaction"
        );
    }
    // Another task may write through the Db while a transaction is open; it simply waits its turn.
    let db = t.db.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        db.transaction(|tx| async move {
            tx.execute(
                "INSERT INTO items (id, name) VALUES (10, 'holder')",
                params![],
            )
            .await?;
            started_tx.send(()).unwrap();
            release_rx.await.unwrap();
            Ok::<_, Error>(())
        })
        .await
    });
    started_rx.await.unwrap();
    let db = t.db.clone();
    let writer = tokio::spawn(async move {
        db.execute(
            "INSERT INTO items (id, name) VALUES (11, 'other task')",
            params![],
        )
        .await
    });
    release_tx.send(()).unwrap();
    holder.await.unwrap().unwrap();
    writer.await.unwrap().unwrap();
    let n: i64 =
        t.db.query_one("SELECT count(*) FROM items WHERE id >= 10", params![])
            .await
            .unwrap();
    assert_eq!(n, 2);
}
