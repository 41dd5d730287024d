//! CSRF protection for cookie-authenticated forms, enforced by the runtime before the handler.
//!
//! * A route declared with a CSRF form (`Route::form_urlencoded(true)`, manifest `form.csrf`)
//!   refuses a state-changing request (any method but GET, HEAD, OPTIONS) unless it carries the
//!   token the session holds for that route: the form field `_csrf` (urlencoded or multipart
//!   body) or the `X-CSRF-Token` header. Missing, wrong or already used → 403 `csrf`. A token is
//!   single-use: a matching one is consumed, and the page that shows the form again asks for a
//!   new one with [`Session::csrf_token`].
//! * Every state-changing request to a route that uses the session cookie (it declares
//!   `session`, `flash` or a CSRF form) is refused with 403 `cross_site` when the browser says it
//!   comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` whose host is not the
//!   request's `Host` (and not in `CORS_ALLOWED_ORIGINS`). Requests without these headers (curl,
//!   servers) are judged by the token alone.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use subtle::ConstantTimeEq as _;

use crate::Error;
use crate::session::Session;

/// The form field that carries the token.
pub const FIELD: &str = "_csrf";
/// The header that carries the token (for forms submitted with `fetch`).
pub const HEADER: &str = "x-csrf-token";
/// Where the tokens live in the session's runtime state: `{route name: token}`.
const STATE_KEY: &str = "csrf";

impl Session {
    /// The CSRF token for the form that submits to the route named `route` (put it in a hidden
    /// `_csrf` field, or send it as `X-CSRF-Token`). The same token is returned until a
    /// submission uses it; then a new one is made. Starts a session when there is none (the
    /// token must be stored somewhere); allowed on any route that declares `session`, since it
    /// is the runtime's state, not the app's values.
    ///
    /// ```
    /// use webstir::manifest::SessionMode;
    /// use webstir::{Ctx, Reply, Result, Route};
    ///
    /// async fn new_item_page(ctx: Ctx) -> Result<Reply> {
    ///     let token = ctx.session()?.csrf_token("createItem");
    ///     Ok(Reply::html(format!(
    ///         r#"<form method="post" action="/items">
    ///              <input type="hidden" name="_csrf" value="{token}">
    ///              <input name="title"><button>Save</button>
    ///            </form>"#
    ///     )))
    /// }
    ///
    /// async fn create_item(_ctx: Ctx) -> Result<Reply> {
    ///     Ok(Reply::redirect("/items")) // only reached with a valid, unused token
    /// }
    ///
    /// let routes = [
    ///     Route::get("/items/new").session(SessionMode::Optional, false).handler(new_item_page),
    ///     Route::post("/items").name("createItem").form_urlencoded(true).handler(create_item),
    /// ];
    /// # let _ = routes;
    /// ```
    pub fn csrf_token(&self, route: &str) -> String {
        let mut tokens = self.tokens();
        if let Some(token) = tokens.get(route).and_then(|t| t.as_str()) {
            return token.to_owned();
        }
        let token = new_token();
        tokens.insert(route.to_owned(), serde_json::Value::String(token.clone()));
        self.runtime_set(STATE_KEY, Some(serde_json::Value::Object(tokens)));
        token
    }

    fn tokens(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.runtime_get(STATE_KEY) {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// Consumes `route`'s token when `presented` matches it (constant-time); whether it did.
    fn take_token(&self, route: &str, presented: &str) -> bool {
        let mut tokens = self.tokens();
        let matches = tokens
            .get(route)
            .and_then(|t| t.as_str())
            .is_some_and(|expected| {
                expected.len() == presented.len()
                    && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
            });
        if matches {
            tokens.remove(route);
            let state = (!tokens.is_empty()).then_some(serde_json::Value::Object(tokens));
            self.runtime_set(STATE_KEY, state);
        }
        matches
    }
}

fn new_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `method` changes state (everything but GET, HEAD, OPTIONS, TRACE).
pub(crate) fn unsafe_method(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// 403 `cross_site` when the browser says the request comes from another site. `trusted` says
/// whether an origin is in the CORS allow-list.
pub(crate) fn check_site(headers: &HeaderMap, trusted: impl Fn(&str) -> bool) -> Result<(), Error> {
    let refuse = || {
        Error::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "Cross-site requests to this route are refused: it is authenticated by a cookie. \
             Submit the form from this site.",
        )
    };
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if trusted(origin) {
            return Ok(());
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let authority = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .unwrap_or_default();
        if origin == "null" || !authority.eq_ignore_ascii_case(host) {
            return Err(refuse());
        }
        return Ok(());
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(refuse());
    }
    Ok(())
}

fn refused() -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "The form's security token is missing, wrong or already used. Reload the page and submit \
         the form again.",
    )
}

/// The token a request presents: the header, else the `_csrf` field of an urlencoded or
/// multipart body (already read, under the body cap).
pub(crate) async fn presented(headers: &HeaderMap, body: &Bytes) -> Option<String> {
    if let Some(token) = headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.to_owned());
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = crate::extract::media_type(content_type);
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        return pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v);
    }
    #[cfg(feature = "multipart")]
    if media.eq_ignore_ascii_case("multipart/form-data") {
        let boundary = multer::parse_boundary(content_type).ok()?;
        let chunk: Result<Bytes, std::convert::Infallible> = Ok(body.clone());
        let mut parts = multer::Multipart::new(futures_util::stream::iter([chunk]), boundary);
        while let Ok(Some(field)) = parts.next_field().await {
            if field.name() == Some(FIELD) && field.file_name().is_none() {
                return field.text().await.ok();
            }
        }
    }
    None
}

/// Checks (and consumes) the token `presented` for `route`.
pub(crate) fn verify(session: &Session, route: &str, presented: Option<&str>) -> Result<(), Error> {
    match presented {
        Some(token) if !token.is_empty() && session.take_token(route, token) => Ok(()),
        _ => Err(refused()),
    }
}
