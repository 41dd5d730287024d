//! `webstir add-job NAME [--schedule EXPR] [--description TEXT] [--priority P]`.

use std::process::ExitCode;

use anyhow::Result;

use super::WorkspaceArg;
use crate::changes::{Changes, Report};
use crate::jobs::{self, JobPlan, JobRequest};

/// Arguments of `webstir add-job`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  webstir add-job nightly --schedule \"0 0 * * *\" \
    --description \"Nightly account sync\" --priority 5\n\n\
    Re-running add-job for an existing job updates the flags you give in its `job()` declaration."
)]
pub(crate) struct Args {
    /// Job name: a portable file name (no slashes, dots only inside, no reserved names).
    #[arg(value_name = "NAME")]
    name: String,
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// 5-7 cron fields, @hourly/@daily/@weekly/@monthly/@yearly, @reboot, or rate(N minutes|hours).
    #[arg(long, value_name = "EXPR")]
    schedule: Option<String>,
    /// What the job does.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Priority: an integer, or a label such as high.
    #[arg(long, value_name = "P")]
    priority: Option<String>,
}

/// Runs `webstir add-job`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let plan = JobPlan::resolve(&JobRequest {
        name: args.name,
        schedule: args.schedule,
        description: args.description,
        priority: args.priority,
    })?;
    let ws = args.workspace.locate()?;
    let mut changes = Changes::new(&ws.root);
    let declaration = match jobs::apply(&ws.root, &plan, &mut changes)? {
        None => "created".to_owned(),
        Some(keys) if keys.is_empty() => "unchanged".to_owned(),
        Some(keys) => format!("updated {}", keys.join(", ")),
    };
    let mut report = Report::new("add-job")
        .field("target", &plan.name)
        .field("declaration", declaration.clone())
        .field("root", ws.root.display());
    let registry = std::fs::read_to_string(ws.root.join(crate::workspace::JOBS_DIR).join("mod.rs"))
        .unwrap_or_default();
    if declaration == "created" && !crate::registry::is_generated(&registry) {
        report = report.field(
            "note",
            format!(
                "{}/mod.rs is hand-written, so add-job left it alone: declare `pub mod {};` there \
                 and add `.job(jobs::{}::job())` to your module",
                crate::workspace::JOBS_DIR,
                plan.stem,
                plan.stem
            ),
        );
    }
    report.changes(changes.list()).print()?;
    Ok(ExitCode::SUCCESS)
}
