//! # webstir
//!
//! A batteries-included backend runtime: declare routes (with the metadata the manifest shows) and jobs
//! once in Rust, and get a lean HTTP server with health probes, request ids, structured logs, body
//! limits, panic isolation and graceful shutdown.
//!
//! ```no_run
//! use webstir::{Ctx, Module, Reply, Result, Route};
//!
//! async fn list_accounts(ctx: Ctx) -> Result<Reply> {
//!     Ok(Reply::json(&serde_json::json!({ "accounts": [], "greetedAt": ctx.now().to_string() })))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let module = Module::new("@demo/backend", "0.1.0")
//!         .capabilities(["http"])
//!         .route(Route::get("/api/accounts").name("listAccounts").handler(list_accounts));
//!     webstir::run(module) // `serve` (default) or `manifest`
//! }
//! ```
//!
//! ## Built-in endpoints
//! | path | answer |
//! |---|---|
//! | `/api/health`, `/healthz` | 200 `{"ok":true,"uptime":<seconds>}` |
//! | `/readyz` | 200 `{"status":"ready","manifest":{…}}`, or 503 while booting or when a check fails |
//! | unknown path | 404 `{"error":"not_found","path":…}` |
//! | known path, other method | 405 `{"error":"method_not_allowed",…}` with `allow` |
//!
//! ## Environment
//! `PORT` (4000), `HOST` (127.0.0.1; 0.0.0.0 in production), `NODE_ENV`, `REQUEST_BODY_MAX_BYTES`
//! (1048576), `LOG_LEVEL`, `LOG_FORMAT`, `REQUEST_TIMEOUT_MS`, `SHUTDOWN_GRACE_MS`,
//! `HTTP_HEADER_TIMEOUT_MS`, `HTTP_IDLE_TIMEOUT_MS`, `HTTP_MAX_CONNECTIONS`. `.env.local` then `.env`
//! are loaded from the workspace root; the real environment wins.

mod app;
mod auth;
mod config;
mod context;
pub mod csrf;
mod env;
mod error;
pub mod extract;
pub mod forms;
mod handler;
mod hooks;
mod jobs;
mod logging;
mod module;
#[cfg(feature = "multipart")]
mod multipart;
#[cfg(feature = "auth")]
pub mod password;
mod reply;
mod server;
mod services;
mod session;
mod shutdown;
#[cfg(feature = "testing")]
pub mod testing;
mod views;

/// The text of a panic payload (`panic!("…")` gives `&str` or `String`), if it has one.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

pub use app::{Server, StartError, run, shutdown_signal};
pub use auth::{AuthArgs, AuthSetupError};
pub use config::{Config, ConfigError, LogFormat};
pub use context::{Ctx, Params, Scope};
pub use env::{Env, load_env_files, workspace_root};
pub use error::{ApiError, Error, Result};
pub use extract::Auth;
pub use hooks::{AfterFn, AfterHook, BeforeFn, BeforeHook, Hook, HookCtx};
pub use jobs::{JobContext, JobHandler, JobsArgs};
pub use module::{BoxFuture, Handler, Job, Module, Route, Unenforced};
pub use reply::Reply;
pub use server::router::AmbiguousRoutes;
pub use services::ServicesError;
pub use session::{FlashMessage, Session};
pub use shutdown::Shutdown;
pub use views::View;
pub use webstir_auth::AuthContext;
/// What kind of credential a caller presented (also what a `beforeAuth` hook's caller claims to be).
pub use webstir_auth::CredentialKind;

/// The database helper (`ctx.db()`, `job.db()`): one API on embedded SQLite and PostgreSQL.
pub use webstir_db as db;
pub use webstir_db::{Db, Value, params};

/// The contract types (manifest, route definitions, schedules).
pub use webstir_manifest as manifest;
pub use webstir_manifest::{
    FlashPublish, FlashSpec, FragmentMode, HttpMethod, Interaction, SessionMode,
};

/// Re-exported so apps and generated code use the same versions.
pub use {axum, http, jiff, serde_json, tokio, tower, tracing};

/// Streams and futures helpers (`futures::StreamExt`, `futures::stream::unfold`, …).
pub use futures_util as futures;

/// What handlers return: anything that implements it (`Reply`, `Result<Reply>`, `Json<T>`, `String`,
/// `(StatusCode, …)`, `axum::response::Sse`, …).
pub use axum::response::IntoResponse;

/// The directory of this crate's `src/backend/db/migrations`, resolved at compile time.
#[macro_export]
macro_rules! migrations_dir {
    () => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/backend/db/migrations")
    };
}

/// Entry points for the cargo-fuzz targets in `fuzz/`. Compiled only under `--cfg fuzzing` (which
/// cargo-fuzz sets), so they are not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    use crate::server::router::Router;
    use crate::{Ctx, Reply, Result, Route};

    async fn handler(_ctx: Ctx) -> Result<Reply> {
        Ok(Reply::empty())
    }

    thread_local! {
        static ROUTER: Router = Router::build(
            &[
                Route::get("/").name("root").handler(handler),
                Route::get("/api/items").name("list").handler(handler),
                Route::post("/api/items").name("create").handler(handler),
                Route::get("/api/items/new").name("new").handler(handler),
                Route::get("/api/items/:id").name("get").handler(handler),
                Route::put("/api/items/:id").name("put").handler(handler),
                Route::get("/api/items/:id/parts/:part").name("part").handler(handler),
                Route::get("/api/:kind").name("kind").handler(handler),
                Route::delete("/a/:b/:c/:d/:e/:f/:g/:h/:i/:j/:k/:l/:m/:n/:o/:p/:q/:r").name("deep").handler(handler),
            ],
            &[],
        )
        .expect("the fuzz route set is unambiguous");
    }

    /// Match `path` against a fixed route set with each method (the fast and slow matchers must
    /// agree, params must decode); the number of matches.
    pub fn router_find(path: &str) -> usize {
        ROUTER.with(|router| router.fuzz_find(path))
    }

    /// The urlencoded checks and decoders: whether the form body and the query string parsed.
    pub fn form(input: &[u8]) -> [bool; 2] {
        let checked = crate::extract::check_urlencoded(input, "form body").is_ok();
        let form = crate::extract::parse_form::<Vec<(String, String)>>(input).is_ok();
        assert!(
            !form || checked,
            "a form that failed the checks was decoded"
        );
        let query = std::str::from_utf8(input)
            .is_ok_and(|q| crate::extract::parse_query::<Vec<(String, String)>>(q).is_ok());
        [form, query]
    }

    /// The session cookie parser on one `Cookie` header; whether a valid session id was found.
    pub fn session_cookie(header: &[u8]) -> bool {
        crate::session::fuzz_read(header)
    }
}
