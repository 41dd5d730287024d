//! The request context handlers receive.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

use crate::{Env, Error};

pub(crate) use crate::services::Services;

/// Where the matched route's parameters are in the request path: byte ranges, plus decoded copies for
/// values that contained `%` escapes. Filled by the router without allocating in the common case.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawParams {
    inline: [(u32, u32); RawParams::INLINE],
    len: usize,
    overflow: Vec<(u32, u32)>,
    decoded: Vec<(usize, String)>,
}

impl RawParams {
    const INLINE: usize = 6;

    pub(crate) fn push(&mut self, range: (u32, u32), decoded: Option<String>) {
        let index = self.len;
        if index < Self::INLINE {
            self.inline[index] = range;
        } else {
            self.overflow.push(range);
        }
        if let Some(value) = decoded {
            self.decoded.push((index, value));
        }
        self.len += 1;
    }

    #[cfg(test)]
    pub(crate) fn value_for_test(&self, index: usize, path: &str) -> String {
        self.value(index, path).unwrap_or_default().to_owned()
    }

    fn value<'a>(&'a self, index: usize, path: &'a str) -> Option<&'a str> {
        if index >= self.len {
            return None;
        }
        if let Some((_, value)) = self.decoded.iter().find(|(i, _)| *i == index) {
            return Some(value);
        }
        let (start, end) = if index < Self::INLINE {
            self.inline[index]
        } else {
            self.overflow[index - Self::INLINE]
        };
        path.get(start as usize..end as usize)
    }
}

/// Named path parameters of the matched route (`/api/items/:id` → `id`), percent-decoded.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    path: &'a str,
    names: &'a [Box<str>],
    raw: &'a RawParams,
}

impl<'a> Params<'a> {
    pub(crate) fn new(path: &'a str, names: &'a [Box<str>], raw: &'a RawParams) -> Self {
        Self { path, names, raw }
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let index = self.names.iter().position(|n| &**n == name)?;
        self.raw.value(index, self.path)
    }

    /// All parameters in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (path, raw) = (self.path, self.raw);
        self.names
            .iter()
            .enumerate()
            .filter_map(move |(i, name)| raw.value(i, path).map(|v| (&**name, v)))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.raw.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.raw.len == 0
    }
}

/// The per-request scope the runtime hands to handlers and extractors: the matched route, its
/// parameters, the request id, the verified caller, the request's logger span, and the app's env,
/// services and state. Cheap to clone.
///
/// Handlers never build one; extractors that need the runtime's view of a request implement
/// `FromRequestParts<Scope>` (see [`crate::extract`]).
#[derive(Clone)]
pub struct Scope(pub(crate) Arc<ScopeInner>);

pub(crate) struct ScopeInner {
    pub(crate) app: Arc<crate::server::service::App>,
    pub(crate) route: Arc<crate::server::router::RouteInfo>,
    pub(crate) params: RawParams,
    pub(crate) request_id: crate::server::request_id::RequestId,
    pub(crate) span: tracing::Span,
    pub(crate) auth: Option<webstir_auth::AuthContext>,
    /// Set when the request body was read to its end (tells a slow body from a slow handler).
    pub(crate) body_done: std::sync::atomic::AtomicBool,
    /// The session, for routes that declare `session` or `flash`.
    pub(crate) session: Option<crate::session::Session>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("route", &self.route_name())
            .field("request_id", &self.0.request_id)
            .finish_non_exhaustive()
    }
}

impl Scope {
    /// The name of the matched route.
    pub fn route_name(&self) -> &str {
        &self.0.route.name
    }

    /// The request id (the client's `x-request-id`, or a generated UUID).
    pub fn request_id(&self) -> &str {
        self.0.request_id.as_str()
    }

    /// The verified caller, if the request carried a valid credential.
    pub fn auth(&self) -> Option<&webstir_auth::AuthContext> {
        self.0.auth.as_ref()
    }

    /// The request's logger span.
    pub fn logger(&self) -> &tracing::Span {
        &self.0.span
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.0.app.env
    }

    /// Shared application state of type `T`, added with [`crate::Module::state`].
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.app.state.get::<T>()
    }

    /// The process's shutdown coordinator: long-lived responses (streams) end when it triggers.
    pub fn shutdown(&self) -> &crate::Shutdown {
        &self.0.app.shutdown
    }

    /// The database (see [`Ctx::db`]).
    pub fn db(&self) -> Option<&webstir_db::Db> {
        self.0.app.services.db.as_ref()
    }

    /// Path parameters of the matched route, read against the request path `path`.
    pub(crate) fn params<'a>(&'a self, path: &'a str) -> Params<'a> {
        Params {
            path,
            names: &self.0.route.param_names,
            raw: &self.0.params,
        }
    }

    pub(crate) fn body_limit(&self) -> u64 {
        self.0.app.config.body_limit
    }

    pub(crate) fn mark_body_done(&self) {
        self.0
            .body_done
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The per-request context: params, query, body, auth, env, logger, request id, clock.
///
/// `Ctx` is also an extractor (it reads the whole body under the size cap), so it can be the last
/// argument of an extractor-style handler.
///
/// ```no_run
/// use webstir::{Ctx, Reply, Result};
///
/// #[derive(serde::Deserialize)]
/// struct NewAccount { email: String }
///
/// async fn create(ctx: Ctx) -> Result<Reply> {
///     let input: NewAccount = ctx.json()?;            // 400 invalid_json / validation, 415 wrong type
///     let secret = ctx.env().require("API_SECRET")?;  // 500, logged: Missing required env var API_SECRET
///     tracing::info!(email = %input.email, "creating account"); // carries request_id and route
///     Ok(Reply::json(&serde_json::json!({ "email": input.email, "at": ctx.now().to_string() })).status(201))
/// }
/// ```
pub struct Ctx {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Bytes,
    pub(crate) scope: Scope,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The request path (as sent, not normalized).
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The name of the matched route.
    pub fn route_name(&self) -> &str {
        self.scope.route_name()
    }

    /// Request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// One request header as text (None when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Path parameters.
    pub fn params(&self) -> Params<'_> {
        self.scope.params(self.parts.uri.path())
    }

    /// One path parameter (percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().get(name)
    }

    /// One path parameter parsed as `T`.
    ///
    /// # Errors
    /// 400 `validation` naming the parameter when it is missing or does not parse.
    pub fn param_as<T: std::str::FromStr>(&self, name: &str) -> Result<T, Error> {
        let raw = self
            .param(name)
            .ok_or_else(|| Error::validation(format!("Missing path parameter '{name}'.")))?;
        raw.parse().map_err(|_| {
            Error::validation(format!(
                "Invalid path parameter '{name}': '{}' is not a valid {}.",
                crate::extract::echo(raw),
                short_type_name::<T>()
            ))
        })
    }

    /// The raw query string, if any.
    pub fn query_string(&self) -> Option<&str> {
        self.parts.uri.query()
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

    /// The query string deserialized into `T`.
    ///
    /// # Errors
    /// 400 `validation` describing the problem.
    pub fn query_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::extract::parse_query(self.parts.uri.query().unwrap_or(""))
    }

    /// The raw request body (empty for GET/HEAD).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    /// 400 `validation` when it is not UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.body)
            .map_err(|_| Error::validation("Request body is not valid UTF-8."))
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// The JSON body deserialized into `T`.
    ///
    /// # Errors
    /// 415 `unsupported_media_type` unless the content type is `application/json` or `*/*+json`;
    /// 400 `invalid_json` when the body is empty or not JSON; 400 `validation` when it is JSON of the
    /// wrong shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::extract::parse_json(self.header("content-type"), &self.body)
    }

    /// The `application/x-www-form-urlencoded` body deserialized into `T` (last duplicate key wins when
    /// `T` is a map of strings).
    ///
    /// # Errors
    /// 400 `invalid_form` for malformed percent-escapes or invalid UTF-8, 400 `validation` when the
    /// fields do not match `T`.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::extract::parse_form(&self.body)
    }

    /// The body as a JSON value, decoded by content type: JSON, form (flat object of strings), text, or
    /// null when empty.
    ///
    /// # Errors
    /// 400 as for [`Ctx::json`] and [`Ctx::form`].
    pub fn body_value(&self) -> Result<serde_json::Value, Error> {
        if self.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        let content_type = self.content_type();
        if crate::extract::is_json_type(content_type) {
            self.json()
        } else if crate::extract::media_type(content_type)
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        {
            let pairs: Vec<(String, String)> = self.form()?;
            let mut map = serde_json::Map::new();
            for (k, v) in pairs {
                map.insert(k, serde_json::Value::String(v));
            }
            Ok(serde_json::Value::Object(map))
        } else {
            Ok(serde_json::Value::String(self.text()?.to_owned()))
        }
    }

    /// The database (embedded SQLite by default, PostgreSQL when `DATABASE_URL` says so).
    ///
    /// # Panics
    /// When the module does not use a database: declare the `db` capability
    /// (`Module::capabilities(["db"])`), add migrations, or set `DATABASE_URL`. The panic becomes a
    /// 500 for the request; the server keeps serving.
    pub fn db(&self) -> &webstir_db::Db {
        self.scope.db().expect(NO_DB)
    }

    /// Shared application state of type `T` (added with [`crate::Module::state`]).
    ///
    /// # Errors
    /// 500 naming the type when the module has no state of that type.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.scope
            .state::<T>()
            .ok_or_else(crate::extract::missing_state::<T>)
    }

    /// The process's shutdown coordinator (see [`Scope::shutdown`]).
    pub fn shutdown(&self) -> &crate::Shutdown {
        self.scope.shutdown()
    }

    /// The per-request scope (route, params, caller, env, services, state).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The authenticated caller, if any.
    pub fn auth(&self) -> Option<&webstir_auth::AuthContext> {
        self.scope.auth()
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        self.scope.env()
    }

    /// The request's logger span (carries `request_id`, `method` and `route`). Events logged inside a
    /// handler are already inside it; use it to attach work spawned elsewhere.
    pub fn logger(&self) -> &tracing::Span {
        self.scope.logger()
    }

    /// The request id (the client's `x-request-id`, or a generated UUID).
    pub fn request_id(&self) -> &str {
        self.scope.request_id()
    }

    /// The current time.
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    /// The request's session (see [`crate::Session`]).
    ///
    /// # Errors
    /// 500 naming the route when it declares neither `session` nor `flash`.
    pub fn session(&self) -> Result<&crate::Session, Error> {
        crate::session::of(&self.scope)
    }

    /// Attach `text` to the flash message `key` this route publishes (see [`crate::Session::flash`]).
    ///
    /// # Errors
    /// 500 when the route does not declare `key` in `flash.publish`.
    pub fn flash(&self, key: &str, text: impl Into<String>) -> Result<(), Error> {
        self.session()?.flash(key, text)
    }

    /// The flash messages delivered to this request (the keys its route consumes); empty on
    /// routes without `flash`.
    pub fn flash_messages(&self) -> Vec<crate::FlashMessage> {
        self.scope
            .0
            .session
            .as_ref()
            .map(crate::Session::flash_messages)
            .unwrap_or_default()
    }

    /// A value of type `T` from the request's extensions (put there by a request hook with
    /// [`crate::HookCtx::extensions_mut`], or by a tower layer).
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.parts.extensions.get::<T>()
    }
}

pub(crate) const NO_DB: &str = "ctx.db() needs a database: declare the `db` capability (Module::capabilities([\"db\"])), add migrations, or set DATABASE_URL";

pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}
