//! Credential verification for webstir: bearer JWTs (HS256, RS256, JWKS), shared service tokens,
//! and hashed API keys, plus the route access check the runtime runs before each handler.
//!
//! # How the runtime uses it
//!
//! 1. At startup: [`Authenticator::from_env`] (or [`AuthenticatorBuilder::from_env`] then
//!    [`AuthenticatorBuilder::api_keys`] when the app has an API-key store). Any configuration
//!    problem is an [`AuthError`]: refuse to start.
//! 2. Per request, before the handler: [`Authenticator::authenticate`] → [`AuthOutcome`]
//!    (`Anonymous`, `Authenticated(ctx)` or `Rejected(reason)`); put the context in `ctx.auth`.
//! 3. Map the route's access rule onto a [`Requirement`] and call [`Requirement::check`] →
//!    [`Decision`]: `Allow`, `Unauthorized` (401, with [`Decision::www_authenticate`]) or
//!    `Forbidden` (403).
//! 4. Scrub logs with [`redact_header`] / [`redact_query`] ([`SENSITIVE_HEADERS`]).
//!
//! # JWT rules
//!
//! * One method, one algorithm: the header `alg` must equal `HS256` or `RS256` (whichever is
//!   configured) byte for byte. `none` in any case, HS/RS confusion and every other algorithm fail.
//! * Refused before any crypto: tokens over [`MAX_TOKEN_BYTES`] (8 KiB); anything but three
//!   non-empty base64url segments (five segments = JWE); bad or duplicate-member JSON; header
//!   members `jwk`, `jku`, `x5u`, `x5c`, `crit`, `b64`, `enc`, `zip`; a `typ` other than `JWT` /
//!   `at+jwt`; registered claims of the wrong type (`exp`/`nbf`/`iat` non-negative numbers,
//!   `iss`/`sub`/`jti` strings, `aud` a string or non-empty array of strings).
//! * `exp` is required; `nbf` is honoured; both with a fixed leeway of [`DEFAULT_LEEWAY`] (30 s,
//!   configurable up to [`MAX_LEEWAY`], 60 s). `iss` and `aud` are required and checked when
//!   configured.
//! * RSA keys must be at least 2048 bits. JWKS caching is described on [`JwksSettings`]:
//!   TTL from `Cache-Control: max-age` (else 5 min), at most one fetch per 30 s cooldown (so an
//!   unknown `kid` causes one refetch, then fails fast), coalesced concurrent misses, last good
//!   keys kept for up to 24 h while the key server is down, 5 s fetch timeout.
//!
//! # Crypto backend
//!
//! jsonwebtoken uses its `rust_crypto` backend (pure Rust). It pulls `rsa 0.9`, which carries
//! RUSTSEC-2023-0071 (Marvin, a timing side channel in RSA *private-key* operations); this crate
//! only ever does RSA *public-key* verification, so the advisory does not apply. The backend is
//! self-tested when an [`Authenticator`] is built (two backends enabled at once make jsonwebtoken
//! panic at first use).
//!
//! # Features
//!
//! | Feature | Default | What it does |
//! |---|---|---|
//! | `jwt` | yes | Bearer JWT verification: HS256, RS256 (PEM / JWK), RS256 via JWKS (HTTP client and key cache). Pulls jsonwebtoken, rsa and the hyper client. |
//! | `jwks-https` | no | `https://` JWKS URLs (rustls, `ring` provider, webpki roots); implies `jwt`. Without it an `https` `AUTH_JWKS_URL` is a startup error. |
//!
//! Without `jwt`, service tokens, hashed API keys, [`Requirement`] / [`Decision`] and the rest of
//! the API are unchanged (every public item still exists), but:
//!
//! * setting `AUTH_JWT_SECRET`, `AUTH_JWT_PUBLIC_KEY`, `AUTH_JWT_PUBLIC_KEY_FILE` or
//!   `AUTH_JWKS_URL` makes [`AuthenticatorBuilder::from_env`] fail with
//!   [`AuthError::JwtNotCompiled`] (never silently ignored), as does calling a JWT method of the
//!   builder before [`AuthenticatorBuilder::build`];
//! * [`Authenticator::jwt_method`] is always `None` and [`Authenticator::prefetch_jwks`] does
//!   nothing;
//! * a bearer token that is not an API key is refused ([`RejectReason::JwtNotConfigured`], 401).
//!
//! # Security events
//!
//! Refusals and denials are `tracing` events with target [`SECURITY_TARGET`]
//! (`webstir::security`): `event` (`auth.rejected`, `auth.denied`, `auth.fallback`,
//! `jwks.fetch_failed`…), `reason` (a [`RejectReason::code`]), `credential` (a
//! [`CredentialKind`]). Tokens, keys, secrets, cookies and `kid`s are never logged.

mod access;
mod api_key;
mod authenticator;
mod context;
mod error;
#[cfg(feature = "jwt")]
mod fetch;
#[cfg(feature = "jwt")]
mod jwks;
mod jwks_settings;
#[cfg(feature = "jwt")]
mod jwt;
mod outcome;
#[cfg(feature = "password")]
pub mod password;
mod redact;
mod security_log;
mod service_token;

pub use access::{Decision, Forbidden, Requirement};
pub use api_key::{
    API_KEY_PEPPER_ENV, API_KEY_PREFIX, API_KEYS_SCHEMA, ApiKeyRecord, ApiKeyStore, ApiKeys,
    BoxFuture, CreatedApiKey, MemoryApiKeyStore, NewApiKey, looks_like_api_key,
};
pub use authenticator::{
    API_KEY_HEADER, Authenticator, AuthenticatorBuilder, DEFAULT_LEEWAY, JwtMethod, MAX_LEEWAY,
    MAX_TOKEN_BYTES, MIN_HS256_SECRET_BYTES, SERVICE_TOKEN_HEADER,
};
pub use context::{AuthContext, ROLE_CLAIMS, TENANT_CLAIMS};
pub use error::{ApiKeyError, AuthError, StoreError};
pub use jwks_settings::{JwksSettings, MAX_TTL as JWKS_MAX_TTL};
pub use outcome::{AuthOutcome, CredentialKind, RejectReason};
pub use redact::{
    QUERY_CREDENTIAL_PARAMS, REDACTED, SENSITIVE_HEADERS, is_sensitive_header,
    query_has_credential, redact_header, redact_query,
};
pub use security_log::SECURITY_TARGET;

/// Entry points for the cargo-fuzz targets in `fuzz/`. Compiled only under `--cfg fuzzing` (which
/// cargo-fuzz sets), so they are not part of the API.
#[cfg(all(fuzzing, feature = "jwt"))]
#[doc(hidden)]
pub mod __fuzz {
    /// The JWT structural pre-parser for both algorithms: whether each accepted the token.
    pub fn jwt_precheck(token: &str) -> [bool; 2] {
        [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::RS256,
        ]
        .map(|alg| crate::jwt::precheck(token, alg).is_ok())
    }
}
