use std::time::Duration;

use serde_json::Value;
use webstir_test::TestProcess;

use crate::{SERVICE_TOKEN, command, get_as};

const SERVICE: (&str, &str) = ("x-service-token", SERVICE_TOKEN);

async fn run(
    root: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (i32, String, String) {
    let mut cmd = command(root);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn first_start_creates_the_sqlite_file_and_seeds_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestProcess::spawn(command(dir.path())).await.unwrap();
    assert!(
        dir.path().join("data/dev.sqlite").is_file(),
        "default DATABASE_URL file:./data/dev.sqlite"
    );
    let body = get_as(&server.client(), "/api/accounts", SERVICE)
        .await
        .json();
    assert_eq!(body["accounts"].as_array().unwrap().len(), 3);
    let res = server.client().get("/readyz").await.unwrap();
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn migrate_subcommand_lists_applies_reports_and_reverts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (code, out, _) = run(root, &["migrate", "--list"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("0001_create_accounts"), "{out}");
    let (code, out, err) = run(root, &["migrate"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Applying 0001_create_accounts"), "{out}");
    let (_, out, _) = run(root, &["migrate", "--status"], &[]).await;
    assert!(out.contains("applied") || out.contains("Applied"), "{out}");
    let (code, out, err) = run(root, &["migrate", "--down", "--steps", "1"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0001_create_accounts"), "{out}");
    let (code, _, err) = run(
        root,
        &["migrate"],
        &[("DATABASE_MIGRATIONS_TABLE", "bad name;")],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("DATABASE_MIGRATIONS_TABLE"), "{err}");
    let (code, _, err) = run(root, &["migrate"], &[("DATABASE_URL", "mysql://nope")]).await;
    assert_eq!(code, 1);
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn nightly_job_marks_accounts_synced() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (code, _, err) = run(root, &["migrate"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(root, &["jobs", "--job", "nightly"], &[]).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let server = TestProcess::spawn(command(root)).await.unwrap();
    let body = get_as(&server.client(), "/api/accounts", SERVICE)
        .await
        .json();
    let accounts = body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 3);
    for account in accounts {
        let synced = account["syncedAt"]
            .as_str()
            .expect("synced_at set by the nightly job");
        assert!(synced.starts_with("20"), "{synced}");
    }
}

/// The same app against PostgreSQL: a fresh database per test.
#[tokio::test]
async fn the_app_runs_on_postgres_by_changing_database_url() {
    let Ok(admin_url) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") else {
        eprintln!("skipping: WEBSTIR_TEST_POSTGRES_URL not set");
        return;
    };
    let name = format!("webstir_example_{}", std::process::id());
    let admin = webstir::Db::connect(&admin_url, std::path::Path::new(".")).unwrap();
    admin
        .execute_batch(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    admin
        .execute_batch(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap()
        .to_owned();
    let url = format!("{base}/{name}");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("DATABASE_URL", &url);
    let server = TestProcess::spawn(cmd).await.unwrap();
    let client = server.client();
    let body: Value = get_as(&client, "/api/accounts", SERVICE).await.json();
    assert_eq!(body["accounts"].as_array().unwrap().len(), 3, "{body}");
    let res = client
        .request(
            http::Method::POST,
            "/api/accounts",
            &[("content-type", "application/json"), SERVICE],
            bytes::Bytes::from_static(br#"{"email":"pg@example.com","owner_id":"user-3"}"#),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    let res = client
        .request(
            http::Method::POST,
            "/api/accounts",
            &[("content-type", "application/json"), SERVICE],
            bytes::Bytes::from_static(br#"{"email":"pg@example.com","owner_id":"user-3"}"#),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 409);
    assert!(
        !dir.path().join("data").exists(),
        "no SQLite file when DATABASE_URL is PostgreSQL"
    );
    drop(server);
    let (code, out, err) = run(
        dir.path(),
        &["jobs", "--job", "nightly"],
        &[("DATABASE_URL", &url)],
    )
    .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let mut cmd = command(dir.path());
    cmd.env("DATABASE_URL", &url);
    let server = TestProcess::spawn(cmd).await.unwrap();
    let body = get_as(&server.client(), "/api/accounts/1", SERVICE)
        .await
        .json();
    assert!(body["account"]["syncedAt"].is_string(), "{body}");
    drop(server);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = admin
        .execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}
