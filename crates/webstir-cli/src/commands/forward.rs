//! `webstir serve …`, `webstir migrate …`, `webstir jobs …` and `webstir auth …`: run the built
//! backend's subcommand of the same name with the remaining arguments (building first when a
//! source is newer than the last build), in the foreground with signals passed on
//! ([`crate::foreground`]), and exit with its code. `WEBSTIR_CLI_NAME=webstir` makes the backend's
//! help and usage errors read `webstir jobs …` rather than the binary's path.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

use anyhow::Result;

use super::WorkspaceArg;
use crate::{backend, foreground};

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
    let mut cmd = Command::new(&built.binary);
    cmd.arg(subcommand)
        .args(&args.args)
        .current_dir(&ws.root)
        .env("WORKSPACE_ROOT", &ws.root)
        .env("WEBSTIR_CLI_NAME", "webstir");
    foreground::run(cmd)
}
