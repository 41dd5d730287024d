//! The SQLite file locked by another process (a `BEGIN EXCLUSIVE` held by Python's sqlite3 module,
//! a separate process): a write is 503 `unavailable` once the busy timeout (5 s) runs out, with a
//! log line that says why, the server keeps serving, writes succeed again once the lock is
//! released, and `PRAGMA integrity_check` is `ok` afterwards. The PostgreSQL half (unreachable under
//! load) is `crates/webstir/tests/reliability/db_faults.rs`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::spawn;

const HOLD_LOCK: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("COMMIT")
db.close()
print("released", flush=True)
"#;

const INTEGRITY: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
print(db.execute("PRAGMA integrity_check").fetchone()[0])
print(db.execute("SELECT count(*) FROM accounts").fetchone()[0])
"#;

async fn create(
    server: &webstir_test::TestProcess,
    bearer: &str,
    email: &str,
) -> webstir_test::TestResponse {
    let body = format!(r#"{{"email":"{email}"}}"#);
    tokio::time::timeout(
        Duration::from_secs(60),
        server.client().request(
            http::Method::POST,
            "/api/accounts",
            &[
                ("content-type", "application/json"),
                ("authorization", bearer),
            ],
            bytes::Bytes::from(body),
        ),
    )
    .await
    .expect("the write answered within REQUEST_TIMEOUT_MS")
    .unwrap()
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_is_503_with_a_log_line_and_no_corruption() {
    if std::process::Command::new("python3")
        .args(["-c", "import sqlite3"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipping: python3 with sqlite3 is not installed");
        return;
    }
    let (server, dir) = spawn().await;
    let bearer = crate::token(dir.path(), "user-1", &[]).await;
    let file = dir.path().join("data/dev.sqlite");
    assert_eq!(
        create(&server, &bearer, "before@example.com").await.status,
        201
    );

    let mut locker = Command::new("python3")
        .arg("-c")
        .arg(HOLD_LOCK)
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(locker.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .expect("the lock was taken")
        .unwrap();
    assert_eq!(line.as_deref(), Some("locked"));

    let started = Instant::now();
    let res = create(&server, &bearer, "locked@example.com").await;
    let took = started.elapsed();
    assert_eq!(res.status, 503, "{}", res.text());
    assert_eq!(
        res.json()["errors"][0]["code"],
        "unavailable",
        "{}",
        res.text()
    );
    // Liveness is unaffected while the file is locked.
    assert_eq!(server.client().get("/healthz").await.unwrap().status, 200);

    // Release the lock: writes succeed again without a restart.
    drop(locker.stdin.take());
    let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .expect("the lock was released")
        .unwrap();
    assert_eq!(line.as_deref(), Some("released"));
    let _ = locker.wait().await;
    assert_eq!(
        create(&server, &bearer, "after@example.com").await.status,
        201
    );

    // Give the log readers a moment, then find the line that names the cause.
    let deadline = Instant::now() + Duration::from_secs(10);
    let why = loop {
        let lines = server.output();
        let found = lines
            .iter()
            .find(|l| l.contains("database unavailable") && l.contains("locked"))
            .cloned();
        if found.is_some() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "sqlite locked: 503 after {} ms; log: {}",
        took.as_millis(),
        why.as_deref().unwrap_or("<none>")
    );
    let why = why.unwrap_or_else(|| panic!("no log line names the lock: {:#?}", server.output()));
    let why: serde_json::Value = serde_json::from_str(&why).unwrap();
    assert_eq!(why["level"], "WARN", "{why}");

    let check = Command::new("python3")
        .arg("-c")
        .arg(INTEGRITY)
        .arg(&file)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ok"), "{text}");
    // The three seeded accounts, `before` and `after`; the refused write left nothing behind.
    assert_eq!(lines.next(), Some("5"), "{text}");
    let _ = dir;
}
