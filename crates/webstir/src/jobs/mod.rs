//! Jobs: what a job function receives ([`JobContext`]), the app binary's `jobs` subcommand, and the
//! scheduler that runs jobs on their schedules (`jobs --watch`, or in-process beside `serve` with
//! `JOBS_SCHEDULER=in-process`).

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use jiff::Timestamp;

use crate::context::Services;
use crate::module::BoxFuture;
use crate::{Config, Env, Error, Module};

mod list;
mod run;
mod scheduler;

use run::{Runner, TARGET, Trigger};
use scheduler::{Plan, Scheduler};

use crate::Shutdown;

/// Arguments of the app binary's `jobs` subcommand. Without flags it lists the jobs.
#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// List jobs as a table: name, schedule, next run (UTC), description, priority.
    #[arg(long, conflicts_with_all = ["job", "all", "watch"])]
    list: bool,
    /// Print the jobs as a JSON array (name, schedule, description, priority, nextRun).
    #[arg(long, conflicts_with_all = ["job", "all", "watch"])]
    json: bool,
    /// Run one job now and exit (0 on success, 1 on failure); with --watch, watch only this job.
    #[arg(long, value_name = "NAME")]
    job: Option<String>,
    /// Run every job once, one after another in declaration order; exit 1 if any failed.
    #[arg(long, conflicts_with_all = ["job", "watch"])]
    all: bool,
    /// Run jobs on their schedules until SIGINT/SIGTERM (`@reboot` jobs once at start).
    #[arg(long)]
    watch: bool,
}

/// Entry point of `app jobs …`: returns the process exit code.
pub(crate) async fn run_cli(
    module: &Module,
    args: JobsArgs,
    env: Env,
    services: Services,
    shutdown: Shutdown,
) -> ExitCode {
    if let Err(err) = module.manifest().validate() {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    let jobs = module.jobs();
    if args.json {
        let json = list::json(jobs, Timestamp::now());
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".to_owned())
        );
        return ExitCode::SUCCESS;
    }
    let grace = Config::from_env(&env)
        .map(|config| config.shutdown_grace)
        .unwrap_or(std::time::Duration::from_secs(10));
    let runner = Runner::new(env, services);
    if args.watch {
        return watch(jobs, args.job.as_deref(), runner, grace, shutdown).await;
    }
    if let Some(name) = args.job.as_deref() {
        let Some(job) = find(jobs, name) else {
            return ExitCode::FAILURE;
        };
        return match runner.run(Arc::new(job.clone()), Trigger::Manual).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report_unlogged(&format!("[jobs] {name} failed: {error}"));
                ExitCode::FAILURE
            }
        };
    }
    if args.all {
        let mut failed = Vec::new();
        for job in jobs {
            if let Err(error) = runner.run(Arc::new(job.clone()), Trigger::Manual).await {
                report_unlogged(&format!("[jobs] {} failed: {error}", job.definition.name));
                failed.push(job.definition.name.as_str());
            }
        }
        if failed.is_empty() {
            tracing::info!(target: TARGET, "[jobs] all {} job(s) completed", jobs.len());
            return ExitCode::SUCCESS;
        }
        report(&format!(
            "[jobs] {} of {} job(s) failed: {}",
            failed.len(),
            jobs.len(),
            failed.join(", ")
        ));
        return ExitCode::FAILURE;
    }
    if jobs.is_empty() {
        println!("[jobs] no jobs declared in the module");
    } else {
        print!("{}", list::table(jobs, Timestamp::now()));
    }
    ExitCode::SUCCESS
}

/// The job named `name`, or `None` after printing `[jobs] job 'x' not found; known jobs: …`.
fn find<'a>(jobs: &'a [crate::Job], name: &str) -> Option<&'a crate::Job> {
    let found = jobs.iter().find(|job| job.definition.name == name);
    if found.is_none() {
        let known: Vec<&str> = jobs.iter().map(|j| j.definition.name.as_str()).collect();
        if known.is_empty() {
            eprintln!("[jobs] job '{name}' not found; the module declares no jobs");
        } else {
            eprintln!(
                "[jobs] job '{name}' not found; known jobs: {}",
                known.join(", ")
            );
        }
    }
    found
}

/// An error line: logged, or printed to stderr when error logs are filtered out.
fn report(line: &str) {
    if tracing::enabled!(target: TARGET, tracing::Level::ERROR) {
        tracing::error!(target: TARGET, "{line}");
    } else {
        eprintln!("{line}");
    }
}

/// Print a failure the runner already logged, if error logs are filtered out (so a failing
/// `--job` always says why).
fn report_unlogged(line: &str) {
    if !tracing::enabled!(target: TARGET, tracing::Level::ERROR) {
        eprintln!("{line}");
    }
}

/// `jobs --watch [--job NAME]`.
async fn watch(
    jobs: &[crate::Job],
    only: Option<&str>,
    runner: Runner,
    grace: std::time::Duration,
    shutdown: Shutdown,
) -> ExitCode {
    let plan = match only {
        Some(name) => match find(jobs, name) {
            Some(job) => Plan::new([job]),
            None => return ExitCode::FAILURE,
        },
        None => Plan::new(jobs),
    };
    if plan.is_idle() {
        tracing::warn!(
            target: TARGET,
            "[jobs] no jobs have schedules compatible with the built-in watcher. Use --json to export job metadata for an external scheduler."
        );
        return ExitCode::SUCCESS;
    }
    tracing::info!(
        target: TARGET,
        "[jobs] watching jobs: {}",
        plan.watched_names().join(", ")
    );
    let mut running = Scheduler::new(plan, runner, grace).start();

    if !running.has_timers() {
        // Only `@reboot` jobs: wait for them (or a signal), then exit.
        let outcome = {
            let runs = running.reboot_runs();
            let all = futures_util::future::join_all(runs.iter_mut().map(|(_, run)| run));
            tokio::select! {
                results = all => Ok(results),
                reason = shutdown.requested() => Err(reason),
            }
        };
        return match outcome {
            Ok(results) => {
                tracing::info!(target: TARGET, "[jobs] completed @reboot jobs and exiting.");
                if results.iter().all(|r| matches!(r, Ok(Ok(())))) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(reason) => stop(running, &reason, &shutdown).await,
        };
    }

    let reason = shutdown.requested().await;
    stop(running, &reason, &shutdown).await
}

/// Stop for `reason`: a second signal cuts the grace period short. Exit 1 when runs had to be
/// abandoned, else 0.
async fn stop(running: scheduler::Running, reason: &str, shutdown: &Shutdown) -> ExitCode {
    let report = running.stop(reason, shutdown.hurried()).await;
    if report.abandoned.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The scheduler inside `serve` (`JOBS_SCHEDULER=in-process`), before it starts.
#[derive(Debug)]
pub(crate) struct InProcess {
    scheduler: Scheduler,
    names: String,
}

/// The running in-process scheduler; [`InProcessHandle::stop`] stops it.
#[derive(Debug)]
pub(crate) struct InProcessHandle {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// `None` unless `JOBS_SCHEDULER=in-process` and some job has a schedule.
    pub(crate) fn new(
        module: &Module,
        env: &Env,
        config: &Config,
        services: Services,
    ) -> Option<Self> {
        if !config.jobs_in_process {
            return None;
        }
        let plan = Plan::new(module.jobs());
        if plan.is_idle() {
            tracing::info!(
                target: TARGET,
                "[jobs] JOBS_SCHEDULER=in-process, but no job has a schedule; nothing to run"
            );
            return None;
        }
        let names = plan.watched_names().join(", ");
        Some(Self {
            scheduler: Scheduler::new(
                plan,
                Runner::new(env.clone(), services),
                config.shutdown_grace,
            ),
            names,
        })
    }

    /// Start: `@reboot` jobs run now, the others on their schedules. On SIGINT/SIGTERM (or
    /// [`InProcessHandle::stop`]) no new runs start and running ones get `SHUTDOWN_GRACE_MS`,
    /// alongside the HTTP drain.
    pub(crate) fn start(self, shutdown: Shutdown) -> InProcessHandle {
        tracing::info!(target: TARGET, "[jobs] watching jobs: {}", self.names);
        let running = self.scheduler.start();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Biased: on SIGTERM the HTTP drain may finish first and call `stop`; the signal is
            // still the reason.
            let reason = tokio::select! {
                biased;
                reason = shutdown.requested() => reason,
                _ = stopped => "server stopped".to_owned(),
            };
            let _ = running.stop(&reason, shutdown.hurried()).await;
        });
        InProcessHandle { stop, task }
    }
}

impl InProcessHandle {
    /// Stop (if no signal did already) and wait until running jobs finished or were abandoned.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
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

    /// The database (see `Ctx::db`).
    ///
    /// # Panics
    /// When the module does not use a database (declare the `db` capability or set `DATABASE_URL`).
    pub fn db(&self) -> &crate::Db {
        self.services.db.as_ref().expect(crate::context::NO_DB)
    }

    /// Give a test context a database.
    #[must_use]
    pub fn with_db(mut self, db: crate::Db) -> Self {
        self.services.db = Some(db);
        self
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
