//! Configuration and storage errors.
//!
//! Request-time failures are not errors: they are [`RejectReason`](crate::RejectReason)s inside an
//! [`AuthOutcome`](crate::AuthOutcome). The types here are what can go wrong while building an
//! [`Authenticator`](crate::Authenticator) at startup, or while talking to an
//! [`ApiKeyStore`](crate::ApiKeyStore).

use std::path::PathBuf;

/// Why an [`Authenticator`](crate::Authenticator) (or [`ApiKeys`](crate::ApiKeys)) could not be
/// built. Every variant is a startup failure: the server should refuse to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// `AUTH_JWT_SECRET` is shorter than 32 bytes (RFC 7518 §3.2, RFC 8725 §3.5).
    #[error(
        "AUTH_JWT_SECRET is too short for HS256: {len} bytes, at least 32 are required \
         (generate one with `openssl rand -hex 32`)"
    )]
    SecretTooShort {
        /// Length of the configured secret in bytes.
        len: usize,
    },
    /// `AUTH_JWT_PUBLIC_KEY_FILE` could not be read. The message is part of the webstir contract.
    #[error("Failed to read AUTH_JWT_PUBLIC_KEY_FILE at {}: {cause}", path.display())]
    PublicKeyFile {
        /// The resolved path (relative paths are joined to the workspace root).
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The configured RS256 public key is not a usable RSA public key.
    #[error("invalid RS256 public key: {0}")]
    InvalidPublicKey(String),
    /// The configured RSA key is smaller than 2048 bits.
    #[error("RS256 public key is too small: {bits} bits, at least 2048 are required")]
    WeakRsaKey {
        /// Modulus size in bits.
        bits: usize,
    },
    /// `AUTH_JWKS_URL` is not a usable `http://` or `https://` URL.
    #[error("invalid AUTH_JWKS_URL `{url}`: {reason}")]
    InvalidJwksUrl {
        /// The configured URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `AUTH_JWKS_URL` uses `https://` but the crate was built without the `jwks-https` feature.
    #[error(
        "AUTH_JWKS_URL `{url}` uses https, but webstir-auth was built without its `jwks-https` \
         feature; enable it or serve the key set over http on a trusted network"
    )]
    HttpsNotEnabled {
        /// The configured URL.
        url: String,
    },
    /// A leeway larger than [`MAX_LEEWAY`](crate::MAX_LEEWAY) was requested.
    #[error("jwt leeway of {secs} s is too large (at most {max} s)")]
    LeewayTooLarge {
        /// Requested leeway in seconds.
        secs: u64,
        /// The maximum in seconds.
        max: u64,
    },
    /// The API-key pepper is shorter than 32 bytes.
    #[error("AUTH_API_KEY_PEPPER is too short: {len} bytes, at least 32 are required")]
    PepperTooShort {
        /// Length of the configured pepper in bytes.
        len: usize,
    },
    /// A JWT method is configured (`setting` names the variable, or the builder method) but
    /// webstir-auth was built without its `jwt` feature. Never returned when the feature is on.
    #[error(
        "{setting} is set but this build has no JWT support; enable the `auth` feature of webstir \
         (the `jwt` feature of webstir-auth), or unset {setting}"
    )]
    JwtNotCompiled {
        /// The environment variable (`AUTH_JWT_SECRET`, `AUTH_JWT_PUBLIC_KEY`,
        /// `AUTH_JWT_PUBLIC_KEY_FILE`, `AUTH_JWKS_URL`) or builder method that asked for JWTs.
        setting: &'static str,
    },
    /// The JWT crypto backend failed its startup self-test (for example two backends were
    /// enabled through feature unification and jsonwebtoken cannot choose).
    #[error("jwt crypto backend self-test failed: {0}")]
    CryptoBackend(String),
}

/// A failure of an [`ApiKeyStore`](crate::ApiKeyStore) backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A key with this id already exists.
    #[error("api key `{0}` already exists")]
    Duplicate(String),
    /// The backend failed (connection, SQL, I/O…).
    #[error("api key store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::Backend(error.into())
    }
}

/// Why an API-key management call ([`ApiKeys::create`](crate::ApiKeys::create) and friends) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The key name is empty or only whitespace.
    #[error("api key name must not be empty")]
    EmptyName,
    /// A scope is empty or contains whitespace.
    #[error("invalid api key scope `{0}`: scopes are non-empty and contain no whitespace")]
    InvalidScope(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
