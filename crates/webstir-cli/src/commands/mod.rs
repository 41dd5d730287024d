//! The subcommands: one module per command, each owning its clap `Args` and a `run` function.
//!
//! To add a command: create `commands/<name>.rs` with `pub(crate) struct Args` and
//! `pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode>`, then add a variant to [`Command`]
//! and an arm to [`run`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod schedule;

/// The `webstir` command line.
#[derive(Debug, Parser)]
#[command(
    name = "webstir",
    version,
    about = "The webstir backend framework's command-line tool."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

/// One subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the next fire times of a job schedule (UTC, RFC 3339, one per line).
    Schedule(schedule::Args),
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Command::Schedule(args) => schedule::run(args),
    }
}
