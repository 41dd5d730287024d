//! Request ids: the client's `x-request-id` when it sends a usable one, else a random UUID v4 from a
//! per-thread generator (no syscall per request).

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

use http::{HeaderMap, HeaderValue};

pub(crate) const MAX_LEN: usize = 200;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    hasher.finish()
}

/// wyrand: a small, fast, well-distributed generator (not for secrets; ids only).
fn next_u64() -> u64 {
    STATE.with(|state| {
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) ^ t) as u64
    })
}

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// A request id for the handler's side (the response keeps the header value): a generated id is
/// copied inline (no allocation); a client's is a cheap clone of its header value.
#[derive(Clone, Debug)]
pub(crate) enum RequestId {
    Generated([u8; 36]),
    Client(HeaderValue),
}

impl RequestId {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            RequestId::Generated(bytes) => std::str::from_utf8(bytes).unwrap_or(""),
            RequestId::Client(value) => text(value),
        }
    }
}

/// A new random UUID v4, hyphenated lowercase, as header value (the id is read back from it).
pub(crate) fn generate_header() -> HeaderValue {
    let (value, _) = generate_pair();
    value
}

fn generate_pair() -> (HeaderValue, [u8; 36]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&next_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let mut out = [0u8; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[at] = b'-';
            at += 1;
        }
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 0x0f)];
        at += 2;
    }
    let value =
        HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("unknown"));
    (value, out)
}

/// A new random UUID v4 as text (job run ids).
pub(crate) fn generate() -> String {
    generate_header().to_str().unwrap_or_default().to_owned()
}

/// The request id for a request, as a header value: reused from `x-request-id` when present,
/// non-empty, at most 200 visible ASCII characters; generated otherwise.
pub(crate) fn resolve(headers: &HeaderMap) -> HeaderValue {
    resolve_pair(headers).0
}

/// The response's header value and the handler's copy of the id.
pub(crate) fn resolve_pair(headers: &HeaderMap) -> (HeaderValue, RequestId) {
    if let Some(value) = headers.get(X_REQUEST_ID)
        && let Ok(text) = value.to_str()
    {
        if !text.is_empty()
            && text.len() <= MAX_LEN
            && !text.starts_with([' ', '\t'])
            && !text.ends_with([' ', '\t'])
        {
            return (value.clone(), RequestId::Client(value.clone()));
        }
        let text = text.trim();
        if !text.is_empty()
            && text.len() <= MAX_LEN
            && let Ok(header) = HeaderValue::from_str(text)
        {
            return (header.clone(), RequestId::Client(header));
        }
    }
    let (value, inline) = generate_pair();
    (value, RequestId::Generated(inline))
}

/// The id's text (ids are visible ASCII by construction).
pub(crate) fn text(value: &HeaderValue) -> &str {
    value.to_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuid_v4_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn client_id_is_reused_unless_blank_or_too_long() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(text(&resolve(&headers)), "abc-123");
        headers.insert("x-request-id", HeaderValue::from_static(" abc "));
        assert_eq!(text(&resolve(&headers)), "abc");
        headers.insert("x-request-id", HeaderValue::from_static("  "));
        assert_ne!(text(&resolve(&headers)).trim(), "");
        let long = "x".repeat(MAX_LEN + 1);
        headers.insert("x-request-id", HeaderValue::from_str(&long).unwrap());
        assert_ne!(text(&resolve(&headers)), long);
    }
}
