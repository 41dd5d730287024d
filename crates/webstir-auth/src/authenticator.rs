//! The per-request credential check.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use http::header::AUTHORIZATION;
#[cfg(feature = "jwt")]
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
#[cfg(feature = "jwt")]
use rsa::pkcs1::DecodeRsaPublicKey as _;
#[cfg(feature = "jwt")]
use rsa::pkcs8::DecodePublicKey as _;
#[cfg(feature = "jwt")]
use rsa::traits::PublicKeyParts as _;

use crate::api_key::{self, ApiKeys, looks_like_api_key};
use crate::context::AuthContext;
use crate::error::AuthError;
#[cfg(feature = "jwt")]
use crate::jwks::{self, JwksCache};
use crate::jwks_settings::JwksSettings;
#[cfg(feature = "jwt")]
use crate::jwt;
use crate::outcome::{AuthOutcome, CredentialKind, RejectReason};
use crate::redact::query_has_credential;
use crate::security_log;
use crate::service_token::{ServiceTokens, split_tokens};

/// Clock-skew allowance applied to `exp` and `nbf` unless changed with
/// [`AuthenticatorBuilder::leeway`].
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The largest leeway [`AuthenticatorBuilder::leeway`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Bearer tokens longer than this many bytes are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Header carrying a service token (checked first).
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";

/// Header carrying a service token or an API key (checked when [`SERVICE_TOKEN_HEADER`] is absent).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Which JWT verification method is in use. Exactly one is, chosen by precedence
/// (see [`Authenticator::from_env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtMethod {
    /// HS256 with `AUTH_JWT_SECRET`.
    Hs256Secret,
    /// RS256 with one configured public key (`AUTH_JWT_PUBLIC_KEY` / `AUTH_JWT_PUBLIC_KEY_FILE`).
    Rs256PublicKey,
    /// RS256 with keys from `AUTH_JWKS_URL`, selected by `kid`.
    Rs256Jwks,
}

#[derive(Clone)]
// Without the `jwt` feature only the variant matters (it names the setting in the error).
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
enum JwtSource {
    Secret(Vec<u8>),
    PublicKeyPem(String),
    PublicJwk(String),
    JwksUrl(String),
}

#[cfg(not(feature = "jwt"))]
impl JwtSource {
    /// The builder method that selected this source (named in [`AuthError::JwtNotCompiled`]).
    fn setting(&self) -> &'static str {
        match self {
            Self::Secret(_) => "AuthenticatorBuilder::hs256_secret",
            Self::PublicKeyPem(_) => "AuthenticatorBuilder::rs256_public_key_pem",
            Self::PublicJwk(_) => "AuthenticatorBuilder::rs256_public_jwk",
            Self::JwksUrl(_) => "AuthenticatorBuilder::jwks_url",
        }
    }
}

impl std::fmt::Debug for JwtSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
            Self::PublicKeyPem(_) => f.write_str("PublicKeyPem"),
            Self::PublicJwk(_) => f.write_str("PublicJwk"),
            Self::JwksUrl(url) => f.debug_tuple("JwksUrl").field(url).finish(),
        }
    }
}

/// Programmatic configuration of an [`Authenticator`] (tests, or apps that do not use env vars).
#[derive(Clone)]
pub struct AuthenticatorBuilder {
    jwt: Option<JwtSource>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    service_tokens: Vec<String>,
    api_keys: Option<ApiKeys>,
    jwks_settings: JwksSettings,
}

impl std::fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("jwt", &self.jwt)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("service_tokens", &self.service_tokens.len())
            .field("api_keys", &self.api_keys)
            .field("jwks_settings", &self.jwks_settings)
            .finish()
    }
}

impl Default for AuthenticatorBuilder {
    fn default() -> Self {
        Self {
            jwt: None,
            issuer: None,
            audience: None,
            leeway: DEFAULT_LEEWAY,
            service_tokens: Vec::new(),
            api_keys: None,
            jwks_settings: JwksSettings::default(),
        }
    }
}

impl AuthenticatorBuilder {
    /// Verify HS256 tokens with `secret` (≥ 32 bytes). Replaces any other JWT method.
    ///
    /// Without the `jwt` feature, [`build`](Self::build) fails with
    /// [`AuthError::JwtNotCompiled`].
    #[must_use]
    pub fn hs256_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.jwt = Some(JwtSource::Secret(secret.as_ref().to_vec()));
        self
    }

    /// Verify RS256 tokens with one RSA public key in PEM (`BEGIN PUBLIC KEY` or
    /// `BEGIN RSA PUBLIC KEY`, ≥ 2048 bits). Replaces any other JWT method.
    ///
    /// Without the `jwt` feature, [`build`](Self::build) fails with
    /// [`AuthError::JwtNotCompiled`].
    #[must_use]
    pub fn rs256_public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.jwt = Some(JwtSource::PublicKeyPem(pem.into()));
        self
    }

    /// Verify RS256 tokens with one RSA public key given as a JWK JSON object. Replaces any other
    /// JWT method.
    ///
    /// Without the `jwt` feature, [`build`](Self::build) fails with
    /// [`AuthError::JwtNotCompiled`].
    #[must_use]
    pub fn rs256_public_jwk(mut self, jwk_json: impl Into<String>) -> Self {
        self.jwt = Some(JwtSource::PublicJwk(jwk_json.into()));
        self
    }

    /// Verify RS256 tokens with keys fetched from a JWKS URL (`http://`, or `https://` with the
    /// `jwks-https` feature). Replaces any other JWT method.
    ///
    /// Without the `jwt` feature, [`build`](Self::build) fails with
    /// [`AuthError::JwtNotCompiled`].
    #[must_use]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwt = Some(JwtSource::JwksUrl(url.into()));
        self
    }

    /// Tuning of the JWKS cache (TTL, cooldown, timeout, staleness).
    #[must_use]
    pub fn jwks_settings(mut self, settings: JwksSettings) -> Self {
        self.jwks_settings = settings;
        self
    }

    /// Require `iss` to equal `issuer`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Require `aud` to be (or contain) `audience`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock-skew allowance for `exp`/`nbf` (default [`DEFAULT_LEEWAY`], at most [`MAX_LEEWAY`];
    /// whole seconds).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Accepted service tokens (added to any set before; blanks ignored).
    #[must_use]
    pub fn service_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.service_tokens
            .extend(tokens.into_iter().map(Into::into));
        self
    }

    /// Verify `wsk_…` API keys against this store.
    #[must_use]
    pub fn api_keys(mut self, api_keys: ApiKeys) -> Self {
        self.api_keys = Some(api_keys);
        self
    }

    /// Reads the `AUTH_*` variables (see [`Authenticator::from_env`]) into a builder, so that
    /// API keys or JWKS tuning can be added before [`build`](Self::build).
    ///
    /// # Errors
    ///
    /// [`AuthError::PublicKeyFile`] when `AUTH_JWT_PUBLIC_KEY_FILE` is used and cannot be read.
    /// Without the `jwt` feature, [`AuthError::JwtNotCompiled`] naming the variable when any of
    /// `AUTH_JWKS_URL`, `AUTH_JWT_PUBLIC_KEY`, `AUTH_JWT_PUBLIC_KEY_FILE` or `AUTH_JWT_SECRET` is
    /// set (present but blank counts), so that a JWT configuration is never silently ignored.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        workspace_root: &Path,
    ) -> Result<Self, AuthError> {
        let var = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut builder = Self::default();

        let candidates = [
            ("AUTH_JWKS_URL", var("AUTH_JWKS_URL")),
            ("AUTH_JWT_PUBLIC_KEY", var("AUTH_JWT_PUBLIC_KEY")),
            ("AUTH_JWT_PUBLIC_KEY_FILE", var("AUTH_JWT_PUBLIC_KEY_FILE")),
            // Present-but-blank counts as set: an empty HS256 secret must fail startup, not
            // silently disable JWT verification.
            (
                "AUTH_JWT_SECRET",
                get("AUTH_JWT_SECRET").map(|v| v.trim().to_owned()),
            ),
        ];
        builder.jwt = jwt_source_from_env(candidates, workspace_root)?;

        builder.issuer = var("AUTH_JWT_ISSUER");
        builder.audience = var("AUTH_JWT_AUDIENCE");
        if let Some(raw) = var("AUTH_SERVICE_TOKENS") {
            builder.service_tokens = split_tokens(&raw);
            if builder.service_tokens.iter().any(|t| t.len() < 16) {
                tracing::warn!(
                    target: "webstir::auth",
                    "AUTH_SERVICE_TOKENS contains a token shorter than 16 characters; use long random tokens"
                );
            }
        }
        Ok(builder)
    }

    /// Validates the configuration and builds the authenticator.
    ///
    /// # Errors
    ///
    /// A short HS256 secret, an unusable or weak RSA key, a bad JWKS URL (or an `https` one
    /// without the `jwks-https` feature), a leeway above [`MAX_LEEWAY`], or a broken crypto backend.
    pub fn build(self) -> Result<Authenticator, AuthError> {
        if self.leeway > MAX_LEEWAY {
            return Err(AuthError::LeewayTooLarge {
                secs: self.leeway.as_secs(),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        #[cfg(not(feature = "jwt"))]
        if let Some(source) = &self.jwt {
            return Err(AuthError::JwtNotCompiled {
                setting: source.setting(),
            });
        }
        #[cfg(feature = "jwt")]
        let jwt = match self.jwt {
            None => None,
            Some(source) => {
                crypto_self_test()?;
                let (method, alg, keys) = match source {
                    JwtSource::Secret(secret) => {
                        if secret.len() < MIN_HS256_SECRET_BYTES {
                            return Err(AuthError::SecretTooShort { len: secret.len() });
                        }
                        (
                            JwtMethod::Hs256Secret,
                            Algorithm::HS256,
                            Keys::Static(DecodingKey::from_secret(&secret)),
                        )
                    }
                    JwtSource::PublicKeyPem(pem) => (
                        JwtMethod::Rs256PublicKey,
                        Algorithm::RS256,
                        Keys::Static(rsa_key_from_pem(&pem)?),
                    ),
                    JwtSource::PublicJwk(json) => (
                        JwtMethod::Rs256PublicKey,
                        Algorithm::RS256,
                        Keys::Static(rsa_key_from_jwk(&json)?),
                    ),
                    JwtSource::JwksUrl(url) => (
                        JwtMethod::Rs256Jwks,
                        Algorithm::RS256,
                        Keys::Jwks(JwksCache::new(&url, self.jwks_settings)?),
                    ),
                };
                let validation = jwt::validation(
                    alg,
                    self.leeway.as_secs(),
                    self.issuer.as_deref(),
                    self.audience.as_deref(),
                );
                Some(JwtConfig {
                    method,
                    alg,
                    keys,
                    validation,
                })
            }
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                #[cfg(feature = "jwt")]
                jwt,
                service: ServiceTokens::new(&self.service_tokens),
                api_keys: self.api_keys,
            }),
        })
    }
}

/// Picks the JWT method from the candidate variables (in precedence order; `None` = unset).
#[cfg(feature = "jwt")]
fn jwt_source_from_env(
    candidates: [(&'static str, Option<String>); 4],
    workspace_root: &Path,
) -> Result<Option<JwtSource>, AuthError> {
    let mut jwt = None;
    let mut chosen: Option<&str> = None;
    for (name, value) in candidates {
        let Some(value) = value else { continue };
        if let Some(winner) = chosen {
            if value.is_empty() {
                continue;
            }
            tracing::warn!(
                target: "webstir::auth",
                ignored = name,
                used = winner,
                "{name} is set but ignored: {winner} takes precedence (one JWT method at a time)"
            );
            continue;
        }
        chosen = Some(name);
        jwt = Some(match name {
            "AUTH_JWKS_URL" => JwtSource::JwksUrl(value),
            "AUTH_JWT_PUBLIC_KEY" => public_key_source(&value),
            "AUTH_JWT_PUBLIC_KEY_FILE" => {
                let path = workspace_root.join(&value);
                let text = std::fs::read_to_string(&path)
                    .map_err(|cause| AuthError::PublicKeyFile { path, cause })?;
                public_key_source(&text)
            }
            _ => JwtSource::Secret(value.into_bytes()),
        });
    }
    Ok(jwt)
}

/// Without JWT support any configured JWT method is a startup error (never silently ignored).
#[cfg(not(feature = "jwt"))]
fn jwt_source_from_env(
    candidates: [(&'static str, Option<String>); 4],
    _workspace_root: &Path,
) -> Result<Option<JwtSource>, AuthError> {
    match candidates.into_iter().find(|(_, value)| value.is_some()) {
        Some((setting, _)) => Err(AuthError::JwtNotCompiled { setting }),
        None => Ok(None),
    }
}

#[cfg(feature = "jwt")]
fn public_key_source(value: &str) -> JwtSource {
    let value = value.trim();
    if value.starts_with('{') {
        JwtSource::PublicJwk(value.to_owned())
    } else if !value.contains('\n') && value.contains("\\n") {
        // PEM pasted into a one-line env var with escaped newlines.
        JwtSource::PublicKeyPem(value.replace("\\n", "\n"))
    } else {
        JwtSource::PublicKeyPem(value.to_owned())
    }
}

#[cfg(feature = "jwt")]
fn rsa_key_from_pem(pem: &str) -> Result<DecodingKey, AuthError> {
    let pem = pem.trim();
    let key = rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| {
            AuthError::InvalidPublicKey(
                "expected a PEM `PUBLIC KEY` or `RSA PUBLIC KEY` block".to_owned(),
            )
        })?;
    let bits = key.size() * 8;
    if key.size() < jwks::MIN_RSA_MODULUS_BYTES {
        return Err(AuthError::WeakRsaKey { bits });
    }
    Ok(DecodingKey::from_rsa_raw_components(
        &key.n().to_bytes_be(),
        &key.e().to_bytes_be(),
    ))
}

#[cfg(feature = "jwt")]
fn rsa_key_from_jwk(json: &str) -> Result<DecodingKey, AuthError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|_| AuthError::InvalidPublicKey("the JWK is not valid JSON".to_owned()))?;
    jwks::rsa_verification_key(&value).ok_or_else(|| {
        AuthError::InvalidPublicKey(
            "the JWK is not an RS256 RSA signing key of at least 2048 bits".to_owned(),
        )
    })
}

#[cfg(feature = "jwt")]
/// jsonwebtoken panics at first use when no (or two) crypto backends are compiled in; find out at
/// startup instead of on the first request.
fn crypto_self_test() -> Result<(), AuthError> {
    let outcome = std::panic::catch_unwind(|| {
        let secret = [7u8; 32];
        let claims = serde_json::json!({ "exp": 4_102_444_800u64 });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .map_err(|e| e.to_string())?;
        jsonwebtoken::decode::<serde::de::IgnoredAny>(
            &token,
            &DecodingKey::from_secret(&secret),
            &Validation::new(Algorithm::HS256),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(AuthError::CryptoBackend(message)),
        Err(_) => Err(AuthError::CryptoBackend(
            "jsonwebtoken panicked (exactly one of its crypto backend features must be enabled)"
                .to_owned(),
        )),
    }
}

#[cfg(feature = "jwt")]
#[derive(Debug)]
enum Keys {
    Static(DecodingKey),
    Jwks(JwksCache),
}

#[cfg(feature = "jwt")]
#[derive(Debug)]
struct JwtConfig {
    method: JwtMethod,
    alg: Algorithm,
    keys: Keys,
    validation: Validation,
}

#[derive(Debug)]
struct Inner {
    #[cfg(feature = "jwt")]
    jwt: Option<JwtConfig>,
    service: ServiceTokens,
    api_keys: Option<ApiKeys>,
}

/// Verifies the credentials of each request. Cheap to clone (shared state); build one at startup.
///
/// ```
/// # async fn demo() -> Result<(), webstir_auth::AuthError> {
/// use webstir_auth::{AuthOutcome, Authenticator, Requirement};
///
/// let auth = Authenticator::builder()
///     .hs256_secret("0123456789abcdef0123456789abcdef")
///     .service_tokens(["a-long-random-service-token"])
///     .build()?;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-service-token", "a-long-random-service-token".parse().unwrap());
/// let outcome = auth.authenticate(&headers, None).await;
/// assert!(matches!(&outcome, AuthOutcome::Authenticated(ctx) if ctx.has_scope("service")));
/// assert!(Requirement::authenticated().check(&outcome).is_allowed());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

/// One credential found in the request headers.
enum Presented<'a> {
    Absent,
    Value(&'a str),
    Malformed,
}

impl Authenticator {
    /// A builder with nothing configured.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// Builds from environment variables (`get` is usually `|k| std::env::var(k).ok()` or the
    /// runtime's merged `.env` view). Values are trimmed; blank means unset.
    ///
    /// | Variable | Meaning |
    /// |---|---|
    /// | `AUTH_JWKS_URL` | RS256 keys by `kid` from this JWKS URL |
    /// | `AUTH_JWT_PUBLIC_KEY` | RS256 public key: PEM (literal `\n` escapes allowed) or a JWK JSON object |
    /// | `AUTH_JWT_PUBLIC_KEY_FILE` | same, read from a file; relative paths are joined to `workspace_root` |
    /// | `AUTH_JWT_SECRET` | HS256 secret, at least 32 bytes |
    /// | `AUTH_JWT_ISSUER` | required `iss` |
    /// | `AUTH_JWT_AUDIENCE` | required `aud` (not checked when unset) |
    /// | `AUTH_SERVICE_TOKENS` | service tokens, separated by commas and/or whitespace |
    ///
    /// **Precedence** — exactly one JWT method is used, the first set in this order:
    /// `AUTH_JWKS_URL`, `AUTH_JWT_PUBLIC_KEY`, `AUTH_JWT_PUBLIC_KEY_FILE`, `AUTH_JWT_SECRET`.
    /// The others are ignored with a warning (and not validated). Asymmetric methods win so that a
    /// template's leftover HS256 secret never silently opens a second door. HS256 and RS256 are
    /// never accepted together (RFC 8725 §3.1).
    ///
    /// API keys are not configured here: the key store lives in the app's database. Use
    /// [`AuthenticatorBuilder::from_env`] and add [`AuthenticatorBuilder::api_keys`].
    ///
    /// # Errors
    ///
    /// See [`AuthenticatorBuilder::build`]; plus
    /// `Failed to read AUTH_JWT_PUBLIC_KEY_FILE at <path>: <msg>`; plus, without the `jwt`
    /// feature, [`AuthError::JwtNotCompiled`] when any JWT variable above is set.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        workspace_root: &Path,
    ) -> Result<Self, AuthError> {
        AuthenticatorBuilder::from_env(get, workspace_root)?.build()
    }

    /// The JWT method in use, if any. Always `None` without the `jwt` feature.
    pub fn jwt_method(&self) -> Option<JwtMethod> {
        #[cfg(feature = "jwt")]
        return self.inner.jwt.as_ref().map(|j| j.method);
        #[cfg(not(feature = "jwt"))]
        None
    }

    /// `true` when at least one service token is configured.
    pub fn has_service_tokens(&self) -> bool {
        !self.inner.service.is_empty()
    }

    /// The API-key verifier, if configured.
    pub fn api_keys(&self) -> Option<&ApiKeys> {
        self.inner.api_keys.as_ref()
    }

    /// Fetches the JWKS now (if one is configured and the cooldown allows), so the first request
    /// does not pay for it. Failures are logged; requests will retry later. Does nothing without
    /// the `jwt` feature.
    pub async fn prefetch_jwks(&self) {
        #[cfg(feature = "jwt")]
        if let Some(JwtConfig {
            keys: Keys::Jwks(cache),
            ..
        }) = &self.inner.jwt
        {
            cache.prefetch().await;
        }
    }

    /// Checks the credentials of one request.
    ///
    /// 1. A credential in the query string (see
    ///    [`QUERY_CREDENTIAL_PARAMS`](crate::QUERY_CREDENTIAL_PARAMS)) →
    ///    [`RejectReason::CredentialInQuery`], whatever else is sent.
    /// 2. `Authorization: Bearer <token>` (scheme case-insensitive; other schemes are ignored):
    ///    a `wsk_…` value is verified as an API key, anything else as a JWT. Valid → done.
    /// 3. `X-Service-Token`, else `X-API-Key`: a `wsk_…` value is an API key when API keys are
    ///    configured, anything else is compared with `AUTH_SERVICE_TOKENS`. Valid → done, even if
    ///    the bearer token failed (that failure is logged, never returned).
    /// 4. Otherwise the first failure (bearer first) is returned, or `Anonymous` if nothing was sent.
    ///
    /// Every refusal is logged under `webstir::security` with its reason code and credential
    /// kind, never the credential.
    pub async fn authenticate(&self, headers: &HeaderMap, query: Option<&str>) -> AuthOutcome {
        if query.is_some_and(query_has_credential) {
            security_log::credential_in_query();
            return AuthOutcome::Rejected(RejectReason::CredentialInQuery);
        }

        let mut bearer_failure = None;
        match authorization(headers) {
            Presented::Absent => {}
            Presented::Malformed => {
                security_log::rejected(CredentialKind::Jwt, RejectReason::MalformedAuthorization);
                bearer_failure = Some(RejectReason::MalformedAuthorization);
            }
            Presented::Value(token) => {
                let (kind, result) = if looks_like_api_key(token) {
                    (CredentialKind::ApiKey, self.verify_api_key(token).await)
                } else {
                    (CredentialKind::Jwt, self.verify_jwt(token).await)
                };
                match result {
                    Ok(ctx) => return AuthOutcome::Authenticated(ctx),
                    Err(reason) => {
                        security_log::rejected(kind, reason);
                        bearer_failure = Some(reason);
                    }
                }
            }
        }

        let service_failure = match service_header(headers) {
            Presented::Absent => None,
            Presented::Malformed => Some((
                CredentialKind::ServiceToken,
                RejectReason::InvalidServiceToken,
            )),
            Presented::Value(value) => {
                let (kind, result) = if looks_like_api_key(value) && self.inner.api_keys.is_some() {
                    (CredentialKind::ApiKey, self.verify_api_key(value).await)
                } else if self.inner.service.matches(value) {
                    (CredentialKind::ServiceToken, Ok(AuthContext::service()))
                } else {
                    (
                        CredentialKind::ServiceToken,
                        Err(RejectReason::InvalidServiceToken),
                    )
                };
                match result {
                    Ok(ctx) => {
                        if let Some(reason) = bearer_failure {
                            tracing::info!(
                                target: security_log::SECURITY_TARGET,
                                event = "auth.fallback",
                                rejected = reason.code(),
                                credential = kind.as_str(),
                                "bearer credential rejected; request authenticated by header credential"
                            );
                        }
                        return AuthOutcome::Authenticated(ctx);
                    }
                    Err(reason) => Some((kind, reason)),
                }
            }
        };
        if let Some((kind, reason)) = service_failure {
            security_log::rejected(kind, reason);
        }

        match (bearer_failure, service_failure) {
            (Some(reason), _) | (None, Some((_, reason))) => AuthOutcome::Rejected(reason),
            (None, None) => AuthOutcome::Anonymous,
        }
    }

    /// Without the `jwt` feature every bearer token that is not an API key is refused.
    #[cfg(not(feature = "jwt"))]
    #[allow(clippy::unused_async)]
    async fn verify_jwt(&self, _token: &str) -> Result<AuthContext, RejectReason> {
        Err(RejectReason::JwtNotConfigured)
    }

    #[cfg(feature = "jwt")]
    async fn verify_jwt(&self, token: &str) -> Result<AuthContext, RejectReason> {
        let Some(jwt) = &self.inner.jwt else {
            return Err(RejectReason::JwtNotConfigured);
        };
        let pre = jwt::precheck(token, jwt.alg)?;
        match &jwt.keys {
            Keys::Static(key) => jwt::verify(token, key, &jwt.validation)?,
            Keys::Jwks(cache) => {
                let keys = cache.keys_for(pre.kid.as_deref()).await?;
                let mut result = Err(RejectReason::UnknownKey);
                for key in &keys {
                    result = jwt::verify(token, key, &jwt.validation);
                    // Anything but a bad signature means this key matched: stop there.
                    if result != Err(RejectReason::InvalidSignature) {
                        break;
                    }
                }
                result?;
            }
        }
        Ok(AuthContext::from_jwt_claims(pre.claims))
    }

    async fn verify_api_key(&self, key: &str) -> Result<AuthContext, RejectReason> {
        let Some(api_keys) = &self.inner.api_keys else {
            return Err(RejectReason::InvalidApiKey);
        };
        let record = api_keys.verify(key).await?;
        Ok(api_key::context_for(&record))
    }
}

fn authorization(headers: &HeaderMap) -> Presented<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Presented::Absent;
    };
    if values.next().is_some() {
        return Presented::Malformed;
    }
    let Ok(value) = value.to_str() else {
        return Presented::Malformed;
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Basic, Digest…: not ours to judge.
        return Presented::Absent;
    }
    let token = rest.trim();
    if token.is_empty() || token.contains(' ') {
        return Presented::Malformed;
    }
    Presented::Value(token)
}

fn service_header(headers: &HeaderMap) -> Presented<'_> {
    let name = if headers.contains_key(SERVICE_TOKEN_HEADER) {
        SERVICE_TOKEN_HEADER
    } else {
        API_KEY_HEADER
    };
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Presented::Absent;
    };
    if values.next().is_some() {
        return Presented::Malformed;
    }
    match value.to_str().map(str::trim) {
        Ok(v) if !v.is_empty() => Presented::Value(v),
        _ => Presented::Malformed,
    }
}
