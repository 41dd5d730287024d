//! Tuning of the JWKS key cache. Always compiled (the builder API is the same with or without the
//! `jwt` feature); the cache itself lives in `jwks.rs`.

use std::time::Duration;

/// Upper bound on a key set's freshness, whatever `Cache-Control` says.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Tuning of the JWKS cache behind `AUTH_JWKS_URL`. The defaults are what `from_env` uses.
///
/// How the cache behaves:
///
/// * Keys are RS256 RSA keys (≥ 2048-bit) selected by `kid`; entries whose `kty`, `alg`, `use`
///   or `key_ops` say otherwise are skipped, as are unparsable ones.
/// * Freshness comes from `Cache-Control: max-age` (capped at [`JWKS_MAX_TTL`](crate::JWKS_MAX_TTL), 24 h; `no-store`/`no-cache`
///   mean "always stale"), else [`JwksSettings::default_ttl`] (5 min).
/// * **At most one upstream fetch per cooldown window** ([`JwksSettings::refetch_cooldown`],
///   30 s), whatever triggered it: an unknown `kid` causes one refetch, then unknown `kid`s fail
///   fast until the window ends. This is what stops random `kid`s from turning the verifier into
///   an amplifier against the identity provider.
/// * A token without `kid` is tried against the keys published without one, or against the
///   only key when the set has exactly one.
/// * Concurrent misses are coalesced: one fetch in flight; waiters reuse its result.
/// * A known `kid` whose cache entry is stale is served immediately from the last good key set and
///   a refresh runs in the background (stale-while-revalidate), so a slow or dead key server adds
///   latency only to requests with an unknown `kid`.
/// * When the key server is down the last good keys are kept, for at most
///   [`JwksSettings::max_stale`] (24 h) after the last successful fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksSettings {
    /// Freshness when the response has no usable `Cache-Control` (default 5 min).
    pub default_ttl: Duration,
    /// Minimum time between two fetches (default 30 s).
    pub refetch_cooldown: Duration,
    /// Total time allowed for one fetch (default 5 s).
    pub fetch_timeout: Duration,
    /// How long after the last successful fetch its keys may still be used (default 24 h).
    pub max_stale: Duration,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            refetch_cooldown: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_stale: MAX_TTL,
        }
    }
}

impl JwksSettings {
    /// Sets [`default_ttl`](Self::default_ttl).
    #[must_use]
    pub fn with_default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Sets [`refetch_cooldown`](Self::refetch_cooldown).
    #[must_use]
    pub fn with_refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.refetch_cooldown = cooldown;
        self
    }

    /// Sets [`fetch_timeout`](Self::fetch_timeout).
    #[must_use]
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Sets [`max_stale`](Self::max_stale).
    #[must_use]
    pub fn with_max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }
}
