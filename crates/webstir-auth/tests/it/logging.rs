//! Security events are logged with reasons and kinds, and never with a secret.

use std::sync::Arc;

use serde_json::json;
use webstir_auth::{
    ApiKeys, Authenticator, MemoryApiKeyStore, NewApiKey, Requirement, redact_header, redact_query,
};

use crate::util::{SECRET, bearer, capture_logs, claims, headers, hs_header, hs256};

const SVC: &str = "svc-token-LOGCHECK-0123456789";
const PEPPER: &str = "pepper-LOGCHECK-0123456789abcdef-0123";

#[tokio::test]
async fn no_secret_reaches_the_log() {
    let (logs, _guard) = capture_logs();

    let keys = ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), PEPPER).expect("pepper");
    let created = keys
        .create(NewApiKey::new("log-check").with_scopes(["read"]))
        .await
        .expect("created");
    let revoked = keys
        .create(NewApiKey::new("revoked"))
        .await
        .expect("created");
    keys.revoke(&revoked.record.id).await.expect("revoked");
    let auth = Authenticator::builder()
        .hs256_secret(SECRET)
        .service_tokens([SVC])
        .api_keys(keys)
        .build()
        .expect("valid config");

    let valid = hs256(
        &hs_header(),
        &claims(json!({ "scope": "read" })),
        SECRET.as_bytes(),
    );
    let expired = hs256(
        &hs_header(),
        &claims(json!({ "exp": 10 })),
        SECRET.as_bytes(),
    );
    let forged = hs256(
        &hs_header(),
        &claims(json!({})),
        b"forged-secret-0123456789abcdef-012345",
    );
    let none = format!(
        "{}.",
        crate::util::signing_input(&json!({ "alg": "none" }), &claims(json!({})))
    );
    let last = if created.key.ends_with('0') { '1' } else { '0' };
    let wrong_key = format!("{}{last}", &created.key[..created.key.len() - 1]);
    let cookie = "webstir_session=SESSIONCOOKIEVALUE123";

    let requests = [
        bearer(&expired),
        bearer(&forged),
        bearer(&none),
        bearer(&wrong_key),
        bearer(&revoked.key),
        headers(&[
            ("x-service-token", "wrong-service-token-XYZ"),
            ("cookie", cookie),
        ]),
        headers(&[
            ("authorization", &format!("Bearer {expired}")),
            ("x-service-token", SVC),
        ]),
        bearer(&valid),
        bearer(&created.key),
    ];
    let mut outcomes = Vec::new();
    for request in &requests {
        outcomes.push(auth.authenticate(request, None).await);
    }
    let in_query = auth
        .authenticate(&headers(&[]), Some(&format!("api_key={}", created.key)))
        .await;
    // Denials: anonymous (401) and missing scope (403).
    Requirement::authenticated().check(&auth.authenticate(&headers(&[]), None).await);
    Requirement::authenticated()
        .with_scopes(["write"])
        .check(&outcomes[7]);

    let text = logs.contents();
    // The events are there, with reason codes and credential kinds…
    for expected in [
        "webstir::security",
        "auth.rejected",
        "auth.denied",
        "auth.fallback",
        "\"reason\":\"expired\"",
        "\"reason\":\"invalid_signature\"",
        "\"reason\":\"unsupported_algorithm\"",
        "\"reason\":\"invalid_api_key\"",
        "\"reason\":\"api_key_revoked\"",
        "\"reason\":\"invalid_service_token\"",
        "\"reason\":\"credential_in_query\"",
        "\"reason\":\"missing_credential\"",
        "\"reason\":\"missing_scope\"",
        "\"credential\":\"jwt\"",
        "\"credential\":\"api_key\"",
        "\"credential\":\"service_token\"",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(in_query.rejection().is_some());

    // …and no secret, token, key or cookie.
    let key_secret = &created.key[created.key.len() - 64..];
    let signatures: Vec<&str> = [&valid, &expired, &forged]
        .iter()
        .map(|t| t.rsplit('.').next().expect("sig"))
        .collect();
    let mut secrets = vec![
        SECRET,
        SVC,
        PEPPER,
        "wrong-service-token-XYZ",
        "SESSIONCOOKIEVALUE123",
        created.key.as_str(),
        key_secret,
        revoked.key.as_str(),
        wrong_key.as_str(),
        valid.as_str(),
        expired.as_str(),
        none.as_str(),
    ];
    secrets.extend(signatures);
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "secret {secret} leaked into:\n{text}"
        );
    }
}

#[test]
fn redaction_helpers_scrub_credentials() {
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    assert_eq!(
        redact_header("Authorization", &format!("Bearer {token}")),
        "Bearer [REDACTED]"
    );
    assert_eq!(redact_header("cookie", "a=b; c=d"), "[REDACTED]");
    assert_eq!(redact_header("Set-Cookie", "a=b; HttpOnly"), "[REDACTED]");
    assert_eq!(redact_header("X-Service-Token", SVC), "[REDACTED]");
    assert_eq!(redact_header("x-request-id", "abc"), "abc");
    let query = format!("a=1&access_token={token}&b=2");
    assert_eq!(redact_query(&query), "a=1&access_token=[REDACTED]&b=2");
}
