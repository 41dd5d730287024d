//! The subcommands: one module per command, each owning its clap `Args` and a `run` function that
//! turns the arguments into a resolved plan and hands it to the library modules.
//!
//! To add a command: create `commands/<name>.rs` with `pub(crate) struct Args` and
//! `pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode>`, then add a variant to [`Command`]
//! and an arm to [`run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::workspace::Workspace;

mod add_job;
mod add_route;
mod backend_inspect;
mod build;
mod forward;
mod init;
mod link;
mod publish;
mod schedule;
mod watch;

/// The `webstir` command line.
#[derive(Debug, Parser)]
#[command(
    name = "webstir",
    version,
    about = "The webstir backend framework's command-line tool."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    cmd: Option<Command>,
}

/// One subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Create a project: `webstir init [api|full] DIR` or `webstir init DIR --server-only`.
    Init(init::Args),
    /// Add a route (its Rust declaration, handler and test), or update the declaration of the
    /// route with that name.
    AddRoute(Box<add_route::Args>),
    /// Add a job (its Rust declaration and `run` function), or update the job with that name.
    AddJob(add_job::Args),
    /// Compile the backend and write .webstir/backend-manifest.json.
    Build(build::Args),
    /// Show the backend's module, capabilities, routes, jobs and migrations (builds if needed).
    BackendInspect(backend_inspect::Args),
    /// Build, run the backend, and rebuild and restart it when src/backend changes.
    Watch(watch::Args),
    /// Release build into dist/backend/ with the manifest, migrations and a run note.
    Publish(publish::Args),
    /// Run the built backend in the foreground, without watching (forwards to `<app> serve`;
    /// builds first when sources changed; passes SIGINT/SIGTERM on and exits with its code).
    Serve(forward::Args),
    /// Run the backend's database migrations (forwards to `<app> migrate`; builds if needed).
    Migrate(forward::Args),
    /// List or run the backend's jobs (forwards to `<app> jobs`; builds if needed).
    Jobs(forward::Args),
    /// Mint development tokens and manage API keys (runs the backend's `auth` subcommand).
    Auth(forward::Args),
    /// Point this project at a local webstir checkout (writes the git-ignored .cargo/config.toml).
    Link(link::Args),
    /// Print the next fire times of a job schedule (UTC, RFC 3339, one per line).
    Schedule(schedule::Args),
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    let Some(cmd) = cli.cmd else {
        // No command: the help text on stdout, success (as the reference does).
        <Cli as clap::CommandFactory>::command().print_help()?;
        return Ok(ExitCode::SUCCESS);
    };
    match cmd {
        Command::Init(args) => init::run(args),
        Command::AddRoute(args) => add_route::run(*args),
        Command::AddJob(args) => add_job::run(args),
        Command::Build(args) => build::run(args),
        Command::BackendInspect(args) => backend_inspect::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Serve(args) => forward::run("serve", args),
        Command::Migrate(args) => forward::run("migrate", args),
        Command::Jobs(args) => forward::run("jobs", args),
        Command::Auth(args) => forward::run("auth", args),
        Command::Schedule(args) => schedule::run(args),
        Command::Link(args) => link::run(args),
    }
}

/// `-w, --workspace PATH`, shared by the commands that work on a project.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WorkspaceArg {
    /// The project folder [default: the nearest folder upwards whose Cargo.toml has
    /// [package.metadata.webstir]].
    #[arg(short = 'w', long, value_name = "PATH")]
    workspace: Option<PathBuf>,
}

impl WorkspaceArg {
    /// Resolves the workspace.
    fn locate(&self) -> Result<Workspace> {
        Workspace::locate(self.workspace.as_deref())
    }
}

/// `--runtime frontend|backend|all` (`-r`), accepted by build, watch and publish.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RuntimeArg {
    /// Which runtime to work on: backend, frontend or all [default: what the mode has].
    #[arg(short = 'r', long, value_name = "RUNTIME", value_parser = parse_runtime)]
    runtime: Option<Runtime>,
}

/// A `--runtime` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Frontend,
    Backend,
    All,
}

fn parse_runtime(text: &str) -> Result<Runtime, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "frontend" => Ok(Runtime::Frontend),
        "backend" => Ok(Runtime::Backend),
        "all" => Ok(Runtime::All),
        _ => Err(format!(
            "Unsupported runtime '{text}'. Expected frontend, backend, or all."
        )),
    }
}

impl RuntimeArg {
    /// The `filter:` label of the scope summary, after checking that the backend is selected.
    fn backend_filter(&self) -> Result<&'static str> {
        match self.runtime {
            None => Ok("auto"),
            Some(Runtime::Backend) => Ok("backend"),
            Some(Runtime::All) => Ok("all"),
            Some(Runtime::Frontend) => anyhow::bail!(
                "--runtime frontend selects nothing: this CLI builds the backend only so far; use --runtime backend"
            ),
        }
    }
}
