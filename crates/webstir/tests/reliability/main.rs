//! Issue 16's reliability checks in their short forms: the drain on SIGTERM (a real process, real
//! signals), slow clients over raw TCP, and database faults (a cuttable proxy in front of
//! PostgreSQL, a SQLite file locked by another process). Every wait is a deadline that is polled,
//! never a sleep that must be long enough; the figures are printed (`-- --nocapture`).

mod db_faults;
mod drain;
mod slow_clients;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Upper bound for anything a test waits for.
pub(crate) const BOUND: Duration = Duration::from_secs(30);

/// The example binary `name` (`crates/webstir/examples/<name>.rs`), built by `cargo test -p webstir`.
pub(crate) fn example_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/reliability-<hash> → target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --examples -p webstir` first (`cargo test -p webstir` builds it)",
        bin.display()
    );
    bin
}
