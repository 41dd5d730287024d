//! Auth in the runtime: the authenticator built from env, the SQL API-key store, per-route access
//! rules, and the `auth` subcommand (dev tokens, API keys).

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use webstir_auth::{
    API_KEY_PEPPER_ENV, ApiKeyRecord, ApiKeyStore, ApiKeys, AuthContext, AuthOutcome,
    Authenticator, AuthenticatorBuilder, BoxFuture, Decision, Requirement, StoreError,
};
use webstir_db::{Db, params};
use webstir_manifest::{AccessMode, AccessRule};

use crate::services::Services;
use crate::{Env, Error};

/// Why auth could not be configured (bad `AUTH_*` settings).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSetupError {
    /// An `AUTH_*` value is unusable.
    #[error(transparent)]
    Invalid(#[from] webstir_auth::AuthError),
    /// An `AUTH_*` variable is set but this build has no auth support.
    #[error(
        "{0} is set but this app was built without webstir's `auth` feature; enable it (webstir = {{ features = [\"auth\"] }}) or unset {0}"
    )]
    Disabled(&'static str),
}

/// The variables that configure credentials.
const AUTH_VARIABLES: [&str; 6] = [
    "AUTH_JWT_SECRET",
    "AUTH_JWT_PUBLIC_KEY",
    "AUTH_JWT_PUBLIC_KEY_FILE",
    "AUTH_JWKS_URL",
    "AUTH_SERVICE_TOKENS",
    API_KEY_PEPPER_ENV,
];

/// Without the `auth` feature: an authenticator that accepts nothing, refusing `AUTH_*` settings
/// that would otherwise be silently ignored.
#[cfg_attr(feature = "auth", allow(dead_code))]
pub(crate) fn disabled(env: &Env) -> Result<Authenticator, AuthSetupError> {
    if let Some(name) = AUTH_VARIABLES
        .into_iter()
        .find(|name| env.get_trimmed(name).is_some())
    {
        return Err(AuthSetupError::Disabled(name));
    }
    Ok(AuthenticatorBuilder::default().build()?)
}

/// Build the authenticator from `AUTH_*` variables. API keys are enabled when
/// `AUTH_API_KEY_PEPPER` is set and the app has a database.
#[cfg(feature = "auth")]
pub(crate) fn authenticator(
    env: &Env,
    services: &Services,
) -> Result<Authenticator, AuthSetupError> {
    let mut builder = AuthenticatorBuilder::from_env(
        |k| env.get(k).map(str::to_owned),
        &crate::services::root_of(env),
    )?;
    if let Some(keys) = api_keys(env, services)? {
        builder = builder.api_keys(keys);
    }
    Ok(builder.build()?)
}

pub(crate) fn api_keys(env: &Env, services: &Services) -> Result<Option<ApiKeys>, AuthSetupError> {
    match (env.get_trimmed(API_KEY_PEPPER_ENV), &services.db) {
        (Some(pepper), Some(db)) => Ok(Some(ApiKeys::new(
            Arc::new(SqlApiKeyStore::new(db.clone())),
            pepper,
        )?)),
        _ => Ok(None),
    }
}

/// Whether this authenticator can accept any credential at all.
pub(crate) fn enabled(auth: &Authenticator) -> bool {
    auth.jwt_method().is_some() || auth.has_service_tokens() || auth.api_keys().is_some()
}

/// The requirement a route's access rule stands for.
pub(crate) fn requirement(rule: Option<&AccessRule>) -> Requirement {
    match rule {
        Some(rule) if rule.mode == AccessMode::Service => Requirement::service()
            .with_scopes(rule.scopes.iter().cloned())
            .with_roles(rule.roles.iter().cloned()),
        Some(rule)
            if rule.mode == AccessMode::Authenticated
                || !rule.scopes.is_empty()
                || !rule.roles.is_empty() =>
        {
            Requirement::authenticated()
                .with_scopes(rule.scopes.iter().cloned())
                .with_roles(rule.roles.iter().cloned())
        }
        _ => Requirement::public(),
    }
}

/// Whether the request carries anything that looks like a credential.
pub(crate) fn has_credential(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key(http::header::AUTHORIZATION)
        || headers.contains_key(webstir_auth::SERVICE_TOKEN_HEADER)
        || headers.contains_key(webstir_auth::API_KEY_HEADER)
        || query.is_some_and(webstir_auth::query_has_credential)
}

/// The outcome of checking a request against a route's rule.
pub(crate) enum Gate {
    Allow(Option<AuthContext>),
    Deny(Error),
}

pub(crate) fn decide(requirement: &Requirement, outcome: AuthOutcome) -> Gate {
    match requirement.check(&outcome) {
        Decision::Allow => Gate::Allow(outcome.into_context()),
        decision @ Decision::Unauthorized(reason) => {
            if reason.is_some_and(|r| r.is_server_side()) {
                return Gate::Deny(Error::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Credentials cannot be checked right now; try again shortly.",
                ));
            }
            let mut err = Error::unauthorized("Authentication required.");
            if let Some(value) = decision
                .www_authenticate()
                .and_then(|v| http::HeaderValue::from_str(&v).ok())
            {
                err = err.with_header(http::header::WWW_AUTHENTICATE, value);
            }
            Gate::Deny(err)
        }
        Decision::Forbidden(why) => Gate::Deny(Error::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            match why {
                webstir_auth::Forbidden::MissingScope(scope) => {
                    format!("Missing required scope '{scope}'.")
                }
                webstir_auth::Forbidden::MissingRole(roles) => {
                    format!("Requires one of the roles: {}.", roles.join(", "))
                }
                webstir_auth::Forbidden::CredentialKind(_) => {
                    "This route accepts service credentials only.".to_owned()
                }
                _ => "Not allowed.".to_owned(),
            },
        )),
    }
}

/// API keys in the app's database (`webstir_api_keys`, created on first use).
#[derive(Debug)]
pub(crate) struct SqlApiKeyStore {
    db: Db,
    ready: tokio::sync::OnceCell<()>,
}

#[derive(serde::Deserialize)]
struct KeyRow {
    id: String,
    name: String,
    secret_hash: String,
    scopes: String,
    subject: Option<String>,
    tenant: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl From<KeyRow> for ApiKeyRecord {
    fn from(row: KeyRow) -> Self {
        ApiKeyRecord {
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            scopes: ApiKeyRecord::parse_scopes(&row.scopes),
            subject: row.subject,
            tenant: row.tenant,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

const KEY_COLUMNS: &str = "id, name, secret_hash, scopes, subject, tenant, created_at, expires_at, revoked_at, last_used_at";

impl SqlApiKeyStore {
    pub(crate) fn new(db: Db) -> Self {
        Self {
            db,
            ready: tokio::sync::OnceCell::new(),
        }
    }

    async fn ensure(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| async {
                // The table is a system migration's: apply pending ones (idempotent) first.
                crate::services::apply_system(&self.db)
                    .await
                    .map(|_| ())
                    .map_err(StoreError::backend)
            })
            .await
            .map(|_| ())
    }
}

fn backend(err: webstir_db::Error) -> StoreError {
    StoreError::backend(err)
}

impl ApiKeyStore for SqlApiKeyStore {
    fn insert(&self, record: ApiKeyRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.ensure().await?;
            let scopes = record.scopes_text();
            self.db
                .execute(
                    &format!("INSERT INTO webstir_api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    params![
                        record.id.as_str(),
                        record.name.as_str(),
                        record.secret_hash.as_str(),
                        scopes,
                        record.subject.clone(),
                        record.tenant.clone(),
                        record.created_at,
                        record.expires_at,
                        record.revoked_at,
                        record.last_used_at
                    ],
                )
                .await
                .map_err(|err| match err.constraint_kind() {
                    Some(webstir_db::ConstraintKind::Unique) => StoreError::Duplicate(record.id.clone()),
                    _ => backend(err),
                })?;
            Ok(())
        })
    }

    fn find<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreError>> {
        Box::pin(async move {
            self.ensure().await?;
            let row: Option<KeyRow> = self
                .db
                .query_optional(
                    &format!("SELECT {KEY_COLUMNS} FROM webstir_api_keys WHERE id = ?"),
                    params![id],
                )
                .await
                .map_err(backend)?;
            Ok(row.map(Into::into))
        })
    }

    fn revoke<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.ensure().await?;
            let n = self
                .db
                .execute(
                    "UPDATE webstir_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    params![at, id],
                )
                .await
                .map_err(backend)?;
            Ok(n > 0)
        })
    }

    fn touch<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.ensure().await?;
            self.db
                .execute(
                    "UPDATE webstir_api_keys SET last_used_at = ? WHERE id = ?",
                    params![at, id],
                )
                .await
                .map_err(backend)?;
            Ok(())
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ApiKeyRecord>, StoreError>> {
        Box::pin(async move {
            self.ensure().await?;
            let rows: Vec<KeyRow> = self
                .db
                .query_as(
                    &format!("SELECT {KEY_COLUMNS} FROM webstir_api_keys ORDER BY created_at, id"),
                    params![],
                )
                .await
                .map_err(backend)?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }
}

/// Arguments of the app binary's `auth` subcommand.
#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuthCommand {
    /// Mint an HS256 token signed with AUTH_JWT_SECRET (for local development and tests).
    Token {
        /// Subject (user id).
        #[arg(long)]
        sub: String,
        /// Email claim.
        #[arg(long)]
        email: Option<String>,
        /// Scopes (repeat or comma-separate).
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// Roles (repeat or comma-separate).
        #[arg(long = "role", value_delimiter = ',')]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Manage API keys stored (hashed) in the app's database; needs AUTH_API_KEY_PEPPER.
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Debug, clap::Subcommand)]
enum ApiKeyCommand {
    /// Create a key; it is shown once.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// Scopes (comma-separated).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// User id the key acts as.
        #[arg(long)]
        subject: Option<String>,
        /// Tenant the key belongs to.
        #[arg(long)]
        tenant: Option<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u64>,
    },
    /// Revoke a key by id.
    Revoke {
        /// Key id (the part after `wsk_`, before the second `_`).
        id: String,
    },
    /// List keys (never their secrets).
    List,
}

/// Entry point of `app auth …`.
pub(crate) async fn run_cli(args: AuthArgs, env: &Env, services: &Services) -> Result<(), String> {
    match args.command {
        AuthCommand::Token {
            sub,
            email,
            scopes,
            roles,
            ttl,
        } => {
            let secret = env
                .get_trimmed("AUTH_JWT_SECRET")
                .ok_or("AUTH_JWT_SECRET is not set; `auth token` signs HS256 tokens with it")?;
            let now = jiff::Timestamp::now().as_second();
            let mut claims = serde_json::json!({ "sub": sub, "iat": now, "exp": now + ttl as i64 });
            if let Some(email) = email {
                claims["email"] = email.into();
            }
            if !scopes.is_empty() {
                claims["scope"] = scopes.join(" ").into();
            }
            if !roles.is_empty() {
                claims["roles"] = roles.into();
            }
            for (name, claim) in [("AUTH_JWT_ISSUER", "iss"), ("AUTH_JWT_AUDIENCE", "aud")] {
                if let Some(value) = env.get_trimmed(name) {
                    claims[claim] = value.into();
                }
            }
            println!("{}", sign_hs256(&claims, secret)?);
            Ok(())
        }
        AuthCommand::ApiKey(command) => {
            let keys = api_keys(env, services)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    if services.db.is_none() {
                        "API keys are stored in the app's database: declare the `db` capability or set DATABASE_URL".to_owned()
                    } else {
                        format!("{API_KEY_PEPPER_ENV} is not set; set it (32+ random bytes) in the server's and this command's environment")
                    }
                })?;
            match command {
                ApiKeyCommand::Create {
                    name,
                    scopes,
                    subject,
                    tenant,
                    expires_in_days,
                } => {
                    let mut new = webstir_auth::NewApiKey::new(name).with_scopes(scopes);
                    if let Some(subject) = subject {
                        new = new.with_subject(subject);
                    }
                    if let Some(tenant) = tenant {
                        new = new.with_tenant(tenant);
                    }
                    if let Some(days) = expires_in_days {
                        new = new.expires_in(std::time::Duration::from_secs(days * 86_400));
                    }
                    let created = keys.create(new).await.map_err(|e| e.to_string())?;
                    eprintln!(
                        "[auth] created API key {} (shown once; store it now)",
                        created.record.id
                    );
                    println!("{}", created.key);
                    Ok(())
                }
                ApiKeyCommand::Revoke { id } => {
                    if keys.revoke(&id).await.map_err(|e| e.to_string())? {
                        println!("[auth] revoked API key {id}");
                        Ok(())
                    } else {
                        Err(format!("no active API key with id '{id}'"))
                    }
                }
                ApiKeyCommand::List => {
                    for record in keys.list().await.map_err(|e| e.to_string())? {
                        let state = if record.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!(
                            "{}  {}  {}  scopes=[{}]",
                            record.id,
                            record.name,
                            state,
                            record.scopes.join(",")
                        );
                    }
                    Ok(())
                }
            }
        }
    }
}

#[cfg(feature = "auth")]
pub(crate) fn sign_hs256(claims: &serde_json::Value, secret: &str) -> Result<String, String> {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("could not sign the token: {e}"))
}

#[cfg(not(feature = "auth"))]
pub(crate) fn sign_hs256(_claims: &serde_json::Value, _secret: &str) -> Result<String, String> {
    Err("`auth token` needs webstir's `auth` feature; enable it (webstir = { features = [\"auth\"] })".to_owned())
}
