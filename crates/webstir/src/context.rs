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

/// Who is calling, once a credential was verified: user id (`sub`), email, scopes, roles, tenant,
/// raw claims and the credential kind.
pub use webstir_auth::AuthContext as Auth;

/// The per-request context: params, query, body, auth, env, logger, request id, clock.
///
/// ```no_run
/// use webstir::{Ctx, Reply, Result};
///
/// #[derive(serde::Deserialize)]
/// struct NewAccount { email: String }
///
/// async fn create(ctx: Ctx) -> Result<Reply> {
///     let input: NewAccount = ctx.json()?;            // 400 invalid_json / validation on bad input
///     let secret = ctx.env().require("API_SECRET")?;  // 500, logged: Missing required env var API_SECRET
///     tracing::info!(email = %input.email, "creating account"); // carries request_id and route
///     Ok(Reply::json(&serde_json::json!({ "email": input.email, "at": ctx.now().to_string() })).status(201))
/// }
/// ```
#[derive(Debug)]
pub struct Ctx {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) params: RawParams,
    pub(crate) param_names: Arc<[Box<str>]>,
    pub(crate) body: Bytes,
    pub(crate) request_id: String,
    pub(crate) route: Arc<str>,
    pub(crate) env: Env,
    pub(crate) span: tracing::Span,
    pub(crate) auth: Option<Auth>,
    pub(crate) services: Services,
}

impl Ctx {
    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request path (as sent, not normalized).
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The name of the matched route.
    pub fn route_name(&self) -> &str {
        &self.route
    }

    /// Request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One request header as text (None when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Path parameters.
    pub fn params(&self) -> Params<'_> {
        Params {
            path: self.uri.path(),
            names: &self.param_names,
            raw: &self.params,
        }
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
                "Invalid path parameter '{name}': '{raw}' is not a valid {}.",
                short_type_name::<T>()
            ))
        })
    }

    /// The raw query string, if any.
    pub fn query_string(&self) -> Option<&str> {
        self.uri.query()
    }

    /// One query parameter (percent-decoded; the last duplicate wins).
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.uri.query()?;
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
        serde_urlencoded::from_str(self.uri.query().unwrap_or(""))
            .map_err(|e| Error::validation(format!("Invalid query string: {e}")))
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
    /// 400 `invalid_json` when the body is empty or not JSON, 400 `validation` when it is JSON of the
    /// wrong shape, 415 `unsupported_media_type` when the content type says it is something else.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let content_type = self.content_type();
        if !content_type.is_empty() && !content_type.contains("json") {
            return Err(Error::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "Expected a JSON body (content-type: application/json), got '{content_type}'."
                ),
            ));
        }
        if self.body.is_empty() {
            return Err(Error::bad_request(
                "invalid_json",
                "Request body is empty; expected JSON.",
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => Error::validation(format!(
                "Request body does not match the expected shape: {e}"
            )),
            _ => Error::bad_request(
                "invalid_json",
                format!("Request body is not valid JSON: {e}"),
            ),
        })
    }

    /// The `application/x-www-form-urlencoded` body deserialized into `T` (last duplicate key wins when
    /// `T` is a map of strings).
    ///
    /// # Errors
    /// 400 `validation` describing the problem.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_urlencoded::from_bytes(&self.body)
            .map_err(|e| Error::validation(format!("Invalid form body: {e}")))
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
        if content_type.contains("json") {
            self.json()
        } else if content_type.contains("application/x-www-form-urlencoded") {
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
        self.services.db.as_ref().expect(NO_DB)
    }

    /// The authenticated caller, if any.
    pub fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The request's logger span (carries `request_id`, `method` and `route`). Events logged inside a
    /// handler are already inside it; use it to attach work spawned elsewhere.
    pub fn logger(&self) -> &tracing::Span {
        &self.span
    }

    /// The request id (the client's `x-request-id`, or a generated UUID).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The current time.
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

pub(crate) const NO_DB: &str = "ctx.db() needs a database: declare the `db` capability (Module::capabilities([\"db\"])), add migrations, or set DATABASE_URL";

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}
