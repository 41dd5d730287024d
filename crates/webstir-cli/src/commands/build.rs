//! `webstir build [--runtime backend] [--release]`.

use std::process::ExitCode;

use anyhow::Result;

use super::{RuntimeArg, WorkspaceArg};
use crate::backend::{self, MANIFEST_FILE, Profile};
use crate::changes::Report;

/// Arguments of `webstir build`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    #[command(flatten)]
    runtime: RuntimeArg,
    /// Build with cargo's release profile. The binary runs in production mode unless NODE_ENV
    /// says otherwise; `serve`, `jobs`, `migrate`, `auth` and `backend-inspect` then use it (and
    /// rebuild it in release when sources change).
    #[arg(long)]
    release: bool,
}

/// Runs `webstir build`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    args.runtime.backend_filter()?;
    let ws = args.workspace.locate()?;
    let profile = if args.release {
        Profile::Release
    } else {
        Profile::Dev
    };
    let built = backend::build(&ws, profile)?;
    let mut report = Report::new("build")
        .field("workspace", &ws.name)
        .field("mode", ws.mode)
        .field("root", ws.root.display())
        .field("backend", built.binary.display());
    if profile == Profile::Release {
        report = report.field(
            "profile",
            "release (runs in production mode unless NODE_ENV is set)",
        );
    }
    report
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
