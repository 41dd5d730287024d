//! In-process requests: [`TestRequest`] in, [`TestResponse`] out, or a [`Ctx`] for calling a
//! handler directly.

use std::sync::Arc;

use axum::extract::FromRequest as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TestApp;
use crate::Ctx;
use crate::context::{Scope, ScopeInner};
use crate::server::router::Match;

/// A request to a [`TestApp`], sent in-process with [`TestRequest::send`] (no socket) or turned
/// into a handler's [`Ctx`] with [`TestRequest::ctx`]. Builder methods panic on invalid input (a
/// header name that is not a token, a value that does not serialize): it is a test.
#[must_use = "a request does nothing until you `.send().await` it"]
pub struct TestRequest<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    #[cfg(feature = "auth")]
    user: Option<serde_json::Map<String, serde_json::Value>>,
    #[cfg(feature = "auth")]
    service: bool,
}

impl std::fmt::Debug for TestRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl<'a> TestRequest<'a> {
    pub(super) fn new(app: &'a TestApp, method: Method, path: String) -> Self {
        Self {
            app,
            method,
            path,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            #[cfg(feature = "auth")]
            user: None,
            #[cfg(feature = "auth")]
            service: false,
        }
    }

    /// Add a request header (repeat for several values).
    ///
    /// # Panics
    /// When the name or value is not valid in HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|_| panic!("invalid header name {name:?}"));
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|_| panic!("invalid value for header {name}: {value:?}"));
        self.headers.append(name, value);
        self
    }

    /// A JSON body (`content-type: application/json`).
    ///
    /// # Panics
    /// When `value` does not serialize to JSON.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|err| panic!("the request body does not serialize to JSON: {err}"));
        self.body(body, "application/json")
    }

    /// A form body (`content-type: application/x-www-form-urlencoded`) from a struct or a list of
    /// pairs.
    ///
    /// # Panics
    /// When `value` is not a flat struct, map or list of pairs.
    pub fn form<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_urlencoded::to_string(value)
            .unwrap_or_else(|err| panic!("the request body does not serialize as a form: {err}"));
        self.body(body, "application/x-www-form-urlencoded")
    }

    /// A raw body with its content type.
    ///
    /// # Panics
    /// When `content_type` is not a valid header value.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = body.into();
        let value = HeaderValue::from_str(content_type)
            .unwrap_or_else(|_| panic!("invalid content type {content_type:?}"));
        self.headers.insert(CONTENT_TYPE, value);
        self
    }

    /// `Authorization: Bearer <token>` (a token from elsewhere; see [`TestRequest::as_user`] to
    /// have one minted).
    pub fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    /// Send the request through the app — module layers, router, access rules, extractors,
    /// handler, error envelopes, `x-request-id` — and read the whole response body (streams are
    /// read to their end).
    ///
    /// # Panics
    /// When a streaming response body fails.
    pub async fn send(self) -> TestResponse {
        let app = self.app.app.clone();
        let layered = self.app.layered.clone();
        let request = self.into_request();
        let head = request.method() == Method::HEAD;
        let response = app.dispatch(layered, request).await;
        let mut response = TestResponse::collect(response).await;
        if head {
            // What hyper does on the wire.
            response.body = Bytes::new();
        }
        response
    }

    /// The [`Ctx`] a handler would get for this request — route matched against the app's routes
    /// (params), access rule checked by the real authenticator (`ctx.auth()`), request id, env,
    /// state and database from the app — to call a `async fn(Ctx)` handler directly. Inspect what
    /// it returns with [`TestApp::respond`].
    ///
    /// ```no_run
    /// # use webstir::{Ctx, Reply, Result};
    /// # async fn show(ctx: Ctx) -> Result<Reply> { Ok(Reply::json(&ctx.param("id"))) }
    /// # async fn demo(app: webstir::testing::TestApp) {
    /// let ctx = app.get("/api/items/7").ctx().await;
    /// assert_eq!(ctx.param("id"), Some("7"));
    /// let res = app.respond(show(ctx).await).await;
    /// assert_eq!(res.json(), "7");
    /// # }
    /// ```
    ///
    /// # Panics
    /// When no route matches (404/405), when the route's access rule refuses the request (add
    /// [`TestRequest::as_user`]), or when the body is over `REQUEST_BODY_MAX_BYTES`.
    pub async fn ctx(self) -> Ctx {
        let app = self.app.app.clone();
        let request = self.into_request();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let (route, params) = match app.router.find(&method, &path) {
            Match::Route(route, params) => (route, params),
            Match::MethodNotAllowed(allowed) => {
                panic!("{method} {path}: no route for this method (405; allowed: {allowed:?})")
            }
            Match::NotFound => panic!("{method} {path}: no route matches (404)"),
        };
        let (_, request_id) = crate::server::request_id::resolve_pair(request.headers());
        let span = tracing::info_span!(
            target: "webstir::http",
            "request",
            request_id = %request_id.as_str(),
            method = %method,
            route = %route.info.name,
        );
        let mut auth = None;
        if app.needs_check(&route.requirement, request.headers(), request.uri().query()) {
            match app
                .gate(
                    &route.requirement,
                    request.headers(),
                    request.uri().query(),
                    &span,
                )
                .await
            {
                crate::auth::Gate::Allow(context) => auth = context,
                crate::auth::Gate::Deny(err) => panic!(
                    "{method} {path}: the route's access rule refused the request ({}: {err}); sign in with .as_user(..) or .as_service()",
                    err.status().as_u16()
                ),
            }
        }
        let session = match (&route.session, &app.sessions) {
            (Some(spec), Some(sessions)) => {
                match crate::session::start(sessions, spec, request.headers()).await {
                    Ok(session) => Some(session),
                    Err(refusal) => panic!(
                        "{method} {path}: the route's session rule refused the request ({}: {})",
                        refusal.error.status().as_u16(),
                        refusal.error
                    ),
                }
            }
            _ => None,
        };
        let scope = Scope(Arc::new(ScopeInner {
            app: app.clone(),
            route: route.info.clone(),
            params,
            request_id,
            span,
            auth,
            body_done: std::sync::atomic::AtomicBool::new(false),
            session,
        }));
        let (parts, body) = request.into_parts();
        let body = axum::body::Body::new(http_body_util::Limited::new(
            body,
            app.config.body_limit as usize,
        ));
        match Ctx::from_request(Request::from_parts(parts, body), &scope).await {
            Ok(ctx) => ctx,
            Err(err) => panic!(
                "{method} {path}: reading the body failed ({}: {err})",
                err.status().as_u16()
            ),
        }
    }

    fn into_request(self) -> Request<axum::body::Body> {
        #[cfg_attr(not(feature = "auth"), allow(unused_mut))]
        let mut headers = self.headers;
        #[cfg(feature = "auth")]
        {
            if let Some(claims) = self.user {
                let token = self.app.token(serde_json::Value::Object(claims));
                if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
                    headers.insert(AUTHORIZATION, value);
                }
            }
            if self.service
                && let Ok(value) = HeaderValue::from_str(self.app.service_token())
            {
                headers.insert(webstir_auth::SERVICE_TOKEN_HEADER, value);
            }
        }
        if !self.body.is_empty() {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        let body = if self.body.is_empty() {
            axum::body::Body::empty()
        } else {
            axum::body::Body::from(self.body)
        };
        let mut request = Request::builder()
            .method(self.method)
            .uri(&self.path)
            .body(body)
            .unwrap_or_else(|err| panic!("invalid request path {:?}: {err}", self.path));
        *request.headers_mut() = headers;
        request
    }
}

#[cfg(feature = "auth")]
impl TestRequest<'_> {
    fn claims(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
        self.user.get_or_insert_with(|| {
            let mut claims = serde_json::Map::new();
            claims.insert("sub".into(), "test-user".into());
            claims
        })
    }

    /// Sign in as user `sub`: a bearer JWT signed with the app's test secret, checked by the real
    /// authenticator like any other (so `.authenticated()` routes answer 200, and `ctx.auth()`
    /// carries `user_id = sub`). Combine with [`TestRequest::scopes`], [`TestRequest::roles`] and
    /// [`TestRequest::claim`].
    pub fn as_user(mut self, sub: &str) -> Self {
        self.claims().insert("sub".into(), sub.into());
        self
    }

    /// Scopes in the signed-in user's token (the `scope` claim). Implies a user (`test-user`
    /// unless [`TestRequest::as_user`] names one).
    pub fn scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        let scopes: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.claims()
            .insert("scope".into(), scopes.join(" ").into());
        self
    }

    /// Roles in the signed-in user's token (the `roles` claim). Implies a user.
    pub fn roles<S: AsRef<str>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        let roles: Vec<serde_json::Value> = roles
            .into_iter()
            .map(|s| s.as_ref().to_owned().into())
            .collect();
        self.claims().insert("roles".into(), roles.into());
        self
    }

    /// Any other claim in the signed-in user's token (`email`, `tenant`, …). Implies a user.
    pub fn claim(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.claims().insert(name.into(), value.into());
        self
    }

    /// Call as a service: the app's test service token in `x-service-token`, so
    /// `.service_only()` routes accept it.
    pub fn as_service(mut self) -> Self {
        self.service = true;
        self
    }
}

/// A response read to its end.
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl std::fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestResponse")
            .field("status", &self.status.as_u16())
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl TestResponse {
    pub(super) async fn collect(response: http::Response<crate::server::response::Body>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => panic!(
                "reading the response body failed ({} response): {err}",
                parts.status
            ),
        };
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// The status code (`200`, `404`, …).
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// One header's value as text (the first, when repeated); `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text.
    ///
    /// # Panics
    /// When the body is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_else(|_| {
            panic!(
                "the {} response body is not UTF-8 ({} bytes)",
                self.status,
                self.body.len()
            )
        })
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON; the message shows the status and the body.
    pub fn json(&self) -> serde_json::Value {
        self.json_as()
    }

    /// The body deserialized from JSON into `T`.
    ///
    /// # Panics
    /// When the body is not JSON of that shape; the message shows the status and the body.
    pub fn json_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "the {} response body is not the expected JSON ({err}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}
