//! Request-time views: a `GET`/`HEAD` path that renders an HTML document from the frontend build
//! (`build/frontend/…`, then `dist/frontend/…`) with a loader's data, matched after the routes.
//!
//! Views are mounted as `GET` routes of a second router that the pipeline consults only when no
//! route matched a `GET`/`HEAD` request, so they get the request id, span, credentials check, panic
//! guard, deadline, metrics and `request.completed` of any route, and cost nothing otherwise.

#[cfg(feature = "views")]
mod document;
#[cfg(feature = "views")]
mod endpoint;
#[cfg(feature = "views")]
mod inject;

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use webstir_manifest::{RenderMode, ViewDefinition};

use crate::handler::BoxFuture;
use crate::module::{Module, Unenforced};
use crate::{Ctx, Error};

pub(crate) type Loader =
    Arc<dyn Fn(Ctx) -> BoxFuture<Result<serde_json::Value, Error>> + Send + Sync>;

/// A request-time view: a `GET` (and `HEAD`) path answered with an HTML document from the frontend
/// build, rendered with minijinja using the loader's data.
///
/// The document is found by name (by default the request path's first segment, `/` → `home`):
/// `build/frontend/pages/<name>/index.html`, `build/frontend/<name>/index.html`,
/// `build/frontend/<name>.html` (for `home` also `build/frontend/index.html`), then the same under
/// `dist/frontend/`, relative to the workspace root. The template sees `data` (the loader's
/// result), `view` (`name`, `path`, `pathname`, `params`) and `request_id`; the runtime then adds
/// `data-webstir-view-*` attributes to `<body>` and the view state as
/// `<script type="application/json" id="webstir-view-state">`.
///
/// ```
/// use webstir::{Ctx, Module, Result, View};
///
/// async fn account(ctx: Ctx) -> Result<serde_json::Value> {
///     let id = ctx.param("id").unwrap_or_default().to_owned();
///     Ok(serde_json::json!({ "accountId": id }))
/// }
///
/// let module = Module::new("@demo/views", "0.1.0")
///     .view(View::get("/accounts/:id").name("account").document("accounts").loader(account));
/// assert_eq!(module.manifest().views[0].path, "/accounts/:id");
/// ```
#[derive(Clone)]
pub struct View {
    pub(crate) definition: ViewDefinition,
    pub(crate) document: Option<String>,
    pub(crate) loader: Option<Loader>,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("definition", &self.definition)
            .field("document", &self.document)
            .field("loader", &self.loader.is_some())
            .finish()
    }
}

impl View {
    /// A view at `path` (`:name` segments capture one path segment). Its name defaults to the path
    /// until [`View::name`] sets one.
    pub fn get(path: &str) -> Self {
        Self::from_definition(ViewDefinition::new(path, path))
    }

    /// A view from a full definition (the contract type).
    pub fn from_definition(definition: ViewDefinition) -> Self {
        Self {
            definition,
            document: None,
            loader: None,
        }
    }

    /// The definition as it appears in the manifest.
    pub fn definition(&self) -> &ViewDefinition {
        &self.definition
    }

    /// Set the view name (manifest, logs, `data-webstir-view-name`).
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

    /// Let the loader read the session (`ctx.session()`); `SessionMode::Required` answers 401
    /// `session_required` without one. Views read the session, never write it.
    #[must_use]
    pub fn session(mut self, mode: webstir_manifest::SessionMode) -> Self {
        self.definition.session = Some(webstir_manifest::SessionSpec::new(mode));
        self
    }

    /// The document's name (instead of the request path's first segment), looked up as
    /// `pages/<name>/index.html`, `<name>/index.html`, `<name>.html` under `build/frontend/` then
    /// `dist/frontend/`.
    #[must_use]
    pub fn document(mut self, name: impl Into<String>) -> Self {
        self.document = Some(name.into());
        self
    }

    /// The loader: an async function of the request's [`Ctx`] (params, query, headers, caller, env,
    /// state, database) returning the data the template renders. Without one the data is `null`.
    /// An error answers like a handler's (`Error::not_found` → 404; an internal one → logged 500).
    #[must_use]
    pub fn loader<F, Fut, T>(mut self, loader: F) -> Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
        T: Serialize,
    {
        self.loader = Some(Arc::new(move |ctx| {
            let fut = loader(ctx);
            Box::pin(async move {
                let data = fut.await?;
                serde_json::to_value(data)
                    .map_err(|err| Error::msg(format!("the view loader's data is not JSON: {err}")))
            })
        }));
        self
    }
}

/// Every view the module serves: those declared with [`Module::view`], then those only in the
/// manifest metadata (`with_manifest`), which render without a loader.
pub(crate) fn all(module: &Module) -> Vec<View> {
    let mut views = module.views.clone();
    views.extend(module.base.views.iter().cloned().map(View::from_definition));
    views
}

/// Refuse view keys nothing enforces: render modes other than `ssr`, static paths, SSG options,
/// and any view without the `views` feature.
pub(crate) fn check_enforced(module: &Module) -> Result<(), Unenforced> {
    for view in all(module) {
        let def = &view.definition;
        let refuse = |key, reason: String| Unenforced {
            owner: format!("view {}", def.name),
            key,
            reason: reason.into(),
        };
        if cfg!(not(feature = "views")) {
            return Err(refuse(
                "views",
                "needs webstir's `views` feature to be served; enable it (webstir = { features = [\"views\"] })".to_owned(),
            ));
        }
        if let Err(err) = webstir_manifest::check_route_path(&def.path) {
            return Err(refuse("path", format!("is invalid: {err}")));
        }
        if def.render_mode.is_some_and(|mode| mode != RenderMode::Ssr) {
            return Err(refuse(
                "renderMode",
                "this runtime does not enforce (views render at request time: use ssr or leave it out)".to_owned(),
            ));
        }
        if def.ssg.is_some() || !def.static_paths.is_empty() {
            return Err(refuse(
                "ssg/staticPaths",
                "this runtime does not enforce yet (views render at request time); remove it"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// The router of the module's views (`None` when it has none).
#[cfg(feature = "views")]
pub(crate) fn mount(
    module: &Module,
    env: &crate::Env,
) -> Result<Option<crate::server::router::Router>, crate::AmbiguousRoutes> {
    let views = all(module);
    if views.is_empty() {
        return Ok(None);
    }
    let documents = Arc::new(document::Documents::new(crate::services::root_of(env)));
    let routes: Vec<crate::Route> = views
        .into_iter()
        .map(|view| endpoint::route(view, documents.clone()))
        .collect();
    crate::server::router::Router::build(&routes, &[]).map(Some)
}

/// Without the `views` feature a module with views is refused at startup.
#[cfg(not(feature = "views"))]
pub(crate) fn mount(
    _module: &Module,
    _env: &crate::Env,
) -> Result<Option<crate::server::router::Router>, crate::AmbiguousRoutes> {
    Ok(None)
}
