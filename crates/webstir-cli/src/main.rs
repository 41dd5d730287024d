//! `webstir`: the command-line tool of the webstir backend framework.
//!
//! Each subcommand lives in its own module under `commands/`. Results go to stdout, diagnostics to
//! stderr. Exit codes: `0` success, `1` failure or invalid input (`error: <message>` on stderr),
//! `2` usage error (reported by clap). A closed stdout (`webstir … | head`) counts as success.

use std::io;
use std::process::ExitCode;

use clap::Parser as _;

mod commands;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the error is stdout having been closed by the reader.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
