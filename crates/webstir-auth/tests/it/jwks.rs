//! RS256 through a JWKS served by a counting loopback server.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use webstir_auth::{AuthOutcome, Authenticator, JwksSettings, JwtMethod, RejectReason};

use crate::util::{JwksServer, Mode, bearer, claims, public_jwk, rs_header, rs256, rsa_key};

const COOLDOWN: Duration = Duration::from_millis(400);

fn settings() -> JwksSettings {
    JwksSettings::default()
        .with_refetch_cooldown(COOLDOWN)
        .with_fetch_timeout(Duration::from_millis(500))
}

fn auth(server: &JwksServer, settings: JwksSettings) -> Authenticator {
    Authenticator::builder()
        .jwks_url(server.url())
        .jwks_settings(settings)
        .build()
        .expect("valid config")
}

/// A validly signed token for `kid` with key `key`, memoised: RSA signing is slow in debug
/// builds and must stay out of the timing-sensitive parts of these tests.
fn token(kid: &str, key: usize) -> String {
    static CACHE: OnceLock<Mutex<HashMap<(String, usize), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(token) = cache.lock().expect("lock").get(&(kid.to_owned(), key)) {
        return token.clone();
    }
    let token = rs256(&rs_header(Some(kid)), &claims(json!({})), rsa_key(key));
    cache
        .lock()
        .expect("lock")
        .insert((kid.to_owned(), key), token.clone());
    token
}

/// A well-formed RS256 token with a junk signature: enough for unknown-`kid` paths (the key
/// lookup comes before any signature check) and cheap to make in a loop.
fn unsigned(kid: &str) -> String {
    format!(
        "{}.{}",
        crate::util::signing_input(&rs_header(Some(kid)), &claims(json!({}))),
        crate::util::b64([7u8; 256])
    )
}

async fn check(auth: &Authenticator, token: &str) -> Result<(), RejectReason> {
    match auth.authenticate(&bearer(token), None).await {
        AuthOutcome::Authenticated(_) => Ok(()),
        AuthOutcome::Rejected(reason) => Err(reason),
        AuthOutcome::Anonymous => panic!("a bearer token is a credential"),
    }
}

fn k1() -> Value {
    public_jwk(rsa_key(0), Some("k1"))
}

#[tokio::test]
async fn keys_are_fetched_once_and_cached() {
    let server = JwksServer::start(vec![k1()]).await;
    let auth = auth(&server, settings());
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256Jwks));
    assert_eq!(
        server.hits(),
        0,
        "lazy: nothing fetched before the first token"
    );
    for _ in 0..5 {
        assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    }
    assert_eq!(server.hits(), 1);
    // A known kid with a bad signature never triggers a refetch.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(
        check(&auth, &token("k1", 1)).await,
        Err(RejectReason::InvalidSignature)
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_unknown_kid_causes_one_refetch_then_a_cooldown() {
    let server = JwksServer::start(vec![k1()]).await;
    let auth = auth(&server, settings());
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    assert_eq!(server.hits(), 1);

    // Right after a fetch, an unknown kid fails fast: the cooldown has not passed.
    assert_eq!(
        check(&auth, &unsigned("nope")).await,
        Err(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 1);

    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(
        check(&auth, &unsigned("nope")).await,
        Err(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 2, "exactly one refetch for the unknown kid");

    // A flood of random kids inside the cooldown: no upstream traffic, and fast.
    let flood: Vec<String> = (0..200).map(|i| unsigned(&format!("random-{i}"))).collect();
    let started = Instant::now();
    for token in &flood {
        assert_eq!(check(&auth, token).await, Err(RejectReason::UnknownKey));
    }
    assert_eq!(server.hits(), 2, "no fetch during the cooldown");
    assert!(started.elapsed() < COOLDOWN, "took {:?}", started.elapsed());

    // After the window, one more refetch is allowed.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(
        check(&auth, &unsigned("other")).await,
        Err(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_are_coalesced_into_one_fetch() {
    let server = JwksServer::start(vec![k1()]).await;
    // A long cooldown: debug-mode RSA verification of 12 tokens must not outlast it.
    let auth = auth(
        &server,
        settings().with_refetch_cooldown(Duration::from_secs(30)),
    );
    let known = token("k1", 0);
    let tokens: Vec<String> = (0..24)
        .map(|i| {
            if i % 2 == 0 {
                known.clone()
            } else {
                unsigned(&format!("missing-{i}"))
            }
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let auth = auth.clone();
        tasks.spawn(async move { check(&auth, &token).await });
    }
    let mut accepted = 0;
    while let Some(result) = tasks.join_next().await {
        if result.expect("task") == Ok(()) {
            accepted += 1;
        }
    }
    assert_eq!(
        server.hits(),
        1,
        "one fetch for 24 concurrent cold requests"
    );
    assert_eq!(accepted, 12);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_the_refetch() {
    let server = JwksServer::start(vec![k1()]).await;
    let auth = auth(&server, settings());
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    server.set_keys(vec![k1(), public_jwk(rsa_key(1), Some("k2"))]);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(check(&auth, &token("k2", 1)).await, Ok(()));
    assert_eq!(server.hits(), 2);
    // k2's key cannot impersonate k1.
    assert_eq!(
        check(&auth, &token("k1", 1)).await,
        Err(RejectReason::InvalidSignature)
    );
}

#[tokio::test]
async fn cached_keys_survive_a_key_server_outage() {
    let server = JwksServer::start(vec![k1()]).await;
    // `no-store`: the key set is stale immediately, so every request after the cooldown wants a
    // refresh.
    server.set_cache_control("no-store");
    let auth = auth(&server, settings());
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    assert_eq!(server.hits(), 1);

    server.set_mode(Mode::Fail);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    for _ in 0..3 {
        assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    }
    // Let the background refresh run and fail (polling: CI machines can be slow).
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.hits() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        server.hits(),
        2,
        "one background refresh attempt per cooldown"
    );
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));

    // A hanging key server adds no latency to known kids (the fetch timeout is 500 ms)…
    let known = token("k1", 0);
    server.set_mode(Mode::Hang);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    let started = Instant::now();
    assert_eq!(check(&auth, &known).await, Ok(()));
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    // …and unknown kids wait at most the fetch timeout (or fail fast during the cooldown).
    tokio::time::sleep(COOLDOWN + Duration::from_millis(600)).await;
    let started = Instant::now();
    assert_eq!(
        check(&auth, &unsigned("unknown")).await,
        Err(RejectReason::UnknownKey)
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
}

#[tokio::test]
async fn no_keys_at_all_is_keys_unavailable() {
    let server = JwksServer::start(vec![k1()]).await;
    server.set_mode(Mode::Fail);
    let auth = auth(&server, settings());
    assert_eq!(
        check(&auth, &token("k1", 0)).await,
        Err(RejectReason::KeysUnavailable)
    );
    assert_eq!(
        check(&auth, &token("k1", 0)).await,
        Err(RejectReason::KeysUnavailable)
    );
    assert_eq!(
        server.hits(),
        1,
        "the failed fetch is not retried inside the cooldown"
    );
    assert!(RejectReason::KeysUnavailable.is_server_side());

    // Once it is back, the next window fetches again.
    server.set_mode(Mode::Serve);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn keys_older_than_max_stale_are_dropped() {
    let server = JwksServer::start(vec![k1()]).await;
    server.set_cache_control("max-age=0");
    let auth = auth(
        &server,
        settings().with_max_stale(Duration::from_millis(300)),
    );
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    server.set_mode(Mode::Fail);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(COOLDOWN).await;
    // Stale beyond the limit and the refetch fails: the old keys are no longer used.
    assert_eq!(
        check(&auth, &token("k1", 0)).await,
        Err(RejectReason::KeysUnavailable)
    );
}

#[tokio::test]
async fn contradictory_jwks_entries_are_not_usable() {
    let mut hs_marked = public_jwk(rsa_key(0), Some("hs"));
    hs_marked["alg"] = json!("HS256");
    let mut enc = public_jwk(rsa_key(0), Some("enc"));
    enc["use"] = json!("enc");
    let mut oct = json!({ "kty": "oct", "kid": "oct", "k": "c2VjcmV0" });
    oct["alg"] = json!("HS256");
    let server = JwksServer::start(vec![hs_marked, enc, oct, k1()]).await;
    let auth = auth(&server, settings());
    for kid in ["hs", "enc", "oct"] {
        assert_eq!(
            check(&auth, &token(kid, 0)).await,
            Err(RejectReason::UnknownKey),
            "{kid}"
        );
    }
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
}

#[tokio::test]
async fn hostile_kids_are_plain_lookups() {
    let server = JwksServer::start(vec![k1()]).await;
    let auth = auth(&server, settings());
    assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    for kid in ["' OR '1'='1", "../../../dev/null", "ключ-🔑", "k1\u{0}"] {
        assert_eq!(
            check(&auth, &unsigned(kid)).await,
            Err(RejectReason::UnknownKey),
            "{kid:?}"
        );
    }
    let huge = "k".repeat(10 * 1024);
    assert_eq!(
        check(&auth, &unsigned(&huge)).await,
        Err(RejectReason::TokenTooLarge)
    );
    let long = "k".repeat(1024);
    assert_eq!(
        check(&auth, &unsigned(&long)).await,
        Err(RejectReason::MalformedToken)
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn header_key_urls_are_never_fetched() {
    let jwks = JwksServer::start(vec![k1()]).await;
    let attacker = JwksServer::start(vec![public_jwk(rsa_key(1), Some("evil"))]).await;
    let auth = auth(&jwks, settings());
    for member in ["jku", "x5u"] {
        let mut header = rs_header(Some("evil"));
        header[member] = json!(attacker.url());
        let token = rs256(&header, &claims(json!({})), rsa_key(1));
        assert_eq!(
            check(&auth, &token).await,
            Err(RejectReason::ForbiddenHeader)
        );
    }
    let mut header = rs_header(Some("evil"));
    header["jwk"] = public_jwk(rsa_key(1), Some("evil"));
    let token = rs256(&header, &claims(json!({})), rsa_key(1));
    assert_eq!(
        check(&auth, &token).await,
        Err(RejectReason::ForbiddenHeader)
    );
    assert_eq!(attacker.hits(), 0, "the attacker's key URL got no request");
}

#[tokio::test]
async fn a_token_without_kid_uses_the_only_key() {
    let server = JwksServer::start(vec![k1()]).await;
    let auth = auth(&server, settings());
    let token = rs256(&rs_header(None), &claims(json!({})), rsa_key(0));
    assert_eq!(check(&auth, &token).await, Ok(()));
}

#[tokio::test]
async fn cache_control_max_age_sets_the_ttl() {
    let server = JwksServer::start(vec![k1()]).await;
    server.set_cache_control("public, max-age=3600");
    let auth = auth(&server, settings());
    auth.prefetch_jwks().await;
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    // Fresh for an hour: known kids never refetch, even after the cooldown.
    for _ in 0..3 {
        assert_eq!(check(&auth, &token("k1", 0)).await, Ok(()));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.hits(), 1);
}

#[cfg(feature = "jwks-https")]
#[tokio::test]
async fn https_urls_use_tls() {
    // A plain-HTTP server behind an https URL: the TLS handshake fails, so no key set is
    // available and the server never sees an HTTP request.
    let server = JwksServer::start(vec![k1()]).await;
    let url = server.url().replacen("http://", "https://", 1);
    let auth = Authenticator::builder()
        .jwks_url(url)
        .jwks_settings(settings())
        .build()
        .expect("https allowed with the feature");
    assert_eq!(
        check(&auth, &token("k1", 0)).await,
        Err(RejectReason::KeysUnavailable)
    );
    assert_eq!(server.hits(), 0);
}
