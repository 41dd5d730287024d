//! API keys for programmatic users: generated once, stored only as a keyed hash.
//!
//! # Format
//!
//! `wsk_<id>_<secret>`: `id` is 16 lower-case hex characters (64 random bits, public, the
//! database key), `secret` is 64 lower-case hex characters (256 random bits). The whole string is
//! shown once, at creation; only the id and a hash are stored.
//!
//! # Why HMAC-SHA-256 with a pepper, not argon2id
//!
//! Slow password hashes exist to make guessing *low-entropy* human passwords expensive. A 256-bit
//! random secret cannot be guessed, so a slow KDF adds nothing but cost, and it would be paid on
//! **every request** (an argon2id at OWASP parameters is ~20 ms and 19 MiB of memory; a flood of
//! invalid keys would turn it into a denial-of-service lever). HMAC-SHA-256 verifies in
//! microseconds. The server-side pepper (`AUTH_API_KEY_PEPPER`, ≥ 32 bytes, kept out of the
//! database) means a leaked table alone does not even allow offline checking of a candidate key.
//! The stored value is `hmac-sha256$<hex>`, so the scheme can change later.
//!
//! # Storage
//!
//! [`ApiKeyStore`] is the storage seam; [`MemoryApiKeyStore`] is the in-memory implementation. A
//! SQL store should use [`API_KEYS_SCHEMA`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::context::AuthContext;
use crate::error::{ApiKeyError, AuthError, StoreError};
use crate::outcome::{CredentialKind, RejectReason};
use crate::security_log::SECURITY_TARGET;

/// Every API key starts with this prefix.
pub const API_KEY_PREFIX: &str = "wsk_";

/// The environment variable holding the API-key pepper (≥ 32 bytes). The CLI that creates keys
/// and the server that verifies them must use the same value.
pub const API_KEY_PEPPER_ENV: &str = "AUTH_API_KEY_PEPPER";

/// Proposed SQL table for a database-backed [`ApiKeyStore`] (portable SQLite / Postgres). Times
/// are Unix seconds; `scopes` is space-separated.
pub const API_KEYS_SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS webstir_api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '',
    subject       TEXT,
    tenant        TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX IF NOT EXISTS webstir_api_keys_subject_idx ON webstir_api_keys (subject);
";

const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;
const HASH_SCHEME: &str = "hmac-sha256$";
const HASH_DOMAIN: &[u8] = b"webstir-api-key-v1";

/// A boxed, `Send` future: what [`ApiKeyStore`] methods return (keeps the trait object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One stored API key. Never contains the key itself.
///
/// Not `#[non_exhaustive]`: store implementations build it from their rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKeyRecord {
    /// Public id (the `<id>` part of `wsk_<id>_<secret>`).
    pub id: String,
    /// Human label.
    pub name: String,
    /// `hmac-sha256$<hex>` of the secret. Not a credential, but there is no reason to show it.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// Scopes granted to requests made with this key.
    pub scopes: Vec<String>,
    /// The user the key acts for (becomes [`AuthContext::user_id`]).
    pub subject: Option<String>,
    /// The tenant the key belongs to (becomes [`AuthContext::tenant`]).
    pub tenant: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds; the key is refused from this instant on.
    pub expires_at: Option<i64>,
    /// Revocation time, Unix seconds; a revoked key is refused.
    pub revoked_at: Option<i64>,
    /// Last successful use, Unix seconds (updated at most once per touch interval).
    pub last_used_at: Option<i64>,
}

impl ApiKeyRecord {
    /// `scopes` joined with spaces (the SQL column format).
    pub fn scopes_text(&self) -> String {
        self.scopes.join(" ")
    }

    /// Parses the SQL column format of `scopes`.
    pub fn parse_scopes(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }
}

/// Storage for API keys. Object-safe (methods return [`BoxFuture`]) so the runtime can hold an
/// `Arc<dyn ApiKeyStore>` backed by memory or by the app's database.
pub trait ApiKeyStore: Send + Sync + std::fmt::Debug {
    /// Inserts a new key; [`StoreError::Duplicate`] if the id exists.
    fn insert(&self, record: ApiKeyRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Looks a key up by id.
    fn find<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreError>>;
    /// Marks a key revoked at `at` (Unix seconds). Returns `false` if there is no such key.
    /// Revoking twice keeps the first time.
    fn revoke<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Records a use at `at` (Unix seconds).
    fn touch<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>>;
    /// All keys, ordered by creation time then id.
    fn list(&self) -> BoxFuture<'_, Result<Vec<ApiKeyRecord>, StoreError>>;
}

/// An in-process [`ApiKeyStore`] (tests, development, single-process apps without a database).
#[derive(Debug, Default)]
pub struct MemoryApiKeyStore {
    keys: Mutex<BTreeMap<String, ApiKeyRecord>>,
}

impl MemoryApiKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ApiKeyRecord>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ApiKeyStore for MemoryApiKeyStore {
    fn insert(&self, record: ApiKeyRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let result = {
            let mut keys = self.keys();
            if keys.contains_key(&record.id) {
                Err(StoreError::Duplicate(record.id))
            } else {
                keys.insert(record.id.clone(), record);
                Ok(())
            }
        };
        Box::pin(async move { result })
    }

    fn find<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreError>> {
        let found = self.keys().get(id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn revoke<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
        let found = match self.keys().get_mut(id) {
            Some(record) => {
                record.revoked_at.get_or_insert(at);
                true
            }
            None => false,
        };
        Box::pin(async move { Ok(found) })
    }

    fn touch<'a>(&'a self, id: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Some(record) = self.keys().get_mut(id) {
            record.last_used_at = Some(at);
        }
        Box::pin(async move { Ok(()) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ApiKeyRecord>, StoreError>> {
        let mut all: Vec<ApiKeyRecord> = self.keys().values().cloned().collect();
        all.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Box::pin(async move { Ok(all) })
    }
}

/// What to create: see [`ApiKeys::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewApiKey {
    /// Human label (required, non-empty).
    pub name: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The user the key acts for.
    pub subject: Option<String>,
    /// The tenant the key belongs to.
    pub tenant: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
}

impl NewApiKey {
    /// A key named `name`, with no scopes, owner, tenant or expiry.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scopes: Vec::new(),
            subject: None,
            tenant: None,
            expires_at: None,
        }
    }

    /// Grants scopes.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sets the owner.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the tenant.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Expires at `at` (Unix seconds).
    #[must_use]
    pub fn expires_at(mut self, at: i64) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Expires `ttl` from now.
    #[must_use]
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        let secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        self.expires_at = Some(now_unix().saturating_add(secs));
        self
    }
}

/// A freshly created key. `key` is the only copy of the plaintext: show it once, never log it
/// (`Debug` redacts it).
#[non_exhaustive]
pub struct CreatedApiKey {
    /// The full key, `wsk_<id>_<secret>`.
    pub key: String,
    /// What was stored.
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &crate::redact::REDACTED)
            .field("record", &self.record)
            .finish()
    }
}

/// Creates and verifies API keys against an [`ApiKeyStore`].
#[derive(Clone)]
pub struct ApiKeys {
    store: Arc<dyn ApiKeyStore>,
    pepper: Arc<[u8]>,
    touch_interval: Duration,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("store", &self.store)
            .field("pepper", &crate::redact::REDACTED)
            .field("touch_interval", &self.touch_interval)
            .finish()
    }
}

impl ApiKeys {
    /// API keys hashed with `pepper` (≥ 32 bytes, e.g. `AUTH_API_KEY_PEPPER`).
    ///
    /// # Errors
    ///
    /// [`AuthError::PepperTooShort`] when the pepper is shorter than 32 bytes.
    pub fn new(store: Arc<dyn ApiKeyStore>, pepper: impl AsRef<[u8]>) -> Result<Self, AuthError> {
        let pepper = pepper.as_ref();
        if pepper.len() < 32 {
            return Err(AuthError::PepperTooShort { len: pepper.len() });
        }
        Ok(Self {
            store,
            pepper: Arc::from(pepper),
            touch_interval: Duration::from_secs(60),
        })
    }

    /// How often `last_used_at` is written for a key in use (default 60 s; zero = every use).
    #[must_use]
    pub fn with_touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = interval;
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ApiKeyStore> {
        &self.store
    }

    /// Generates a key, stores its hash, and returns the plaintext once.
    ///
    /// # Errors
    ///
    /// An empty name or malformed scope, or a store failure.
    pub async fn create(&self, new: NewApiKey) -> Result<CreatedApiKey, ApiKeyError> {
        let name = new.name.trim();
        if name.is_empty() {
            return Err(ApiKeyError::EmptyName);
        }
        if let Some(bad) = new
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.chars().any(char::is_whitespace))
        {
            return Err(ApiKeyError::InvalidScope(bad.clone()));
        }
        let mut attempt = 0;
        loop {
            let id = hex(&rand::random::<[u8; ID_BYTES]>());
            let secret = hex(&rand::random::<[u8; SECRET_BYTES]>());
            let record = ApiKeyRecord {
                secret_hash: self.hash(&id, &secret),
                id: id.clone(),
                name: name.to_owned(),
                scopes: new.scopes.clone(),
                subject: new.subject.clone(),
                tenant: new.tenant.clone(),
                created_at: now_unix(),
                expires_at: new.expires_at,
                revoked_at: None,
                last_used_at: None,
            };
            match self.store.insert(record.clone()).await {
                Ok(()) => {
                    return Ok(CreatedApiKey {
                        key: format!("{API_KEY_PREFIX}{id}_{secret}"),
                        record,
                    });
                }
                Err(StoreError::Duplicate(_)) if attempt < 3 => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Revokes a key by id. Returns `false` if there is no such key.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn revoke(&self, id: &str) -> Result<bool, ApiKeyError> {
        Ok(self.store.revoke(id, now_unix()).await?)
    }

    /// Every stored key (without secrets).
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, ApiKeyError> {
        Ok(self.store.list().await?)
    }

    /// Verifies a presented key: parse, look up by id, compare hashes in constant time, refuse
    /// revoked and expired keys, then record the use.
    ///
    /// # Errors
    ///
    /// The [`RejectReason`] to report ([`RejectReason::InvalidApiKey`] for malformed, unknown
    /// or wrong keys alike; revocation and expiry are only revealed to holders of the secret).
    pub async fn verify(&self, presented: &str) -> Result<ApiKeyRecord, RejectReason> {
        let (id, secret) = parse_key(presented).ok_or(RejectReason::InvalidApiKey)?;
        let mut record = match self.store.find(id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(RejectReason::InvalidApiKey),
            Err(error) => {
                tracing::error!(target: SECURITY_TARGET, event = "api_key.store_failed", error = %error, "api key lookup failed");
                return Err(RejectReason::KeyStoreUnavailable);
            }
        };
        let expected = self.hash(id, secret);
        if !bool::from(expected.as_bytes().ct_eq(record.secret_hash.as_bytes())) {
            return Err(RejectReason::InvalidApiKey);
        }
        let now = now_unix();
        if record.revoked_at.is_some() {
            return Err(RejectReason::ApiKeyRevoked);
        }
        if record.expires_at.is_some_and(|at| now >= at) {
            return Err(RejectReason::ApiKeyExpired);
        }
        let interval = i64::try_from(self.touch_interval.as_secs()).unwrap_or(i64::MAX);
        if record
            .last_used_at
            .is_none_or(|last| now.saturating_sub(last) >= interval)
        {
            if let Err(error) = self.store.touch(id, now).await {
                tracing::warn!(target: SECURITY_TARGET, event = "api_key.touch_failed", error = %error, "could not record api key use");
            } else {
                record.last_used_at = Some(now);
            }
        }
        Ok(record)
    }

    fn hash(&self, id: &str, secret: &str) -> String {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.pepper)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(HASH_DOMAIN);
        mac.update(b"\0");
        mac.update(id.as_bytes());
        mac.update(b"\0");
        mac.update(secret.as_bytes());
        format!("{HASH_SCHEME}{}", hex(&mac.finalize().into_bytes()))
    }
}

/// The auth context of a verified key.
pub(crate) fn context_for(record: &ApiKeyRecord) -> AuthContext {
    let mut ctx =
        AuthContext::new(CredentialKind::ApiKey).with_scopes(record.scopes.iter().cloned());
    ctx.user_id.clone_from(&record.subject);
    ctx.tenant.clone_from(&record.tenant);
    ctx.key_id = Some(record.id.clone());
    ctx.claims
        .insert("key_id".to_owned(), record.id.clone().into());
    ctx.claims
        .insert("name".to_owned(), record.name.clone().into());
    ctx
}

/// `true` if `value` has the API-key prefix (so it should be verified as an API key, not as a
/// JWT or service token).
pub fn looks_like_api_key(value: &str) -> bool {
    value.starts_with(API_KEY_PREFIX)
}

/// `wsk_<16 hex>_<64 hex>` → `(id, secret)`.
fn parse_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let lower_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    (lower_hex(id, ID_BYTES * 2) && lower_hex(secret, SECRET_BYTES * 2)).then_some((id, secret))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parsing() {
        let id = "0123456789abcdef";
        let secret = "ab".repeat(32);
        let key = format!("wsk_{id}_{secret}");
        assert_eq!(parse_key(&key), Some((id, secret.as_str())));
        assert_eq!(parse_key(&key.to_uppercase()), None);
        assert_eq!(parse_key(&format!("{key}0")), None);
        assert_eq!(parse_key(&format!("wsk_{id}{secret}")), None);
        assert_eq!(parse_key("wsk_"), None);
    }

    #[test]
    fn scopes_round_trip_through_text() {
        assert_eq!(ApiKeyRecord::parse_scopes(" a  b "), ["a", "b"]);
    }
}
