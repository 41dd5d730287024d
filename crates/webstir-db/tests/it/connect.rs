//! `DATABASE_URL` handling, `:memory:` sharing, readiness and executor friendliness.

#[cfg(feature = "sqlite")]
use std::sync::Arc;
#[cfg(feature = "sqlite")]
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use webstir_db::params;
use webstir_db::{Db, Engine, Error};

#[cfg(feature = "postgres")]
use crate::util::{self, say};

#[test]
fn bad_database_url_names_the_variable_and_the_accepted_forms() {
    let root = tempfile::tempdir().unwrap();
    for url in [
        "mysql://localhost/app",
        "",
        "redis://cache",
        "./data/app.txt",
        "file:",
    ] {
        let err = Db::connect(url, root.path()).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedUrl { .. }),
            "{url}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "unsupported DATABASE_URL '{url}'; use file:./path/to.sqlite, sqlite:./path/to.sqlite, :memory:, \
                 or postgres://user@host:5432/dbname"
            )
        );
    }
    #[cfg(feature = "postgres")]
    {
        let err = Db::connect("postgres://u@host:notaport/db", root.path()).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    }
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_url_without_the_postgres_feature_names_the_feature() {
    let err = Db::connect("postgres://u@localhost/db", std::path::Path::new(".")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::EngineDisabled {
                engine: Engine::Postgres
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "DATABASE_URL is a PostgreSQL URL but this build has no PostgreSQL support; \
         enable the `postgres` feature of webstir"
    );
}

#[cfg(not(feature = "sqlite"))]
#[test]
fn sqlite_url_without_the_sqlite_feature_names_the_feature() {
    for url in [Db::DEFAULT_URL, ":memory:", "data/app.db"] {
        let err = Db::connect(url, std::path::Path::new(".")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EngineDisabled {
                    engine: Engine::Sqlite
                }
            ),
            "{url}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "DATABASE_URL is a SQLite URL but this build has no SQLite support; \
             enable the `sqlite` feature of webstir"
        );
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_paths_resolve_against_the_workspace_root_not_the_cwd() {
    let root = tempfile::tempdir().unwrap();
    let db = Db::connect(Db::DEFAULT_URL, root.path()).unwrap();
    assert_eq!(db.engine(), Engine::Sqlite);
    db.execute_batch("CREATE TABLE t (x TEXT)").await.unwrap();
    db.execute("INSERT INTO t (x) VALUES (?)", params!["Ada"])
        .await
        .unwrap();
    assert!(root.path().join("data/dev.sqlite").is_file());

    // Other spellings of the same file see the same data.
    for url in [
        "sqlite:./data/dev.sqlite",
        "data/dev.sqlite",
        "sqlite://data/dev.sqlite",
    ] {
        let again = Db::connect(url, root.path()).unwrap();
        let x: String = again.query_one("SELECT x FROM t", params![]).await.unwrap();
        assert_eq!(x, "Ada", "{url}");
    }
    let abs = format!("file:{}", root.path().join("abs/other.db").display());
    Db::connect(&abs, std::path::Path::new("/nonexistent-root")).unwrap();
    assert!(root.path().join("abs/other.db").is_file());
    // WAL is on for files.
    let mode: String = db
        .query_one("PRAGMA journal_mode", params![])
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = db
        .query_one("PRAGMA foreign_keys", params![])
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn memory_is_one_database_per_handle_shared_by_its_connections() {
    let root = tempfile::tempdir().unwrap();
    let db = Db::connect(":memory:", root.path()).unwrap();
    db.execute_batch("CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    db.execute("INSERT INTO t (x) VALUES (1)", params![])
        .await
        .unwrap();
    // Reads (reader connections) see what the writer wrote, from any clone.
    let clone = db.clone();
    let n: i64 = clone
        .query_one("SELECT count(*) FROM t", params![])
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Many concurrent readers, each needing its own connection, all see the table.
    let reads = (0..16).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            db.query_one::<i64>("SELECT count(*) FROM t", params![])
                .await
        })
    });
    for r in reads {
        assert_eq!(r.await.unwrap().unwrap(), 1);
    }
    // Another `:memory:` handle is a different, empty database.
    let other = Db::connect(":memory:", root.path()).unwrap();
    assert!(other.query("SELECT * FROM t", params![]).await.is_err());
    assert!(!root.path().join(":memory:").exists());
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn unreachable_postgres_is_unavailable_not_a_hang() {
    // Nothing listens on port 1; connecting is lazy, so only the ping fails.
    let db = Db::connect(
        "postgres://postgres@127.0.0.1:1/postgres",
        std::path::Path::new("."),
    )
    .unwrap();
    assert_eq!(db.engine(), Engine::Postgres);
    let err = db.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = db.query("SELECT 1", params![]).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

/// A read that runs longer than the inline budget must not hold the async worker: on a single-threaded
/// runtime another task keeps running while it executes.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "current_thread")]
async fn long_sqlite_reads_leave_the_executor_free() {
    let root = tempfile::tempdir().unwrap();
    let db = Db::connect("file:./long.sqlite", root.path()).unwrap();
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let ticks = Arc::clone(&ticks);
        tokio::spawn(async move {
            loop {
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    tokio::task::yield_now().await;
    let before = ticks.load(Ordering::Relaxed);
    // Several million VM steps: far beyond the budget.
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c";
    let n: i64 = db.query_one(sql, params![]).await.unwrap();
    let during = ticks.load(Ordering::Relaxed) - before;
    assert_eq!(n, 3_000_000);
    assert!(
        during > 0,
        "the ticker never ran while the long query executed"
    );

    // A short read completes inline: the (still running) ticker gets no turn in between.
    tokio::task::yield_now().await;
    let before = ticks.load(Ordering::Relaxed);
    let one: i64 = db.query_one("SELECT 1", params![]).await.unwrap();
    assert_eq!(one, 1);
    assert_eq!(ticks.load(Ordering::Relaxed), before);
    tokio::task::yield_now().await;
    assert!(
        ticks.load(Ordering::Relaxed) > before,
        "the ticker is alive"
    );
    ticker.abort();
}

/// Readiness recovers after the server drops our connections (as after a PostgreSQL restart).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reconnects_after_the_connection_is_killed() {
    let Some(base) = util::postgres_url() else {
        say(&format!(
            "skipping: {} not set (postgres_reconnects_after_the_connection_is_killed)",
            util::PG_ENV
        ));
        return;
    };
    let app = format!("wst_reconnect_{}", std::process::id());
    let sep = if base.contains('?') { '&' } else { '?' };
    let db = Db::connect(
        &format!("{base}{sep}application_name={app}"),
        std::path::Path::new("."),
    )
    .unwrap();
    db.ping().await.unwrap();
    let pid_before: i64 = db
        .query_one("SELECT pg_backend_pid()::bigint", params![])
        .await
        .unwrap();
    // A transaction connection goes back to the pool, to be killed too.
    db.transaction(|tx| async move { tx.execute("SELECT 1", params![]).await })
        .await
        .unwrap();

    util::pg_admin(
        &base,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"),
    )
    .await
    .unwrap();

    // The first call may still hit the dead connection (and discard it); the next one reconnects.
    let first = db.ping().await;
    if let Err(e) = &first {
        assert!(e.is_unavailable(), "{e:?}");
        db.ping().await.unwrap();
    }
    let pid_after: i64 = db
        .query_one("SELECT pg_backend_pid()::bigint", params![])
        .await
        .unwrap();
    assert_ne!(pid_before, pid_after);
    // Transactions recover too (the dead pooled connection is replaced).
    let n = db
        .transaction(|tx| async move { tx.query_one::<i64>("SELECT 41 + 1", params![]).await })
        .await
        .unwrap();
    assert_eq!(n, 42);
}
