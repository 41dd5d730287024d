//! What a browser-facing app needs around the routes: CORS, the frontend's static files, default
//! security headers on HTML, and `POST /client-errors`. Each part is read from the environment once
//! at startup; a part that is off costs one branch per request.

use std::sync::Arc;

use http::header::{CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use http::{HeaderMap, HeaderValue, Method, Request, Response};

use super::client_errors::ClientErrors;
use super::cors::{Cors, CorsDecision};
use super::response::Body;
use super::service::App;
use super::statics::StaticFiles;
use crate::{ConfigError, Env};

/// The settings of the edges (see the module docs), resolved at startup.
#[derive(Default)]
pub(crate) struct Edges {
    /// `CORS_ALLOWED_ORIGINS` and friends; `None` = no CORS headers (nothing allowed).
    pub(crate) cors: Option<Cors>,
    /// `STATIC_FILES` / `STATIC_FILES_DIR`; `None` = no static files.
    pub(crate) files: Option<StaticFiles>,
    /// `SECURITY_HEADERS` (default on).
    pub(crate) security_headers: bool,
    /// `CLIENT_ERRORS` / `CLIENT_ERRORS_PER_MINUTE`; `None` = no `/client-errors` endpoint.
    pub(crate) client_errors: Option<ClientErrors>,
}

impl Edges {
    /// Reads every edge setting; a bad value is an error naming the variable and the fix.
    pub(crate) fn from_env(env: &Env, production: bool) -> Result<Self, ConfigError> {
        let root = crate::services::root_of(env);
        Ok(Self {
            cors: Cors::from_env(env, production)?,
            files: StaticFiles::from_env(env, &root)?,
            security_headers: switch(env, "SECURITY_HEADERS", true)?,
            client_errors: ClientErrors::from_env(env)?,
        })
    }
}

/// An on/off variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, `default` when unset.
pub(crate) fn switch(env: &Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get_trimmed(name).map(str::to_ascii_lowercase) {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError {
                name,
                value: v,
                problem: "must be on or off",
            }),
        },
    }
}

/// `X-Content-Type-Options: nosniff` on every response, and `X-Frame-Options` and `Referrer-Policy`
/// on an HTML response, unless the handler set its own.
pub(crate) fn add_security_headers(headers: &mut HeaderMap) {
    headers
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    let html = headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.len() >= 9 && v[..9].eq_ignore_ascii_case(b"text/html")
    });
    if html {
        headers
            .entry(X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
        headers
            .entry(REFERRER_POLICY)
            .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    }
}

impl App {
    /// The request through the edges and the pipeline ([`App::handle`]).
    pub(crate) async fn respond<B>(self: &Arc<Self>, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let cors = match &self.edges.cors {
            None => None,
            Some(cors) => match cors.decide(req.method(), req.headers()) {
                CorsDecision::Preflight(mut res) => {
                    if self.edges.security_headers {
                        add_security_headers(res.headers_mut());
                    }
                    return res;
                }
                CorsDecision::Actual(allowed) => Some((cors, allowed)),
            },
        };
        let mut res = match &self.edges.client_errors {
            Some(reports)
                if req.method() == Method::POST
                    && super::client_errors::is_path(req.uri().path()) =>
            {
                reports.receive(self, req).await
            }
            _ => self.handle(req).await,
        };
        if let Some((cors, allowed)) = cors {
            cors.decorate(res.headers_mut(), allowed);
        }
        if self.edges.security_headers {
            add_security_headers(res.headers_mut());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nosniff_everywhere_frame_and_referrer_on_html_and_handler_values_win() {
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        add_security_headers(&mut json);
        assert_eq!(json.len(), 2);
        assert_eq!(json[X_CONTENT_TYPE_OPTIONS], "nosniff");

        let mut html = HeaderMap::new();
        html.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("TEXT/HTML; charset=utf-8"),
        );
        html.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        add_security_headers(&mut html);
        assert_eq!(html[X_FRAME_OPTIONS], "SAMEORIGIN");
        assert_eq!(html[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(html[REFERRER_POLICY], "strict-origin-when-cross-origin");
    }

    #[test]
    fn switches_name_the_variable() {
        let env = Env::from_pairs([("SECURITY_HEADERS", "maybe")]);
        let err = switch(&env, "SECURITY_HEADERS", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SECURITY_HEADERS must be on or off, got 'maybe'"
        );
        let env = Env::from_pairs([("SECURITY_HEADERS", "OFF")]);
        assert!(!switch(&env, "SECURITY_HEADERS", true).unwrap());
    }
}
