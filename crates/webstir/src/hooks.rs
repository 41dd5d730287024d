//! Request hooks: code a module runs around its routes' handlers, in three phases (`beforeAuth`,
//! `beforeHandler`, `afterHandler`), declared once with [`crate::Module::hook`] and listed per route
//! with [`crate::Route::hooks`].
//!
//! Routes that list no hooks carry no hook state and run the request path unchanged: the runtime
//! only branches on an `Option` that is `None`.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http::{HeaderMap, Method, Uri};
use webstir_auth::AuthContext;
use webstir_manifest::{RequestHookDefinition, RequestHookPhase, RouteDefinition};

use crate::context::Scope;
use crate::handler::{BoxFuture, Endpoint};
use crate::{Env, Error};

type HookFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A function usable as a `beforeAuth` / `beforeHandler` hook: implemented for every
/// `async fn(&mut HookCtx) -> Result<Option<R>>` where `R` implements [`IntoResponse`]
/// (`Ok(None)` lets the request go on, `Ok(Some(response))` answers it).
pub trait BeforeFn<'a, R>: Send + Sync + 'static {
    /// The future the hook returns.
    type Future: Future<Output = crate::Result<Option<R>>> + Send + 'a;
    /// Run the hook.
    fn call(&self, ctx: &'a mut HookCtx) -> Self::Future;
}

impl<'a, F, Fut, R> BeforeFn<'a, R> for F
where
    F: Fn(&'a mut HookCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = crate::Result<Option<R>>> + Send + 'a,
{
    type Future = Fut;

    fn call(&self, ctx: &'a mut HookCtx) -> Fut {
        self(ctx)
    }
}

/// A function usable as an `afterHandler` hook: implemented for every
/// `async fn(&mut HookCtx, Response) -> Result<R>` where `R` implements [`IntoResponse`] (return
/// the response, changed or not, or another one).
pub trait AfterFn<'a, R>: Send + Sync + 'static {
    /// The future the hook returns.
    type Future: Future<Output = crate::Result<R>> + Send + 'a;
    /// Run the hook.
    fn call(&self, ctx: &'a mut HookCtx, response: Response) -> Self::Future;
}

impl<'a, F, Fut, R> AfterFn<'a, R> for F
where
    F: Fn(&'a mut HookCtx, Response) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = crate::Result<R>> + Send + 'a,
{
    type Future = Fut;

    fn call(&self, ctx: &'a mut HookCtx, response: Response) -> Fut {
        self(ctx, response)
    }
}

trait BeforeDyn: Send + Sync {
    fn call<'a>(&'a self, ctx: &'a mut HookCtx) -> HookFuture<'a, crate::Result<Option<Response>>>;
}

trait AfterDyn: Send + Sync {
    fn call<'a>(
        &'a self,
        ctx: &'a mut HookCtx,
        response: Response,
    ) -> HookFuture<'a, crate::Result<Response>>;
}

struct Before<F, R>(F, PhantomData<fn() -> R>);

impl<F, R> BeforeDyn for Before<F, R>
where
    F: for<'a> BeforeFn<'a, R>,
    R: IntoResponse + 'static,
{
    fn call<'a>(&'a self, ctx: &'a mut HookCtx) -> HookFuture<'a, crate::Result<Option<Response>>> {
        let fut = BeforeFn::call(&self.0, ctx);
        Box::pin(async move { Ok(fut.await?.map(IntoResponse::into_response)) })
    }
}

struct After<F, R>(F, PhantomData<fn() -> R>);

impl<F, R> AfterDyn for After<F, R>
where
    F: for<'a> AfterFn<'a, R>,
    R: IntoResponse + 'static,
{
    fn call<'a>(
        &'a self,
        ctx: &'a mut HookCtx,
        response: Response,
    ) -> HookFuture<'a, crate::Result<Response>> {
        let fut = AfterFn::call(&self.0, ctx, response);
        Box::pin(async move { Ok(fut.await?.into_response()) })
    }
}

#[derive(Clone)]
enum Run {
    Before(Arc<dyn BeforeDyn>),
    After(Arc<dyn AfterDyn>),
}

/// A request hook: its metadata (id, phase, order — what the manifest's `requestHooks` shows) and
/// its implementation. Add it with [`crate::Module::hook`]; a route runs the hooks it lists with
/// [`crate::Route::hooks`], ordered by phase, then `order`, then id.
///
/// ```
/// use webstir::axum::response::Response;
/// use webstir::{Hook, HookCtx, Module, Reply, Result, Route};
///
/// // beforeHandler: answer early, or let the request go on.
/// async fn maintenance(ctx: &mut HookCtx) -> Result<Option<Reply>> {
///     if ctx.env().get("MAINTENANCE") == Some("on") {
///         return Ok(Some(Reply::text("down for maintenance").status(503)));
///     }
///     Ok(None)
/// }
///
/// // afterHandler: change (or replace) the handler's response.
/// async fn stamp(_ctx: &mut HookCtx, mut response: Response) -> Result<Response> {
///     response.headers_mut().insert("x-served-by", "webstir".parse().unwrap());
///     Ok(response)
/// }
///
/// let module = Module::new("@demo/hooks", "0.1.0")
///     .hook(Hook::before_handler("maintenance").order(1).run(maintenance))
///     .hook(Hook::after_handler("stamp").run(stamp))
///     .route(Route::get("/api/ping").hooks(["maintenance", "stamp"]).handler(|| async { "pong" }));
/// assert_eq!(module.manifest().request_hooks.len(), 2);
/// ```
#[derive(Clone)]
pub struct Hook {
    pub(crate) definition: RequestHookDefinition,
    run: Run,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

/// A `beforeAuth` or `beforeHandler` hook being declared; [`BeforeHook::run`] finishes it.
#[derive(Debug, Clone)]
#[must_use = "call .run(f) to give the hook its implementation"]
pub struct BeforeHook {
    definition: RequestHookDefinition,
}

/// An `afterHandler` hook being declared; [`AfterHook::run`] finishes it.
#[derive(Debug, Clone)]
#[must_use = "call .run(f) to give the hook its implementation"]
pub struct AfterHook {
    definition: RequestHookDefinition,
}

impl Hook {
    /// A hook that runs before the route's access rule is decided (and before the body is read). It
    /// may answer the request (even one that would get a 401), or set the caller with
    /// [`HookCtx::set_auth`] — the access rule then judges that caller instead of the request's
    /// credentials.
    pub fn before_auth(id: impl Into<String>) -> BeforeHook {
        BeforeHook {
            definition: RequestHookDefinition::new(id, RequestHookPhase::BeforeAuth, 0),
        }
    }

    /// A hook that runs after the access rule passed and the body checks (413, 415), before the
    /// handler. It may answer the request.
    pub fn before_handler(id: impl Into<String>) -> BeforeHook {
        BeforeHook {
            definition: RequestHookDefinition::new(id, RequestHookPhase::BeforeHandler, 0),
        }
    }

    /// A hook that runs after the handler answered (not after a panic, a timeout or an internal
    /// 500) and may change or replace the response.
    pub fn after_handler(id: impl Into<String>) -> AfterHook {
        AfterHook {
            definition: RequestHookDefinition::new(id, RequestHookPhase::AfterHandler, 0),
        }
    }

    /// The metadata as it appears in the manifest's `requestHooks`.
    pub fn definition(&self) -> &RequestHookDefinition {
        &self.definition
    }
}

macro_rules! metadata_setters {
    () => {
        /// Position within the phase (lower runs first; ties are broken by id). Default 0.
        pub fn order(mut self, order: i64) -> Self {
            self.definition.order = order;
            self
        }

        /// Set the summary shown in the manifest.
        pub fn summary(mut self, text: impl Into<String>) -> Self {
            self.definition.summary = Some(text.into());
            self
        }

        /// Set the description shown in the manifest.
        pub fn description(mut self, text: impl Into<String>) -> Self {
            self.definition.description = Some(text.into());
            self
        }
    };
}

impl BeforeHook {
    metadata_setters!();

    /// The implementation: `async fn(&mut HookCtx) -> Result<Option<R>>`. `Ok(Some(response))`
    /// answers the request (later hooks, the access rule for `beforeAuth`, the handler and the
    /// `afterHandler` hooks are skipped); an `Err` answers like a handler's error (an internal one
    /// is a logged 500 naming the hook).
    pub fn run<F, R>(self, f: F) -> Hook
    where
        F: for<'a> BeforeFn<'a, R>,
        R: IntoResponse + 'static,
    {
        Hook {
            definition: self.definition,
            run: Run::Before(Arc::new(Before(f, PhantomData))),
        }
    }
}

impl AfterHook {
    metadata_setters!();

    /// The implementation: `async fn(&mut HookCtx, Response) -> Result<R>`; what it returns is the
    /// response from then on (every `afterHandler` hook runs, in order).
    pub fn run<F, R>(self, f: F) -> Hook
    where
        F: for<'a> AfterFn<'a, R>,
        R: IntoResponse + 'static,
    {
        Hook {
            definition: self.definition,
            run: Run::After(Arc::new(After(f, PhantomData))),
        }
    }
}

/// What a hook sees of the request: method, URI, headers (mutable), path parameters, query,
/// extensions (values put there reach the handler, e.g. through `axum::Extension<T>` or
/// [`crate::Ctx::extension`]), the matched route, request id, env, state, database, logger and the
/// caller. The body is not readable in hooks; it stays for the handler.
pub struct HookCtx {
    parts: http::request::Parts,
    seen: Seen,
    phase: RequestHookPhase,
    caller: Option<AuthContext>,
}

impl std::fmt::Debug for HookCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookCtx")
            .field("phase", &self.phase)
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .field("route", &self.route_name())
            .field("request_id", &self.request_id())
            .finish_non_exhaustive()
    }
}

/// What a hook sees of the runtime: before the access rule no [`Scope`] exists yet (it holds the
/// caller), so `beforeAuth` hooks see the same pieces without one.
enum Seen {
    Before(Box<Pre>),
    Scoped(Scope),
}

/// The request's runtime pieces before its scope exists.
pub(crate) struct Pre {
    app: Arc<crate::server::service::App>,
    route: Arc<crate::server::router::RouteInfo>,
    params: crate::context::RawParams,
    request_id: crate::server::request_id::RequestId,
    span: tracing::Span,
}

impl Pre {
    pub(crate) fn new(
        app: Arc<crate::server::service::App>,
        route: Arc<crate::server::router::RouteInfo>,
        params: crate::context::RawParams,
        request_id: crate::server::request_id::RequestId,
        span: tracing::Span,
    ) -> Self {
        Self {
            app,
            route,
            params,
            request_id,
            span,
        }
    }
}

impl HookCtx {
    fn new(parts: http::request::Parts, seen: Seen, phase: RequestHookPhase) -> Self {
        Self {
            parts,
            seen,
            phase,
            caller: None,
        }
    }

    fn app(&self) -> &crate::server::service::App {
        match &self.seen {
            Seen::Before(pre) => &pre.app,
            Seen::Scoped(scope) => &scope.0.app,
        }
    }

    /// The phase the hook runs in.
    pub fn phase(&self) -> RequestHookPhase {
        self.phase
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request path (as sent).
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The request headers, to change what later hooks and the handler see.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.parts.headers
    }

    /// One request header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// One query parameter (percent-decoded; the last duplicate wins).
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.parts.uri.query()?;
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// One path parameter of the matched route (percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        let path = self.parts.uri.path();
        match &self.seen {
            Seen::Before(pre) => {
                crate::context::Params::new(path, &pre.route.param_names, &pre.params).get(name)
            }
            Seen::Scoped(scope) => scope.params(path).get(name),
        }
    }

    /// The request's extensions.
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }

    /// The request's extensions: a value inserted here reaches the handler (`axum::Extension<T>`,
    /// [`crate::Ctx::extension`]) and later hooks.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.parts.extensions
    }

    /// The name of the matched route.
    pub fn route_name(&self) -> &str {
        match &self.seen {
            Seen::Before(pre) => &pre.route.name,
            Seen::Scoped(scope) => scope.route_name(),
        }
    }

    /// The request id.
    pub fn request_id(&self) -> &str {
        match &self.seen {
            Seen::Before(pre) => pre.request_id.as_str(),
            Seen::Scoped(scope) => scope.request_id(),
        }
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.app().env
    }

    /// Shared application state of type `T` ([`crate::Module::state`]).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.app().state.get::<T>()
    }

    /// The database, when the module uses one.
    pub fn db(&self) -> Option<&webstir_db::Db> {
        self.app().services.db.as_ref()
    }

    /// The request's logger span.
    pub fn logger(&self) -> &tracing::Span {
        match &self.seen {
            Seen::Before(pre) => &pre.span,
            Seen::Scoped(scope) => scope.logger(),
        }
    }

    /// The caller: in `beforeAuth`, the one a hook set so far (credentials are not checked yet);
    /// later, the caller the access rule admitted.
    pub fn auth(&self) -> Option<&AuthContext> {
        match &self.seen {
            Seen::Before(_) => self.caller.as_ref(),
            Seen::Scoped(scope) => scope.auth(),
        }
    }

    /// Set the caller (`beforeAuth` hooks only). The runtime then skips reading credentials and
    /// judges the route's access rule (authenticated, scopes, roles, service-only) against this
    /// caller; handlers see it in `ctx.auth()` / `Auth`. Calling it in a later phase is an error (a
    /// logged 500): the access rule has already been decided.
    pub fn set_auth(&mut self, caller: AuthContext) {
        self.caller = Some(caller);
    }

    /// The request's session, in `beforeHandler` and `afterHandler` hooks of routes that declare
    /// `session` (or `flash`): e.g. a sign-in gate that redirects when the session has no user.
    ///
    /// # Errors
    /// 500 in `beforeAuth` (the session is loaded after the access rule) or on a route that
    /// declares no session.
    pub fn session(&self) -> Result<&crate::Session, crate::Error> {
        match &self.seen {
            Seen::Scoped(scope) => crate::session::of(scope),
            Seen::Before(_) => Err(crate::Error::msg(
                "beforeAuth hooks cannot use the session: it is loaded after the access rule; use a beforeHandler hook",
            )),
        }
    }

    /// The per-request scope (`None` in `beforeAuth`: the scope holds the caller, which is decided
    /// after that phase).
    pub fn scope(&self) -> Option<&Scope> {
        match &self.seen {
            Seen::Before(_) => None,
            Seen::Scoped(scope) => Some(scope),
        }
    }
}

type Listed<T> = Box<[(Box<str>, Arc<T>)]>;

/// The hooks one route runs, per phase, in order.
pub(crate) struct RouteHooks {
    before_auth: Listed<dyn BeforeDyn>,
    before_handler: Listed<dyn BeforeDyn>,
    after_handler: Listed<dyn AfterDyn>,
}

impl RouteHooks {
    pub(crate) fn has_before_auth(&self) -> bool {
        !self.before_auth.is_empty()
    }

    /// Whether hooks run around the handler (`beforeHandler` or `afterHandler`).
    pub(crate) fn around_handler(&self) -> bool {
        !self.before_handler.is_empty() || !self.after_handler.is_empty()
    }
}

fn rank(phase: RequestHookPhase) -> u8 {
    match phase {
        RequestHookPhase::BeforeAuth => 0,
        RequestHookPhase::BeforeHandler => 1,
        _ => 2,
    }
}

fn phase_name(phase: RequestHookPhase) -> &'static str {
    match phase {
        RequestHookPhase::BeforeAuth => "beforeAuth",
        RequestHookPhase::BeforeHandler => "beforeHandler",
        _ => "afterHandler",
    }
}

/// The hooks `def` lists, resolved against the module's and sorted (phase, order, id). `None` when
/// it lists none. Ids the module does not implement were refused at startup (`check_enforced`).
pub(crate) fn for_route(def: &RouteDefinition, hooks: &[Hook]) -> Option<Arc<RouteHooks>> {
    let mut listed: Vec<&Hook> = Vec::new();
    for reference in &def.request_hooks {
        let id = reference.id.trim();
        if let Some(hook) = hooks.iter().find(|h| h.definition.id == id)
            && !listed.iter().any(|h| h.definition.id == id)
        {
            listed.push(hook);
        }
    }
    if listed.is_empty() {
        return None;
    }
    listed.sort_by(|a, b| {
        let (a, b) = (&a.definition, &b.definition);
        (rank(a.phase), a.order, &a.id).cmp(&(rank(b.phase), b.order, &b.id))
    });
    let (mut before_auth, mut before_handler, mut after_handler) =
        (Vec::new(), Vec::new(), Vec::new());
    for hook in listed {
        let id: Box<str> = hook.definition.id.as_str().into();
        match (&hook.run, hook.definition.phase) {
            (Run::Before(run), RequestHookPhase::BeforeAuth) => before_auth.push((id, run.clone())),
            (Run::Before(run), _) => before_handler.push((id, run.clone())),
            (Run::After(run), _) => after_handler.push((id, run.clone())),
        }
    }
    Some(Arc::new(RouteHooks {
        before_auth: before_auth.into(),
        before_handler: before_handler.into(),
        after_handler: after_handler.into(),
    }))
}

/// The id of a listed hook no module hook implements, if any.
pub(crate) fn unknown<'a>(def: &'a RouteDefinition, hooks: &[Hook]) -> Option<&'a str> {
    def.request_hooks
        .iter()
        .map(|r| r.id.trim())
        .find(|id| !hooks.iter().any(|h| h.definition.id == *id))
}

/// Run one hook's future: a panic or an internal error becomes an internal error naming the hook.
async fn guarded<T>(
    id: &str,
    phase: RequestHookPhase,
    fut: impl Future<Output = crate::Result<T>>,
) -> crate::Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) if err.is_internal() => Err(Error::msg(format!(
            "request hook {id} ({}) failed: {err}",
            phase_name(phase)
        ))),
        Ok(Err(err)) => Err(err),
        Err(payload) => Err(Error::msg(format!(
            "request hook {id} ({}) panicked: {}",
            phase_name(phase),
            crate::panic_text(&*payload).unwrap_or("panic with a non-string payload")
        ))),
    }
}

fn early(id: &str, phase: RequestHookPhase, span: &tracing::Span) {
    tracing::info!(target: "webstir::http", parent: span, hook_id = id, phase = phase_name(phase), "request hook produced early response");
}

/// What the `beforeAuth` hooks decided.
// Returned once per request on hooked routes only; boxing the request would cost an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum BeforeAuth<B> {
    /// Go on with this request (and this caller, when a hook set one).
    Continue(http::Request<B>, Option<AuthContext>),
    /// Answer with this response.
    Respond(Response),
}

/// Run a route's `beforeAuth` hooks.
pub(crate) async fn before_auth<B>(
    hooks: &RouteHooks,
    pre: Pre,
    req: http::Request<B>,
) -> BeforeAuth<B> {
    let (parts, body) = req.into_parts();
    let mut ctx = HookCtx::new(
        parts,
        Seen::Before(Box::new(pre)),
        RequestHookPhase::BeforeAuth,
    );
    for (id, hook) in &hooks.before_auth {
        match guarded(id, ctx.phase, hook.call(&mut ctx)).await {
            Ok(None) => {}
            Ok(Some(response)) => {
                early(id, ctx.phase, ctx.logger());
                return BeforeAuth::Respond(response);
            }
            Err(err) => return BeforeAuth::Respond(err.into_response()),
        }
    }
    let HookCtx { parts, caller, .. } = ctx;
    BeforeAuth::Continue(http::Request::from_parts(parts, body), caller)
}

/// The route's endpoint behind its `beforeHandler` and `afterHandler` hooks (called inside the
/// request's panic guard and deadline, like the endpoint alone).
pub(crate) fn around(
    hooks: Arc<RouteHooks>,
    endpoint: &Endpoint,
    request: Request,
    scope: Scope,
) -> BoxFuture<Response> {
    let endpoint = endpoint.clone();
    Box::pin(async move {
        let (parts, body) = request.into_parts();
        let mut ctx = HookCtx::new(
            parts,
            Seen::Scoped(scope.clone()),
            RequestHookPhase::BeforeHandler,
        );
        for (id, hook) in &hooks.before_handler {
            match guarded(id, ctx.phase, hook.call(&mut ctx)).await {
                Ok(None) => {}
                Ok(Some(response)) => {
                    early(id, ctx.phase, ctx.logger());
                    return response;
                }
                Err(err) => return err.into_response(),
            }
            if ctx.caller.is_some() {
                return late_caller(id, ctx.phase);
            }
        }
        let parts = ctx.parts;
        // The request head is kept for the afterHandler hooks only when there are some.
        let kept = (!hooks.after_handler.is_empty()).then(|| parts.clone());
        let mut response = endpoint
            .call(Request::from_parts(parts, body), scope.clone())
            .await;
        let Some(parts) = kept else {
            return response;
        };
        if crate::server::response::is_internal_failure(&response) {
            return response;
        }
        let mut ctx = HookCtx::new(parts, Seen::Scoped(scope), RequestHookPhase::AfterHandler);
        for (id, hook) in &hooks.after_handler {
            match guarded(id, ctx.phase, hook.call(&mut ctx, response)).await {
                Ok(next) => response = next,
                Err(err) => return err.into_response(),
            }
            if ctx.caller.is_some() {
                return late_caller(id, ctx.phase);
            }
        }
        response
    })
}

fn late_caller(id: &str, phase: RequestHookPhase) -> Response {
    Error::msg(format!(
        "request hook {id} ({}) set the caller; only beforeAuth hooks may, because the access rule is decided before the later phases",
        phase_name(phase)
    ))
    .into_response()
}
