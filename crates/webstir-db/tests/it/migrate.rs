//! The migration runner.

use std::num::NonZeroUsize;
use std::path::Path;

use webstir_db::migrate::{self, MigrateCommand, Report};
use webstir_db::{Db, params};

use crate::util::{TestDb, write};

crate::engine_tests!(
    up_status_list_and_down_with_steps,
    failed_up_is_rolled_back_and_not_recorded,
    failed_down_keeps_the_record,
    checksum_drift_is_reported_and_blocks_applying,
    concurrent_migrators_apply_each_migration_once,
    invalid_table_name_is_rejected,
    duplicate_ids_and_engine_specific_files,
    no_migrations,
);

const UP: MigrateCommand = MigrateCommand::Up { steps: None };
const DOWN: MigrateCommand = MigrateCommand::Down { steps: None };

fn steps(n: usize) -> Option<NonZeroUsize> {
    NonZeroUsize::new(n)
}

/// Runs a command, returning the report (or error) and the printed lines.
async fn run(
    db: &Db,
    dir: &Path,
    command: MigrateCommand,
) -> (Result<Report, migrate::Error>, String) {
    run_table(db, dir, migrate::DEFAULT_TABLE, command).await
}

async fn run_table(
    db: &Db,
    dir: &Path,
    table: &str,
    command: MigrateCommand,
) -> (Result<Report, migrate::Error>, String) {
    let mut out = Vec::new();
    let result = migrate::run(db, dir, table, command, &mut out).await;
    (result, String::from_utf8(out).unwrap())
}

async fn table_exists(db: &Db, name: &str) -> bool {
    db.query(&format!("SELECT 1 FROM {name} WHERE 1 = 0"), params![])
        .await
        .is_ok()
}

fn write_three(dir: &Path) {
    write(
        dir,
        "0001_create_accounts.sql",
        "-- migrate:up\nCREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n\
         INSERT INTO accounts (id, email) VALUES (1, 'seed@example.com');\n\
         -- migrate:down\nDROP TABLE accounts;\n",
    );
    write(
        dir,
        "0002_add_notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n",
    );
    write(
        dir,
        "0003_irreversible.sql",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY);\n",
    );
}

async fn up_status_list_and_down_with_steps(t: TestDb) {
    let dir = t.migrations_dir();
    write_three(&dir);
    std::fs::write(dir.join("README.md"), "not a migration").unwrap();

    let (report, out) = run(&t.db, &dir, MigrateCommand::List).await;
    report.unwrap();
    assert_eq!(
        out,
        "[migrate] Available migrations:\n- 0001_create_accounts\n- 0002_add_notes\n- 0003_irreversible (no down)\n"
    );

    let (report, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert_eq!(report.unwrap().pending.len(), 3);
    assert_eq!(
        out,
        "[migrate] Status for _webstir_migrations:\n[migrate] Applied: 0\n[migrate] Pending: 3\n\
         - pending 0001_create_accounts\n- pending 0002_add_notes\n- pending 0003_irreversible\n"
    );

    let (report, out) = run(&t.db, &dir, MigrateCommand::Up { steps: steps(1) }).await;
    assert_eq!(report.unwrap().applied, ["0001_create_accounts"]);
    assert_eq!(out, "[migrate] Applying 0001_create_accounts\n");
    let seeded: String =
        t.db.query_one("SELECT email FROM accounts", params![])
            .await
            .unwrap();
    assert_eq!(seeded, "seed@example.com");

    let (_, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert_eq!(
        out,
        "[migrate] Status for _webstir_migrations:\n[migrate] Applied: 1\n[migrate] Pending: 2\n\
         - pending 0002_add_notes\n- pending 0003_irreversible\n"
    );

    let (report, out) = run(&t.db, &dir, UP).await;
    let report = report.unwrap();
    assert_eq!(report.applied, ["0002_add_notes", "0003_irreversible"]);
    assert!(report.pending.is_empty());
    assert_eq!(
        out,
        "[migrate] Applying 0002_add_notes\n[migrate] Applying 0003_irreversible\n"
    );

    let (_, out) = run(&t.db, &dir, UP).await;
    assert_eq!(out, "[migrate] Database is up to date.\n");

    // The history table records ids and checksums.
    let recorded: Vec<(String, String)> =
        t.db.query_as(
            "SELECT id, checksum FROM _webstir_migrations ORDER BY id",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|(_, sum)| sum.len() == 64));

    // Down 2: newest first; the irreversible one is skipped, then notes is reverted.
    let (report, out) = run(&t.db, &dir, MigrateCommand::Down { steps: steps(2) }).await;
    assert_eq!(report.unwrap().reverted, ["0002_add_notes"]);
    assert_eq!(
        out,
        "[migrate] Skipping 0003_irreversible (no down part)\n[migrate] Reverting 0002_add_notes\n"
    );
    assert!(!table_exists(&t.db, "notes").await);
    assert!(table_exists(&t.db, "audit").await);

    let (_, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert!(
        out.contains("[migrate] Applied: 2\n[migrate] Pending: 1\n- pending 0002_add_notes\n"),
        "{out}"
    );

    // Down without steps reverts everything it can.
    let (report, out) = run(&t.db, &dir, DOWN).await;
    assert_eq!(report.unwrap().reverted, ["0001_create_accounts"]);
    assert_eq!(
        out,
        "[migrate] Skipping 0003_irreversible (no down part)\n[migrate] Reverting 0001_create_accounts\n"
    );
    assert!(!table_exists(&t.db, "accounts").await);

    // Up again re-applies the reverted ones in order.
    let (report, _) = run(&t.db, &dir, UP).await;
    assert_eq!(
        report.unwrap().applied,
        ["0001_create_accounts", "0002_add_notes"]
    );
}

async fn failed_up_is_rolled_back_and_not_recorded(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        dir.as_path(),
        "0001_ok.sql",
        "CREATE TABLE first (id INTEGER);\n",
    );
    write(
        dir.as_path(),
        "0002_fails.sql",
        "CREATE TABLE second (id INTEGER);\nINSERT INTO second (id) VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n",
    );
    write(
        dir.as_path(),
        "0003_later.sql",
        "CREATE TABLE third (id INTEGER);\n",
    );

    let (result, out) = run(&t.db, &dir, UP).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, migrate::Error::ApplyFailed { id, .. } if id == "0002_fails"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("rolled back and was not recorded as applied"),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the database error is kept as the source"
    );
    assert_eq!(
        out,
        "[migrate] Applying 0001_ok\n[migrate] Applying 0002_fails\n"
    );
    // The first migration stays, nothing of the failed one remains, the later one did not run.
    assert!(table_exists(&t.db, "first").await);
    assert!(!table_exists(&t.db, "second").await);
    assert!(!table_exists(&t.db, "third").await);
    let (_, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert!(
        out.contains(
            "Applied: 1\n[migrate] Pending: 2\n- pending 0002_fails\n- pending 0003_later\n"
        ),
        "{out}"
    );

    // Fixed, the same migration (re-creating the same table) applies: the DDL really was rolled back.
    write(
        dir.as_path(),
        "0002_fails.sql",
        "CREATE TABLE second (id INTEGER);\nINSERT INTO second (id) VALUES (1);\n",
    );
    let (report, _) = run(&t.db, &dir, UP).await;
    assert_eq!(report.unwrap().applied, ["0002_fails", "0003_later"]);
    let n: i64 =
        t.db.query_one("SELECT count(*) FROM second", params![])
            .await
            .unwrap();
    assert_eq!(n, 1);
}

async fn failed_down_keeps_the_record(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        dir.as_path(),
        "0001_reversible.sql",
        "CREATE TABLE things (id INTEGER);\n-- migrate:down\nDROP TABLE things;\nDROP TABLE no_such_table;\n",
    );
    run(&t.db, &dir, UP).await.0.unwrap();

    let (result, out) = run(&t.db, &dir, DOWN).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, migrate::Error::RevertFailed { id, .. } if id == "0001_reversible"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("record was kept so it can be retried"),
        "{err}"
    );
    assert_eq!(out, "[migrate] Reverting 0001_reversible\n");
    assert!(
        table_exists(&t.db, "things").await,
        "the failed down was rolled back"
    );
    let (_, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert!(out.contains("Applied: 1\n[migrate] Pending: 0\n"), "{out}");

    // Fixing the down part is not checksum drift; retrying succeeds.
    write(
        dir.as_path(),
        "0001_reversible.sql",
        "CREATE TABLE things (id INTEGER);\n-- migrate:down\nDROP TABLE things;\n",
    );
    let (report, _) = run(&t.db, &dir, DOWN).await;
    assert_eq!(report.unwrap().reverted, ["0001_reversible"]);
    let (_, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert!(out.contains("Applied: 0\n[migrate] Pending: 1\n"), "{out}");
}

async fn checksum_drift_is_reported_and_blocks_applying(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        dir.as_path(),
        "0001_a.sql",
        "CREATE TABLE a (id INTEGER);\n",
    );
    run(&t.db, &dir, UP).await.0.unwrap();
    // Edit the applied migration and add a new one.
    write(
        dir.as_path(),
        "0001_a.sql",
        "CREATE TABLE a (id INTEGER, extra TEXT);\n",
    );
    write(
        dir.as_path(),
        "0002_b.sql",
        "CREATE TABLE b (id INTEGER);\n",
    );

    let (report, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert_eq!(report.unwrap().changed, ["0001_a"]);
    assert!(
        out.contains("[migrate] Applied migrations whose file changed since:\n- changed 0001_a\n"),
        "{out}"
    );

    let (result, out) = run(&t.db, &dir, UP).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, migrate::Error::Changed { id, .. } if id == "0001_a"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("0001_a.sql") && msg.contains("changed after it was applied"),
        "{msg}"
    );
    assert_eq!(out, "", "nothing was applied");
    assert!(!table_exists(&t.db, "b").await);

    // Restoring the file unblocks it; line endings do not count as a change.
    write(
        dir.as_path(),
        "0001_a.sql",
        "CREATE TABLE a (id INTEGER);\r\n",
    );
    let (report, _) = run(&t.db, &dir, UP).await;
    assert_eq!(report.unwrap().applied, ["0002_b"]);

    // A record without a file is reported as missing, and cannot be reverted.
    std::fs::remove_file(dir.join("0002_b.sql")).unwrap();
    let (report, out) = run(&t.db, &dir, MigrateCommand::Status).await;
    assert_eq!(report.unwrap().missing, ["0002_b"]);
    assert!(
        out.contains(
            "[migrate] Applied records without local migration files:\n- missing 0002_b\n"
        ),
        "{out}"
    );
    let (result, _) = run(&t.db, &dir, MigrateCommand::Down { steps: steps(1) }).await;
    assert!(matches!(result, Err(migrate::Error::MissingFile { id }) if id == "0002_b"));
}

async fn concurrent_migrators_apply_each_migration_once(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        dir.as_path(),
        "0001_log.sql",
        "CREATE TABLE applied_log (id TEXT NOT NULL);\n",
    );
    for i in 2..=6 {
        write(
            dir.as_path(),
            &format!("000{i}_entry.sql"),
            &format!("INSERT INTO applied_log (id) VALUES ('000{i}');\n"),
        );
    }
    let (a, b, c) = (t.reconnect(), t.reconnect(), t.reconnect());
    let (ra, rb, rc) = tokio::join!(run(&a, &dir, UP), run(&b, &dir, UP), run(&c, &dir, UP));
    let mut applied: Vec<String> = Vec::new();
    for (report, out) in [ra, rb, rc] {
        let report = report.unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        applied.extend(report.applied);
    }
    applied.sort();
    let expected: Vec<String> = (1..=6)
        .map(|i| format!("000{i}_{}", if i == 1 { "log" } else { "entry" }))
        .collect();
    assert_eq!(
        applied, expected,
        "every migration applied exactly once across the three runs"
    );
    let rows: Vec<String> =
        t.db.query_as("SELECT id FROM applied_log ORDER BY id", params![])
            .await
            .unwrap();
    assert_eq!(rows, ["0002", "0003", "0004", "0005", "0006"]);
    let history: i64 =
        t.db.query_one("SELECT count(*) FROM _webstir_migrations", params![])
            .await
            .unwrap();
    assert_eq!(history, 6);
}

async fn invalid_table_name_is_rejected(t: TestDb) {
    let dir = t.migrations_dir();
    write_three(&dir);
    let bad = "_webstir_migrations; DROP TABLE users";
    let (result, _) = run_table(&t.db, &dir, bad, MigrateCommand::Status).await;
    let err = result.unwrap_err();
    assert!(matches!(err, migrate::Error::InvalidTableName { .. }));
    assert_eq!(
        err.to_string(),
        "DATABASE_MIGRATIONS_TABLE must be a single SQL identifier using letters, numbers, and underscores, \
         and must not start with a number (received \"_webstir_migrations; DROP TABLE users\")"
    );
    let (result, _) = run_table(&t.db, &dir, "1abc", UP).await;
    assert!(matches!(
        result,
        Err(migrate::Error::InvalidTableName { .. })
    ));
    assert!(!table_exists(&t.db, "accounts").await, "nothing ran");

    // A custom (valid) table name is used as given.
    let (report, _) = run_table(&t.db, &dir, "app_migrations", UP).await;
    assert_eq!(report.unwrap().applied.len(), 3);
    let n: i64 =
        t.db.query_one("SELECT count(*) FROM app_migrations", params![])
            .await
            .unwrap();
    assert_eq!(n, 3);
}

async fn duplicate_ids_and_engine_specific_files(t: TestDb) {
    let dir = t.migrations_dir();
    write(
        dir.as_path(),
        "0001_a.sql",
        "CREATE TABLE a (id INTEGER);\n",
    );
    write(
        dir.as_path(),
        "0002_search.sqlite.sql",
        "CREATE TABLE search (id INTEGER, engine TEXT DEFAULT 'sqlite');\n",
    );
    write(
        dir.as_path(),
        "0002_search.postgres.sql",
        "CREATE TABLE search (id INTEGER, engine TEXT DEFAULT 'postgres');\n",
    );
    let (report, out) = run(&t.db, &dir, UP).await;
    assert_eq!(report.unwrap().applied, ["0001_a", "0002_search"]);
    assert_eq!(
        out,
        "[migrate] Applying 0001_a\n[migrate] Applying 0002_search\n"
    );
    t.db.execute("INSERT INTO search (id) VALUES (1)", params![])
        .await
        .unwrap();
    let engine: String =
        t.db.query_one("SELECT engine FROM search", params![])
            .await
            .unwrap();
    assert_eq!(engine, t.db.engine().to_string());

    // Two files with one id: rejected before anything else, even for --list.
    write(dir.as_path(), "0001_a.sqlite.sql", "SELECT 1;\n");
    write(dir.as_path(), "0001_a.postgres.sql", "SELECT 1;\n");
    for command in [MigrateCommand::List, MigrateCommand::Status, UP] {
        let (result, _) = run(&t.db, &dir, command).await;
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), "duplicate migration id(s): 0001_a");
    }
}

async fn no_migrations(t: TestDb) {
    let empty = t.root.path().join("nothing-here");
    let (_, out) = run(&t.db, &empty, MigrateCommand::List).await;
    assert_eq!(out, "[migrate] No migrations found.\n");
    let (_, out) = run(&t.db, &empty, UP).await;
    assert_eq!(
        out,
        format!("[migrate] No migrations found under {}\n", empty.display())
    );
    let (_, out) = run(&t.db, &empty, DOWN).await;
    assert_eq!(out, "[migrate] No applied migrations to roll back.\n");
    let (_, out) = run(&t.db, &empty, MigrateCommand::Status).await;
    assert_eq!(
        out,
        "[migrate] Status for _webstir_migrations:\n[migrate] Applied: 0\n[migrate] Pending: 0\n"
    );
}
