//! Process-level tests of the `webstir` binary: one test binary, one module per area.
//!
//! * `schedule`: `webstir schedule`.
//! * `commands`: `serve`, `build --release`, forwarded help, watch and migrations, a published
//!   binary's production defaults, the message outside a project.
//! * `golden`: every file `init`, `add-route` and `add-job` write, against `golden/`.
//! * `errors`: messages and exit codes for bad input.
//! * `e2e`: the seed tutorial end to end (builds real projects into this workspace's `target/`).

use std::process::{Command, Output};

mod commands;
mod e2e;
mod errors;
mod golden;
mod readme;
mod schedule;
mod util;

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
    util::text(output)
}
