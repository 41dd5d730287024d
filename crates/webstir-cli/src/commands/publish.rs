//! `webstir publish [--runtime backend]`.

use std::process::ExitCode;

use anyhow::Result;

use super::{RuntimeArg, WorkspaceArg};
use crate::changes::Report;
use crate::publish::{self, DIST_DIR};

/// Arguments of `webstir publish`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    #[command(flatten)]
    runtime: RuntimeArg,
}

/// Runs `webstir publish`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    args.runtime.backend_filter()?;
    let ws = args.workspace.locate()?;
    let written = publish::publish(&ws)?;
    Report::new("publish")
        .field("workspace", &ws.name)
        .field("mode", ws.mode)
        .field("root", ws.root.display())
        .field("backend", ws.root.join(DIST_DIR).display())
        .changes(written)
        .print()?;
    Ok(ExitCode::SUCCESS)
}
