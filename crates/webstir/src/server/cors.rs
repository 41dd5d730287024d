//! CORS from the environment: an allow-list of exact origins (or `*` without credentials), answered
//! on preflights and on the actual responses, errors and 404s included.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use super::request_id;
use super::response::Body;
use crate::{ConfigError, Env};

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");
const METHODS: HeaderValue = HeaderValue::from_static("GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS");
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("origin");
const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// Which origins may read responses.
#[derive(Debug)]
enum Origins {
    /// `*`: any origin, never with credentials.
    Any,
    /// Exact origins (`scheme://host[:port]`, lower case).
    List(Vec<HeaderValue>),
}

/// The CORS settings (`CORS_*`).
#[derive(Debug)]
pub(crate) struct Cors {
    origins: Origins,
    credentials: bool,
    /// `CORS_ALLOWED_HEADERS`; `None` = the headers the preflight asks for.
    headers: Option<HeaderValue>,
    max_age: HeaderValue,
}

/// What the pipeline does with a request, CORS-wise.
pub(crate) enum CorsDecision {
    /// A preflight: answered here, nothing else runs.
    Preflight(Response<Body>),
    /// An actual request: the `Access-Control-Allow-Origin` value for its response, if allowed.
    Actual(Option<HeaderValue>),
}

impl Cors {
    /// `None` when `CORS_ALLOWED_ORIGINS` is unset or blank.
    pub(crate) fn from_env(env: &Env, production: bool) -> Result<Option<Self>, ConfigError> {
        let Some(list) = env.get_trimmed("CORS_ALLOWED_ORIGINS") else {
            return Ok(None);
        };
        let credentials = super::edges::switch(env, "CORS_ALLOW_CREDENTIALS", false)?;
        let entries: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        let origins = if entries.contains(&"*") {
            if entries.len() > 1 {
                return Err(ConfigError {
                    name: "CORS_ALLOWED_ORIGINS",
                    value: list.to_owned(),
                    problem: "must be * alone or a list of exact origins, not both",
                });
            }
            if credentials {
                return Err(ConfigError {
                    name: "CORS_ALLOWED_ORIGINS",
                    value: list.to_owned(),
                    problem: "cannot be * while CORS_ALLOW_CREDENTIALS is on (browsers refuse it); \
                              list the exact origins, or turn CORS_ALLOW_CREDENTIALS off",
                });
            }
            if production {
                tracing::warn!(
                    target: "webstir::app",
                    "CORS_ALLOWED_ORIGINS=* lets any website read this app's responses; list the exact origins unless the API is meant to be public"
                );
            }
            Origins::Any
        } else {
            let mut origins = Vec::with_capacity(entries.len());
            for entry in entries {
                origins.push(parse_origin(entry).ok_or_else(|| ConfigError {
                    name: "CORS_ALLOWED_ORIGINS",
                    value: entry.to_owned(),
                    problem: "must list origins as scheme://host[:port], comma-separated, with no \
                              path or trailing slash (e.g. https://app.example.com,http://localhost:5173)",
                })?);
            }
            Origins::List(origins)
        };
        let headers = match env.get_trimmed("CORS_ALLOWED_HEADERS") {
            None => None,
            Some(v) => {
                let names: Vec<&str> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .collect();
                let valid = !names.is_empty()
                    && names
                        .iter()
                        .all(|n| http::HeaderName::from_bytes(n.as_bytes()).is_ok());
                match valid
                    .then(|| HeaderValue::from_str(&names.join(", ")).ok())
                    .flatten()
                {
                    Some(value) => Some(value),
                    None => {
                        return Err(ConfigError {
                            name: "CORS_ALLOWED_HEADERS",
                            value: v.to_owned(),
                            problem: "must be comma-separated header names (e.g. content-type,authorization)",
                        });
                    }
                }
            }
        };
        let max_age: u32 = match env.get_trimmed("CORS_MAX_AGE") {
            None => 600,
            Some(v) => v.parse().map_err(|_| ConfigError {
                name: "CORS_MAX_AGE",
                value: v.to_owned(),
                problem: "must be a whole number of seconds",
            })?,
        };
        Ok(Some(Self {
            origins,
            credentials,
            headers,
            max_age: HeaderValue::from(max_age),
        }))
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, when it is allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match &self.origins {
            Origins::Any => Some(HeaderValue::from_static("*")),
            Origins::List(list) => list
                .iter()
                .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
                .then(|| origin.clone()),
        }
    }

    /// Whether `origin` is listed in `CORS_ALLOWED_ORIGINS` (`*` trusts no one: it is for reading
    /// public responses, not for sending cookie-authenticated requests).
    pub(crate) fn trusts(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => false,
            Origins::List(list) => list
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        }
    }

    pub(crate) fn decide(&self, method: &Method, headers: &HeaderMap) -> CorsDecision {
        let Some(origin) = headers.get(ORIGIN) else {
            return CorsDecision::Actual(None);
        };
        let allowed = self.allow(origin);
        if method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return CorsDecision::Preflight(self.preflight(headers, allowed));
        }
        CorsDecision::Actual(allowed)
    }

    fn preflight(&self, headers: &HeaderMap, allowed: Option<HeaderValue>) -> Response<Body> {
        let mut res = Response::new(Body::default());
        *res.status_mut() = StatusCode::NO_CONTENT;
        let out = res.headers_mut();
        out.insert(X_REQUEST_ID, request_id::resolve(headers));
        out.insert(VARY, VARY_PREFLIGHT);
        if let Some(origin) = allowed {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
            let asked = headers.get(ACCESS_CONTROL_REQUEST_HEADERS);
            if let Some(value) = self.headers.as_ref().or(asked) {
                out.insert(ACCESS_CONTROL_ALLOW_HEADERS, value.clone());
            }
            out.insert(ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
            if self.credentials {
                out.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
        res
    }

    /// The CORS headers of an actual response (`Vary: Origin` on every response when the answer
    /// depends on the origin, so caches keep them apart).
    pub(crate) fn decorate(&self, out: &mut HeaderMap, allowed: Option<HeaderValue>) {
        if matches!(self.origins, Origins::List(_)) {
            out.append(VARY, VARY_ORIGIN);
        }
        if let Some(origin) = allowed {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id"),
            );
            if self.credentials {
                out.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
    }
}

/// `scheme://host[:port]`, lower-cased; `None` for anything else (paths, trailing slashes,
/// credentials, `null`).
fn parse_origin(entry: &str) -> Option<HeaderValue> {
    let lower = entry.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 literal's colons sit inside brackets.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if !host_ok || !port_ok {
        return None;
    }
    HeaderValue::from_str(&lower).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(pairs: &[(&str, &str)], production: bool) -> Result<Option<Cors>, ConfigError> {
        Cors::from_env(&Env::from_pairs(pairs.iter().copied()), production)
    }

    #[test]
    fn origins_are_exact_scheme_host_port() {
        for good in [
            "https://app.example.com",
            "http://localhost:5173",
            "HTTPS://App.Example.com",
            "http://[::1]:8080",
            "http://127.0.0.1",
        ] {
            assert!(parse_origin(good).is_some(), "{good}");
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "https://app.example.com:port",
            "https://app.example.com:99999",
            "null",
            "https://",
            "*.example.com",
            "https://*.example.com",
        ] {
            assert!(parse_origin(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn config_errors_name_the_variable_and_the_fix() {
        assert!(cors(&[], true).unwrap().is_none());
        let err = cors(
            &[
                ("CORS_ALLOWED_ORIGINS", "*"),
                ("CORS_ALLOW_CREDENTIALS", "on"),
            ],
            false,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CORS_ALLOWED_ORIGINS cannot be * while CORS_ALLOW_CREDENTIALS is on"),
            "{err}"
        );
        let err = cors(
            &[(
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example/",
            )],
            false,
        )
        .unwrap_err();
        assert_eq!(err.name, "CORS_ALLOWED_ORIGINS");
        assert_eq!(err.value, "https://b.example/");
        assert!(err.problem.contains("no path or trailing slash"));
        let err = cors(
            &[("CORS_ALLOWED_ORIGINS", "*"), ("CORS_MAX_AGE", "soon")],
            false,
        )
        .unwrap_err();
        assert_eq!(err.name, "CORS_MAX_AGE");
        let err = cors(
            &[
                ("CORS_ALLOWED_ORIGINS", "https://a.example"),
                ("CORS_ALLOWED_HEADERS", "x token"),
            ],
            false,
        )
        .unwrap_err();
        assert_eq!(err.name, "CORS_ALLOWED_HEADERS");
        assert!(cors(&[("CORS_ALLOWED_ORIGINS", "*, https://a.example")], false).is_err());
    }

    #[test]
    fn decisions() {
        let cors = cors(
            &[("CORS_ALLOWED_ORIGINS", "https://app.example.com")],
            false,
        )
        .unwrap()
        .unwrap();
        let mut headers = HeaderMap::new();
        assert!(matches!(
            cors.decide(&Method::GET, &headers),
            CorsDecision::Actual(None)
        ));
        headers.insert(ORIGIN, HeaderValue::from_static("https://app.example.com"));
        assert!(matches!(
            cors.decide(&Method::GET, &headers),
            CorsDecision::Actual(Some(_))
        ));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(matches!(
            cors.decide(&Method::GET, &headers),
            CorsDecision::Actual(None)
        ));
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        );
        let CorsDecision::Preflight(res) = cors.decide(&Method::OPTIONS, &headers) else {
            panic!("expected a preflight answer");
        };
        assert_eq!(res.status(), 204);
        assert!(!res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    }
}
