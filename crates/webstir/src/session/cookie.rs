//! The session cookie: random ids, their HMAC-SHA256 signature, parsing the `Cookie` header and
//! building `Set-Cookie` values.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;

/// Random bytes in a session id (256 bits from the thread's CSPRNG, ChaCha seeded by the OS).
const ID_BYTES: usize = 32;
/// A session id as text: unpadded base64url of [`ID_BYTES`].
pub(crate) const ID_LEN: usize = 43;
/// The signature as text: unpadded base64url of a SHA-256 HMAC.
const SIG_LEN: usize = 43;
/// `<id>.<signature>`.
const VALUE_LEN: usize = ID_LEN + 1 + SIG_LEN;

/// A new session id.
pub(crate) fn new_id() -> String {
    let bytes: [u8; ID_BYTES] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the request's cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No cookie with the session's name.
    Absent,
    /// A cookie whose signature verifies: the session id.
    Valid(String),
    /// A cookie with the name whose value does not verify (tampered, truncated, garbage, old secret).
    Invalid,
}

/// Signs and verifies cookie values, and formats `Set-Cookie`.
#[derive(Clone)]
pub(crate) struct CookieCodec {
    name: Box<str>,
    mac: Hmac<Sha256>,
    /// `; Path=/; Max-Age=N; SameSite=Lax; HttpOnly[; Secure]`.
    attributes: Box<str>,
    clear: HeaderValue,
}

impl std::fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCodec")
            .field("name", &self.name)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl CookieCodec {
    pub(crate) fn new(name: &str, secret: &[u8], max_age: u64, secure: bool) -> Self {
        let secure = if secure { "; Secure" } else { "" };
        let clear = format!("{name}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly{secure}");
        Self {
            name: name.into(),
            // HMAC accepts keys of any length.
            mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length"),
            attributes: format!("; Path=/; Max-Age={max_age}; SameSite=Lax; HttpOnly{secure}")
                .into(),
            clear: HeaderValue::from_str(&clear).expect("cookie names are checked at startup"),
        }
    }

    fn signature(&self, id: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac
    }

    /// `<id>.<base64url(HMAC-SHA256(secret, id))>`.
    pub(crate) fn sign(&self, id: &str) -> String {
        let sig = self.signature(id).finalize().into_bytes();
        format!("{id}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// The id in a signed value, if the signature verifies (compared in constant time).
    pub(crate) fn verify(&self, value: &str) -> Option<String> {
        if value.len() != VALUE_LEN {
            return None;
        }
        let (id, sig) = value.split_at_checked(ID_LEN)?;
        let sig = sig.strip_prefix('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        self.signature(id).verify_slice(&sig).ok()?;
        Some(id.to_owned())
    }

    /// Read the session cookie from the request's `Cookie` headers. Several cookies with the name:
    /// the first that verifies wins.
    pub(crate) fn read(&self, headers: &HeaderMap) -> Presented {
        let mut seen = false;
        for header in headers.get_all(http::header::COOKIE) {
            let Ok(text) = header.to_str() else {
                // Not visible ASCII: it may hide our cookie; treat a mention of the name as seen.
                if memchr_name(header.as_bytes(), self.name.as_bytes()) {
                    seen = true;
                }
                continue;
            };
            for pair in text.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name.trim() != &*self.name {
                    continue;
                }
                seen = true;
                let value = value.trim().trim_matches('"');
                if let Some(id) = self.verify(value) {
                    return Presented::Valid(id);
                }
            }
        }
        if seen {
            Presented::Invalid
        } else {
            Presented::Absent
        }
    }

    /// `Set-Cookie` for a session id.
    pub(crate) fn set(&self, id: &str) -> HeaderValue {
        let value = format!("{}={}{}", self.name, self.sign(id), self.attributes);
        HeaderValue::from_str(&value).expect("ids and signatures are base64url")
    }

    /// `Set-Cookie` that removes the cookie (`Max-Age=0`).
    pub(crate) fn clear(&self) -> HeaderValue {
        self.clear.clone()
    }
}

fn memchr_name(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether `name` can be a cookie name (an RFC 9110 token).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CookieCodec {
        CookieCodec::new(
            "webstir_session",
            b"0123456789abcdef0123456789abcdef",
            86400,
            false,
        )
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn ids_are_256_bit_base64url_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), ID_LEN);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn signed_values_verify_and_tampering_does_not() {
        let codec = codec();
        let id = new_id();
        let value = codec.sign(&id);
        assert_eq!(codec.verify(&value), Some(id.clone()));
        // Flip one bit of every byte in turn: never verifies.
        for i in 0..value.len() {
            let mut bytes = value.clone().into_bytes();
            bytes[i] ^= 1;
            if let Ok(text) = String::from_utf8(bytes) {
                assert_eq!(codec.verify(&text), None, "flipped byte {i}");
            }
        }
        assert_eq!(codec.verify(&value[..value.len() - 1]), None);
        assert_eq!(codec.verify(""), None);
        let other = CookieCodec::new(
            "webstir_session",
            b"another secret of enough length!!",
            1,
            false,
        );
        assert_eq!(other.verify(&value), None);
    }

    #[test]
    fn read_finds_the_cookie_among_others() {
        let codec = codec();
        let id = new_id();
        let value = codec.sign(&id);
        assert_eq!(
            codec.read(&headers(&format!("a=1; webstir_session={value}; b=2"))),
            Presented::Valid(id)
        );
        assert_eq!(codec.read(&headers("a=1")), Presented::Absent);
        assert_eq!(codec.read(&HeaderMap::new()), Presented::Absent);
        assert_eq!(
            codec.read(&headers("webstir_session=garbage")),
            Presented::Invalid
        );
        let garbage = "x".repeat(8192);
        assert_eq!(
            codec.read(&headers(&format!("webstir_session={garbage}"))),
            Presented::Invalid
        );
    }

    #[test]
    fn set_cookie_has_the_reference_attributes() {
        let codec = codec();
        let set = codec.set("abc");
        let text = set.to_str().unwrap();
        assert!(text.starts_with("webstir_session=abc."), "{text}");
        assert!(
            text.ends_with("; Path=/; Max-Age=86400; SameSite=Lax; HttpOnly"),
            "{text}"
        );
        let secure = CookieCodec::new("s", b"k", 60, true);
        assert_eq!(
            secure.clear().to_str().unwrap(),
            "s=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly; Secure"
        );
    }

    #[test]
    fn cookie_names_are_tokens() {
        assert!(valid_name("webstir_session"));
        assert!(valid_name("__Host-id"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a;b"));
        assert!(!valid_name(""));
    }
}
