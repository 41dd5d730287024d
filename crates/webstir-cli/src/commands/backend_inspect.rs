//! `webstir backend-inspect [--json]`.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use super::WorkspaceArg;
use crate::backend;
use crate::inspect::{self, Migrations};

/// Arguments of `webstir backend-inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// Print JSON: {command, workspace, binary, manifest, data: {migrations}}.
    #[arg(long)]
    json: bool,
}

/// Runs `webstir backend-inspect`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let ws = args.workspace.locate()?;
    let built = backend::ensure_built(&ws)?;
    let migrations = Migrations::inspect(&ws, &built.binary);
    let text = if args.json {
        inspect::json(&ws, &built, &migrations)
    } else {
        inspect::text(&ws, &built, &migrations)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
