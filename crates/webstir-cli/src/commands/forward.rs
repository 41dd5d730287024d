//! `webstir migrate …`, `webstir jobs …` and `webstir auth …`: run the built backend's subcommand of the same name
//! with the remaining arguments (building first when a source is newer than the last build).

use std::ffi::OsString;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result};

use super::WorkspaceArg;
use crate::backend;

/// Arguments of the forwarding commands.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// Arguments for the backend's subcommand (`--help` shows its own help).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<OsString>,
}

/// Runs `<app> <subcommand> ARGS…` in the workspace and returns its exit code.
pub(crate) fn run(subcommand: &str, args: Args) -> Result<ExitCode> {
    let ws = args.workspace.locate()?;
    let built = backend::ensure_built(&ws)?;
    let status = Command::new(&built.binary)
        .arg(subcommand)
        .args(&args.args)
        .current_dir(&ws.root)
        .env("WORKSPACE_ROOT", &ws.root)
        .status()
        .with_context(|| format!("cannot run {}", built.binary.display()))?;
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
