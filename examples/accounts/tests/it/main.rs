//! The accounts example as a user runs it: the built binary, real HTTP over loopback, real signals.

mod database;
mod process;
mod routes;

use tokio::process::Command;
use webstir_test::TestProcess;

/// The example binary with an isolated workspace root (no stray `.env`, its own data directory).
pub(crate) fn command(root: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_accounts"));
    cmd.env("WORKSPACE_ROOT", root).current_dir(root);
    cmd
}

pub(crate) async fn spawn() -> (TestProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestProcess::spawn(command(dir.path())).await.unwrap();
    (server, dir)
}
