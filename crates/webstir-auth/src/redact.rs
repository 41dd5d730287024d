//! Scrubbing credentials out of anything that gets logged.

use std::borrow::Cow;

/// The replacement text for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Request and response headers whose values are credentials (lower-case). Log them only through
/// [`redact_header`].
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-service-token",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-xsrf-token",
];

/// Query parameters that carry credentials (compared case-insensitively). A request carrying one
/// is refused with [`RejectReason::CredentialInQuery`](crate::RejectReason::CredentialInQuery),
/// and [`redact_query`] masks their values.
pub const QUERY_CREDENTIAL_PARAMS: &[&str] = &[
    "access_token",
    "api_key",
    "api-key",
    "apikey",
    "auth",
    "auth_token",
    "id_token",
    "jwt",
    "refresh_token",
    "service_token",
    "token",
    "x-api-key",
    "x-service-token",
];

/// `true` if `name` (any case) is one of [`SENSITIVE_HEADERS`].
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The value to log for header `name`: unchanged for ordinary headers, [`REDACTED`] for
/// sensitive ones. For `Authorization` the scheme is kept (`Bearer [REDACTED]`), which helps
/// debugging without revealing anything.
///
/// ```
/// use webstir_auth::redact_header;
/// assert_eq!(redact_header("Authorization", "Bearer eyJhbGciOi.x.y"), "Bearer [REDACTED]");
/// assert_eq!(redact_header("x-api-key", "wsk_abc_def"), "[REDACTED]");
/// assert_eq!(redact_header("accept", "text/html"), "text/html");
/// ```
pub fn redact_header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if !is_sensitive_header(name) {
        return Cow::Borrowed(value);
    }
    let is_auth = name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization");
    if is_auth && let Some((scheme, _)) = value.trim_start().split_once(' ') {
        let plain_scheme = !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric());
        if plain_scheme && scheme.len() <= 16 {
            return Cow::Owned(format!("{scheme} {REDACTED}"));
        }
    }
    Cow::Borrowed(REDACTED)
}

/// `true` if the query string names one of [`QUERY_CREDENTIAL_PARAMS`] (names are
/// percent-decoded and compared case-insensitively; the value does not matter, even empty).
pub fn query_has_credential(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| is_credential_param(pair.split_once('=').map_or(pair, |(n, _)| n)))
}

/// The query string with the values of credential parameters replaced by [`REDACTED`], for
/// access logs.
///
/// ```
/// use webstir_auth::redact_query;
/// assert_eq!(redact_query("page=2&api_key=wsk_x_y"), "page=2&api_key=[REDACTED]");
/// assert_eq!(redact_query("q=rust"), "q=rust");
/// ```
pub fn redact_query(query: &str) -> Cow<'_, str> {
    if !query_has_credential(query) {
        return Cow::Borrowed(query);
    }
    let parts: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            if is_credential_param(name) {
                Cow::Owned(format!("{name}={REDACTED}"))
            } else {
                Cow::Borrowed(pair)
            }
        })
        .collect();
    Cow::Owned(parts.join("&"))
}

fn is_credential_param(raw_name: &str) -> bool {
    if raw_name.is_empty() || raw_name.len() > 64 {
        return false;
    }
    let name = percent_decode(raw_name);
    let name = name.trim();
    QUERY_CREDENTIAL_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// Minimal `application/x-www-form-urlencoded` name decoding (`+` and `%XX`); invalid escapes are
/// kept literally.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_credentials_are_detected() {
        assert!(query_has_credential("api_key=x"));
        assert!(query_has_credential("a=1&ACCESS_TOKEN=x"));
        assert!(query_has_credential("api%5Fkey=x"));
        assert!(query_has_credential("token"));
        assert!(!query_has_credential("tokens=1&page=2"));
        assert!(!query_has_credential(""));
    }

    #[test]
    fn other_headers_are_untouched() {
        assert_eq!(redact_header("Cookie", "sid=1"), REDACTED);
        assert_eq!(redact_header("authorization", "garbage"), REDACTED);
        assert_eq!(redact_header("content-type", "a/b"), "a/b");
    }
}
