//! `webstir build [--runtime backend]`.

use std::process::ExitCode;

use anyhow::Result;

use super::{RuntimeArg, WorkspaceArg};
use crate::backend::{self, MANIFEST_FILE};
use crate::changes::Report;

/// Arguments of `webstir build`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    #[command(flatten)]
    runtime: RuntimeArg,
}

/// Runs `webstir build`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    args.runtime.backend_filter()?;
    let ws = args.workspace.locate()?;
    let built = backend::build(&ws)?;
    Report::new("build")
        .field("workspace", &ws.name)
        .field("mode", ws.mode)
        .field("root", ws.root.display())
        .field("backend", built.binary.display())
        .field(
            "manifest",
            format!(
                "{MANIFEST_FILE} ({} routes, {} jobs)",
                built.manifest.routes.len(),
                built.manifest.jobs.len()
            ),
        )
        .print()?;
    Ok(ExitCode::SUCCESS)
}
