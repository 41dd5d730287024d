//! The result of authenticating one request.

use crate::context::AuthContext;

/// What [`Authenticator::authenticate`](crate::Authenticator::authenticate) concluded about a request.
///
/// `Rejected` means a credential was presented and it failed; the runtime should treat the request
/// as unauthenticated (and answer 401 on any route that is not public). The reason is for logs and
/// metrics only: response bodies should stay generic (see [`RejectReason::code`]).
#[derive(Debug, Clone)]
// One outcome per request, moved straight into the request context: boxing the context would
// only add an allocation and make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum AuthOutcome {
    /// No credential was presented.
    Anonymous,
    /// A credential was presented and verified.
    Authenticated(AuthContext),
    /// A credential was presented and refused.
    Rejected(RejectReason),
}

impl AuthOutcome {
    /// The verified context, if any.
    pub fn context(&self) -> Option<&AuthContext> {
        match self {
            Self::Authenticated(ctx) => Some(ctx),
            _ => None,
        }
    }

    /// Consumes the outcome and returns the verified context, if any.
    pub fn into_context(self) -> Option<AuthContext> {
        match self {
            Self::Authenticated(ctx) => Some(ctx),
            _ => None,
        }
    }

    /// The rejection reason, if the credential was refused.
    pub fn rejection(&self) -> Option<RejectReason> {
        match self {
            Self::Rejected(reason) => Some(*reason),
            _ => None,
        }
    }
}

/// Which kind of credential produced an [`AuthContext`] (or was refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialKind {
    /// A bearer JWT (`Authorization: Bearer <jwt>`).
    Jwt,
    /// A shared service token from `AUTH_SERVICE_TOKENS` (`X-Service-Token` / `X-API-Key`).
    ServiceToken,
    /// A stored, hashed API key (`wsk_…`, via `Authorization: Bearer` or `X-API-Key`).
    ApiKey,
}

impl CredentialKind {
    /// Stable lower-case name: `jwt`, `service_token` or `api_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ServiceToken => "service_token",
            Self::ApiKey => "api_key",
        }
    }
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a presented credential was refused. [`code`](Self::code) is a stable identifier for logs
/// and metrics; do not put it (or anything more specific than "invalid credential") in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// A credential was sent in the URL query string (`?api_key=`, `?token=`, …).
    CredentialInQuery,
    /// The `Authorization` header is repeated, not valid text, or `Bearer` with no token.
    MalformedAuthorization,
    /// The bearer token is longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES).
    TokenTooLarge,
    /// Not a compact JWS: wrong segment count, characters outside base64url, bad JSON, duplicate
    /// members, an over-long `kid`…
    MalformedToken,
    /// A five-segment (JWE, encrypted) token, or a header with `enc`/`zip`.
    EncryptedToken,
    /// Header `alg` is not exactly the configured algorithm (this includes `none` in any case).
    UnsupportedAlgorithm,
    /// The header carries keys or key URLs (`jwk`, `jku`, `x5u`, `x5c`), `crit`, `b64`, or an
    /// unexpected `typ`.
    ForbiddenHeader,
    /// A registered claim has the wrong JSON type (`"exp": "…"`, `"aud": 123`, …).
    InvalidClaimType,
    /// No `exp` claim.
    MissingExpiry,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` is in the past by more than the leeway.
    Expired,
    /// `nbf` is in the future by more than the leeway.
    NotYetValid,
    /// `iss` is missing or not the configured issuer.
    InvalidIssuer,
    /// `aud` is missing or does not contain the configured audience.
    InvalidAudience,
    /// The `kid` is not in the key set (after the allowed refetch).
    UnknownKey,
    /// No verification keys are available (the JWKS endpoint never answered, or its keys are older
    /// than the maximum staleness). A server-side condition.
    KeysUnavailable,
    /// A bearer token was sent but no JWT verification method is configured.
    JwtNotConfigured,
    /// The `X-Service-Token` / `X-API-Key` value matches no configured service token.
    InvalidServiceToken,
    /// The API key is malformed, unknown, or its secret does not match.
    InvalidApiKey,
    /// The API key has been revoked.
    ApiKeyRevoked,
    /// The API key has expired.
    ApiKeyExpired,
    /// The API-key store failed. A server-side condition.
    KeyStoreUnavailable,
}

impl RejectReason {
    /// Stable `snake_case` code for logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            Self::CredentialInQuery => "credential_in_query",
            Self::MalformedAuthorization => "malformed_authorization",
            Self::TokenTooLarge => "token_too_large",
            Self::MalformedToken => "malformed_token",
            Self::EncryptedToken => "encrypted_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::ForbiddenHeader => "forbidden_header",
            Self::InvalidClaimType => "invalid_claim_type",
            Self::MissingExpiry => "missing_exp",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::UnknownKey => "unknown_key",
            Self::KeysUnavailable => "keys_unavailable",
            Self::JwtNotConfigured => "jwt_not_configured",
            Self::InvalidServiceToken => "invalid_service_token",
            Self::InvalidApiKey => "invalid_api_key",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::ApiKeyExpired => "api_key_expired",
            Self::KeyStoreUnavailable => "key_store_unavailable",
        }
    }

    /// `true` when the failure is on our side (key server or key store down), not the client's.
    /// A runtime may answer 503 instead of 401 for these.
    pub fn is_server_side(self) -> bool {
        matches!(self, Self::KeysUnavailable | Self::KeyStoreUnavailable)
    }

    /// The RFC 6750 `error` attribute for the `WWW-Authenticate` challenge: `invalid_request` for
    /// a malformed request (credential in the query, repeated header), else `invalid_token`.
    pub fn bearer_error(self) -> &'static str {
        match self {
            Self::CredentialInQuery | Self::MalformedAuthorization => "invalid_request",
            _ => "invalid_token",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
