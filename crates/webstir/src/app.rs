//! Starting a module: the app binary's subcommands (`serve`, `manifest`) and the embeddable [`Server`].

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::server::health::Readiness;
use crate::server::router::Router;
use crate::server::service::App;
use crate::{Config, ConfigError, Env, Module};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A configuration variable has an unusable value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The module's manifest breaks the contract.
    #[error(transparent)]
    Manifest(#[from] webstir_manifest::ManifestError),
    /// The database could not be opened (bad `DATABASE_URL`, unwritable SQLite path…).
    #[error(transparent)]
    Services(#[from] crate::ServicesError),
    /// An `AUTH_*` setting is unusable (short HS256 secret, unreadable key file…).
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthSetupError),
    /// Applying pending migrations at start failed (`MIGRATE_ON_START`).
    #[error("applying migrations at start failed: {0}")]
    Migrate(#[source] webstir_db::migrate::Error),
    /// App migrations are pending and `serve` does not apply them (`MIGRATE_ON_START` is off, the
    /// default in production): the process would serve against a schema its code does not expect.
    #[error(
        "{count} pending migration(s) ({list}) in {dir} and MIGRATE_ON_START is off{why}; \
         apply them with `{bin} migrate` (or `webstir migrate` in the project) and start again, \
         or set MIGRATE_ON_START=on",
        count = .ids.len(),
        list = .ids.join(", "),
        dir = .dir.display(),
        why = if *.production { " (the default in production)" } else { "" },
        bin = .bin,
    )]
    PendingMigrations {
        /// The pending migration ids, in order.
        ids: Vec<String>,
        /// Where they were read from.
        dir: std::path::PathBuf,
        /// Whether the process runs in production mode.
        production: bool,
        /// How this binary was invoked (for the suggested command).
        bin: String,
    },
    /// Two routes can match the same request and neither is more specific.
    #[error(transparent)]
    AmbiguousRoutes(#[from] crate::AmbiguousRoutes),
    /// A route or the module declares a key this runtime does not enforce.
    #[error(transparent)]
    Unenforced(#[from] crate::Unenforced),
    /// The listening socket could not be opened.
    #[error("could not listen on {addr}: {source}; set PORT (or HOST) to a free address")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A server bound to its address, not yet serving. Useful for tests and embedding; apps normally call
/// [`run`].
///
/// ```no_run
/// # async fn demo() -> Result<(), webstir::StartError> {
/// use webstir::{Config, Env, Module, Server};
/// let env = Env::from_pairs([("PORT", "0")]);
/// let server = Server::bind(&Module::new("demo", "0.1.0"), env.clone(), Config::from_env(&env)?).await?;
/// println!("listening on {}", server.local_addr());
/// server.serve(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # Ok(()) }
/// ```
pub struct Server {
    app: Arc<App>,
    layered: Option<crate::handler::RouteService>,
    listener: TcpListener,
    addr: SocketAddr,
    migrate: Option<(std::path::PathBuf, String)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Validate the module and bind `config.host:config.port`.
    ///
    /// # Errors
    /// [`StartError`] when the manifest is invalid or the address cannot be bound.
    pub async fn bind(module: &Module, env: Env, config: Config) -> Result<Self, StartError> {
        Self::bind_with(module, env, config, crate::Shutdown::new()).await
    }

    /// [`Server::bind`] sharing the process's shutdown coordinator.
    pub(crate) async fn bind_with(
        module: &Module,
        env: Env,
        config: Config,
        shutdown: crate::Shutdown,
    ) -> Result<Self, StartError> {
        let addr = SocketAddr::new(config.host, config.port);
        let Prepared {
            app,
            layered,
            migrate,
        } = prepare(module, env, config, shutdown)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Self {
            app,
            layered,
            listener,
            addr,
            migrate,
        })
    }

    /// The services handlers see (shared with an in-process job scheduler).
    pub(crate) fn services(&self) -> crate::services::Services {
        self.app.services.clone()
    }

    /// The shutdown coordinator handlers see (`ctx.shutdown()`); triggered when `serve`'s future
    /// resolves.
    pub fn shutdown(&self) -> crate::Shutdown {
        self.app.shutdown.clone()
    }

    /// The bound address (useful with `PORT=0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve until `shutdown` resolves, then drain in-flight requests within the grace period.
    /// Pending migrations are applied first when `MIGRATE_ON_START` says so (`/readyz` answers 503
    /// `booting` meanwhile). Logs `API server running` once listening and ready.
    ///
    /// # Errors
    /// [`StartError::Migrate`] when a migration fails at start (the server stops).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let Self {
            app,
            layered,
            listener,
            addr,
            migrate,
        } = self;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let coordinator = app.shutdown.clone();
        let shutdown = async move {
            tokio::select! {
                () = shutdown => coordinator.trigger("server stopped"),
                _ = coordinator.requested() => {}
                _ = stop_rx => {}
            }
        };
        let serving = tokio::spawn(crate::server::accept::serve(
            app.clone(),
            layered,
            listener,
            shutdown,
        ));
        if let (Some((dir, table)), Some(db)) = (migrate, app.services.db.as_ref())
            && let Err(err) = migrate_at_start(db, &dir, &table).await
        {
            tracing::error!(target: "webstir::migrate", error = %crate::services::error_chain(&err), "migrations failed; stopping");
            let _ = stop_tx.send(());
            let _ = serving.await;
            return Err(StartError::Migrate(err));
        }
        app.readiness.set_ready();
        let url = format!("http://{addr}");
        let mode = app.config.node_env.clone();
        if tracing::enabled!(target: "webstir::app", tracing::Level::INFO) {
            tracing::info!(
                target: "webstir::app",
                port = addr.port(),
                mode = %mode,
                runtime = "rust",
                url = %url,
                "API server running"
            );
        } else {
            println!(
                "API server running {{\"port\":{},\"mode\":\"{mode}\",\"runtime\":\"rust\",\"url\":\"{url}\"}}",
                addr.port()
            );
        }
        let _ = serving.await;
        drop(stop_tx);
        tracing::info!(target: "webstir::app", "server stopped");
        Ok(())
    }
}

/// A module turned into the app `serve` runs — validated, services open, auth configured, module
/// layers applied — but not bound to a socket. [`Server`] binds it; the test kit
/// (`webstir::testing`) calls it in-process.
pub(crate) struct Prepared {
    pub(crate) app: Arc<App>,
    /// The module's tower layers around the whole pipeline, when it has any.
    pub(crate) layered: Option<crate::handler::RouteService>,
    /// Where the app's migrations are and their history table, when they run at start.
    pub(crate) migrate: Option<(std::path::PathBuf, String)>,
}

/// Validate `module` and build the app that serves it (everything [`Server::bind`] does but bind).
pub(crate) fn prepare(
    module: &Module,
    env: Env,
    config: Config,
    shutdown: crate::Shutdown,
) -> Result<Prepared, StartError> {
    let manifest = module.manifest();
    manifest.validate()?;
    crate::module::check_enforced(module)?;
    let router = Router::build(module.routes(), &module.hooks)?;
    let views = crate::views::mount(module, &env)?;
    let mut summary = serde_json::json!({
        "name": manifest.name,
        "version": manifest.version,
        "routes": manifest.routes.len(),
        "views": manifest.views.len(),
    });
    if !manifest.capabilities.is_empty() {
        summary["capabilities"] = serde_json::json!(manifest.capabilities);
    }
    let services = crate::services::Services::open(module, &env)?;
    let migrate = match &services.db {
        Some(_) if crate::services::migrate_on_start(&env, config.is_production())? => Some((
            crate::services::migrations_dir(module, &env),
            crate::services::migrations_table(&env)?,
        )),
        _ => None,
    };
    let metrics =
        crate::server::metrics::Metrics::new(config.metrics_enabled, config.metrics_window);
    #[cfg(feature = "auth")]
    let auth = crate::auth::authenticator(&env, &services)?;
    #[cfg(not(feature = "auth"))]
    let auth = crate::auth::disabled(&env)?;
    let auth_enabled = crate::auth::enabled(&auth);
    let sessions = crate::session::Sessions::open(module, &env, &config, services.db.as_ref())?;
    let edges = crate::server::edges::Edges::from_env(&env, config.is_production())?;
    if auth.jwt_method() == Some(webstir_auth::JwtMethod::Rs256Jwks) {
        let auth = auth.clone();
        tokio::spawn(async move { auth.prefetch_jwks().await });
    }
    let app = App {
        router,
        views,
        state: module.state.clone(),
        shutdown,
        readiness: Readiness::new(summary, services.checks()),
        config,
        env,
        services,
        started: Instant::now(),
        auth,
        auth_enabled,
        metrics,
        sessions,
        edges,
    };
    if app.router.len() < module.routes().len() {
        tracing::warn!(
            target: "webstir::app",
            "{} route(s) have no handler and are not mounted",
            module.routes().len() - app.router.len()
        );
    }
    let app = Arc::new(app);
    let layered = (!module.layers.is_empty()).then(|| {
        let mut service: crate::handler::RouteService =
            tower::util::BoxCloneSyncService::new(crate::server::service::AppService(app.clone()));
        for layer in &module.layers {
            service = layer(service);
        }
        service
    });
    Ok(Prepared {
        app,
        layered,
        migrate,
    })
}

/// The start-up migrations: system migrations (framework tables) first, then the app's own from
/// `dir` (when it exists), each applied line logged under `webstir::migrate`.
pub(crate) async fn migrate_at_start(
    db: &webstir_db::Db,
    dir: &std::path::Path,
    table: &str,
) -> Result<(), webstir_db::migrate::Error> {
    let mut out = Vec::new();
    let result = match crate::services::apply_system(db).await {
        Err(err) => Err(err),
        Ok(_) if !dir.is_dir() => Ok(()),
        Ok(_) => webstir_db::migrate::run(
            db,
            dir,
            table,
            webstir_db::migrate::MigrateCommand::Up { steps: None },
            &mut out,
        )
        .await
        .map(|_| ()),
    };
    for line in String::from_utf8_lossy(&out).lines() {
        tracing::info!(target: "webstir::migrate", "{line}");
    }
    result
}

/// The app binary's command line.
#[derive(Debug, Parser)]
#[command(about = "A webstir backend", disable_version_flag = true)]
struct AppCli {
    #[command(subcommand)]
    command: Option<AppCommand>,
}

#[derive(Debug, Subcommand)]
enum AppCommand {
    /// Serve HTTP (the default).
    Serve(ServeArgs),
    /// Run jobs: list them, run one or all now, or run them on schedule.
    Jobs(crate::jobs::JobsArgs),
    /// Apply, list or revert database migrations.
    Migrate(MigrateArgs),
    /// Mint development tokens and manage API keys.
    Auth(crate::auth::AuthArgs),
    /// Print the module manifest as JSON.
    Manifest {
        /// One line instead of pretty-printed JSON.
        #[arg(long)]
        compact: bool,
    },
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("action").args(["list", "status", "down"])))]
struct MigrateArgs {
    /// List the migration files (does not touch the database).
    #[arg(long)]
    list: bool,
    /// Show applied, pending, changed and missing migrations.
    #[arg(long)]
    status: bool,
    /// Revert applied migrations, newest first (all of them unless --steps).
    #[arg(long)]
    down: bool,
    /// How many migrations to apply or revert.
    #[arg(long, value_name = "N")]
    steps: Option<std::num::NonZeroUsize>,
}

impl MigrateArgs {
    fn command(&self) -> webstir_db::migrate::MigrateCommand {
        use webstir_db::migrate::MigrateCommand;
        if self.list {
            MigrateCommand::List
        } else if self.status {
            MigrateCommand::Status
        } else if self.down {
            MigrateCommand::Down { steps: self.steps }
        } else {
            MigrateCommand::Up { steps: self.steps }
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| fail(format!("could not start the async runtime: {err}")))
}

async fn migrate(module: &Module, args: &MigrateArgs, env: &Env) -> ExitCode {
    let url = crate::services::database_url(env);
    let db = match webstir_db::Db::connect(url, &crate::services::root_of(env)) {
        Ok(db) => db,
        Err(err) => return fail(crate::services::error_chain(&err)),
    };
    let dir = crate::services::migrations_dir(module, env);
    let table = match crate::services::migrations_table(env) {
        Ok(table) => table,
        Err(err) => return fail(err),
    };
    if let webstir_db::migrate::MigrateCommand::Up { .. } = args.command() {
        match crate::services::apply_system(&db).await {
            Ok(applied) => {
                for id in applied {
                    println!("[migrate] applied system migration {id}");
                }
            }
            Err(err) => return fail(crate::services::error_chain(&err)),
        }
    }
    let mut out = std::io::stdout();
    match webstir_db::migrate::run(&db, &dir, &table, args.command(), &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => fail(crate::services::error_chain(&err)),
    }
}

#[derive(Debug, clap::Args, Default)]
struct ServeArgs {
    /// Port to listen on (overrides PORT).
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind (overrides HOST).
    #[arg(long)]
    host: Option<std::net::IpAddr>,
}

/// Parses the command line. When the webstir CLI runs this binary for one of its own commands
/// (`webstir jobs …`), it sets `WEBSTIR_CLI_NAME` so help and usage errors read `webstir jobs`
/// rather than the binary's path.
fn parse_cli() -> AppCli {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let mut command = AppCli::command();
    if let Some(name) = std::env::var("WEBSTIR_CLI_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
    {
        command = command.bin_name(name);
    }
    let mut matches = command.get_matches();
    AppCli::from_arg_matches_mut(&mut matches).unwrap_or_else(|err| err.exit())
}

/// Resolves on SIGINT or SIGTERM (for embedding a [`Server`]; `run` uses [`crate::Shutdown`]).
pub async fn shutdown_signal() {
    match crate::shutdown::Signals::new() {
        Ok(mut signals) => {
            let name = signals.recv().await;
            tracing::info!(target: "webstir::app", signal = name, "shutdown signal received; finishing in-flight requests");
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Refuses to start when app migrations are pending and nothing will apply them. A database that
/// cannot be reached is not a reason to refuse (`/readyz` reports it until it is back).
/// Not checked when `serve` applies migrations itself (`MIGRATE_ON_START`, on in development).
async fn check_no_pending(module: &Module, server: &Server) -> Result<(), StartError> {
    let (None, Some(db)) = (&server.migrate, &server.app.services.db) else {
        return Ok(());
    };
    let env = &server.app.env;
    let production = server.app.config.is_production();
    let dir = crate::services::migrations_dir(module, env);
    let table = crate::services::migrations_table(env)?;
    match crate::services::pending_migrations(db, &dir, &table).await {
        Ok(ids) if ids.is_empty() => Ok(()),
        Ok(ids) => Err(StartError::PendingMigrations {
            ids,
            dir,
            production,
            bin: std::env::args_os()
                .next()
                .map_or_else(|| "app".to_owned(), |a| a.to_string_lossy().into_owned()),
        }),
        Err(err @ webstir_db::migrate::Error::History(_)) => {
            tracing::warn!(
                target: "webstir::migrate",
                error = %crate::services::error_chain(&err),
                "could not check for pending migrations; starting anyway"
            );
            Ok(())
        }
        Err(err) => Err(StartError::Migrate(err)),
    }
}

/// What every subcommand starts from: env files loaded, settings validated, logging on, an async
/// runtime, the process's shutdown coordinator listening for signals.
struct Boot {
    env: Env,
    config: Config,
    runtime: tokio::runtime::Runtime,
    shutdown: crate::Shutdown,
}

impl Boot {
    /// The one boot path: workspace root → `.env.local`/`.env` (before any thread starts) → validated
    /// settings → logging → runtime → signal listener.
    fn start(command: &AppCommand) -> Result<Self, ExitCode> {
        let root = crate::env::workspace_root();
        let (_, warnings) = crate::env::load_env_files(&root);
        let env = Env::from_process().with_default("NODE_ENV", crate::config::BUILD_NODE_ENV);
        let mut config = Config::from_env(&env).map_err(fail)?;
        if let AppCommand::Serve(args) = command {
            if let Some(port) = args.port {
                config.port = port;
            }
            if let Some(host) = args.host {
                config.host = host;
            }
        }
        // Commands whose stdout is data (tokens, tables) keep logging off it.
        if matches!(command, AppCommand::Serve(_) | AppCommand::Jobs(_)) {
            crate::logging::init(&config);
        }
        for warning in warnings {
            tracing::warn!(target: "webstir::app", "{warning}");
        }
        let runtime = runtime()?;
        let shutdown = crate::Shutdown::new();
        // Only long-running commands take over SIGINT/SIGTERM; the others stop at once as usual.
        if matches!(command, AppCommand::Serve(_) | AppCommand::Jobs(_)) {
            let _guard = runtime.enter();
            shutdown
                .listen_for_signals()
                .map_err(|err| fail(format!("could not listen for SIGINT/SIGTERM: {err}")))?;
        }
        Ok(Self {
            env,
            config,
            runtime,
            shutdown,
        })
    }

    /// The services (database) the module uses.
    fn services(&self, module: &Module) -> Result<crate::services::Services, ExitCode> {
        let _guard = self.runtime.enter();
        crate::services::Services::open(module, &self.env).map_err(fail)
    }
}

/// Run the app binary: parse the command line (`serve` by default, `jobs`, `migrate`, `auth`,
/// `manifest`), boot (env files from the workspace root, settings, logging, runtime, signals) and
/// run the command; `serve` serves until SIGINT/SIGTERM.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     webstir::run(webstir::Module::new("@demo/backend", "0.1.0"))
/// }
/// ```
pub fn run(module: Module) -> ExitCode {
    let cli = parse_cli();
    let command = cli
        .command
        .unwrap_or(AppCommand::Serve(ServeArgs::default()));
    if let AppCommand::Manifest { compact } = command {
        // The manifest is derived from the declaration alone: no env, no services.
        let manifest = module.manifest();
        if let Err(err) = manifest.validate() {
            return fail(err);
        }
        if let Err(err) = crate::module::check_enforced(&module) {
            return fail(err);
        }
        if compact {
            println!("{}", serde_json::to_string(&manifest).unwrap_or_default());
        } else {
            print!("{}", manifest.to_json_pretty());
        }
        return ExitCode::SUCCESS;
    }
    let boot = match Boot::start(&command) {
        Ok(boot) => boot,
        Err(code) => return code,
    };
    match command {
        AppCommand::Manifest { .. } => ExitCode::SUCCESS,
        AppCommand::Auth(args) => {
            let services = match boot.services(&module) {
                Ok(services) => services,
                Err(code) => return code,
            };
            match boot
                .runtime
                .block_on(crate::auth::run_cli(args, &boot.env, &services))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => fail(message),
            }
        }
        AppCommand::Migrate(args) => boot.runtime.block_on(migrate(&module, &args, &boot.env)),
        AppCommand::Jobs(args) => {
            let services = match boot.services(&module) {
                Ok(services) => services,
                Err(code) => return code,
            };
            boot.runtime.block_on(crate::jobs::run_cli(
                &module,
                args,
                boot.env.clone(),
                services,
                boot.shutdown.clone(),
            ))
        }
        AppCommand::Serve(_) => {
            let Boot {
                env,
                config,
                runtime,
                shutdown,
            } = boot;
            runtime.block_on(async move {
                match Server::bind_with(&module, env.clone(), config.clone(), shutdown.clone())
                    .await
                {
                    Ok(server) => {
                        if let Err(err) = check_no_pending(&module, &server).await {
                            tracing::error!(target: "webstir::app", error = %err, "startup failed");
                            return fail(err);
                        }
                        // JOBS_SCHEDULER=in-process: the jobs run on their schedules beside HTTP,
                        // stopped by the same shutdown as the HTTP drain.
                        let jobs =
                            crate::jobs::InProcess::new(&module, &env, &config, server.services())
                                .map(|jobs| jobs.start(shutdown.clone()));
                        // The server shares `shutdown` (bind_with): a signal stops it directly.
                        let served = server.serve(std::future::pending()).await;
                        if let Some(jobs) = jobs {
                            jobs.stop().await;
                        }
                        match served {
                            Ok(()) => ExitCode::SUCCESS,
                            Err(err) => fail(err),
                        }
                    }
                    Err(err) => {
                        tracing::error!(target: "webstir::app", error = %err, "startup failed");
                        fail(err)
                    }
                }
            })
        }
    }
}
