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
    listener: TcpListener,
    addr: SocketAddr,
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
        let manifest = module.manifest();
        manifest.validate()?;
        let mut summary = serde_json::json!({
            "name": manifest.name,
            "version": manifest.version,
            "routes": manifest.routes.len(),
            "views": manifest.views.len(),
        });
        if !manifest.capabilities.is_empty() {
            summary["capabilities"] = serde_json::json!(manifest.capabilities);
        }
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let app = App {
            router: Router::new(module.routes()),
            readiness: Readiness::new(summary, Vec::new()),
            config,
            env,
            services: Default::default(),
            started: Instant::now(),
        };
        if app.router.len() < module.routes().len() {
            tracing::warn!(
                target: "webstir::app",
                "{} route(s) have no handler and are not mounted",
                module.routes().len() - app.router.len()
            );
        }
        Ok(Self {
            app: Arc::new(app),
            listener,
            addr,
        })
    }

    /// The bound address (useful with `PORT=0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve until `shutdown` resolves, then drain in-flight requests within the grace period.
    /// Logs `API server running` once listening and ready.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Self {
            app,
            listener,
            addr,
        } = self;
        let serving = tokio::spawn(crate::server::accept::serve(
            app.clone(),
            listener,
            shutdown,
        ));
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
        tracing::info!(target: "webstir::app", "server stopped");
    }
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
    /// Print the module manifest as JSON.
    Manifest {
        /// One line instead of pretty-printed JSON.
        #[arg(long)]
        compact: bool,
    },
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

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!(target: "webstir::app", "shutdown signal received; finishing in-flight requests");
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Run the app binary: parse the command line (`serve` by default, `manifest`), load `.env.local` and
/// `.env` from the workspace root, configure logging and serve until SIGINT/SIGTERM.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     webstir::run(webstir::Module::new("@demo/backend", "0.1.0"))
/// }
/// ```
pub fn run(module: Module) -> ExitCode {
    let root = crate::env::workspace_root();
    let (_, warnings) = crate::env::load_env_files(&root);
    let cli = AppCli::parse();
    match cli
        .command
        .unwrap_or(AppCommand::Serve(ServeArgs::default()))
    {
        AppCommand::Manifest { compact } => {
            let manifest = module.manifest();
            if let Err(err) = manifest.validate() {
                return fail(err);
            }
            if compact {
                println!("{}", serde_json::to_string(&manifest).unwrap_or_default());
            } else {
                print!("{}", manifest.to_json_pretty());
            }
            ExitCode::SUCCESS
        }
        AppCommand::Jobs(args) => {
            let env = Env::from_process();
            let config = match Config::from_env(&env) {
                Ok(config) => config,
                Err(err) => return fail(err),
            };
            crate::logging::init(&config);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(err) => return fail(format!("could not start the async runtime: {err}")),
            };
            runtime.block_on(crate::jobs::run_cli(&module, args, env, Default::default()))
        }
        AppCommand::Serve(args) => {
            let env = Env::from_process();
            let mut config = match Config::from_env(&env) {
                Ok(config) => config,
                Err(err) => return fail(err),
            };
            if let Some(port) = args.port {
                config.port = port;
            }
            if let Some(host) = args.host {
                config.host = host;
            }
            crate::logging::init(&config);
            for warning in warnings {
                tracing::warn!(target: "webstir::app", "{warning}");
            }
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(err) => return fail(format!("could not start the async runtime: {err}")),
            };
            runtime.block_on(async move {
                // JOBS_SCHEDULER=in-process: the jobs run on their schedules beside HTTP.
                let jobs = crate::jobs::InProcess::new(&module, &env, &config, Default::default());
                match Server::bind(&module, env, config).await {
                    Ok(server) => {
                        let jobs = jobs.map(crate::jobs::InProcess::start);
                        server.serve(shutdown_signal()).await;
                        if let Some(jobs) = jobs {
                            jobs.stop().await;
                        }
                        ExitCode::SUCCESS
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
