//! A test kit for your own app: [`TestApp`] runs your [`Module`] in-process — the same router,
//! access rules, extractors, module layers, state and error envelopes as `serve` — on a fresh
//! database with your migrations applied, and answers requests without a socket.
//!
//! Enable the `testing` feature in your project's `[dev-dependencies]` only:
//!
//! ```toml
//! [dev-dependencies]
//! webstir = { version = "0.1", features = ["testing"] }
//! ```
//!
//! `#[tokio::test]` needs no extra dependency: `use webstir::tokio;` brings the runtime (and its
//! macros) into scope.
//!
//! ```no_run
//! use webstir::testing::TestApp;
//! use webstir::tokio;
//! use webstir::{Ctx, Module, Reply, Result, Route};
//!
//! async fn hello(ctx: Ctx) -> Result<Reply> {
//!     Ok(Reply::json(&serde_json::json!({ "route": ctx.route_name() })))
//! }
//!
//! fn module() -> Module {
//!     Module::new("@demo/backend", "0.1.0")
//!         .route(Route::get("/api/hello").name("hello").handler(hello))
//!         .route(Route::get("/api/me").name("me").authenticated().handler(hello))
//! }
//!
//! #[tokio::test]
//! async fn hello_answers() {
//!     let app = TestApp::new(module()).await.unwrap();
//!     let res = app.get("/api/hello").send().await;
//!     assert_eq!(res.status(), 200);
//!     assert_eq!(res.json()["route"], "hello");
//!
//!     assert_eq!(app.get("/api/me").send().await.status(), 401);
//!     assert_eq!(app.get("/api/me").as_user("alice").send().await.status(), 200);
//! }
//! ```
//!
//! What a [`TestApp`] sets up:
//!
//! * **Environment.** Only what you pass with [`TestAppBuilder::env`] — not the process
//!   environment, not `.env` files — so tests do not depend on the machine they run on.
//!   `NODE_ENV` defaults to `development` (500s show their message).
//! * **Database.** When the module uses one (the `db` capability or migrations) or you ask for
//!   PostgreSQL: a new SQLite file in the system temp directory, or a new schema on your server
//!   ([`TestAppBuilder::postgres`]), with the system and the app's migrations applied as `serve`
//!   would apply them. Dropped with the [`TestApp`]. Two apps never share one.
//! * **Credentials** (`auth` feature). A random HS256 secret and a service token for this app only,
//!   so [`TestRequest::as_user`] and [`TestRequest::as_service`] mint real credentials that the
//!   real authenticator checks. Secrets you set yourself (`AUTH_JWT_SECRET`,
//!   `AUTH_SERVICE_TOKENS`, issuer and audience) are kept and used.

mod database;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;

use crate::app::Prepared;
use crate::server::service::App;
use crate::{Config, Env, Module, StartError};
use database::TestDatabase;
pub use request::{TestRequest, TestResponse};

/// Why a [`TestApp`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestAppError {
    /// The app itself would not start (invalid manifest, bad setting, failed migration…).
    #[error(transparent)]
    Start(#[from] StartError),
    /// A variable the test kit owns was set.
    #[error("{0} is chosen by the test kit (a fresh database per TestApp); {1}")]
    Reserved(&'static str, &'static str),
    /// The temporary SQLite directory could not be created.
    #[error("could not create a temporary database directory: {0}")]
    TempDir(#[source] std::io::Error),
    /// The fresh PostgreSQL schema could not be created.
    #[error("could not create a test schema on PostgreSQL: {0}")]
    Postgres(#[source] webstir_db::Error),
    /// [`TestApp::serve`] could not listen on `127.0.0.1:0`.
    #[error("could not listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}

/// Your module running in-process for a test, on its own database. See the [module docs](self).
///
/// Dropping it stops it: long-lived responses end ([`crate::Shutdown`] is triggered) and its
/// database is removed.
pub struct TestApp {
    app: Arc<App>,
    layered: Option<crate::handler::RouteService>,
    #[cfg(feature = "auth")]
    credentials: Credentials,
    // Last: removed after the app's own handles are gone.
    database: Option<TestDatabase>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("routes", &self.app.router.len())
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TestApp`]: its environment and its database engine.
#[derive(Debug)]
#[must_use]
pub struct TestAppBuilder {
    module: Module,
    env: Vec<(String, String)>,
    postgres: Option<String>,
}

impl TestAppBuilder {
    /// Set a variable the app reads (as it would from `.env`): settings such as
    /// `REQUEST_BODY_MAX_BYTES` or `AUTH_JWT_ISSUER`, or the app's own (`ctx.env()`). Later calls
    /// for the same name win.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Run on PostgreSQL: a fresh schema named `webstir_test_…` is created on the server at `url`
    /// (for example `postgres://postgres@127.0.0.1:5432/postgres`), made the first on the app's
    /// search path, migrated, and dropped (`CASCADE`) when the [`TestApp`] is dropped.
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.postgres = Some(url.into());
        self
    }

    /// Start the app: create its database, apply migrations, configure credentials.
    ///
    /// # Errors
    /// [`TestAppError`]: the app would not start (the same checks as `serve`), `DATABASE_URL` was
    /// set (use [`TestAppBuilder::postgres`]), or the database could not be created.
    pub async fn build(self) -> Result<TestApp, TestAppError> {
        let Self {
            module,
            env: pairs,
            postgres,
        } = self;
        let mut vars: Vec<(String, String)> = Vec::with_capacity(pairs.len() + 4);
        for (name, value) in pairs {
            vars.retain(|(n, _)| *n != name);
            vars.push((name, value));
        }
        let set = |vars: &[(String, String)], name: &str| {
            vars.iter().any(|(n, v)| n == name && !v.trim().is_empty())
        };
        if set(&vars, "DATABASE_URL") {
            return Err(TestAppError::Reserved(
                "DATABASE_URL",
                "use TestApp::builder(module).postgres(url) for PostgreSQL",
            ));
        }
        if !set(&vars, "NODE_ENV") {
            vars.push(("NODE_ENV".into(), "development".into()));
        }
        let database = match postgres {
            Some(url) => Some(
                TestDatabase::postgres(&url)
                    .await
                    .map_err(TestAppError::Postgres)?,
            ),
            None if crate::services::wants_db(&module, &Env::from_pairs(vars.clone())) => {
                Some(TestDatabase::sqlite().map_err(TestAppError::TempDir)?)
            }
            None => None,
        };
        if let Some(database) = &database {
            vars.push(("DATABASE_URL".into(), database.url()));
        }
        #[cfg(feature = "auth")]
        let credentials = Credentials::configure(&mut vars);

        let env = Env::from_pairs(vars);
        let config = Config::from_env(&env).map_err(StartError::from)?;
        let Prepared {
            app,
            layered,
            migrate,
        } = crate::app::prepare(&module, env, config, crate::Shutdown::new())?;
        if let (Some((dir, table)), Some(db)) = (migrate, app.services.db.as_ref()) {
            crate::app::migrate_at_start(db, &dir, &table)
                .await
                .map_err(StartError::Migrate)?;
        }
        app.readiness.set_ready();
        Ok(TestApp {
            app,
            layered,
            #[cfg(feature = "auth")]
            credentials,
            database,
        })
    }
}

impl TestApp {
    /// Start `module` with the defaults: development mode, a fresh SQLite database when it uses
    /// one, test credentials.
    ///
    /// # Errors
    /// See [`TestAppBuilder::build`].
    pub async fn new(module: Module) -> Result<Self, TestAppError> {
        Self::builder(module).build().await
    }

    /// Configure the app's environment or database before starting it.
    pub fn builder(module: Module) -> TestAppBuilder {
        TestAppBuilder {
            module,
            env: Vec::new(),
            postgres: None,
        }
    }

    /// A request with any method (see [`TestApp::get`]).
    pub fn request(&self, method: http::Method, path: impl Into<String>) -> TestRequest<'_> {
        TestRequest::new(self, method, path.into())
    }

    /// A `GET` request to `path` (which may carry a query string).
    pub fn get(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::DELETE, path)
    }

    /// A `HEAD` request (answered by the `GET` route when there is no `HEAD` one; the body is
    /// dropped, as on the wire).
    pub fn head(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::HEAD, path)
    }

    /// An `OPTIONS` request.
    pub fn options(&self, path: impl Into<String>) -> TestRequest<'_> {
        self.request(http::Method::OPTIONS, path)
    }

    /// The app's database, to seed or inspect it (the same `Db` handlers get from `ctx.db()`).
    ///
    /// # Panics
    /// When the app has no database: declare the `db` capability or migrations, or use
    /// [`TestAppBuilder::postgres`].
    pub fn db(&self) -> &crate::Db {
        self.app
            .services
            .db
            .as_ref()
            .expect("this TestApp has no database: declare the `db` capability (Module::capabilities([\"db\"])) or migrations, or use TestApp::builder(module).postgres(url)")
    }

    /// The environment the app sees (`ctx.env()`).
    pub fn env(&self) -> &Env {
        &self.app.env
    }

    /// The app's shutdown coordinator (`ctx.shutdown()`): trigger it to end long-lived responses
    /// such as event streams, which [`TestRequest::send`] otherwise reads until they end.
    pub fn shutdown(&self) -> &crate::Shutdown {
        &self.app.shutdown
    }

    /// Turn what a handler returned (`Reply`, `Result<Reply>`, `Json<T>`, …) into the response the
    /// server would send, to inspect it after calling a handler with a [`Ctx`](crate::Ctx) from
    /// [`TestRequest::ctx`].
    pub async fn respond(&self, reply: impl axum::response::IntoResponse) -> TestResponse {
        let (response, _failure) =
            crate::server::response::from_axum(reply.into_response(), self.app.expose_errors());
        TestResponse::collect(response).await
    }

    /// Serve the app on `127.0.0.1` (a free port) through the real accept loop, for tests that need
    /// a socket (an HTTP client, a browser, another process). Stops when the returned [`Served`]
    /// is dropped or [`Served::stop`]ped.
    ///
    /// # Errors
    /// [`TestAppError::Bind`] when no loopback port can be opened.
    pub async fn serve(&self) -> Result<Served<'_>, TestAppError> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(TestAppError::Bind)?;
        let addr = listener.local_addr().map_err(TestAppError::Bind)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let coordinator = self.app.shutdown.clone();
        let shutdown = async move {
            tokio::select! {
                _ = stopped => {}
                _ = coordinator.requested() => {}
            }
        };
        let task = tokio::spawn(crate::server::accept::serve(
            self.app.clone(),
            self.layered.clone(),
            listener,
            shutdown,
        ));
        Ok(Served {
            addr,
            url: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
            _app: std::marker::PhantomData,
        })
    }

    /// The SQLite file of this app, if it runs on one (removed when the app is dropped).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.database.as_ref().and_then(TestDatabase::sqlite_file)
    }

    /// The PostgreSQL schema of this app, if it runs on one.
    pub fn postgres_schema(&self) -> Option<&str> {
        self.database.as_ref().and_then(TestDatabase::schema)
    }
}

#[cfg(feature = "auth")]
impl TestApp {
    /// A signed bearer token (HS256, this app's secret) with `claims`; `iat`, `exp` (one hour),
    /// and the configured issuer and audience are added when missing. For requests sent by other
    /// clients (see [`TestApp::serve`]); in-process requests use [`TestRequest::as_user`].
    ///
    /// # Panics
    /// When the app verifies RS256 tokens (`AUTH_JWT_PUBLIC_KEY`, `AUTH_JWKS_URL`): the kit cannot
    /// sign those; send your own with [`TestRequest::bearer`].
    pub fn token(&self, claims: serde_json::Value) -> String {
        self.credentials.sign(claims)
    }

    /// A signed bearer token for user `sub` (no scopes or roles).
    ///
    /// # Panics
    /// As [`TestApp::token`].
    pub fn user_token(&self, sub: &str) -> String {
        self.token(serde_json::json!({ "sub": sub }))
    }

    /// A service token this app accepts (send it as `x-service-token`).
    pub fn service_token(&self) -> &str {
        &self.credentials.service_token
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.app.shutdown.trigger("test app dropped");
    }
}

/// A [`TestApp`] listening on a loopback port; stops on drop.
#[derive(Debug)]
pub struct Served<'a> {
    addr: SocketAddr,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<usize>>,
    _app: std::marker::PhantomData<&'a TestApp>,
}

impl Served<'_> {
    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting and wait for in-flight requests (within `SHUTDOWN_GRACE_MS`).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Served<'_> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The credentials a test app accepts and the kit can mint.
#[cfg(feature = "auth")]
#[derive(Debug)]
struct Credentials {
    /// The HS256 secret (the kit's, or the one set in the env); none when RS256 is configured.
    jwt_secret: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    service_token: String,
}

#[cfg(feature = "auth")]
impl Credentials {
    /// Add a random HS256 secret (unless the env has a JWT source) and a random service token to
    /// `vars`.
    fn configure(vars: &mut Vec<(String, String)>) -> Self {
        let get = |vars: &[(String, String)], name: &str| {
            vars.iter()
                .find(|(n, v)| n == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        };
        let rs256 = [
            "AUTH_JWT_PUBLIC_KEY",
            "AUTH_JWT_PUBLIC_KEY_FILE",
            "AUTH_JWKS_URL",
        ]
        .iter()
        .any(|name| get(vars, name).is_some());
        let jwt_secret = match get(vars, "AUTH_JWT_SECRET") {
            Some(secret) => Some(secret),
            None if rs256 => None,
            None => {
                let secret = random_hex(32);
                vars.push(("AUTH_JWT_SECRET".into(), secret.clone()));
                Some(secret)
            }
        };
        let service_token = format!("webstir-test-{}", random_hex(16));
        match vars.iter_mut().find(|(n, _)| n == "AUTH_SERVICE_TOKENS") {
            Some((_, tokens)) => *tokens = format!("{tokens},{service_token}"),
            None => vars.push(("AUTH_SERVICE_TOKENS".into(), service_token.clone())),
        }
        Self {
            jwt_secret,
            issuer: get(vars, "AUTH_JWT_ISSUER"),
            audience: get(vars, "AUTH_JWT_AUDIENCE"),
            service_token,
        }
    }

    fn sign(&self, mut claims: serde_json::Value) -> String {
        let Some(secret) = &self.jwt_secret else {
            panic!(
                "this TestApp verifies RS256 tokens (AUTH_JWT_PUBLIC_KEY/AUTH_JWKS_URL), which the test kit cannot sign; leave them out of the TestApp's env or send your own token with .bearer(token)"
            );
        };
        let Some(map) = claims.as_object_mut() else {
            panic!("token claims must be a JSON object, got {claims}");
        };
        let now = jiff::Timestamp::now().as_second();
        map.entry("iat").or_insert(now.into());
        map.entry("exp").or_insert((now + 3600).into());
        if let Some(issuer) = &self.issuer {
            map.entry("iss").or_insert(issuer.as_str().into());
        }
        if let Some(audience) = &self.audience {
            map.entry("aud").or_insert(audience.as_str().into());
        }
        crate::auth::sign_hs256(&claims, secret)
            .unwrap_or_else(|err| panic!("signing a test token failed: {err}"))
    }
}

/// A name no other test app (in this or another process) is using.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        random_hex(4)
    )
}

/// `bytes` random bytes as lowercase hex. Seeded by the standard library's per-process random
/// hash keys — good for per-test secrets and names, not for production secrets.
fn random_hex(bytes: usize) -> String {
    use std::fmt::Write as _;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(bytes * 2);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    while out.len() < bytes * 2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_usize(out.len());
        let _ = write!(out, "{:016x}", hasher.finish());
    }
    out.truncate(bytes * 2);
    out
}
