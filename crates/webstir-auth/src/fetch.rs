//! The tiny HTTP client the JWKS cache uses: one GET, a total timeout, a body cap.
//!
//! `http://` is always available (hyper + hyper-util). `https://` needs the `jwks-https` feature
//! (rustls with the `ring` provider and the webpki root certificates; never aws-lc or OpenSSL).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::AuthError;

/// Largest accepted JWKS document.
const MAX_BODY_BYTES: usize = 512 * 1024;

/// A successful fetch.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    /// Freshness from `Cache-Control`: `Some(0)` for `no-store` / `no-cache` / `max-age=0`.
    pub(crate) max_age: Option<Duration>,
}

/// Why a fetch failed. Only ever logged by its `Display` (no secrets involved: the URL is config).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("status {0}")]
    Status(StatusCode),
    #[error("request failed: {0}")]
    Request(String),
    #[error("body failed or too large: {0}")]
    Body(String),
}

#[derive(Debug, Clone)]
enum Inner {
    Http(Client<HttpConnector, Empty<Bytes>>),
    #[cfg(feature = "jwks-https")]
    Https(Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>),
}

/// A client bound to one URL.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    uri: Uri,
    inner: Inner,
}

impl Fetcher {
    /// Validates the URL and builds the matching client.
    pub(crate) fn new(url: &str) -> Result<Self, AuthError> {
        let invalid = |reason| AuthError::InvalidJwksUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        let inner = match uri.scheme_str() {
            Some("http") => Inner::Http(client(HttpConnector::new())),
            Some("https") => https_client(url)?,
            _ => return Err(invalid("only http:// and https:// URLs are supported")),
        };
        Ok(Self { uri, inner })
    }

    /// GET the URL, giving up after `timeout` (connect, headers and body together).
    pub(crate) async fn get(&self, timeout: Duration) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(timeout, self.get_inner()).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        }
    }

    async fn get_inner(&self) -> Result<Fetched, FetchError> {
        let request = Request::get(self.uri.clone())
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .header(header::USER_AGENT, "webstir-auth")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let response = match &self.inner {
            Inner::Http(c) => c.request(request).await,
            #[cfg(feature = "jwks-https")]
            Inner::Https(c) => c.request(request).await,
        }
        .map_err(|e| FetchError::Request(e.to_string()))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        let max_age = response
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_cache_control);
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| FetchError::Body(e.to_string()))?
            .to_bytes();
        Ok(Fetched { body, max_age })
    }
}

fn client<C>(connector: C) -> Client<C, Empty<Bytes>>
where
    C: hyper_util::client::legacy::connect::Connect + Clone,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build(connector)
}

#[cfg(feature = "jwks-https")]
fn https_client(url: &str) -> Result<Inner, AuthError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|_| AuthError::InvalidJwksUrl {
            url: url.to_owned(),
            reason: "could not initialise TLS",
        })?
        .https_only()
        .enable_http1()
        .build();
    Ok(Inner::Https(client(connector)))
}

#[cfg(not(feature = "jwks-https"))]
fn https_client(url: &str) -> Result<Inner, AuthError> {
    Err(AuthError::HttpsNotEnabled {
        url: url.to_owned(),
    })
}

/// `max-age=N` → `Some(N s)`; `no-store`, `no-cache` → `Some(0)`; otherwise `None`.
fn parse_cache_control(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            max_age = n
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        assert_eq!(
            parse_cache_control("public, max-age=120"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_cache_control("max-age=60, no-store"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_cache_control("public"), None);
        assert_eq!(parse_cache_control("max-age=abc"), None);
    }

    #[test]
    fn urls() {
        assert!(Fetcher::new("http://127.0.0.1:1/jwks").is_ok());
        assert!(matches!(
            Fetcher::new("ftp://x/y"),
            Err(AuthError::InvalidJwksUrl { .. })
        ));
        assert!(matches!(
            Fetcher::new("not a url"),
            Err(AuthError::InvalidJwksUrl { .. })
        ));
        #[cfg(not(feature = "jwks-https"))]
        assert!(matches!(
            Fetcher::new("https://idp.example/jwks"),
            Err(AuthError::HttpsNotEnabled { .. })
        ));
    }
}
