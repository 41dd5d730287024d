//! `webstir init [api|full] DIR`, `webstir init DIR --server-only`, `webstir init [MODE] --workspace DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::changes::Report;
use crate::scaffold::{InitPlan, InitRequest};

/// Arguments of `webstir init`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  webstir init my-backend --server-only\n  \
    webstir init api my-backend\n  webstir init full shop\n  webstir init api --workspace ./svc")]
pub(crate) struct Args {
    /// `[api|full] DIR`; one argument is the directory (mode full, or api with --server-only).
    /// With --workspace, the optional mode only.
    #[arg(value_name = "MODE|DIR", num_args = 0..=2)]
    positionals: Vec<String>,

    /// Backend only (the same as mode `api`).
    #[arg(long)]
    server_only: bool,

    /// The directory to create the project in.
    #[arg(short = 'w', long, value_name = "PATH")]
    workspace: Option<PathBuf>,
}

/// Runs `webstir init`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let plan = InitPlan::resolve(
        &InitRequest {
            positionals: args.positionals,
            server_only: args.server_only,
            workspace: args.workspace,
        },
        &cwd,
    )?;
    let changes = plan.execute()?;
    Report::new("init")
        .field("mode", plan.mode)
        .field("root", plan.root.display())
        .changes(changes)
        .print()?;
    Ok(ExitCode::SUCCESS)
}
