//! The accounts example as a user runs it: the built binary, real HTTP over loopback, real signals.

mod auth;
mod database;
mod faults;
mod process;
mod routes;

use tokio::process::Command;
use webstir_test::TestProcess;

/// HS256 secret the test servers verify tokens with.
pub(crate) const SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// A service token the test servers accept.
pub(crate) const SERVICE_TOKEN: &str = "svc-0123456789abcdef0123456789abcdef";
/// Pepper for API keys.
pub(crate) const PEPPER: &str = "pepper-0123456789abcdef0123456789abcdef";

/// The example binary with an isolated workspace root (no stray `.env`, its own data directory) and
/// auth configured.
pub(crate) fn command(root: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_accounts"));
    cmd.env("WORKSPACE_ROOT", root)
        .env("AUTH_JWT_SECRET", SECRET)
        .env("AUTH_SERVICE_TOKENS", SERVICE_TOKEN)
        .env("AUTH_API_KEY_PEPPER", PEPPER)
        .current_dir(root);
    cmd
}

/// A bearer token for `sub` minted by the binary's own `auth token` subcommand.
pub(crate) async fn token(root: &std::path::Path, sub: &str, scopes: &[&str]) -> String {
    let mut cmd = command(root);
    cmd.args(["auth", "token", "--sub", sub]);
    for scope in scopes {
        cmd.args(["--scope", scope]);
    }
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("Bearer {}", String::from_utf8(out.stdout).unwrap().trim())
}

/// `GET path` as the given credential header.
pub(crate) async fn get_as(
    client: &webstir_test::TestClient,
    path: &str,
    header: (&str, &str),
) -> webstir_test::TestResponse {
    client
        .request(http::Method::GET, path, &[header], bytes::Bytes::new())
        .await
        .unwrap()
}

pub(crate) async fn spawn() -> (TestProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestProcess::spawn(command(dir.path())).await.unwrap();
    (server, dir)
}
