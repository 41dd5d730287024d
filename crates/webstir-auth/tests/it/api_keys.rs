//! Stored, hashed API keys.

use std::sync::Arc;
use std::time::Duration;

use webstir_auth::{
    ApiKeyError, ApiKeyStore, ApiKeys, AuthError, AuthOutcome, Authenticator, CredentialKind,
    MemoryApiKeyStore, NewApiKey, RejectReason,
};

use crate::util::{bearer, headers, now};

const PEPPER: &str = "pepper-0123456789abcdef-0123456789abcdef";

fn keys() -> ApiKeys {
    ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), PEPPER).expect("valid pepper")
}

fn auth(keys: &ApiKeys) -> Authenticator {
    Authenticator::builder()
        .api_keys(keys.clone())
        .service_tokens(["svc-token-0123456789abcdef"])
        .build()
        .expect("valid config")
}

#[tokio::test]
async fn create_then_verify_through_both_headers() {
    let keys = keys();
    let created = keys
        .create(
            NewApiKey::new("ci deploy")
                .with_scopes(["deploy", "accounts:read"])
                .with_subject("user-7")
                .with_tenant("t-1"),
        )
        .await
        .expect("created");
    let key = created.key.clone();
    assert!(key.starts_with("wsk_"));
    assert_eq!(key.len(), 4 + 16 + 1 + 64);
    assert!(key.contains(&created.record.id));
    // Only a hash is stored.
    let stored = keys
        .store()
        .find(&created.record.id)
        .await
        .expect("store")
        .expect("found");
    let secret = key.rsplit('_').next().expect("secret");
    assert!(!stored.secret_hash.contains(secret));
    assert!(stored.secret_hash.starts_with("hmac-sha256$"));
    assert!(
        !format!("{created:?}").contains(secret),
        "Debug redacts the key"
    );
    assert_eq!(stored.last_used_at, None);

    let auth = auth(&keys);
    for request in [
        bearer(&key),
        headers(&[("x-api-key", &key)]),
        headers(&[("x-service-token", &key)]),
    ] {
        let AuthOutcome::Authenticated(ctx) = auth.authenticate(&request, None).await else {
            panic!("key refused")
        };
        assert_eq!(ctx.kind, CredentialKind::ApiKey);
        assert_eq!(ctx.user_id.as_deref(), Some("user-7"));
        assert_eq!(ctx.tenant.as_deref(), Some("t-1"));
        assert_eq!(ctx.key_id.as_deref(), Some(created.record.id.as_str()));
        assert!(ctx.has_scope("deploy") && !ctx.has_scope("service"));
    }
    let used = keys
        .store()
        .find(&created.record.id)
        .await
        .expect("store")
        .expect("found");
    assert!(used.last_used_at.is_some_and(|t| (t - now()).abs() < 5));

    let listed = keys.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    let json = serde_json::to_string(&listed).expect("serializes");
    assert!(
        !json.contains(secret) && !json.contains("hmac-sha256"),
        "{json}"
    );
}

#[tokio::test]
async fn altered_and_unknown_keys_are_refused() {
    let keys = keys();
    let created = keys.create(NewApiKey::new("k")).await.expect("created");
    let auth = auth(&keys);
    let key = created.key;
    let last = key.chars().last().expect("non-empty");
    let changed = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let unknown_id = format!("wsk_{}_{}", "0".repeat(16), &key[key.len() - 64..]);
    let upper = auth.authenticate(&bearer(&key.to_uppercase()), None).await;
    assert!(upper.rejection().is_some(), "the prefix is case-sensitive");
    for bad in [
        changed.as_str(),
        &unknown_id,
        "wsk_",
        "wsk_zz_zz",
        &format!("{key}0"),
    ] {
        let outcome = auth.authenticate(&bearer(bad), None).await;
        assert_eq!(
            outcome.rejection(),
            Some(RejectReason::InvalidApiKey),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn revoked_keys_are_refused_at_once() {
    let keys = keys();
    let created = keys.create(NewApiKey::new("k")).await.expect("created");
    let auth = auth(&keys);
    assert!(
        auth.authenticate(&bearer(&created.key), None)
            .await
            .context()
            .is_some()
    );
    assert!(keys.revoke(&created.record.id).await.expect("revoke"));
    assert_eq!(
        auth.authenticate(&bearer(&created.key), None)
            .await
            .rejection(),
        Some(RejectReason::ApiKeyRevoked)
    );
    assert!(!keys.revoke("0000000000000000").await.expect("revoke"));
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let keys = keys();
    let expired = keys
        .create(NewApiKey::new("old").expires_at(now() - 1))
        .await
        .expect("created");
    let valid = keys
        .create(NewApiKey::new("new").expires_in(Duration::from_secs(3600)))
        .await
        .expect("created");
    let auth = auth(&keys);
    assert_eq!(
        auth.authenticate(&bearer(&expired.key), None)
            .await
            .rejection(),
        Some(RejectReason::ApiKeyExpired)
    );
    assert!(
        auth.authenticate(&bearer(&valid.key), None)
            .await
            .context()
            .is_some()
    );
}

#[tokio::test]
async fn a_different_pepper_does_not_verify() {
    let store: Arc<dyn ApiKeyStore> = Arc::new(MemoryApiKeyStore::new());
    let a = ApiKeys::new(store.clone(), PEPPER).expect("pepper");
    let b = ApiKeys::new(store, "another-pepper-0123456789abcdef-0123456789").expect("pepper");
    let created = a.create(NewApiKey::new("k")).await.expect("created");
    assert!(a.verify(&created.key).await.is_ok());
    assert_eq!(
        b.verify(&created.key).await.unwrap_err(),
        RejectReason::InvalidApiKey
    );
}

#[tokio::test]
async fn keys_in_the_query_string_are_refused() {
    let keys = keys();
    let created = keys.create(NewApiKey::new("k")).await.expect("created");
    let auth = auth(&keys);
    for query in [
        format!("api_key={}", created.key),
        format!("page=1&access_token={}", created.key),
        format!("token={}", created.key),
        format!("API%5FKEY={}", created.key),
        "apikey=".to_owned(),
    ] {
        // Refused even alongside a valid header credential.
        let outcome = auth.authenticate(&bearer(&created.key), Some(&query)).await;
        assert_eq!(
            outcome.rejection(),
            Some(RejectReason::CredentialInQuery),
            "{query}"
        );
    }
    assert!(
        auth.authenticate(&bearer(&created.key), Some("page=2&tokens=3"))
            .await
            .context()
            .is_some()
    );
}

#[tokio::test]
async fn creation_is_validated() {
    let keys = keys();
    assert!(matches!(
        keys.create(NewApiKey::new("  ")).await,
        Err(ApiKeyError::EmptyName)
    ));
    assert!(matches!(
        keys.create(NewApiKey::new("k").with_scopes(["a b"])).await,
        Err(ApiKeyError::InvalidScope(_))
    ));
    let err = ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), "short").expect_err("short pepper");
    assert!(matches!(err, AuthError::PepperTooShort { len: 5 }));
}

#[tokio::test]
async fn without_an_api_key_store_keys_are_refused() {
    let auth = Authenticator::builder().build().expect("empty config");
    let key = format!("wsk_{}_{}", "a".repeat(16), "b".repeat(64));
    assert_eq!(
        auth.authenticate(&bearer(&key), None).await.rejection(),
        Some(RejectReason::InvalidApiKey)
    );
}

#[tokio::test]
async fn last_used_is_throttled() {
    let store = Arc::new(MemoryApiKeyStore::new());
    let keys = ApiKeys::new(store.clone(), PEPPER).expect("pepper");
    let created = keys.create(NewApiKey::new("k")).await.expect("created");
    // Pretend the key was used long ago, then recently.
    store.touch(&created.record.id, 1000).await.expect("touch");
    let record = keys.verify(&created.key).await.expect("valid");
    let first = record.last_used_at.expect("touched");
    assert!(first > 1000);
    store
        .touch(&created.record.id, first - 10)
        .await
        .expect("touch");
    let record = keys.verify(&created.key).await.expect("valid");
    assert_eq!(
        record.last_used_at,
        Some(first - 10),
        "not rewritten within the interval"
    );
}
