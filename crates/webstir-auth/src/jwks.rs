//! The JWKS key cache behind `AUTH_JWKS_URL` (behaviour documented on [`JwksSettings`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::error::AuthError;
use crate::fetch::Fetcher;
use crate::jwks_settings::{JwksSettings, MAX_TTL};
use crate::outcome::RejectReason;
use crate::security_log::SECURITY_TARGET;

/// Most keys kept from one key set.
const MAX_KEYS: usize = 64;

/// Smallest accepted RSA modulus, in bytes (2048 bits).
pub(crate) const MIN_RSA_MODULUS_BYTES: usize = 256;

#[derive(Debug, Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// Keys published without a `kid` (tried for tokens without a `kid`).
    without_kid: Vec<Arc<DecodingKey>>,
    fresh_until: Option<Instant>,
    last_success: Option<Instant>,
    last_attempt: Option<Instant>,
    /// Incremented on every fetch attempt: lets waiters see that a fetch happened meanwhile.
    attempts: u64,
    /// A fetch is in flight: requests that need keys wait for it instead of failing.
    fetching: bool,
}

impl KeySet {
    fn usable(&self, now: Instant, max_stale: Duration) -> bool {
        self.last_success
            .is_some_and(|t| now.saturating_duration_since(t) <= max_stale)
    }

    fn find(&self, kid: Option<&str>) -> Vec<Arc<DecodingKey>> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned().into_iter().collect(),
            // A token without `kid`: the keys published without one, or the only key there is.
            None if !self.without_kid.is_empty() => self.without_kid.clone(),
            None if self.by_kid.len() == 1 => self.by_kid.values().cloned().collect(),
            None => Vec::new(),
        }
    }

    fn cooldown_over(&self, now: Instant, cooldown: Duration) -> bool {
        self.last_attempt
            .is_none_or(|t| now.saturating_duration_since(t) >= cooldown)
    }
}

/// A shared, self-refreshing JWKS key cache.
#[derive(Debug, Clone)]
pub(crate) struct JwksCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fetcher: Fetcher,
    settings: JwksSettings,
    state: Mutex<KeySet>,
    /// Held while a fetch is in flight; coalesces concurrent misses.
    fetch_gate: tokio::sync::Mutex<()>,
}

enum Plan {
    Use(Vec<Arc<DecodingKey>>),
    UseAndRefresh(Vec<Arc<DecodingKey>>, u64),
    Fail(RejectReason),
    Fetch(u64),
}

impl JwksCache {
    pub(crate) fn new(url: &str, settings: JwksSettings) -> Result<Self, AuthError> {
        Ok(Self {
            inner: Arc::new(Inner {
                fetcher: Fetcher::new(url)?,
                settings,
                state: Mutex::new(KeySet::default()),
                fetch_gate: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Candidate keys for a token's `kid` (all `kid`-less keys when the token has none).
    pub(crate) async fn keys_for(
        &self,
        kid: Option<&str>,
    ) -> Result<Vec<Arc<DecodingKey>>, RejectReason> {
        match self.plan(kid, None) {
            Plan::Use(keys) => Ok(keys),
            Plan::UseAndRefresh(keys, seen) => {
                let cache = self.clone();
                tokio::spawn(async move { cache.fetch_once(seen).await });
                Ok(keys)
            }
            Plan::Fail(reason) => Err(reason),
            Plan::Fetch(seen) => {
                self.fetch_once(seen).await;
                match self.plan(kid, Some(())) {
                    Plan::Use(keys) | Plan::UseAndRefresh(keys, _) => Ok(keys),
                    Plan::Fail(reason) => Err(reason),
                    Plan::Fetch(_) => Err(RejectReason::KeysUnavailable),
                }
            }
        }
    }

    /// Fetches now unless the cooldown forbids it (useful to warm the cache at startup).
    pub(crate) async fn prefetch(&self) {
        let seen = {
            let state = self.lock();
            if !state.cooldown_over(Instant::now(), self.inner.settings.refetch_cooldown) {
                return;
            }
            state.attempts
        };
        self.fetch_once(seen).await;
    }

    /// Decides what to do for `kid`. With `after_fetch`, never asks for another fetch.
    fn plan(&self, kid: Option<&str>, after_fetch: Option<()>) -> Plan {
        let settings = &self.inner.settings;
        let now = Instant::now();
        let state = self.lock();
        let usable = state.usable(now, settings.max_stale);
        let fresh = usable && state.fresh_until.is_some_and(|t| now < t);
        let keys = if usable { state.find(kid) } else { Vec::new() };
        let may_fetch =
            after_fetch.is_none() && state.cooldown_over(now, settings.refetch_cooldown);

        if !keys.is_empty() {
            return if fresh || !may_fetch {
                Plan::Use(keys)
            } else {
                Plan::UseAndRefresh(keys, state.attempts)
            };
        }
        if after_fetch.is_none() && state.fetching {
            // Coalesce with the fetch in flight: wait for it, then look again.
            return Plan::Fetch(state.attempts);
        }
        // A `kid`-less token never triggers a refetch on its own unless nothing is cached.
        if may_fetch && (kid.is_some() || !usable || !fresh) {
            return Plan::Fetch(state.attempts);
        }
        Plan::Fail(if usable {
            RejectReason::UnknownKey
        } else {
            RejectReason::KeysUnavailable
        })
    }

    /// Performs one fetch, unless another fetch started after `seen` (then just waits for it).
    async fn fetch_once(&self, seen: u64) {
        let _gate = self.inner.fetch_gate.lock().await;
        {
            let mut state = self.lock();
            if state.attempts != seen
                || !state.cooldown_over(Instant::now(), self.inner.settings.refetch_cooldown)
            {
                return;
            }
            state.attempts += 1;
            state.last_attempt = Some(Instant::now());
            state.fetching = true;
        }
        // Cleared even if this future is dropped mid-fetch.
        let _fetching = FetchingFlag(self);
        let settings = &self.inner.settings;
        let result = self.inner.fetcher.get(settings.fetch_timeout).await;
        let now = Instant::now();
        match result
            .map_err(|e| e.to_string())
            .and_then(|f| parse_key_set(&f.body).map(|keys| (keys, f.max_age)))
        {
            Ok(((by_kid, without_kid), max_age)) => {
                let ttl = max_age.unwrap_or(settings.default_ttl).min(MAX_TTL);
                tracing::debug!(
                    target: SECURITY_TARGET,
                    event = "jwks.refreshed",
                    keys = by_kid.len() + without_kid.len(),
                    ttl_secs = ttl.as_secs(),
                    "jwks key set refreshed"
                );
                let mut state = self.lock();
                state.by_kid = by_kid;
                state.without_kid = without_kid;
                state.fresh_until = Some(now + ttl);
                state.last_success = Some(now);
            }
            Err(error) => {
                let state = self.lock();
                tracing::warn!(
                    target: SECURITY_TARGET,
                    event = "jwks.fetch_failed",
                    error = %error,
                    keeping_cached_keys = state.usable(now, settings.max_stale),
                    "jwks fetch failed"
                );
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeySet> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

struct FetchingFlag<'a>(&'a JwksCache);

impl Drop for FetchingFlag<'_> {
    fn drop(&mut self) {
        self.0.lock().fetching = false;
    }
}

type ParsedKeys = (HashMap<String, Arc<DecodingKey>>, Vec<Arc<DecodingKey>>);

/// Parses `{"keys":[…]}`, keeping only RS256-usable RSA keys of ≥ 2048 bits.
fn parse_key_set(body: &[u8]) -> Result<ParsedKeys, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|_| "the key set is not JSON".to_owned())?;
    let Some(Value::Array(keys)) = doc.get("keys") else {
        return Err("the key set has no `keys` array".to_owned());
    };
    let mut by_kid = HashMap::new();
    let mut without_kid = Vec::new();
    for jwk in keys.iter().take(MAX_KEYS) {
        let Some(key) = rsa_verification_key(jwk) else {
            continue;
        };
        match jwk.get("kid").and_then(Value::as_str) {
            Some(kid) => {
                by_kid
                    .entry(kid.to_owned())
                    .or_insert_with(|| Arc::new(key));
            }
            None => without_kid.push(Arc::new(key)),
        }
    }
    Ok((by_kid, without_kid))
}

/// One JWK → an RS256 verification key, or `None` if it is not one (RFC 8725 §3.1: one key,
/// one algorithm).
pub(crate) fn rsa_verification_key(jwk: &Value) -> Option<DecodingKey> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("kty") != Some("RSA") {
        return None;
    }
    if jwk.get("alg").is_some() && field("alg") != Some("RS256") {
        return None;
    }
    if jwk.get("use").is_some() && field("use") != Some("sig") {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("verify")));
        if !verifies {
            return None;
        }
    }
    let n = URL_SAFE_NO_PAD.decode(field("n")?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(field("e")?).ok()?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    if n.len() < MIN_RSA_MODULUS_BYTES || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some(DecodingKey::from_rsa_raw_components(n, e))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(bytes: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![0xC5u8; bytes])
    }

    #[test]
    fn only_rs256_signing_keys_are_kept() {
        let body = json!({"keys":[
            {"kty":"RSA","kid":"ok","n":n(256),"e":"AQAB","alg":"RS256","use":"sig"},
            {"kty":"RSA","kid":"small","n":n(128),"e":"AQAB"},
            {"kty":"RSA","kid":"hs","n":n(256),"e":"AQAB","alg":"HS256"},
            {"kty":"RSA","kid":"enc","n":n(256),"e":"AQAB","use":"enc"},
            {"kty":"RSA","kid":"ops","n":n(256),"e":"AQAB","key_ops":["encrypt"]},
            {"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"bad","n":"***","e":"AQAB"},
            {"kty":"RSA","n":n(256),"e":"AQAB"}
        ]});
        let (by_kid, without) = parse_key_set(body.to_string().as_bytes()).expect("parses");
        assert_eq!(by_kid.keys().collect::<Vec<_>>(), ["ok"]);
        assert_eq!(without.len(), 1);
        assert!(parse_key_set(b"{}").is_err());
        assert!(parse_key_set(b"nope").is_err());
    }
}
