//! Jobs: what a job function receives, and (in `runner`) how jobs run on demand and on schedule.

use std::future::Future;

use crate::module::BoxFuture;
use crate::{Env, Error, Module};

/// Arguments of the app binary's `jobs` subcommand.
#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// List jobs (name, schedule, next run, description, priority).
    #[arg(long)]
    list: bool,
}

/// Entry point of `app jobs …`: returns the process exit code.
pub(crate) async fn run_cli(
    module: &Module,
    args: JobsArgs,
    env: Env,
    services: crate::context::Services,
) -> std::process::ExitCode {
    let _ = (env, services);
    if args.list {
        for job in module.jobs() {
            println!("{}", job.definition().name);
        }
    }
    std::process::ExitCode::SUCCESS
}

/// Something that runs a job: any `async fn(JobContext) -> Result<(), Error>` is one.
pub trait JobHandler: Send + Sync + 'static {
    /// Run the job once.
    fn call(&self, ctx: JobContext) -> BoxFuture<Result<(), Error>>;
}

impl<F, Fut> JobHandler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn call(&self, ctx: JobContext) -> BoxFuture<Result<(), Error>> {
        Box::pin(self(ctx))
    }
}

/// What a job run gets: env, a logger span carrying the job name and run id, and the clock.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) name: String,
    pub(crate) run_id: String,
    pub(crate) env: Env,
    pub(crate) span: tracing::Span,
    #[allow(dead_code)] // carries the database once it lands (issue 3)
    pub(crate) services: crate::context::Services,
}

impl JobContext {
    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A unique id for this run (also on every log line of the run).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The run's logger span.
    pub fn logger(&self) -> &tracing::Span {
        &self.span
    }

    /// The current time.
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    /// A job context for tests and embedding.
    pub fn for_test(name: &str, env: Env) -> Self {
        Self {
            name: name.to_owned(),
            run_id: crate::server::request_id::generate(),
            env,
            span: tracing::Span::none(),
            services: crate::context::Services::default(),
        }
    }
}
