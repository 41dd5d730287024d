//! Route access decisions on real outcomes: 401 vs 403.

use serde_json::json;
use webstir_auth::{Authenticator, Decision, Forbidden, RejectReason, Requirement};

use crate::util::{SECRET, bearer, claims, headers, hs_header, hs256};

fn auth() -> Authenticator {
    Authenticator::builder()
        .hs256_secret(SECRET)
        .service_tokens(["svc-token-0123456789abcdef"])
        .build()
        .expect("valid config")
}

fn token(extra: serde_json::Value) -> String {
    hs256(&hs_header(), &claims(extra), SECRET.as_bytes())
}

#[tokio::test]
async fn decisions_follow_credentials_scopes_and_roles() {
    let auth = auth();
    let reader = auth
        .authenticate(
            &bearer(&token(
                json!({ "scope": "accounts:read", "roles": ["member"] }),
            )),
            None,
        )
        .await;
    let admin = auth
        .authenticate(
            &bearer(&token(
                json!({ "scope": "accounts:read accounts:write", "role": "admin" }),
            )),
            None,
        )
        .await;
    let anonymous = auth.authenticate(&headers(&[]), None).await;
    let forged = auth.authenticate(&bearer("a.b.c"), None).await;
    let service = auth
        .authenticate(
            &headers(&[("x-service-token", "svc-token-0123456789abcdef")]),
            None,
        )
        .await;

    let public = Requirement::public();
    let signed_in = Requirement::authenticated();
    let write = Requirement::authenticated().with_scopes(["accounts:write"]);
    let admins = Requirement::authenticated().with_roles(["admin", "owner"]);
    let internal = Requirement::authenticated().with_scopes(["service"]);

    for outcome in [&reader, &admin, &anonymous, &forged, &service] {
        assert!(public.check(outcome).is_allowed());
    }
    assert_eq!(signed_in.check(&anonymous), Decision::Unauthorized(None));
    assert_eq!(
        signed_in.check(&forged),
        Decision::Unauthorized(Some(RejectReason::MalformedToken))
    );
    assert!(signed_in.check(&reader).is_allowed());

    let denied = write.check(&reader);
    assert_eq!(
        denied,
        Decision::Forbidden(Forbidden::MissingScope("accounts:write".into()))
    );
    assert_eq!(denied.status(), 403);
    assert!(write.check(&admin).is_allowed());
    assert_eq!(write.check(&anonymous).status(), 401);

    assert_eq!(admins.check(&reader).status(), 403);
    assert!(admins.check(&admin).is_allowed());

    assert!(internal.check(&service).is_allowed());
    assert_eq!(internal.check(&admin).status(), 403);

    assert_eq!(
        signed_in.check(&anonymous).www_authenticate().as_deref(),
        Some("Bearer")
    );
    assert_eq!(
        signed_in.check(&forged).www_authenticate().as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
}
