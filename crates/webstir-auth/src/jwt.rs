//! Bearer JWT checks: a strict structural pass before any crypto, then signature and claim
//! validation by `jsonwebtoken` pinned to the one configured algorithm.

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::{Deserialize, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::authenticator::MAX_TOKEN_BYTES;
use crate::outcome::RejectReason;

/// Longest accepted `kid` header value, in bytes.
pub(crate) const MAX_KID_BYTES: usize = 256;

/// Header members that would let the token choose its own key, or that change how the token must
/// be processed. Any of them → [`RejectReason::ForbiddenHeader`].
const FORBIDDEN_HEADER_MEMBERS: &[&str] = &["jwk", "jku", "x5u", "x5c", "crit", "b64"];

/// Accepted `typ` header values (compared case-insensitively); absent is accepted too.
const ACCEPTED_TYP: &[&str] = &["JWT", "at+jwt", "application/at+jwt"];

/// A token that passed the structural checks.
#[derive(Debug)]
pub(crate) struct Prechecked {
    /// The `kid` header, if any.
    pub(crate) kid: Option<String>,
    /// The decoded payload (signature not verified yet).
    pub(crate) claims: Map<String, Value>,
}

/// Structural checks that need no key: size, alphabet, segment count, header members, claim types.
pub(crate) fn precheck(token: &str, alg: Algorithm) -> Result<Prechecked, RejectReason> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(RejectReason::TokenTooLarge);
    }
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(RejectReason::MalformedToken);
    }
    let segments: Vec<&str> = token.split('.').collect();
    match segments.len() {
        3 => {}
        5 => return Err(RejectReason::EncryptedToken),
        _ => return Err(RejectReason::MalformedToken),
    }
    if segments[0].is_empty() || segments[1].is_empty() {
        return Err(RejectReason::MalformedToken);
    }

    let header = decode_object(segments[0])?;
    check_header(&header, alg)?;
    // After the header checks, so that `alg: none` with its empty signature is reported as such.
    if segments[2].is_empty() {
        return Err(RejectReason::MalformedToken);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {
            Some(kid.clone())
        }
        Some(_) => return Err(RejectReason::MalformedToken),
    };

    let claims = decode_object(segments[1])?;
    check_claim_types(&claims)?;
    Ok(Prechecked { kid, claims })
}

fn check_header(header: &Map<String, Value>, alg: Algorithm) -> Result<(), RejectReason> {
    // Exact, case-sensitive comparison with the one configured algorithm: `none`, `NoNe`, HS256
    // on an RS256 deployment and everything else fail here.
    let expected = alg_name(alg);
    match header.get("alg") {
        Some(Value::String(got)) if got == expected => {}
        _ => return Err(RejectReason::UnsupportedAlgorithm),
    }
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(RejectReason::EncryptedToken);
    }
    if FORBIDDEN_HEADER_MEMBERS
        .iter()
        .any(|m| header.contains_key(*m))
    {
        return Err(RejectReason::ForbiddenHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if ACCEPTED_TYP.iter().any(|t| t.eq_ignore_ascii_case(typ)) => {}
        Some(_) => return Err(RejectReason::ForbiddenHeader),
    }
    Ok(())
}

/// Registered claims must have their RFC 7519 types; `exp` is required.
fn check_claim_types(claims: &Map<String, Value>) -> Result<(), RejectReason> {
    match claims.get("exp") {
        None => return Err(RejectReason::MissingExpiry),
        Some(v) if !is_numeric_date(v) => return Err(RejectReason::InvalidClaimType),
        Some(_) => {}
    }
    for name in ["nbf", "iat"] {
        if claims.get(name).is_some_and(|v| !is_numeric_date(v)) {
            return Err(RejectReason::InvalidClaimType);
        }
    }
    for name in ["iss", "sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(RejectReason::InvalidClaimType);
        }
    }
    match claims.get("aud") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {}
        Some(_) => return Err(RejectReason::InvalidClaimType),
    }
    Ok(())
}

fn is_numeric_date(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.as_u64().is_some() || n.as_f64().is_some_and(|f| f.is_finite() && f >= 0.0)
        }
        _ => false,
    }
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, RejectReason> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| RejectReason::MalformedToken)?;
    serde_json::from_slice::<StrictObject>(&bytes)
        .map(|o| o.0)
        .map_err(|_| RejectReason::MalformedToken)
}

/// The claim rules handed to `jsonwebtoken` after the structural checks.
pub(crate) fn validation(
    alg: Algorithm,
    leeway_secs: u64,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = leeway_secs;
    v.validate_exp = true;
    v.validate_nbf = true;
    let mut required: HashSet<String> = HashSet::from(["exp".to_owned()]);
    if let Some(iss) = issuer {
        v.set_issuer(&[iss]);
        required.insert("iss".to_owned());
    }
    if let Some(aud) = audience {
        v.set_audience(&[aud]);
        v.validate_aud = true;
        required.insert("aud".to_owned());
    } else {
        // No audience configured: `aud` is not checked (its type still is, in `precheck`).
        v.validate_aud = false;
    }
    v.required_spec_claims = required;
    v
}

/// Verifies the signature with `key` and the time / issuer / audience rules.
pub(crate) fn verify(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<(), RejectReason> {
    jsonwebtoken::decode::<IgnoredAny>(token, key, validation)
        .map(|_| ())
        .map_err(|e| map_error(e.kind()))
}

fn map_error(kind: &ErrorKind) -> RejectReason {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            RejectReason::InvalidSignature
        }
        ErrorKind::ExpiredSignature => RejectReason::Expired,
        ErrorKind::ImmatureSignature => RejectReason::NotYetValid,
        ErrorKind::InvalidIssuer => RejectReason::InvalidIssuer,
        ErrorKind::InvalidAudience => RejectReason::InvalidAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => RejectReason::MissingExpiry,
            "iss" => RejectReason::InvalidIssuer,
            "aud" => RejectReason::InvalidAudience,
            _ => RejectReason::MalformedToken,
        },
        ErrorKind::InvalidClaimFormat(_) => RejectReason::InvalidClaimType,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => RejectReason::UnsupportedAlgorithm,
        _ => RejectReason::MalformedToken,
    }
}

pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        // Only HS256 and RS256 are ever configured; anything else can never match a header.
        _ => "\u{0}unsupported",
    }
}

/// A JSON object that refuses duplicate top-level members (RFC 8725 / ASVS 1.5.3: two parsers
/// must never see two different values).
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = StrictObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object without duplicate members")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut out = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(A::Error::custom("duplicate member"));
                    }
                    let value: Value = access.next_value()?;
                    out.insert(key, value);
                }
                Ok(StrictObject(out))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    const OK_PAYLOAD: &str = r#"{"sub":"u","exp":4102444800}"#;

    #[test]
    fn accepts_a_well_formed_token() {
        let t = token(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, OK_PAYLOAD);
        let p = precheck(&t, Algorithm::HS256).expect("well formed");
        assert_eq!(p.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn refuses_duplicate_members() {
        let t = token(
            r#"{"alg":"HS256"}"#,
            r#"{"sub":"a","sub":"b","exp":4102444800}"#,
        );
        assert_eq!(
            precheck(&t, Algorithm::HS256).unwrap_err(),
            RejectReason::MalformedToken
        );
    }

    #[test]
    fn refuses_non_base64url_characters_and_padding() {
        let t = token(r#"{"alg":"HS256"}"#, OK_PAYLOAD);
        assert_eq!(
            precheck(&format!("{t}="), Algorithm::HS256).unwrap_err(),
            RejectReason::MalformedToken
        );
        assert_eq!(
            precheck(&t.replace('.', ". "), Algorithm::HS256).unwrap_err(),
            RejectReason::MalformedToken
        );
        assert_eq!(
            precheck(&format!("{t}+/"), Algorithm::HS256).unwrap_err(),
            RejectReason::MalformedToken
        );
    }

    #[test]
    fn refuses_crit_typ_and_long_kid() {
        let crit = token(r#"{"alg":"HS256","crit":["x"]}"#, OK_PAYLOAD);
        assert_eq!(
            precheck(&crit, Algorithm::HS256).unwrap_err(),
            RejectReason::ForbiddenHeader
        );
        let typ = token(r#"{"alg":"HS256","typ":"dpop+jwt"}"#, OK_PAYLOAD);
        assert_eq!(
            precheck(&typ, Algorithm::HS256).unwrap_err(),
            RejectReason::ForbiddenHeader
        );
        let kid = "k".repeat(MAX_KID_BYTES + 1);
        let long = token(&format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), OK_PAYLOAD);
        assert_eq!(
            precheck(&long, Algorithm::HS256).unwrap_err(),
            RejectReason::MalformedToken
        );
    }

    #[test]
    fn claim_types() {
        let cases = [
            (r#"{"exp":-1}"#, RejectReason::InvalidClaimType),
            (r#"{"exp":1e400}"#, RejectReason::MalformedToken),
            (
                r#"{"exp":4102444800,"iat":"1"}"#,
                RejectReason::InvalidClaimType,
            ),
            (
                r#"{"exp":4102444800,"sub":5}"#,
                RejectReason::InvalidClaimType,
            ),
            (
                r#"{"exp":4102444800,"aud":[]}"#,
                RejectReason::InvalidClaimType,
            ),
            (
                r#"{"exp":4102444800,"aud":["a",1]}"#,
                RejectReason::InvalidClaimType,
            ),
            (
                r#"{"exp":4102444800,"iss":["a"]}"#,
                RejectReason::InvalidClaimType,
            ),
            (r#"[1]"#, RejectReason::MalformedToken),
        ];
        for (payload, want) in cases {
            let t = token(r#"{"alg":"HS256"}"#, payload);
            assert_eq!(
                precheck(&t, Algorithm::HS256).unwrap_err(),
                want,
                "{payload}"
            );
        }
    }
}
