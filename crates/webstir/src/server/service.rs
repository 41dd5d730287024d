//! The request pipeline: one fused service (no tower layer stack) from accept to `request.completed`.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use futures_util::FutureExt;
use http::header::CONNECTION;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::Instrument;

use super::body;
use super::deadline::{Deadline, Elapsed};
use super::health::Readiness;
use super::request_id;
use super::response::{self, Body};
use super::router::{Match, Router};
use crate::context::{Scope, ScopeInner, Services};
use crate::{Config, Env};

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// Everything a request needs, shared by all connections.
pub(crate) struct App {
    pub(crate) router: Router,
    /// The module's request-time views, matched after the routes for GET/HEAD (`views/`).
    pub(crate) views: Option<Router>,
    pub(crate) state: crate::module::StateMap,
    pub(crate) shutdown: crate::Shutdown,
    pub(crate) config: Config,
    pub(crate) env: Env,
    pub(crate) services: Services,
    pub(crate) readiness: Readiness,
    pub(crate) started: Instant,
    pub(crate) auth: webstir_auth::Authenticator,
    pub(crate) metrics: super::metrics::Metrics,
    /// Whether any credential can be accepted (JWT, service tokens or API keys configured).
    pub(crate) auth_enabled: bool,
    /// Sessions, when a route declares `session` or `flash`.
    pub(crate) sessions: Option<crate::session::Sessions>,
    /// CORS, static files, security headers, `/client-errors` (`server/edges.rs`).
    pub(crate) edges: super::edges::Edges,
}

/// Per-connection activity, for the idle timeout.
pub(crate) struct ConnState {
    pub(crate) in_flight: AtomicUsize,
    /// Milliseconds since `App::started` of the last request start or end.
    pub(crate) last_active_ms: AtomicU64,
    /// 1 + milliseconds since `App::started` when the current request head began to arrive (or the
    /// connection opened); 0 when no head is pending.
    pub(crate) head_since_ms: AtomicU64,
    /// The client's address (`/client-errors` limits reports per client).
    pub(crate) peer: Option<std::net::IpAddr>,
    /// Set (and `evict` notified) when the accept loop, under pressure, picks this idle keep-alive
    /// connection to close (`server/accept.rs`).
    pub(crate) evicted: std::sync::atomic::AtomicBool,
    pub(crate) evict: tokio::sync::Notify,
}

impl ConnState {
    pub(crate) fn new(app: &App) -> Self {
        let now = app.started.elapsed().as_millis() as u64;
        Self {
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(now),
            head_since_ms: AtomicU64::new(now + 1),
            peer: None,
            evicted: std::sync::atomic::AtomicBool::new(false),
            evict: tokio::sync::Notify::new(),
        }
    }
}

struct InFlight<'a> {
    conn: &'a ConnState,
    started: &'a Instant,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.conn
            .last_active_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub(crate) struct ConnService {
    pub(crate) app: Arc<App>,
    pub(crate) conn: Arc<ConnState>,
    /// The module's tower layers around [`AppService`], when it has any.
    pub(crate) layered: Option<crate::handler::RouteService>,
}

/// The whole request pipeline as a tower service (what module layers wrap).
#[derive(Clone)]
pub(crate) struct AppService(pub(crate) Arc<App>);

impl tower_service::Service<Request<axum::body::Body>> for AppService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<axum::body::Body>) -> Self::Future {
        let app = self.0.clone();
        Box::pin(async move { Ok(app.respond(req).await.map(axum::body::Body::from)) })
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if let Some(res) = self.app.host_problem(&req) {
            return Box::pin(async move { Ok(res) });
        }
        if let Some(peer) = self.conn.peer
            && super::client_errors::is_path(req.uri().path())
        {
            req.extensions_mut()
                .insert(super::client_errors::PeerIp(peer));
        }
        let app = self.app.clone();
        let conn = self.conn.clone();
        let layered = self.layered.clone();
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        conn.head_since_ms.store(0, Ordering::Relaxed);
        Box::pin(async move {
            let _guard = InFlight {
                conn: &conn,
                started: &app.started,
            };
            Ok(app.dispatch(layered, req).await)
        })
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    crate::panic_text(payload)
        .unwrap_or("panic with a non-string payload")
        .to_owned()
}

impl App {
    /// RFC 9112 §3.2: 400 for an HTTP/1.1 request without `Host`, and for any request with more
    /// than one (HTTP/1.0 may omit it). Checked before routing, on the socket path only.
    fn host_problem<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        let mut hosts = req.headers().get_all(http::header::HOST).iter();
        let message = match (hosts.next(), hosts.next()) {
            (Some(_), None) => return None,
            (None, _) if req.version() < http::Version::HTTP_11 => return None,
            (None, _) => "An HTTP/1.1 request needs a Host header.",
            (Some(_), Some(_)) => "A request may carry only one Host header.",
        };
        let id_header = request_id::resolve(req.headers());
        let id = request_id::text(&id_header).to_owned();
        let mut res = response::json_value(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": "bad_request", "message": message }),
        );
        let headers = res.headers_mut();
        headers.insert(X_REQUEST_ID, id_header);
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        if self.edges.security_headers {
            super::edges::add_security_headers(headers);
        }
        let start = Instant::now();
        self.finish(&tracing::Span::none(), &id, req.method(), "-", 400, start);
        Some(res)
    }

    pub(crate) fn expose_errors(&self) -> bool {
        !self.config.is_production()
    }

    /// One request through the module's layers (when it has any) and the pipeline: what every
    /// connection calls, and what the test kit calls without a socket.
    pub(crate) async fn dispatch<B>(
        self: &Arc<Self>,
        layered: Option<crate::handler::RouteService>,
        req: Request<B>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match layered {
            None => self.respond(req).await,
            Some(service) => {
                let req = req.map(axum::body::Body::new);
                let response = match tower::ServiceExt::oneshot(service, req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                response.map(Body::Any)
            }
        }
    }

    /// Whether the route's access rule has to look at this request's credentials.
    pub(crate) fn needs_check(
        &self,
        requirement: &webstir_auth::Requirement,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> bool {
        !requirement.is_public()
            || (self.auth_enabled && crate::auth::has_credential(headers, query))
    }

    /// The route's access rule applied to the request's credentials (when [`App::needs_check`]),
    /// before its body is read.
    pub(crate) async fn gate(
        &self,
        requirement: &webstir_auth::Requirement,
        headers: &http::HeaderMap,
        query: Option<&str>,
        span: &tracing::Span,
    ) -> crate::auth::Gate {
        let outcome = if self.auth_enabled {
            self.auth
                .authenticate(headers, query)
                .instrument(span.clone())
                .await
        } else {
            webstir_auth::AuthOutcome::Anonymous
        };
        crate::auth::decide(requirement, outcome)
    }

    pub(crate) async fn handle<B>(self: &Arc<Self>, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = req.uri().path();
        let probe = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        match probe {
            "/healthz" | "/api/health" => return self.readiness.health(self.started),
            "/readyz" => return self.readiness.ready(self.metrics.snapshot()).await,
            "/metrics" => {
                let body = self
                    .metrics
                    .snapshot()
                    .unwrap_or_else(|| serde_json::json!({ "enabled": false }));
                return response::json_value(StatusCode::OK, &body);
            }
            _ => {}
        }
        if self.readiness.is_booting() {
            let mut res = response::json_value(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({
                    "error": "booting",
                    "message": "The server is starting; try again shortly.",
                }),
            );
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            return res;
        }
        let start = Instant::now();
        let method = req.method().clone();
        let mut found = self.router.find(&method, path);
        if !matches!(found, Match::Route(..))
            && (method == Method::GET || method == Method::HEAD)
            && let Some(views) = &self.views
            && let view @ Match::Route(..) = views.find(&method, path)
        {
            found = view;
        }
        let (route, params) = match found {
            Match::Route(route, params) => (route, params),
            Match::MethodNotAllowed(_) | Match::NotFound if method == Method::OPTIONS => {
                let mut res = self.preflight(&req);
                res.headers_mut()
                    .insert(X_REQUEST_ID, request_id::resolve(req.headers()));
                return res;
            }
            Match::MethodNotAllowed(allowed) => {
                let id_header = request_id::resolve(req.headers());
                let id = request_id::text(&id_header).to_owned();
                let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                let mut res = response::json_value(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &serde_json::json!({
                        "error": "method_not_allowed",
                        "method": method.as_str(),
                        "path": path,
                        "allowed": list,
                    }),
                );
                if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
                    res.headers_mut().insert(http::header::ALLOW, v);
                }
                res.headers_mut().insert(X_REQUEST_ID, id_header);
                self.finish(&tracing::Span::none(), &id, &method, path, 405, start);
                return res;
            }
            Match::NotFound => {
                if let Some(files) = &self.edges.files
                    && let Some(res) = files.serve(&method, path, req.headers()).await
                {
                    return self.finish_static(res, req.headers(), &method, start);
                }
                let id_header = request_id::resolve(req.headers());
                let id = request_id::text(&id_header).to_owned();
                let normalized = webstir_manifest::normalize_path(path);
                let mut res = response::json_value(
                    StatusCode::NOT_FOUND,
                    &serde_json::json!({ "error": "not_found", "path": normalized }),
                );
                res.headers_mut().insert(X_REQUEST_ID, id_header);
                self.finish(&tracing::Span::none(), &id, &method, path, 404, start);
                return res;
            }
        };

        let (id_header, id) = request_id::resolve_pair(req.headers());
        let span = tracing::info_span!(
            target: "webstir::http",
            "request",
            request_id = %id.as_str(),
            method = %method,
            route = %route.info.name,
        );
        let name: &str = &route.info.name;
        let deny = |app: &App, err: crate::Error, close: bool| {
            let status = err.status();
            let mut res = response::from_error(err, false).response;
            res.headers_mut().insert(X_REQUEST_ID, id_header.clone());
            if close {
                res.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            app.finish(&span, id.as_str(), &method, name, status.as_u16(), start);
            res
        };
        let has_body = !req.body().is_end_stream();

        // beforeAuth hooks run before the access rule; they may answer, or set the caller.
        let mut req = req;
        let mut preset = None;
        if let Some(hooks) = route.hooks.as_deref()
            && hooks.has_before_auth()
        {
            let pre = crate::hooks::Pre::new(
                self.clone(),
                route.info.clone(),
                params.clone(),
                id.clone(),
                span.clone(),
            );
            match crate::hooks::before_auth(hooks, pre, req).await {
                crate::hooks::BeforeAuth::Continue(request, caller) => {
                    req = request;
                    preset = caller;
                }
                crate::hooks::BeforeAuth::Respond(res) => {
                    let (mut res, failure) = response::from_axum(res, self.expose_errors());
                    if let Some(message) = failure {
                        tracing::error!(target: "webstir::http", parent: &span, error = %message, "request handler failed");
                    }
                    res.headers_mut().insert(X_REQUEST_ID, id_header.clone());
                    let status = res.status().as_u16();
                    self.finish(&span, id.as_str(), &method, name, status, start);
                    return res;
                }
            }
        }

        // The access rule is decided before a byte of the body is read (and before `100 Continue`).
        let mut auth = None;
        if let Some(caller) = preset {
            // A beforeAuth hook set the caller: the rule judges it instead of the credentials.
            let outcome = webstir_auth::AuthOutcome::Authenticated(caller);
            match crate::auth::decide(&route.requirement, outcome) {
                crate::auth::Gate::Allow(context) => auth = context,
                crate::auth::Gate::Deny(err) => return deny(self, err, has_body),
            }
        } else if self.needs_check(&route.requirement, req.headers(), req.uri().query()) {
            match self
                .gate(&route.requirement, req.headers(), req.uri().query(), &span)
                .await
            {
                crate::auth::Gate::Allow(context) => auth = context,
                crate::auth::Gate::Deny(err) => {
                    tracing::warn!(target: "webstir::security", parent: &span, status = err.status().as_u16(), "request denied by the route's access rule");
                    return deny(self, err, has_body);
                }
            }
        }
        if has_body {
            if body::declared_too_large(req.body(), self.config.body_limit) {
                return deny(
                    self,
                    crate::extract::too_large(self.config.body_limit),
                    true,
                );
            }
            if let Some(types) = route.form_types {
                let content_type = req
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let media = crate::extract::media_type(content_type);
                if !types.iter().any(|t| media.eq_ignore_ascii_case(t)) {
                    let err = crate::Error::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        format!(
                            "This route accepts form bodies ({}), got '{}'.",
                            types.join(", "),
                            crate::extract::echo(content_type)
                        ),
                    );
                    return deny(self, err, true);
                }
            }
        }

        // Only routes that declare `session` or `flash` read the cookie or reach the store.
        let session = match (&route.session, &self.sessions) {
            (Some(spec), Some(sessions)) => {
                match crate::session::start(sessions, spec, req.headers())
                    .instrument(span.clone())
                    .await
                {
                    Ok(session) => Some(session),
                    Err(refusal) => {
                        let crate::session::Refusal { error, clear } = refusal;
                        let mut res = deny(self, error, has_body);
                        if let Some(clear) = clear {
                            res.headers_mut().append(http::header::SET_COOKIE, clear);
                        }
                        return res;
                    }
                }
            }
            _ => None,
        };
        let scope = Scope(Arc::new(ScopeInner {
            app: self.clone(),
            route: route.info.clone(),
            params,
            request_id: id.clone(),
            span: span.clone(),
            auth,
            body_done: std::sync::atomic::AtomicBool::new(false),
            session: session.clone(),
        }));
        // Kept to tell a slow body from a slow handler if the deadline passes.
        let watch = has_body.then(|| scope.clone());
        let (parts, incoming) = req.into_parts();
        let mut body = if has_body {
            axum::body::Body::new(http_body_util::Limited::new(
                incoming,
                self.config.body_limit as usize,
            ))
        } else {
            axum::body::Body::empty()
        };
        // Cookie-authenticated state changes: same-site only, and CSRF forms need their token.
        if let (Some(session), Some(spec)) = (&session, &route.session)
            && crate::csrf::unsafe_method(&parts.method)
        {
            let trusted = |origin: &str| self.edges.cors.as_ref().is_some_and(|c| c.trusts(origin));
            if let Err(err) = crate::csrf::check_site(&parts.headers, trusted) {
                tracing::warn!(target: "webstir::security", parent: &span, "cross-site request to a cookie-authenticated route refused");
                return deny(self, err, has_body);
            }
            if spec.csrf {
                let bytes = match http_body_util::BodyExt::collect(body).await {
                    Ok(collected) => collected.to_bytes(),
                    Err(err) if crate::extract::is_too_large(&err) => {
                        return deny(
                            self,
                            crate::extract::too_large(self.config.body_limit),
                            true,
                        );
                    }
                    Err(_) => {
                        let err = crate::Error::bad_request(
                            "bad_request",
                            "The request body could not be read.",
                        );
                        return deny(self, err, true);
                    }
                };
                let token = crate::csrf::presented(&parts.headers, &bytes).await;
                if let Err(err) = crate::csrf::verify(session, spec.route_name(), token.as_deref())
                {
                    tracing::warn!(target: "webstir::security", parent: &span, "form submitted without a valid CSRF token");
                    return deny(self, err, false);
                }
                body = axum::body::Body::from(bytes);
            }
        }
        let request = Request::from_parts(parts, body);
        let expose = self.expose_errors();

        let call = std::panic::catch_unwind(AssertUnwindSafe(|| match &route.hooks {
            Some(hooks) if hooks.around_handler() => {
                crate::hooks::around(hooks.clone(), &route.endpoint, request, scope)
            }
            _ => route.endpoint.call(request, scope),
        }));
        let request_id = "";
        let outcome = match call {
            Err(payload) => Err(panic_message(&*payload)),
            Ok(fut) => {
                let fut = AssertUnwindSafe(fut)
                    .catch_unwind()
                    .instrument(span.clone());
                match Deadline::new(fut, self.config.request_timeout).await {
                    Ok(result) => result.map_err(|payload| panic_message(&*payload)),
                    Err(Elapsed) => {
                        let limit = self.config.request_timeout.unwrap_or_default();
                        let body_pending = watch.as_ref().is_some_and(|scope| {
                            !scope.0.body_done.load(std::sync::atomic::Ordering::Relaxed)
                        });
                        let (status, message) = if body_pending {
                            (
                                StatusCode::REQUEST_TIMEOUT,
                                "The request body did not arrive in time.".to_owned(),
                            )
                        } else {
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                format!("The request took longer than {} ms.", limit.as_millis()),
                            )
                        };
                        let mut res = response::json_value(
                            status,
                            &serde_json::json!({ "error": "request_timeout", "message": message }),
                        );
                        res.headers_mut().insert(X_REQUEST_ID, id_header);
                        if body_pending {
                            res.headers_mut()
                                .insert(CONNECTION, HeaderValue::from_static("close"));
                        }
                        tracing::error!(target: "webstir::http", parent: &span, timeout_ms = limit.as_millis() as u64, "request handler timed out");
                        self.finish(&span, request_id, &method, name, status.as_u16(), start);
                        return res;
                    }
                }
            }
        };

        let mut response = match outcome {
            Ok(response) => {
                let (response, failure) = response::from_axum(response, expose);
                if let Some(message) = failure {
                    tracing::error!(target: "webstir::http", parent: &span, error = %message, "request handler failed");
                }
                response
            }
            Err(panic) => {
                tracing::error!(target: "webstir::http", parent: &span, panic = %panic, "request handler panicked");
                response::internal(&panic, expose)
            }
        };
        if let Some(session) = &session {
            session
                .commit(&mut response, expose)
                .instrument(span.clone())
                .await;
        }
        response.headers_mut().insert(X_REQUEST_ID, id_header);
        self.finish(
            &span,
            request_id,
            &method,
            name,
            response.status().as_u16(),
            start,
        );
        response
    }

    fn preflight<B>(&self, req: &Request<B>) -> Response<Body> {
        let mut res = Response::new(Body::default());
        *res.status_mut() = StatusCode::NO_CONTENT;
        let headers = res.headers_mut();
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"),
        );
        let allow_headers = req
            .headers()
            .get("access-control-request-headers")
            .cloned()
            .unwrap_or(HeaderValue::from_static("content-type"));
        headers.insert("access-control-allow-headers", allow_headers);
        // No `access-control-allow-origin` here: cross-origin access is only what
        // `CORS_ALLOWED_ORIGINS` allows (`server/cors.rs` answers those preflights).
        res
    }
}

impl App {
    /// Record metrics and log `request.completed`.
    pub(super) fn finish(
        &self,
        span: &tracing::Span,
        request_id: &str,
        method: &Method,
        route: &str,
        status: u16,
        start: Instant,
    ) {
        self.metrics
            .record(status, start.elapsed().as_micros() as u64);
        log_completed(span, request_id, method, route, status, start);
    }
}

fn log_completed(
    span: &tracing::Span,
    request_id: &str,
    method: &Method,
    route: &str,
    status: u16,
    start: Instant,
) {
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    if span.is_none() {
        tracing::info!(
            target: "webstir::http",
            request_id,
            method = %method,
            route,
            status,
            duration_ms,
            "request.completed"
        );
    } else {
        tracing::info!(target: "webstir::http", parent: span, status, duration_ms, "request.completed");
    }
}
