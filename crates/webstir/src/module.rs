//! Declaring a module: routes with their metadata and handlers, jobs, and the manifest derived from them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use webstir_manifest::{
    AccessMode, AccessRule, FormContentType, FormSpec, FragmentMode, FragmentSpec, HttpMethod,
    Interaction, JobDefinition, JobPriority, ModuleManifest, RouteDefinition, RouteInput,
    RouteOutput, SchemaReference, SessionMode, SessionSpec,
};

use crate::jobs::{JobContext, JobHandler};
use crate::{Ctx, Error, Reply};

/// A boxed, sendable future (what handlers are turned into).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Something that answers requests: any `async fn(Ctx) -> Result<Reply, Error>` (or closure) is one.
pub trait Handler: Send + Sync + 'static {
    /// Handle one request.
    fn call(&self, ctx: Ctx) -> BoxFuture<Result<Reply, Error>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, Error>> + Send + 'static,
{
    fn call(&self, ctx: Ctx) -> BoxFuture<Result<Reply, Error>> {
        Box::pin(self(ctx))
    }
}

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
    pub(crate) handler: Option<Arc<dyn Handler>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("definition", &self.definition)
            .field("handler", &self.handler.is_some())
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

    /// A route from a full definition (for example one kept beside a handler by `webstir add-route`).
    pub fn from_definition(definition: RouteDefinition) -> Self {
        Self {
            definition,
            handler: None,
        }
    }

    /// A route from its definition as JSON (the `NAME.route.json` files `webstir add-route` writes).
    /// Parsing happens here, not in the app's crate, so apps do not instantiate serde code for it.
    ///
    /// # Errors
    /// The JSON error when the text is not a route definition.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json).map(Self::from_definition)
    }

    /// The definition as it appears in the manifest.
    pub fn definition(&self) -> &RouteDefinition {
        &self.definition
    }

    /// Set the handler.
    #[must_use]
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.handler = Some(Arc::new(handler));
        self
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
        self.definition.session = Some(SessionSpec {
            mode: Some(mode),
            write: write.then_some(true),
        });
        self
    }

    /// Declare that the route accepts `application/x-www-form-urlencoded` forms, optionally with CSRF.
    #[must_use]
    pub fn form_urlencoded(mut self, csrf: bool) -> Self {
        self.definition.form = Some(FormSpec {
            content_type: Some(FormContentType::UrlEncoded),
            csrf: csrf.then_some(true),
            session: None,
            flash: None,
        });
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
        self.definition.fragment = Some(FragmentSpec {
            target: target.into(),
            selector: selector.map(str::to_owned),
            mode,
        });
        self
    }

    /// Declare the input schemas.
    #[must_use]
    pub fn input(mut self, input: RouteInput) -> Self {
        self.definition.input = Some(input);
        self
    }

    /// Declare the body schema by name (`kind:name@source`).
    #[must_use]
    pub fn body_schema(mut self, schema: &str) -> Self {
        let input = self
            .definition
            .input
            .get_or_insert_with(RouteInput::default);
        input.body = SchemaReference::parse(schema);
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
        self.rule().mode = AccessMode::Authenticated;
        self
    }

    /// Every listed scope is required (implies authenticated).
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        let rule = self.rule();
        rule.mode = AccessMode::Authenticated;
        rule.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// One of the listed roles is required (implies authenticated).
    #[must_use]
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        let rule = self.rule();
        rule.mode = AccessMode::Authenticated;
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
            definition: JobDefinition {
                name: name.into(),
                schedule: None,
                description: None,
                priority: None,
            },
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

    /// A job from its definition as JSON (the `NAME.job.json` files `webstir add-job` writes).
    ///
    /// # Errors
    /// The JSON error when the text is not a job definition.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json).map(Self::from_definition)
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
///     .route(Route::get("/api/ping").name("ping").handler(|_ctx| async { Ok(Reply::text("pong")) }));
/// let manifest = module.manifest();
/// assert_eq!(manifest.routes.len(), 1);
/// manifest.validate().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Module {
    pub(crate) base: ModuleManifest,
    pub(crate) routes: Vec<Route>,
    pub(crate) jobs: Vec<Job>,
    pub(crate) migrations_dir: Option<std::path::PathBuf>,
}

impl Module {
    /// A module with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            base: ModuleManifest::new(name, version),
            routes: Vec::new(),
            jobs: Vec::new(),
            migrations_dir: None,
        }
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

    /// Add a route. Routes match in the order they are added.
    #[must_use]
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
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
