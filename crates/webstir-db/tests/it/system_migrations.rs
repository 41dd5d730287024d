//! System migrations: embedded, own history table, applied once, checksums enforced.

use std::path::Path;

use webstir_db::migrate::{self, MigrateCommand, SYSTEM_TABLE, SystemMigration};
use webstir_db::{Db, params};

use crate::util::{TestDb, write};

crate::engine_tests!(
    applies_once_into_its_own_history,
    app_migrations_do_not_see_system_rows,
    changed_system_migration_is_refused,
    failed_system_migration_is_rolled_back_and_retried,
    concurrent_appliers_apply_each_once,
    duplicate_ids_and_invalid_table_are_rejected,
);

const API_KEYS: SystemMigration = SystemMigration::new(
    "0001_api_keys",
    "CREATE TABLE webstir_api_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE);\n\
     CREATE INDEX webstir_api_keys_hash ON webstir_api_keys (hash);",
    "CREATE TABLE webstir_api_keys (id BIGSERIAL PRIMARY KEY, hash TEXT NOT NULL UNIQUE);\n\
     CREATE INDEX webstir_api_keys_hash ON webstir_api_keys (hash);",
);

const SESSIONS: SystemMigration = SystemMigration::portable(
    "0002_sessions",
    "CREATE TABLE webstir_sessions (id TEXT PRIMARY KEY,\ndata TEXT NOT NULL)",
);

const EVENTS: SystemMigration = SystemMigration::portable(
    "0003_events",
    "CREATE TABLE webstir_events (id TEXT PRIMARY KEY)",
);

async fn history(db: &Db, table: &str) -> Vec<String> {
    db.query_as(&format!("SELECT id FROM {table} ORDER BY id"), params![])
        .await
        .unwrap()
}

async fn table_exists(db: &Db, name: &str) -> bool {
    db.query(&format!("SELECT 1 FROM {name} WHERE 1 = 0"), params![])
        .await
        .is_ok()
}

async fn applies_once_into_its_own_history(t: TestDb) {
    let applied = migrate::apply_system(&t.db, &[API_KEYS, SESSIONS], SYSTEM_TABLE)
        .await
        .unwrap();
    assert_eq!(applied, ["0001_api_keys", "0002_sessions"]);
    // The engine's own SQL ran (auto-increment ids on both).
    t.db.execute(
        "INSERT INTO webstir_api_keys (hash) VALUES (?), (?)",
        params!["a", "b"],
    )
    .await
    .unwrap();
    let ids: Vec<i64> =
        t.db.query_as("SELECT id FROM webstir_api_keys ORDER BY id", params![])
            .await
            .unwrap();
    assert_eq!(ids, [1, 2]);
    assert!(table_exists(&t.db, "webstir_sessions").await);

    // Second call: nothing to do, from this handle or another one.
    let again = migrate::apply_system(&t.db, &[API_KEYS, SESSIONS], SYSTEM_TABLE)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let other = t.reconnect();
    assert!(
        migrate::apply_system(&other, &[API_KEYS, SESSIONS], SYSTEM_TABLE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        history(&t.db, SYSTEM_TABLE).await,
        ["0001_api_keys", "0002_sessions"]
    );
    // The app's history table was not created by system migrations.
    assert!(!table_exists(&t.db, migrate::DEFAULT_TABLE).await);

    // A later binary adds one; only it is applied. An older binary (fewer migrations) is fine too.
    let later = migrate::apply_system(&t.db, &[API_KEYS, SESSIONS, EVENTS], SYSTEM_TABLE)
        .await
        .unwrap();
    assert_eq!(later, ["0003_events"]);
    assert!(
        migrate::apply_system(&t.db, &[API_KEYS], SYSTEM_TABLE)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn run_app(db: &Db, dir: &Path, command: MigrateCommand) -> (migrate::Report, String) {
    let mut out = Vec::new();
    let report = migrate::run(db, dir, migrate::DEFAULT_TABLE, command, &mut out)
        .await
        .unwrap();
    (report, String::from_utf8(out).unwrap())
}

async fn app_migrations_do_not_see_system_rows(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        &dir,
        "0001_api_keys.sql",
        "CREATE TABLE app_keys (id TEXT PRIMARY KEY);\n-- migrate:down\nDROP TABLE app_keys;\n",
    );
    // Same id as a system migration, on purpose: the two histories are independent.
    migrate::apply_system(&t.db, &[API_KEYS, SESSIONS], SYSTEM_TABLE)
        .await
        .unwrap();

    let (report, out) = run_app(&t.db, &dir, MigrateCommand::Status).await;
    assert_eq!(report.pending, ["0001_api_keys"]);
    assert!(report.missing.is_empty(), "{report:?}");
    assert!(out.contains("[migrate] Applied: 0\n"), "{out}");
    assert!(!out.contains("missing"), "{out}");
    assert!(!out.contains("0002_sessions"), "{out}");

    let (report, _) = run_app(&t.db, &dir, MigrateCommand::Up { steps: None }).await;
    assert_eq!(report.applied, ["0001_api_keys"]);
    assert!(table_exists(&t.db, "app_keys").await);
    assert_eq!(
        history(&t.db, migrate::DEFAULT_TABLE).await,
        ["0001_api_keys"]
    );

    // Reverting everything the app has leaves the framework's tables alone.
    let (report, _) = run_app(&t.db, &dir, MigrateCommand::Down { steps: None }).await;
    assert_eq!(report.reverted, ["0001_api_keys"]);
    assert!(table_exists(&t.db, "webstir_api_keys").await);
    assert_eq!(
        history(&t.db, SYSTEM_TABLE).await,
        ["0001_api_keys", "0002_sessions"]
    );
}

async fn changed_system_migration_is_refused(t: TestDb) {
    migrate::apply_system(&t.db, &[SESSIONS], SYSTEM_TABLE)
        .await
        .unwrap();
    // Line endings alone do not count as a change.
    let crlf = SystemMigration::portable(
        "0002_sessions",
        "CREATE TABLE webstir_sessions (id TEXT PRIMARY KEY,\r\ndata TEXT NOT NULL)",
    );
    assert!(
        migrate::apply_system(&t.db, &[crlf], SYSTEM_TABLE)
            .await
            .unwrap()
            .is_empty()
    );

    let edited = SystemMigration::portable(
        "0002_sessions",
        "CREATE TABLE webstir_sessions (id TEXT PRIMARY KEY,\ndata TEXT NOT NULL, extra TEXT)",
    );
    let err = migrate::apply_system(&t.db, &[edited, EVENTS], SYSTEM_TABLE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, migrate::Error::SystemChanged { id } if id == "0002_sessions"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("system migration 0002_sessions") && msg.contains("add a new one"),
        "{msg}"
    );
    // Nothing was applied: the check happens before any migration runs.
    assert!(!table_exists(&t.db, "webstir_events").await);
    assert_eq!(history(&t.db, SYSTEM_TABLE).await, ["0002_sessions"]);
}

async fn failed_system_migration_is_rolled_back_and_retried(t: TestDb) {
    let broken = SystemMigration::portable(
        "0002_broken",
        "CREATE TABLE webstir_half (id TEXT PRIMARY KEY); INSERT INTO no_such_table VALUES (1)",
    );
    let err = migrate::apply_system(&t.db, &[API_KEYS, broken, EVENTS], SYSTEM_TABLE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, migrate::Error::ApplyFailed { id, .. } if id == "0002_broken"),
        "{err:?}"
    );
    assert!(err.to_string().contains("0002_broken"), "{err}");
    // The one before stays applied; the failing one left nothing behind; the one after did not run.
    assert_eq!(history(&t.db, SYSTEM_TABLE).await, ["0001_api_keys"]);
    assert!(!table_exists(&t.db, "webstir_half").await);
    assert!(!table_exists(&t.db, "webstir_events").await);

    let fixed = SystemMigration::portable(
        "0002_broken",
        "CREATE TABLE webstir_half (id TEXT PRIMARY KEY)",
    );
    let applied = migrate::apply_system(&t.db, &[API_KEYS, fixed, EVENTS], SYSTEM_TABLE)
        .await
        .unwrap();
    assert_eq!(applied, ["0002_broken", "0003_events"]);
}

async fn concurrent_appliers_apply_each_once(t: TestDb) {
    let log = SystemMigration::portable("0001_log", "CREATE TABLE webstir_log (id TEXT NOT NULL)");
    let entries: Vec<SystemMigration> = [
        ("0002_entry", "INSERT INTO webstir_log (id) VALUES ('0002')"),
        ("0003_entry", "INSERT INTO webstir_log (id) VALUES ('0003')"),
        ("0004_entry", "INSERT INTO webstir_log (id) VALUES ('0004')"),
        ("0005_entry", "INSERT INTO webstir_log (id) VALUES ('0005')"),
    ]
    .into_iter()
    .map(|(id, sql)| SystemMigration::portable(id, sql))
    .collect();
    let all: Vec<SystemMigration> = std::iter::once(log).chain(entries).collect();

    let (a, b, c) = (t.reconnect(), t.reconnect(), t.reconnect());
    let (ra, rb, rc) = tokio::join!(
        migrate::apply_system(&a, &all, SYSTEM_TABLE),
        migrate::apply_system(&b, &all, SYSTEM_TABLE),
        migrate::apply_system(&c, &all, SYSTEM_TABLE),
    );
    let mut applied: Vec<String> = Vec::new();
    for r in [ra, rb, rc] {
        applied.extend(r.unwrap());
    }
    applied.sort();
    let expected: Vec<&str> = all.iter().map(SystemMigration::id).collect();
    assert_eq!(
        applied, expected,
        "each applied exactly once across the three"
    );
    let rows: Vec<String> =
        t.db.query_as("SELECT id FROM webstir_log ORDER BY id", params![])
            .await
            .unwrap();
    assert_eq!(rows, ["0002", "0003", "0004", "0005"]);
    assert_eq!(history(&t.db, SYSTEM_TABLE).await.len(), 5);
}

async fn duplicate_ids_and_invalid_table_are_rejected(t: TestDb) {
    let err = migrate::apply_system(&t.db, &[SESSIONS, API_KEYS, SESSIONS], SYSTEM_TABLE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, migrate::Error::DuplicateIds { ids } if ids == &["0002_sessions"]),
        "{err:?}"
    );
    let err = migrate::apply_system(&t.db, &[SESSIONS], "bad name")
        .await
        .unwrap_err();
    assert!(
        matches!(err, migrate::Error::InvalidTableName { .. }),
        "{err:?}"
    );
    assert!(!table_exists(&t.db, SYSTEM_TABLE).await, "nothing ran");
    assert!(!table_exists(&t.db, "webstir_sessions").await);

    // Empty list: just the history table.
    assert!(
        migrate::apply_system(&t.db, &[], SYSTEM_TABLE)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(table_exists(&t.db, SYSTEM_TABLE).await);
}
