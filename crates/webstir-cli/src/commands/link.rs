//! `webstir link [--source DIR]`: (re-)create the project's machine-local `.cargo/config.toml`,
//! which points the `webstir` dependency at a webstir checkout until the crates are published.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::WorkspaceArg;
use crate::changes::{Changes, Report};
use crate::{link, scaffold};

/// Arguments of `webstir link`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Run it once after cloning a project: `Cargo.toml` asks for \
    `webstir = \"0.1\"`, and this machine-local, git-ignored file says where the crates are."
)]
pub(crate) struct Args {
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// The webstir checkout [default: $WEBSTIR_SOURCE, else the one this CLI was built from].
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
}

/// Runs `webstir link`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let ws = args.workspace.locate()?;
    let source = match args.source {
        Some(dir) => scaffold::checked_source(dir)?,
        None => scaffold::webstir_source()?,
    };
    let path = ws.root.join(link::CONFIG);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let text = link::config_text(existing.as_deref(), &source)?;
    let mut changes = Changes::new(&ws.root);
    changes.write(link::CONFIG, &text)?;
    Report::new("link")
        .field("webstir", source.join("crates").join("webstir").display())
        .field("root", ws.root.display())
        .changes(changes.list())
        .print()?;
    Ok(ExitCode::SUCCESS)
}
