//! Declaring a module: routes with their metadata and handlers, jobs, and the manifest derived from them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::IntoResponse;
use tower_service::Service;
use webstir_manifest::{
    AccessMode, AccessRule, FlashSpec, FormContentType, FormSpec, FragmentMode, FragmentSpec,
    HttpMethod, Interaction, JobDefinition, JobPriority, ModuleManifest, RouteDefinition,
    RouteInput, RouteOutput, SchemaReference, SessionMode, SessionSpec,
};

use crate::Error;
pub use crate::handler::{BoxFuture, Handler};
use crate::handler::{Endpoint, LayerFn, RouteService};
use crate::jobs::{JobContext, JobHandler};

/// A route: its definition (what the manifest shows) and its handler.
///
/// ```
/// use webstir::{Ctx, Reply, Result, Route};
///
/// async fn hello(ctx: Ctx) -> Result<Reply> {
///     let name = ctx.param("name").unwrap_or("world");
///     Ok(Reply::json(&serde_json::json!({ "message": format!("Hello {name}") })))
/// }
///
/// let route = Route::get("/api/hello/:name")
///     .name("hello")
///     .summary("Greets someone")
///     .tags(["demo"])
///     .handler(hello);
/// assert_eq!(route.definition().method.as_str(), "GET");
/// ```
#[derive(Clone)]
pub struct Route {
    pub(crate) definition: RouteDefinition,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) layers: Vec<LayerFn>,
    /// Declarations that did not parse (key, message), refused at startup.
    pub(crate) invalid: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("definition", &self.definition)
            .field("handler", &self.endpoint.is_some())
            .field("layers", &self.layers.len())
            .finish()
    }
}

macro_rules! method_ctor {
    ($($fn_name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("A `", stringify!($method), "` route at `path`.")]
            pub fn $fn_name(path: &str) -> Self {
                Self::new(HttpMethod::$method, path)
            }
        )*
    };
}

impl Route {
    /// A route for `method` at `path` (`:name` segments capture one path segment). Its name defaults to
    /// the path until [`Route::name`] sets one.
    pub fn new(method: HttpMethod, path: &str) -> Self {
        Self::from_definition(RouteDefinition::new(path, method, path))
    }

    method_ctor!(get => Get, post => Post, put => Put, patch => Patch, delete => Delete, head => Head, options => Options);

    /// A route from a full definition (the contract type; the builder methods are the usual way).
    pub fn from_definition(definition: RouteDefinition) -> Self {
        Self {
            definition,
            endpoint: None,
            layers: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// The definition as it appears in the manifest.
    pub fn definition(&self) -> &RouteDefinition {
        &self.definition
    }

    /// Set the handler: an `async fn(Ctx) -> Result<Reply>`, or any async function of extractors
    /// returning something that implements `IntoResponse` (see [`Handler`]).
    #[must_use]
    pub fn handler<H: Handler<T>, T: 'static>(mut self, handler: H) -> Self {
        self.endpoint = Some(Endpoint::Handler(crate::handler::erase(handler)));
        self
    }

    /// Answer the route with a tower service (for example tower-http's `ServeDir`). The service
    /// sees the whole request; its errors must be `Infallible`.
    #[must_use]
    pub fn service<S>(mut self, service: S) -> Self
    where
        S: Service<Request> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse + 'static,
        S::Error: Into<Infallible> + 'static,
        S::Future: Send + 'static,
    {
        self.endpoint = Some(Endpoint::Service(RouteService::new(
            crate::handler::MapInto(service),
        )));
        self
    }

    /// Wrap this route's handler in a tower layer (applied after the route matched and its access
    /// rule passed; the innermost layer is the one added first). Routes without layers call their
    /// handler directly.
    ///
    /// ```
    /// use webstir::{Ctx, Reply, Result, Route};
    /// use tower_http::set_header::SetResponseHeaderLayer;
    ///
    /// async fn hello(_ctx: Ctx) -> Result<Reply> { Ok(Reply::text("hi")) }
    ///
    /// let route = Route::get("/hello").handler(hello).layer(SetResponseHeaderLayer::overriding(
    ///     http::header::CACHE_CONTROL,
    ///     http::HeaderValue::from_static("max-age=60"),
    /// ));
    /// # let _ = route;
    /// ```
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<RouteService> + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.layers.push(crate::handler::layer_fn(layer));
        self
    }

    /// Run these request hooks (ids of hooks the module declares with [`Module::hook`]) around the
    /// handler; they appear in the manifest as the route's `requestHooks`. The order here does not
    /// matter: hooks run by phase, then `order`, then id. An id the module does not implement stops
    /// startup.
    #[must_use]
    pub fn hooks<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        for id in ids {
            self.definition
                .request_hooks
                .push(webstir_manifest::HookRef::new(id));
        }
        self
    }

    /// The endpoint with the route's layers applied.
    pub(crate) fn endpoint(&self) -> Option<Endpoint> {
        let endpoint = self.endpoint.clone()?;
        if self.layers.is_empty() {
            return Some(endpoint);
        }
        let mut service = endpoint.into_service();
        for layer in &self.layers {
            service = layer(service);
        }
        Some(Endpoint::Service(service))
    }

    /// Set the route name (shown in the manifest and logs).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.definition.name = name.into();
        self
    }

    /// Set the summary.
    #[must_use]
    pub fn summary(mut self, text: impl Into<String>) -> Self {
        self.definition.summary = Some(text.into());
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.definition.description = Some(text.into());
        self
    }

    /// Set the tags.
    #[must_use]
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.definition.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Set the interaction style.
    #[must_use]
    pub fn interaction(mut self, interaction: Interaction) -> Self {
        self.definition.interaction = Some(interaction);
        self
    }

    /// Declare session use.
    #[must_use]
    pub fn session(mut self, mode: SessionMode, write: bool) -> Self {
        let mut spec = SessionSpec::new(mode);
        spec.write = write.then_some(true);
        self.definition.session = Some(spec);
        self
    }

    /// Declare the flash messages the route consumes (delivered once, see
    /// [`Ctx::flash_messages`](crate::Ctx::flash_messages)) and publishes (on `always`, `success`
    /// — status below 400 — or `error`).
    ///
    /// ```
    /// use webstir::{FlashPublish, FlashSpec, Reply, Route};
    ///
    /// let save = Route::post("/profile").flash(
    ///     FlashSpec::default().publish(FlashPublish::new("saved").level("success").when("success")),
    /// );
    /// let show = Route::get("/profile").flash(FlashSpec::default().consume("saved"));
    /// # let _ = (save, show);
    /// ```
    #[must_use]
    pub fn flash(mut self, flash: FlashSpec) -> Self {
        self.definition.flash = Some(flash);
        self
    }

    /// Declare that the route accepts `application/x-www-form-urlencoded` forms, optionally with CSRF
    /// (see [`crate::csrf`]: the runtime then refuses submissions without the session's token).
    #[must_use]
    pub fn form_urlencoded(mut self, csrf: bool) -> Self {
        let mut form = FormSpec::urlencoded();
        form.csrf = csrf.then_some(true);
        self.definition.form = Some(form);
        self
    }

    /// Declare that the route accepts `multipart/form-data` forms (file uploads; read them with
    /// [`crate::extract::Multipart`]), optionally with CSRF (the token in a `_csrf` field).
    #[must_use]
    pub fn form_multipart(mut self, csrf: bool) -> Self {
        let mut form = FormSpec::new(FormContentType::Multipart);
        form.csrf = csrf.then_some(true);
        self.definition.form = Some(form);
        self
    }

    /// Declare the fragment this route renders.
    #[must_use]
    pub fn fragment(
        mut self,
        target: impl Into<String>,
        selector: Option<&str>,
        mode: Option<FragmentMode>,
    ) -> Self {
        let mut fragment = FragmentSpec::new(target);
        fragment.selector = selector.map(str::to_owned);
        fragment.mode = mode;
        self.definition.fragment = Some(fragment);
        self
    }

    /// Declare the input schemas.
    #[must_use]
    pub fn input(mut self, input: RouteInput) -> Self {
        self.definition.input = Some(input);
        self
    }

    /// Declare the path parameters schema by reference (`kind:Name@source`, see
    /// [`SchemaReference::parse`]). A reference that does not parse is refused at startup.
    #[must_use]
    pub fn params_schema(self, schema: &str) -> Self {
        self.schema("input.params", schema, |d, r| {
            d.input.get_or_insert_with(RouteInput::default).params = Some(r);
        })
    }

    /// Declare the query schema by reference (`kind:Name@source`).
    #[must_use]
    pub fn query_schema(self, schema: &str) -> Self {
        self.schema("input.query", schema, |d, r| {
            d.input.get_or_insert_with(RouteInput::default).query = Some(r);
        })
    }

    /// Declare the body schema by reference (`kind:Name@source`).
    #[must_use]
    pub fn body_schema(self, schema: &str) -> Self {
        self.schema("input.body", schema, |d, r| {
            d.input.get_or_insert_with(RouteInput::default).body = Some(r);
        })
    }

    /// Declare the request headers schema by reference (`kind:Name@source`).
    #[must_use]
    pub fn headers_schema(self, schema: &str) -> Self {
        self.schema("input.headers", schema, |d, r| {
            d.input.get_or_insert_with(RouteInput::default).headers = Some(r);
        })
    }

    /// Declare the response body schema by reference (`kind:Name@source`).
    #[must_use]
    pub fn response_schema(self, schema: &str) -> Self {
        self.schema("output.body", schema, |d, r| {
            d.output.get_or_insert_with(RouteOutput::default).body = Some(r);
        })
    }

    /// Declare the response headers schema by reference (`kind:Name@source`).
    #[must_use]
    pub fn response_headers_schema(self, schema: &str) -> Self {
        self.schema("output.headers", schema, |d, r| {
            d.output.get_or_insert_with(RouteOutput::default).headers = Some(r);
        })
    }

    /// Declare the status of a successful response (100–599, checked at startup).
    #[must_use]
    pub fn response_status(mut self, status: u16) -> Self {
        self.definition
            .output
            .get_or_insert_with(RouteOutput::default)
            .status = Some(status);
        self
    }

    fn schema(
        mut self,
        key: &'static str,
        text: &str,
        set: impl FnOnce(&mut RouteDefinition, SchemaReference),
    ) -> Self {
        match SchemaReference::parse(text) {
            Ok(reference) => set(&mut self.definition, reference),
            Err(err) => self.invalid.push((key, format!("'{text}' is not a schema reference: {err} Write kind:Name@source, e.g. zod:Account@src/shared/account.ts"))),
        }
        self
    }

    /// Declare the output.
    #[must_use]
    pub fn output(mut self, output: RouteOutput) -> Self {
        self.definition.output = Some(output);
        self
    }

    /// Anyone may call the route (the default).
    #[must_use]
    pub fn public(mut self) -> Self {
        self.definition.auth = Some(AccessRule::default());
        self
    }

    /// A valid credential is required.
    #[must_use]
    pub fn authenticated(mut self) -> Self {
        let rule = self.rule();
        if rule.mode == AccessMode::Public {
            rule.mode = AccessMode::Authenticated;
        }
        self
    }

    /// Only service credentials (`X-Service-Token` matching `AUTH_SERVICE_TOKENS`) may call the route:
    /// decided by the credential's kind, so a user token claiming a `service` scope is refused (403).
    #[must_use]
    pub fn service_only(mut self) -> Self {
        self.rule().mode = AccessMode::Service;
        self
    }

    /// Every listed scope is required (implies authenticated).
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        let rule = self.rule();
        if rule.mode == AccessMode::Public {
            rule.mode = AccessMode::Authenticated;
        }
        rule.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// One of the listed roles is required (implies authenticated).
    #[must_use]
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        let rule = self.rule();
        if rule.mode == AccessMode::Public {
            rule.mode = AccessMode::Authenticated;
        }
        rule.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    fn rule(&mut self) -> &mut AccessRule {
        self.definition.auth.get_or_insert_with(AccessRule::default)
    }
}

/// A job: a named function run on demand (`jobs --job NAME`) or on its schedule.
///
/// ```
/// use webstir::{Job, JobContext, Result};
///
/// async fn nightly(ctx: JobContext) -> Result<()> {
///     tracing::info!(run_id = %ctx.run_id(), "[nightly] accounts synced");
///     Ok(())
/// }
///
/// let job = Job::new("nightly")
///     .schedule("0 0 * * *")
///     .description("Nightly account sync")
///     .priority(5)
///     .run(nightly);
/// assert_eq!(job.definition().schedule.as_deref(), Some("0 0 * * *"));
/// ```
#[derive(Clone)]
pub struct Job {
    pub(crate) definition: JobDefinition,
    pub(crate) handler: Option<Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("definition", &self.definition)
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

impl Job {
    /// A job named `name` with no schedule (run on demand only).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            definition: JobDefinition::new(name),
            handler: None,
        }
    }

    /// A job from a full definition.
    pub fn from_definition(definition: JobDefinition) -> Self {
        Self {
            definition,
            handler: None,
        }
    }

    /// The definition as it appears in the manifest.
    pub fn definition(&self) -> &JobDefinition {
        &self.definition
    }

    /// Set the schedule (cron, `@daily`, `@reboot`, `rate(5 minutes)`, …).
    #[must_use]
    pub fn schedule(mut self, schedule: impl Into<String>) -> Self {
        self.definition.schedule = Some(schedule.into());
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.definition.description = Some(text.into());
        self
    }

    /// Set a numeric priority.
    #[must_use]
    pub fn priority(mut self, priority: i64) -> Self {
        self.definition.priority = Some(JobPriority::Number(priority));
        self
    }

    /// Set a priority label such as `high` (shown in the manifest as text).
    #[must_use]
    pub fn priority_label(mut self, priority: impl Into<String>) -> Self {
        self.definition.priority = Some(JobPriority::Text(priority.into()));
        self
    }

    /// Set the function that runs the job.
    #[must_use]
    pub fn run<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.handler = Some(Arc::new(f));
        self
    }
}

/// A backend module: manifest metadata, routes and jobs, declared once in Rust.
///
/// ```
/// use webstir::{Module, Reply, Route};
///
/// let module = Module::new("@demo/backend", "0.1.0")
///     .capabilities(["http"])
///     .route(Route::get("/api/ping").name("ping").handler(|| async { Reply::text("pong") }));
/// let manifest = module.manifest();
/// assert_eq!(manifest.routes.len(), 1);
/// manifest.validate().unwrap();
/// ```
#[derive(Clone)]
pub struct Module {
    pub(crate) base: ModuleManifest,
    pub(crate) routes: Vec<Route>,
    pub(crate) jobs: Vec<Job>,
    pub(crate) migrations_dir: Option<std::path::PathBuf>,
    pub(crate) state: StateMap,
    pub(crate) layers: Vec<LayerFn>,
    pub(crate) hooks: Vec<crate::hooks::Hook>,
    pub(crate) views: Vec<crate::views::View>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("manifest", &self.base)
            .field("routes", &self.routes)
            .field("jobs", &self.jobs)
            .field("migrations_dir", &self.migrations_dir)
            .field("state", &self.state.len())
            .field("layers", &self.layers.len())
            .field("hooks", &self.hooks)
            .field("views", &self.views)
            .finish()
    }
}

/// Application state by type.
#[derive(Clone, Default)]
pub(crate) struct StateMap(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl StateMap {
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }

    fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), Arc::new(value));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Module {
    /// A module with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            base: ModuleManifest::new(name, version),
            routes: Vec::new(),
            jobs: Vec::new(),
            migrations_dir: None,
            state: StateMap::default(),
            layers: Vec::new(),
            hooks: Vec::new(),
            views: Vec::new(),
        }
    }

    /// Share a value with every handler: `State<T>` extracts a clone of it, `ctx.state::<T>()` a
    /// reference. One value per type; adding a second of the same type replaces the first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webstir::extract::State;
    /// use webstir::{Module, Route};
    ///
    /// #[derive(Clone)]
    /// struct Counter(Arc<std::sync::atomic::AtomicU64>);
    ///
    /// async fn hit(State(counter): State<Counter>) -> String {
    ///     let n = counter.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    ///     format!("hit {n}")
    /// }
    ///
    /// let module = Module::new("@demo/counter", "0.1.0")
    ///     .state(Counter(Arc::default()))
    ///     .route(Route::post("/hit").handler(hit));
    /// # let _ = module;
    /// ```
    #[must_use]
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Wrap the whole module (every route, the probes and the 404/405 answers) in a tower layer, for
    /// example tower-http's CORS or compression. The innermost layer is the one added first. Apps
    /// without module layers run the fused request path with no tower stack.
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<RouteService> + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.layers.push(crate::handler::layer_fn(layer));
        self
    }

    /// Add capability tags (`http`, `db`, `auth`, …).
    #[must_use]
    pub fn capabilities<S: Into<String>>(mut self, caps: impl IntoIterator<Item = S>) -> Self {
        for cap in caps {
            let cap = cap.into();
            if !self.base.capabilities.contains(&cap) {
                self.base.capabilities.push(cap);
            }
        }
        self
    }

    /// Add a route. The most specific route matches, whatever the order they are added in: at the
    /// first segment where two paths differ, a literal beats a `:param`.
    #[must_use]
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Add a request hook (see [`crate::Hook`]): it runs on the routes that list its id with
    /// [`Route::hooks`], and its metadata appears in the manifest's `requestHooks`.
    #[must_use]
    pub fn hook(mut self, hook: crate::hooks::Hook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Add a request-time view (see [`crate::View`]): a `GET`/`HEAD` path that renders an HTML
    /// document, matched after the routes; it appears in the manifest's `views`.
    #[must_use]
    pub fn view(mut self, view: crate::views::View) -> Self {
        self.views.push(view);
        self
    }

    /// Add a job.
    #[must_use]
    pub fn job(mut self, job: Job) -> Self {
        self.jobs.push(job);
        self
    }

    /// Edit the manifest metadata that routes and jobs do not cover (events, services, views, …).
    #[must_use]
    pub fn with_manifest(mut self, edit: impl FnOnce(&mut ModuleManifest)) -> Self {
        edit(&mut self.base);
        self
    }

    /// Where this module's SQL migrations live (usually `migrations_dir!()`).
    #[must_use]
    pub fn migrations(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.migrations_dir = Some(dir.into());
        self
    }

    /// The manifest derived from this declaration.
    pub fn manifest(&self) -> ModuleManifest {
        let mut manifest = self.base.clone();
        manifest.kind = webstir_manifest::ModuleKind::Backend;
        manifest.routes = self.routes.iter().map(|r| r.definition.clone()).collect();
        manifest.jobs = self.jobs.iter().map(|j| j.definition.clone()).collect();
        manifest
            .request_hooks
            .extend(self.hooks.iter().map(|h| h.definition.clone()));
        manifest
            .views
            .extend(self.views.iter().map(|v| v.definition.clone()));
        manifest
    }

    /// The routes, in matching order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The jobs.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }
}

/// The media types a route that declares `form` accepts.
pub(crate) fn form_types(def: &RouteDefinition) -> Option<&'static [&'static str]> {
    let form = def.form.as_ref()?;
    Some(match form.content_type {
        Some(FormContentType::Multipart) => &["multipart/form-data"],
        Some(FormContentType::TextPlain) => &["text/plain"],
        _ => &["application/x-www-form-urlencoded"],
    })
}

/// A key a route or the module declares that this runtime does not enforce.
#[derive(Debug, thiserror::Error)]
#[error("{owner} declares {key}, which {reason}")]
#[non_exhaustive]
pub struct Unenforced {
    /// `route NAME` or `module NAME`.
    pub owner: String,
    /// The declared key, e.g. `form.csrf`.
    pub key: &'static str,
    /// Why, and what to do.
    pub reason: std::borrow::Cow<'static, str>,
}

const NOT_YET: &str =
    "this runtime does not enforce yet; remove it (or wait for the feature that enforces it)";

/// Refuse every declared key nothing enforces (declared means enforced).
pub(crate) fn check_enforced(module: &Module) -> Result<(), Unenforced> {
    let route_err = |def: &RouteDefinition, key| Unenforced {
        owner: format!("route {}", def.name),
        key,
        reason: NOT_YET.into(),
    };
    for route in &module.routes {
        let def = &route.definition;
        if let Some((key, message)) = route.invalid.first() {
            return Err(Unenforced {
                owner: format!("route {}", def.name),
                key,
                reason: format!("is invalid: {message}").into(),
            });
        }
        if let Some((key, message)) = crate::session::check(def) {
            return Err(Unenforced {
                owner: format!("route {}", def.name),
                key,
                reason: format!("is invalid: {message}").into(),
            });
        }
        if let Some(id) = crate::hooks::unknown(def, &module.hooks) {
            return Err(Unenforced {
                owner: format!("route {}", def.name),
                key: "requestHooks",
                reason: format!("lists hook '{id}', which the module does not implement; declare it with Module::hook(Hook::before_handler(\"{id}\").run(..)) (or before_auth / after_handler), or remove it from the route").into(),
            });
        }
        if def.render_mode.is_some() || def.ssg.is_some() || !def.static_paths.is_empty() {
            return Err(route_err(def, "renderMode/ssg/staticPaths"));
        }
        if cfg!(not(feature = "auth")) && !crate::auth::requirement(def.auth.as_ref()).is_public() {
            return Err(Unenforced {
                owner: format!("route {}", def.name),
                key: "auth",
                reason: "needs webstir's `auth` feature to be enforced; enable it (webstir = { features = [\"auth\"] })".into(),
            });
        }
    }
    let base = &module.base;
    let module_err = |key| Unenforced {
        owner: format!("module {}", base.name),
        key,
        reason: NOT_YET.into(),
    };
    if let Some(hook) = base.request_hooks.first() {
        return Err(Unenforced {
            owner: format!("module {}", base.name),
            key: "requestHooks",
            reason: format!("lists hook '{}' without an implementation; declare hooks with Module::hook(Hook::…(\"{}\").run(..)), which also writes their metadata", hook.id, hook.id).into(),
        });
    }
    for (i, hook) in module.hooks.iter().enumerate() {
        let id = &hook.definition.id;
        if id.trim() != id {
            return Err(Unenforced {
                owner: format!("module {}", base.name),
                key: "requestHooks",
                reason: format!("has hook id '{id}' with surrounding spaces").into(),
            });
        }
        if module.hooks[..i].iter().any(|h| &h.definition.id == id) {
            return Err(Unenforced {
                owner: format!("module {}", base.name),
                key: "requestHooks",
                reason: format!("declares hook '{id}' twice; give each hook its own id").into(),
            });
        }
    }
    crate::views::check_enforced(module)?;
    if base.init.is_some() {
        return Err(module_err("init"));
    }
    if base.dispose.is_some() {
        return Err(module_err("dispose"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn hello() -> &'static str {
        "hello"
    }

    #[test]
    fn unenforced_keys_name_the_route_and_the_key() {
        let mut def = RouteDefinition::new("staticForm", HttpMethod::Get, "/form");
        def.static_paths = vec!["/form".into()];
        let module =
            Module::new("@test/m", "0.1.0").route(Route::from_definition(def).handler(hello));
        let err = check_enforced(&module).unwrap_err();
        assert_eq!(
            err.to_string(),
            "route staticForm declares renderMode/ssg/staticPaths, which this runtime does not enforce yet; remove it (or wait for the feature that enforces it)"
        );
        // A CSRF form is enforced (crate::csrf), so it starts.
        let module = Module::new("@test/m", "0.1.0").route(
            Route::post("/form")
                .name("csrfForm")
                .form_urlencoded(true)
                .handler(hello),
        );
        assert!(check_enforced(&module).is_ok());
    }

    #[cfg(not(feature = "auth"))]
    #[test]
    fn access_rules_need_the_auth_feature() {
        let module = Module::new("@test/m", "0.1.0")
            .route(Route::get("/me").name("me").authenticated().handler(hello));
        let err = check_enforced(&module).unwrap_err();
        assert_eq!(err.key, "auth");
        assert!(err.to_string().contains("route me"), "{err}");
        assert!(err.to_string().contains("`auth` feature"), "{err}");
    }
}
