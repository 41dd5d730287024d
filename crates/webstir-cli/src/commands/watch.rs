//! `webstir watch [--runtime backend] [--port N]`.

use std::process::ExitCode;

use anyhow::Result;

use super::{RuntimeArg, WorkspaceArg};
use crate::watch::{self, WatchPlan};

/// Arguments of `webstir watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    #[command(flatten)]
    runtime: RuntimeArg,
    /// Port for the backend [default: PORT from the environment or .env, else the first free
    /// port from 4000].
    #[arg(long, value_name = "N")]
    port: Option<u16>,
}

/// Runs `webstir watch`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let filter = args.runtime.backend_filter()?;
    let ws = args.workspace.locate()?;
    watch::run(
        &ws,
        &WatchPlan {
            port: args.port,
            filter,
        },
    )
}
