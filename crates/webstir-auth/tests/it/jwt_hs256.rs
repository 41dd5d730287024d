//! HS256 bearer tokens: the RFC 8725 / checklist C cases that need no RSA key.

use serde_json::{Value, json};
use webstir_auth::{AuthOutcome, Authenticator, CredentialKind, MAX_TOKEN_BYTES, RejectReason};

use crate::util::{LEEWAY, SECRET, b64, bearer, claims, hmac_sha256, hs_header, hs256, now};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "webstir-dev";

fn auth() -> Authenticator {
    Authenticator::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("valid config")
}

fn auth_with_iss_aud() -> Authenticator {
    Authenticator::builder()
        .hs256_secret(SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("valid config")
}

async fn outcome(auth: &Authenticator, token: &str) -> AuthOutcome {
    auth.authenticate(&bearer(token), None).await
}

async fn rejection(auth: &Authenticator, token: &str) -> RejectReason {
    match outcome(auth, token).await {
        AuthOutcome::Rejected(reason) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn sign(claims: &Value) -> String {
    hs256(&hs_header(), claims, SECRET.as_bytes())
}

#[tokio::test]
async fn a_valid_token_yields_the_context() {
    let token = sign(&claims(json!({
        "email": "a@example.com",
        "scope": "accounts:read accounts:write",
        "roles": ["admin"],
        "tenant_id": "t-9",
    })));
    let AuthOutcome::Authenticated(ctx) = outcome(&auth(), &token).await else {
        panic!("valid token refused")
    };
    assert_eq!(ctx.kind, CredentialKind::Jwt);
    assert_eq!(ctx.user_id.as_deref(), Some("user-1"));
    assert_eq!(ctx.email.as_deref(), Some("a@example.com"));
    assert_eq!(ctx.scopes, ["accounts:read", "accounts:write"]);
    assert!(ctx.has_role("admin"));
    assert_eq!(ctx.tenant.as_deref(), Some("t-9"));
    assert_eq!(ctx.claims["tenant_id"], "t-9");
    let json = serde_json::to_value(&ctx).expect("serializes");
    assert_eq!(json["kind"], "jwt");
    assert_eq!(json["user_id"], "user-1");
}

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let auth = auth();
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = json!({ "alg": alg, "typ": "JWT" });
        let base = crate::util::signing_input(&header, &claims(json!({})));
        // Empty signature (the classic form) and a non-empty junk signature.
        assert_eq!(
            rejection(&auth, &format!("{base}.")).await,
            RejectReason::UnsupportedAlgorithm,
            "{alg}"
        );
        assert_eq!(
            rejection(&auth, &format!("{base}.{}", b64("x"))).await,
            RejectReason::UnsupportedAlgorithm,
            "{alg}"
        );
        // Even "signed" with the real secret, `none` is not HS256.
        assert_eq!(
            rejection(
                &auth,
                &hs256(&header, &claims(json!({})), SECRET.as_bytes())
            )
            .await,
            RejectReason::UnsupportedAlgorithm,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn algorithms_outside_the_allowlist_are_refused() {
    let auth = auth();
    for alg in [
        "HS384", "HS512", "RS256", "ES256", "PS256", "hs256", "HS256 ", "",
    ] {
        let header = json!({ "alg": alg });
        let token = hs256(&header, &claims(json!({})), SECRET.as_bytes());
        assert_eq!(
            rejection(&auth, &token).await,
            RejectReason::UnsupportedAlgorithm,
            "{alg:?}"
        );
    }
    let no_alg = hs256(
        &json!({ "typ": "JWT" }),
        &claims(json!({})),
        SECRET.as_bytes(),
    );
    assert_eq!(
        rejection(&auth, &no_alg).await,
        RejectReason::UnsupportedAlgorithm
    );
    let numeric_alg = hs256(
        &json!({ "alg": 256 }),
        &claims(json!({})),
        SECRET.as_bytes(),
    );
    assert_eq!(
        rejection(&auth, &numeric_alg).await,
        RejectReason::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let auth = auth();
    let token = sign(&claims(json!({})));
    assert!(matches!(
        outcome(&auth, &token).await,
        AuthOutcome::Authenticated(_)
    ));

    // One flipped bit in the signature.
    let (input, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
            .expect("b64");
    sig_bytes[7] ^= 0x01;
    let flipped = format!("{input}.{}", b64(&sig_bytes));
    assert_eq!(
        rejection(&auth, &flipped).await,
        RejectReason::InvalidSignature
    );

    // Signed with another secret.
    let other = hs256(
        &hs_header(),
        &claims(json!({})),
        b"another-secret-0123456789abcdef-0123456789",
    );
    assert_eq!(
        rejection(&auth, &other).await,
        RejectReason::InvalidSignature
    );

    // Empty signature segment.
    assert_eq!(
        rejection(&auth, &format!("{input}.")).await,
        RejectReason::MalformedToken
    );
}

#[tokio::test]
async fn a_modified_payload_is_refused() {
    let auth = auth();
    let token = sign(&claims(json!({ "role": "viewer" })));
    let parts: Vec<&str> = token.split('.').collect();

    // Re-encoded payload with escalated claims, original signature.
    let forged = b64(claims(json!({ "role": "admin" })).to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(
        rejection(&auth, &tampered).await,
        RejectReason::InvalidSignature
    );

    // One flipped bit in the raw payload bytes (still valid base64url and JSON).
    let mut payload =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .expect("b64");
    let at = payload
        .iter()
        .position(|b| *b == b'v')
        .expect("`viewer` in the payload");
    payload[at] ^= 0x02; // 'v' -> 't'
    let flipped = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_eq!(
        rejection(&auth, &flipped).await,
        RejectReason::InvalidSignature
    );
}

#[tokio::test]
async fn expiry_is_checked_with_the_leeway() {
    let auth = auth();
    let expired = sign(&claims(json!({ "exp": now() - LEEWAY - 2 })));
    assert_eq!(rejection(&auth, &expired).await, RejectReason::Expired);
    let within_leeway = sign(&claims(json!({ "exp": now() - LEEWAY + 5 })));
    assert!(matches!(
        outcome(&auth, &within_leeway).await,
        AuthOutcome::Authenticated(_)
    ));
    let long_expired = sign(&claims(json!({ "exp": 1 })));
    assert_eq!(rejection(&auth, &long_expired).await, RejectReason::Expired);
}

#[tokio::test]
async fn not_before_is_honoured() {
    let auth = auth();
    let future = sign(&claims(json!({ "nbf": now() + LEEWAY + 5 })));
    assert_eq!(rejection(&auth, &future).await, RejectReason::NotYetValid);
    let within_leeway = sign(&claims(json!({ "nbf": now() + LEEWAY - 5 })));
    assert!(matches!(
        outcome(&auth, &within_leeway).await,
        AuthOutcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn exp_is_required() {
    let token = sign(&claims(json!({ "exp": null })));
    assert_eq!(
        rejection(&auth(), &token).await,
        RejectReason::MissingExpiry
    );
}

#[tokio::test]
async fn wrongly_typed_registered_claims_are_refused() {
    let auth = auth_with_iss_aud();
    let ok = json!({ "iss": ISSUER, "aud": AUDIENCE });
    let cases = [
        json!({ "exp": "9999999999" }),
        json!({ "nbf": "99999999999" }),
        json!({ "iat": "now" }),
        json!({ "exp": -5 }),
        json!({ "exp": true }),
        json!({ "aud": 123 }),
        json!({ "aud": [AUDIENCE, 5] }),
        json!({ "iss": 42 }),
        json!({ "sub": { "id": 1 } }),
        json!({ "jti": 7 }),
    ];
    for case in cases {
        let mut c = claims(ok.clone());
        for (k, v) in case.as_object().expect("object") {
            c[k] = v.clone();
        }
        assert_eq!(
            rejection(&auth, &sign(&c)).await,
            RejectReason::InvalidClaimType,
            "{case}"
        );
    }
}

#[tokio::test]
async fn audience_is_enforced_when_configured() {
    let auth = auth_with_iss_aud();
    let with = |aud: Value| sign(&claims(json!({ "iss": ISSUER, "aud": aud })));
    assert!(matches!(
        outcome(&auth, &with(json!(AUDIENCE))).await,
        AuthOutcome::Authenticated(_)
    ));
    assert!(matches!(
        outcome(&auth, &with(json!(["other", AUDIENCE]))).await,
        AuthOutcome::Authenticated(_)
    ));
    assert_eq!(
        rejection(&auth, &with(json!("other"))).await,
        RejectReason::InvalidAudience
    );
    assert_eq!(
        rejection(&auth, &with(json!(["other", "more"]))).await,
        RejectReason::InvalidAudience
    );
    let missing = sign(&claims(json!({ "iss": ISSUER })));
    assert_eq!(
        rejection(&auth, &missing).await,
        RejectReason::InvalidAudience
    );
}

#[tokio::test]
async fn issuer_is_enforced_when_configured() {
    let auth = auth_with_iss_aud();
    let missing = sign(&claims(json!({ "aud": AUDIENCE })));
    assert_eq!(
        rejection(&auth, &missing).await,
        RejectReason::InvalidIssuer
    );
    let wrong = sign(&claims(
        json!({ "aud": AUDIENCE, "iss": "https://evil.test" }),
    ));
    assert_eq!(rejection(&auth, &wrong).await, RejectReason::InvalidIssuer);
    let prefix = sign(&claims(
        json!({ "aud": AUDIENCE, "iss": format!("{ISSUER}/x") }),
    ));
    assert_eq!(rejection(&auth, &prefix).await, RejectReason::InvalidIssuer);
}

#[tokio::test]
async fn without_configured_audience_aud_is_not_required() {
    let token = sign(&claims(json!({ "aud": "anything" })));
    assert!(matches!(
        outcome(&auth(), &token).await,
        AuthOutcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn malformed_compact_serialisations_are_refused() {
    let auth = auth();
    let token = sign(&claims(json!({})));
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        (
            format!("{}.{}", parts[0], parts[1]),
            RejectReason::MalformedToken,
        ),
        (
            format!("{token}.{}", parts[2]),
            RejectReason::MalformedToken,
        ),
        (format!("{token}.a.b"), RejectReason::EncryptedToken),
        (format!("{token}="), RejectReason::MalformedToken),
        (
            token.replacen('.', ". ", 1),
            RejectReason::MalformedAuthorization,
        ),
        (token.replacen('.', "\t", 1), RejectReason::MalformedToken),
        (
            format!("{}+/.{}.{}", parts[0], parts[1], parts[2]),
            RejectReason::MalformedToken,
        ),
        (
            format!(".{}.{}", parts[1], parts[2]),
            RejectReason::MalformedToken,
        ),
        (
            format!("{}.bm90IGpzb24.{}", parts[0], parts[2]),
            RejectReason::MalformedToken,
        ),
        (
            r#"{"payload":"x","signatures":[]}"#.to_owned(),
            RejectReason::MalformedToken,
        ),
    ];
    for (candidate, want) in cases {
        let got = auth
            .authenticate(
                &crate::util::headers(&[("authorization", &format!("Bearer {candidate}"))]),
                None,
            )
            .await;
        assert_eq!(got.rejection(), Some(want), "{candidate}");
    }
}

#[tokio::test]
async fn a_five_segment_jwe_is_refused() {
    let jwe_header = b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let token = format!("{jwe_header}.a2V5.aXY.Y2lwaGVy.dGFn");
    assert_eq!(
        rejection(&auth(), &token).await,
        RejectReason::EncryptedToken
    );
    // `enc` in a three-segment header is refused as well.
    let header = json!({ "alg": "HS256", "enc": "A256GCM" });
    let token = hs256(&header, &claims(json!({})), SECRET.as_bytes());
    assert_eq!(
        rejection(&auth(), &token).await,
        RejectReason::EncryptedToken
    );
}

#[tokio::test]
async fn oversize_tokens_are_refused_before_parsing() {
    let auth = auth();
    let padding = "x".repeat(MAX_TOKEN_BYTES);
    let big = sign(&claims(json!({ "pad": padding })));
    assert!(big.len() > MAX_TOKEN_BYTES);
    assert_eq!(rejection(&auth, &big).await, RejectReason::TokenTooLarge);

    // 64 KiB of junk: refused quickly, without decoding.
    let junk = "A".repeat(64 * 1024);
    let started = std::time::Instant::now();
    assert_eq!(rejection(&auth, &junk).await, RejectReason::TokenTooLarge);
    assert!(started.elapsed() < std::time::Duration::from_millis(50));
}

#[tokio::test]
async fn header_supplied_keys_and_crit_are_refused() {
    let auth = auth();
    let attacker_secret = b"attacker-secret-0123456789abcdef-0123456789";
    let cases = [
        json!({ "alg": "HS256", "jwk": { "kty": "oct", "k": b64(attacker_secret) } }),
        json!({ "alg": "HS256", "jku": "http://127.0.0.1:9/keys" }),
        json!({ "alg": "HS256", "x5u": "http://127.0.0.1:9/cert" }),
        json!({ "alg": "HS256", "x5c": ["MIIB"] }),
        json!({ "alg": "HS256", "crit": ["exp"] }),
        json!({ "alg": "HS256", "b64": false }),
        json!({ "alg": "HS256", "typ": "JWE" }),
    ];
    for header in cases {
        // Signed with the real secret: the header alone must cause the refusal.
        let token = hs256(&header, &claims(json!({})), SECRET.as_bytes());
        assert_eq!(
            rejection(&auth, &token).await,
            RejectReason::ForbiddenHeader,
            "{header}"
        );
    }
}

#[tokio::test]
async fn duplicate_claims_are_refused() {
    let header = b64(hs_header().to_string());
    let payload = b64(format!(
        r#"{{"sub":"user-1","sub":"admin","exp":{}}}"#,
        now() + 600
    ));
    let input = format!("{header}.{payload}");
    let token = format!(
        "{input}.{}",
        b64(hmac_sha256(SECRET.as_bytes(), input.as_bytes()))
    );
    assert_eq!(
        rejection(&auth(), &token).await,
        RejectReason::MalformedToken
    );
}

#[tokio::test]
async fn the_authorization_header_format_is_strict() {
    let auth = auth();
    let token = sign(&claims(json!({})));
    let lower = crate::util::headers(&[("authorization", &format!("bearer {token}"))]);
    assert!(matches!(
        auth.authenticate(&lower, None).await,
        AuthOutcome::Authenticated(_)
    ));

    let empty = crate::util::headers(&[("authorization", "Bearer ")]);
    assert_eq!(
        auth.authenticate(&empty, None).await.rejection(),
        Some(RejectReason::MalformedAuthorization)
    );
    let twice = crate::util::headers(&[
        ("authorization", &format!("Bearer {token}")),
        ("authorization", &format!("Bearer {token}")),
    ]);
    assert_eq!(
        auth.authenticate(&twice, None).await.rejection(),
        Some(RejectReason::MalformedAuthorization)
    );
    let basic = crate::util::headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
    assert!(matches!(
        auth.authenticate(&basic, None).await,
        AuthOutcome::Anonymous
    ));
    assert!(matches!(
        auth.authenticate(&http::HeaderMap::new(), None).await,
        AuthOutcome::Anonymous
    ));
}

#[tokio::test]
async fn a_bearer_token_without_jwt_config_is_refused() {
    let auth = Authenticator::builder()
        .service_tokens(["svc-token-0123456789"])
        .build()
        .expect("valid config");
    let token = sign(&claims(json!({})));
    assert_eq!(
        rejection(&auth, &token).await,
        RejectReason::JwtNotConfigured
    );
}
