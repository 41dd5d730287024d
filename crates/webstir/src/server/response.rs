//! Building HTTP responses: from handler replies, handler errors, and the runtime's own JSON errors.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::Error;
use crate::error::{ApiError, ErrorKind};
use crate::reply::{Reply, ReplyKind};

/// The response body the server writes: the runtime's own buffered bodies, or any body a handler
/// or layer produced (streams included).
pub(crate) enum Body {
    Full(Full<Bytes>),
    Any(axum::body::Body),
}

impl Default for Body {
    fn default() -> Self {
        Body::Full(Full::default())
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        match self.get_mut() {
            Body::Full(full) => std::pin::Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Body::Any(body) => std::pin::Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Any(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Any(body) => body.size_hint(),
        }
    }
}

impl From<Body> for axum::body::Body {
    fn from(body: Body) -> Self {
        match body {
            Body::Full(full) => axum::body::Body::new(full),
            Body::Any(body) => body,
        }
    }
}

/// A failure behind a 500 response built outside the runtime's view (in `IntoResponse`): the
/// runtime logs it and, outside production, puts the message in the body.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    /// The body is the generic `internal_error` one.
    pub(crate) internal: bool,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut res = Response::new(Body::Full(Full::new(body.into())));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, JSON);
    res
}

pub(crate) fn json_value(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    json(status, serde_json::to_vec(value).unwrap_or_default())
}

/// 500 `{"error":"internal_error"}`; the message is included only outside production.
pub(crate) fn internal(message: &str, expose: bool) -> Response<Body> {
    let body = if expose {
        serde_json::json!({ "error": "internal_error", "message": message })
    } else {
        serde_json::json!({ "error": "internal_error" })
    };
    json_value(StatusCode::INTERNAL_SERVER_ERROR, &body)
}

fn errors_body(status: StatusCode, errors: &[ApiError]) -> Response<Body> {
    json_value(status, &serde_json::json!({ "errors": errors }))
}

/// The outcome of turning a reply into a response: the response, plus an internal failure to log.
pub(crate) struct Built {
    pub(crate) response: Response<Body>,
    pub(crate) failure: Option<String>,
    /// The response is the generic 500 `internal_error` body (its message may be shown in dev).
    pub(crate) internal: bool,
}

pub(crate) fn from_error(err: Error, expose: bool) -> Built {
    match err.kind {
        ErrorKind::Api {
            status,
            errors,
            headers,
            plain,
        } => {
            let mut response = match errors.first() {
                Some(first) if plain => json_value(
                    status,
                    &serde_json::json!({ "error": first.code, "message": first.message }),
                ),
                _ => errors_body(status, &errors),
            };
            for (name, value) in headers {
                response.headers_mut().append(name, value);
            }
            Built {
                response,
                failure: None,
                internal: false,
            }
        }
        ErrorKind::Internal(_) => {
            let message = err.to_string();
            Built {
                response: internal(&message, expose),
                failure: Some(message),
                internal: true,
            }
        }
    }
}

pub(crate) fn from_reply(reply: Reply, head: bool, expose: bool) -> Built {
    let status = reply.status.unwrap_or_else(|| reply.default_status());
    let has_content_type = reply.has_header(&CONTENT_TYPE);
    let has_cache_control = reply.has_header(&CACHE_CONTROL);
    let Reply { headers, kind, .. } = reply;
    // Handler headers first; the runtime's own headers below replace same-named ones.
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        map.append(name, value);
    }
    let body: Bytes = match kind {
        ReplyKind::Empty => Bytes::new(),
        ReplyKind::Body {
            bytes,
            content_type,
        } => {
            if !has_content_type {
                map.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            bytes
        }
        ReplyKind::Redirect { location } => match HeaderValue::from_str(&location) {
            Ok(value) => {
                map.insert(LOCATION, value);
                Bytes::new()
            }
            Err(_) => {
                let message =
                    format!("redirect location is not a valid header value: {location:?}");
                return Built {
                    response: internal(&message, expose),
                    failure: Some(message),
                    internal: true,
                };
            }
        },
        ReplyKind::Fragment {
            target,
            selector,
            mode,
            html,
        } => {
            let target = target.trim();
            let selector = selector.as_deref().map(str::trim);
            let mut issues = Vec::new();
            if target.is_empty() {
                issues.push("target");
            }
            if selector.is_some_and(str::is_empty) {
                issues.push("selector");
            }
            let target_value = HeaderValue::from_str(target);
            let selector_value = selector.map(HeaderValue::from_str).transpose();
            if target_value.is_err() || selector_value.is_err() {
                issues.push("header");
            }
            if !issues.is_empty() {
                let status = if status.as_u16() >= 400 {
                    status
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                let error = ApiError::new(
                    "invalid_fragment_response",
                    "Fragment responses require a non-empty target, supported mode, and body.",
                )
                .with_details(serde_json::json!(issues));
                let mut response = errors_body(status, &[error]);
                for (name, value) in map.drain() {
                    if let Some(name) = name {
                        response.headers_mut().append(name, value);
                    }
                }
                return Built {
                    response,
                    failure: Some("invalid fragment response".to_owned()),
                    internal: false,
                };
            }
            map.insert(
                http::HeaderName::from_static("x-webstir-fragment-cache"),
                HeaderValue::from_static("bypass"),
            );
            if let Ok(v) = target_value {
                map.insert(
                    http::HeaderName::from_static("x-webstir-fragment-target"),
                    v,
                );
            }
            if let Ok(Some(v)) = selector_value {
                map.insert(
                    http::HeaderName::from_static("x-webstir-fragment-selector"),
                    v,
                );
            }
            if let Some(mode) = mode {
                map.insert(
                    http::HeaderName::from_static("x-webstir-fragment-mode"),
                    HeaderValue::from_static(mode.as_str()),
                );
            }
            if !has_cache_control {
                map.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            if !has_content_type {
                map.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
            }
            html
        }
        ReplyKind::Errors(errors) => {
            if !has_content_type {
                map.insert(CONTENT_TYPE, JSON);
            }
            Bytes::from(
                serde_json::to_vec(&serde_json::json!({ "errors": errors })).unwrap_or_default(),
            )
        }
        ReplyKind::Broken(message) => {
            return Built {
                response: internal(&message, expose),
                failure: Some(message),
                internal: true,
            };
        }
    };
    let mut response = Response::new(Body::Full(Full::new(if head {
        Bytes::new()
    } else {
        body
    })));
    *response.status_mut() = status;
    *response.headers_mut() = map;
    Built {
        response,
        failure: None,
        internal: false,
    }
}

/// `Response<Body>` → axum's response (for `IntoResponse`), keeping a failure to log.
fn into_axum(built: Built) -> axum::response::Response {
    let Built {
        response,
        failure,
        internal,
    } = built;
    let mut response = response.map(axum::body::Body::from);
    if let Some(message) = failure {
        response
            .extensions_mut()
            .insert(Failure { message, internal });
    }
    response
}

impl axum::response::IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        into_axum(from_reply(self, false, false))
    }
}

impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        into_axum(from_error(self, false))
    }
}

/// Whether a handler's response is a 500 built from an internal error (or a broken reply).
pub(crate) fn is_internal_failure(response: &axum::response::Response) -> bool {
    response
        .extensions()
        .get::<Failure>()
        .is_some_and(|failure| failure.internal)
}

/// A handler's response → the server's: log a failure, show its message outside production.
pub(crate) fn from_axum(
    response: axum::response::Response,
    expose: bool,
) -> (Response<Body>, Option<String>) {
    let (mut parts, body) = response.into_parts();
    let failure = parts.extensions.remove::<Failure>();
    let generic = failure.as_ref().is_some_and(|f| f.internal);
    let failure = failure.map(|f| f.message);
    if let Some(message) = &failure
        && expose
        && generic
        && parts.status == StatusCode::INTERNAL_SERVER_ERROR
    {
        let mut res = internal(message, true);
        for (name, value) in &parts.headers {
            if name != http::header::CONTENT_LENGTH && name != CONTENT_TYPE {
                res.headers_mut().append(name.clone(), value.clone());
            }
        }
        return (res, failure);
    }
    (Response::from_parts(parts, Body::Any(body)), failure)
}
