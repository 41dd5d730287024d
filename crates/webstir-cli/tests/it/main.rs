//! Process-level tests of the `webstir` binary: one test binary, one module per subcommand.

use std::process::{Command, Output};

mod schedule;

/// Runs the built `webstir` binary with `args`, no stdin.
fn webstir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webstir"))
        .args(args)
        .env_remove("TZ")
        .output()
        .expect("the webstir binary runs")
}

/// stdout and stderr as text.
fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8"),
    )
}
