//! Service tokens (`X-Service-Token` / `X-API-Key` against `AUTH_SERVICE_TOKENS`).

use serde_json::json;
use webstir_auth::{AuthOutcome, Authenticator, CredentialKind, RejectReason};

use crate::util::{SECRET, claims, headers, hs_header, hs256};

const SVC: &str = "svc-token-0123456789abcdef";
const SVC2: &str = "second-service-token-abcdef";

fn auth() -> Authenticator {
    let env = |name: &str| match name {
        "AUTH_JWT_SECRET" if cfg!(feature = "jwt") => Some(SECRET.to_owned()),
        "AUTH_SERVICE_TOKENS" => Some(format!(" {SVC},\n\t{SVC2} ,, ")),
        _ => None,
    };
    Authenticator::from_env(env, std::path::Path::new(".")).expect("valid config")
}

#[tokio::test]
async fn both_headers_are_accepted() {
    let auth = auth();
    assert!(auth.has_service_tokens());
    for (name, value) in [("x-service-token", SVC), ("X-API-Key", SVC2)] {
        let outcome = auth.authenticate(&headers(&[(name, value)]), None).await;
        let ctx = outcome.context().expect("accepted");
        assert_eq!(ctx.kind, CredentialKind::ServiceToken);
        assert!(ctx.has_scope("service"));
        assert!(ctx.has_role("service"));
        assert_eq!(ctx.user_id, None);
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let auth = auth();
    for wrong in [
        &SVC[..SVC.len() - 1],
        "svc-token-0123456789abcdeF",
        "x",
        &format!("{SVC},{SVC2}"),
    ] {
        let outcome = auth
            .authenticate(&headers(&[("x-service-token", wrong)]), None)
            .await;
        assert_eq!(
            outcome.rejection(),
            Some(RejectReason::InvalidServiceToken),
            "{wrong}"
        );
    }
}

#[tokio::test]
async fn x_service_token_is_checked_before_x_api_key() {
    let auth = auth();
    let outcome = auth
        .authenticate(
            &headers(&[("x-service-token", "wrong-token"), ("x-api-key", SVC)]),
            None,
        )
        .await;
    assert_eq!(outcome.rejection(), Some(RejectReason::InvalidServiceToken));
}

#[tokio::test]
async fn a_valid_service_token_wins_over_an_invalid_bearer() {
    let auth = auth();
    let expired = hs256(
        &hs_header(),
        &claims(json!({ "exp": 10 })),
        SECRET.as_bytes(),
    );
    for bearer in [expired.as_str(), "garbage", "a.b.c"] {
        let outcome = auth
            .authenticate(
                &headers(&[
                    ("authorization", &format!("Bearer {bearer}")),
                    ("x-service-token", SVC),
                ]),
                None,
            )
            .await;
        let ctx = outcome.context().expect("service token accepted");
        assert_eq!(ctx.kind, CredentialKind::ServiceToken);
    }
}

#[cfg(feature = "jwt")]
#[tokio::test]
async fn a_valid_bearer_wins_over_a_service_token() {
    let auth = auth();
    let token = hs256(&hs_header(), &claims(json!({})), SECRET.as_bytes());
    let outcome = auth
        .authenticate(
            &headers(&[
                ("authorization", &format!("Bearer {token}")),
                ("x-service-token", "wrong"),
            ]),
            None,
        )
        .await;
    assert_eq!(outcome.context().map(|c| c.kind), Some(CredentialKind::Jwt));
}

#[cfg(feature = "jwt")]
#[tokio::test]
async fn both_invalid_reports_the_bearer_failure() {
    let auth = auth();
    let expired = hs256(
        &hs_header(),
        &claims(json!({ "exp": 10 })),
        SECRET.as_bytes(),
    );
    let outcome = auth
        .authenticate(
            &headers(&[
                ("authorization", &format!("Bearer {expired}")),
                ("x-api-key", "wrong"),
            ]),
            None,
        )
        .await;
    assert_eq!(outcome.rejection(), Some(RejectReason::Expired));
}

#[tokio::test]
async fn without_configured_tokens_every_service_token_is_refused() {
    let auth = Authenticator::builder().build().expect("empty config");
    assert!(!auth.has_service_tokens());
    assert_eq!(auth.jwt_method(), None);
    let outcome = auth
        .authenticate(&headers(&[("x-service-token", "")]), None)
        .await;
    assert_eq!(outcome.rejection(), Some(RejectReason::InvalidServiceToken));
    let outcome = auth
        .authenticate(&headers(&[("x-service-token", "anything")]), None)
        .await;
    assert_eq!(outcome.rejection(), Some(RejectReason::InvalidServiceToken));
    assert!(matches!(
        auth.authenticate(&headers(&[]), None).await,
        AuthOutcome::Anonymous
    ));
}
