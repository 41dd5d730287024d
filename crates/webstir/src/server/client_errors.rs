//! `POST /client-errors`: the browser-side reporter posts uncaught errors here. As in the original:
//! JSON only (415 otherwise), at most 32 KiB (413), 204 when taken; an unreadable report is taken
//! and dropped (the reporter is fire-and-forget). Each client (peer IP) may send
//! `CLIENT_ERRORS_PER_MINUTE` reports a minute; more are 429 `rate_limited` with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::header::{CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;

use super::request_id;
use super::response::{self, Body};
use super::service::App;
use crate::{ConfigError, Env};

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// The path, as in the original (`/client-errors`, trailing slash allowed).
pub(crate) const PATH: &str = "/client-errors";
/// The largest report accepted.
pub(crate) const MAX_BYTES: usize = 32 * 1024;
/// Distinct clients tracked per minute; beyond this, new clients are refused for the rest of the
/// minute (a flood from many addresses cannot grow the table without bound).
const MAX_CLIENTS: usize = 10_000;
/// Rendered fields are cut to this many characters.
const MAX_FIELD: usize = 1_000;

pub(crate) fn is_path(path: &str) -> bool {
    path == PATH || path == "/client-errors/"
}

/// The connection's peer address, put on `/client-errors` requests only (the rate-limit key).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerIp(pub(crate) IpAddr);

/// The endpoint's settings and its per-client counters.
#[derive(Debug)]
pub(crate) struct ClientErrors {
    per_minute: u32,
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    minute: u64,
    counts: HashMap<IpAddr, u32>,
}

impl ClientErrors {
    /// `CLIENT_ERRORS` (on/off, default on) and `CLIENT_ERRORS_PER_MINUTE` (default 30).
    pub(crate) fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        if !super::edges::switch(env, "CLIENT_ERRORS", true)? {
            return Ok(None);
        }
        let per_minute = match env.get_trimmed("CLIENT_ERRORS_PER_MINUTE") {
            None => 30,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError {
                    name: "CLIENT_ERRORS_PER_MINUTE",
                    value: v.to_owned(),
                    problem: "must be a positive whole number (set CLIENT_ERRORS=off to turn the endpoint off)",
                })?,
        };
        Ok(Some(Self {
            per_minute,
            window: Mutex::new(Window::default()),
        }))
    }

    /// Counts a report from `ip` in minute `minute`; `false` when over the limit.
    fn admit(&self, ip: IpAddr, minute: u64) -> bool {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if window.minute != minute {
            window.minute = minute;
            window.counts.clear();
        }
        let full = window.counts.len() >= MAX_CLIENTS;
        match window.counts.get_mut(&ip) {
            Some(count) if *count >= self.per_minute => false,
            Some(count) => {
                *count += 1;
                true
            }
            None if full => false,
            None => {
                window.counts.insert(ip, 1);
                true
            }
        }
    }

    pub(crate) async fn receive<B>(&self, app: &App, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let start = Instant::now();
        let id_header = request_id::resolve(req.headers());
        let ip = req
            .extensions()
            .get::<PeerIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0);
        let elapsed = app.started.elapsed().as_secs();
        let mut res = if !self.admit(ip, elapsed / 60) {
            tracing::warn!(target: "webstir::security", client = %ip, "client error reports over the per-minute limit");
            let mut res = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many error reports from this client; try again in a minute.",
            );
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(60 - elapsed % 60));
            res
        } else {
            take(app, req, request_id::text(&id_header)).await
        };
        let status = res.status().as_u16();
        res.headers_mut().insert(X_REQUEST_ID, id_header.clone());
        app.finish(
            &tracing::Span::none(),
            request_id::text(&id_header),
            &Method::POST,
            "client-errors",
            status,
            start,
        );
        res
    }
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    response::json_value(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

fn too_large() -> Response<Body> {
    let mut res = refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "An error report may be at most 32768 bytes.",
    );
    res.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    res
}

async fn take<B>(app: &App, req: Request<B>, request_id: &str) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !crate::extract::media_type(content_type).eq_ignore_ascii_case("application/json") {
        let mut res = refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Error reports are JSON (content-type: application/json).",
        );
        res.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    if super::body::declared_too_large(req.body(), MAX_BYTES as u64) {
        return too_large();
    }
    let correlation = req
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned();
    let limit = app
        .config
        .request_timeout
        .unwrap_or(Duration::from_secs(30));
    let body = http_body_util::Limited::new(req.into_body(), MAX_BYTES);
    let bytes = match tokio::time::timeout(limit, body.collect()).await {
        Err(_) => {
            let mut res = refuse(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time.",
            );
            res.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return res;
        }
        Ok(Err(err)) if crate::extract::is_too_large(&*err) => return too_large(),
        // A broken body is dropped like an unreadable report.
        Ok(Err(_)) => return no_content(),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    if let Some(report) = Report::parse(&bytes, correlation) {
        report.log(request_id);
    }
    no_content()
}

fn no_content() -> Response<Body> {
    let mut res = Response::new(Body::default());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// A report's fields as the original reads them (missing or mistyped fields are empty or 0).
#[derive(Debug, Default, PartialEq)]
struct Report {
    kind: String,
    message: String,
    stack: String,
    filename: String,
    lineno: i64,
    colno: i64,
    page_url: String,
    user_agent: String,
    timestamp: String,
    correlation_id: String,
}

impl Report {
    fn parse(body: &[u8], correlation_header: String) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let text = |key: &str| {
            object
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let int = |key: &str| {
            object
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .filter(|n| n.is_finite())
                .map_or(0, |n| n.trunc() as i64)
        };
        let or = |value: String, default: &str| {
            if value.is_empty() {
                default.to_owned()
            } else {
                value
            }
        };
        Some(Self {
            kind: or(text("type"), "error"),
            message: or(text("message"), "Client error"),
            stack: text("stack"),
            filename: text("filename"),
            lineno: int("lineno"),
            colno: int("colno"),
            page_url: text("pageUrl"),
            user_agent: text("userAgent"),
            timestamp: text("timestamp"),
            correlation_id: or(text("correlationId"), &correlation_header),
        })
    }

    /// `type: message at file:line:col (correlation)` plus the stack's first line when the message
    /// does not already contain it; every field escaped (a report goes to a terminal) and cut.
    fn summary(&self) -> String {
        let mut out = format!("{}: {}", render(&self.kind), render(&self.message));
        if !self.filename.is_empty() {
            out.push_str(&format!(
                " at {}:{}:{}",
                render(&self.filename),
                self.lineno,
                self.colno
            ));
        }
        if !self.correlation_id.is_empty() {
            out.push_str(&format!(" ({})", render(&self.correlation_id)));
        }
        if let Some(first) = self.stack.lines().map(str::trim).find(|l| !l.is_empty())
            && !self.message.contains(first)
        {
            out.push_str(&format!("\n  {}", render(first)));
        }
        out
    }

    fn log(&self, request_id: &str) {
        tracing::error!(
            target: "webstir::client_errors",
            request_id,
            r#type = %render(&self.kind),
            message = %render(&self.message),
            stack = %render(&self.stack),
            filename = %render(&self.filename),
            lineno = self.lineno,
            colno = self.colno,
            page_url = %render(&self.page_url),
            user_agent = %render(&self.user_agent),
            timestamp = %render(&self.timestamp),
            correlation_id = %render(&self.correlation_id),
            "client error: {}",
            self.summary()
        );
    }
}

/// Control characters escaped (`\n` becomes the two characters `\` `n`), cut to `MAX_FIELD`
/// characters.
fn render(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_FIELD + 8));
    for (i, c) in value.chars().enumerate() {
        if i == MAX_FIELD {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let code = c as u32;
                if code > 0xff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\x{code:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_like_the_original() {
        let report = Report::parse(
            br#"{"message":"boom\nforged line","lineno":3.7,"filename":"app.js","stack":"Error: x\n at f"}"#,
            "corr-1".into(),
        )
        .unwrap();
        assert_eq!(report.kind, "error");
        assert_eq!(report.lineno, 3);
        assert_eq!(report.correlation_id, "corr-1");
        assert_eq!(
            report.summary(),
            "error: boom\\nforged line at app.js:3:0 (corr-1)\n  Error: x"
        );
        assert_eq!(Report::parse(b"[1]", String::new()), None);
        assert_eq!(Report::parse(b"not json", String::new()), None);
        assert_eq!(
            Report::parse(b"{}", String::new()).unwrap().message,
            "Client error"
        );
    }

    #[test]
    fn rendering_escapes_and_cuts() {
        assert_eq!(render("a\u{1b}[31m\u{2028}"), "a\\x1b[31m\\u2028");
        assert_eq!(render(&"x".repeat(2000)).chars().count(), MAX_FIELD + 1);
    }

    #[test]
    fn the_limit_is_per_client_and_per_minute() {
        let limiter = ClientErrors {
            per_minute: 2,
            window: Mutex::new(Window::default()),
        };
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        assert!(limiter.admit(a, 0));
        assert!(limiter.admit(a, 0));
        assert!(!limiter.admit(a, 0));
        assert!(limiter.admit(b, 0));
        assert!(limiter.admit(a, 1));
    }
}
