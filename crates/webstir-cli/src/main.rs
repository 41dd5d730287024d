//! `webstir`: the command-line tool of the webstir backend framework.
//!
//! Each subcommand lives in its own module under `commands/` and only turns its arguments into a
//! resolved plan; the work is done by the library modules beside it (`scaffold`, `routes`, `jobs`,
//! `registry`, `backend`, `inspect`, `watch`, `publish`). Results go to stdout, diagnostics (and
//! cargo's progress) to stderr. Exit codes: `0` success, `1` failure or invalid input
//! (`error: <message>` on stderr), `2` usage error. A closed stdout (`webstir … | head`) counts as
//! success.

use std::io;
use std::process::ExitCode;

use clap::Parser as _;

mod backend;
mod changes;
mod commands;
mod decl;
mod foreground;
mod inspect;
mod jobs;
mod link;
mod lock;
mod names;
mod publish;
mod registry;
mod routes;
mod scaffold;
mod templates;
mod watch;
mod workspace;

/// A usage error found after clap's own parsing (exit code 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
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
