//! Startup configuration: precedence and refusals.

use std::path::Path;

use webstir_auth::{AuthError, Authenticator};
#[cfg(feature = "jwt")]
use webstir_auth::{JwksSettings, JwtMethod, MAX_LEEWAY};

#[cfg(feature = "jwt")]
use crate::util::{SECRET, public_pem, rsa_key};

fn from_env(vars: &[(&str, &str)]) -> Result<Authenticator, AuthError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Authenticator::from_env(
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        Path::new("/nonexistent-root"),
    )
}

#[cfg(feature = "jwt")]
#[test]
fn short_or_empty_hs256_secrets_refuse_to_start() {
    for secret in ["", "change-me", "0123456789abcdef0123456789abcde"] {
        let err = from_env(&[("AUTH_JWT_SECRET", secret)]).expect_err("short secret");
        assert!(
            matches!(err, AuthError::SecretTooShort { len } if len == secret.len()),
            "{err}"
        );
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
    let ok =
        from_env(&[("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef")]).expect("32 bytes");
    assert_eq!(ok.jwt_method(), Some(JwtMethod::Hs256Secret));
}

#[cfg(feature = "jwt")]
#[test]
fn one_jwt_method_wins_by_precedence() {
    let pem = public_pem(rsa_key(0));
    // JWKS beats everything; a leftover short secret is ignored, not validated.
    let auth = from_env(&[
        ("AUTH_JWT_SECRET", "change-me"),
        ("AUTH_JWT_PUBLIC_KEY", &pem),
        ("AUTH_JWKS_URL", " http://127.0.0.1:9/jwks "),
    ])
    .expect("valid config");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256Jwks));
    // Inline key beats the file (which does not exist and is not read) and the secret.
    let auth = from_env(&[
        ("AUTH_JWT_SECRET", SECRET),
        ("AUTH_JWT_PUBLIC_KEY_FILE", "missing.pem"),
        ("AUTH_JWT_PUBLIC_KEY", &pem),
    ])
    .expect("valid config");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256PublicKey));
    // Blank values are unset.
    let auth = from_env(&[("AUTH_JWKS_URL", "  "), ("AUTH_JWT_SECRET", SECRET)]).expect("valid");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Hs256Secret));
    assert_eq!(from_env(&[]).expect("empty").jwt_method(), None);
}

#[cfg(feature = "jwt")]
#[test]
fn jwks_urls_are_validated() {
    for url in ["ftp://idp/jwks", "not a url", "http:///jwks"] {
        let err = from_env(&[("AUTH_JWKS_URL", url)]).expect_err("bad url");
        assert!(
            matches!(err, AuthError::InvalidJwksUrl { .. }),
            "{url}: {err}"
        );
    }
}

#[cfg(all(feature = "jwt", not(feature = "jwks-https")))]
#[test]
fn https_jwks_needs_the_feature() {
    let err = from_env(&[("AUTH_JWKS_URL", "https://idp.example/.well-known/jwks.json")])
        .expect_err("https without feature");
    assert!(matches!(err, AuthError::HttpsNotEnabled { .. }));
    assert!(err.to_string().contains("jwks-https"), "{err}");
}

#[cfg(feature = "jwks-https")]
#[test]
fn https_jwks_is_accepted_with_the_feature() {
    let auth = from_env(&[("AUTH_JWKS_URL", "https://idp.example/.well-known/jwks.json")])
        .expect("https allowed");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256Jwks));
}

#[cfg(feature = "jwt")]
#[test]
fn leeway_is_capped() {
    let err = Authenticator::builder()
        .hs256_secret(SECRET)
        .leeway(MAX_LEEWAY + std::time::Duration::from_secs(1))
        .build()
        .expect_err("too much leeway");
    assert!(matches!(err, AuthError::LeewayTooLarge { .. }));
    Authenticator::builder()
        .hs256_secret(SECRET)
        .leeway(MAX_LEEWAY)
        .jwks_settings(JwksSettings::default())
        .build()
        .expect("max leeway allowed");
}

#[cfg(feature = "jwt")]
#[test]
fn debug_output_hides_secrets() {
    let auth = Authenticator::builder()
        .hs256_secret(SECRET)
        .service_tokens(["svc-token-DEBUGCHECK-0123"])
        .build()
        .expect("valid");
    let debug = format!("{auth:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains("DEBUGCHECK"),
        "{debug}"
    );
    let builder = Authenticator::builder()
        .hs256_secret(SECRET)
        .service_tokens(["svc-token-DEBUGCHECK-0123"]);
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains("DEBUGCHECK"),
        "{debug}"
    );
}

#[cfg(not(feature = "jwt"))]
const JWT_VARIABLES: [&str; 4] = [
    "AUTH_JWKS_URL",
    "AUTH_JWT_PUBLIC_KEY",
    "AUTH_JWT_PUBLIC_KEY_FILE",
    "AUTH_JWT_SECRET",
];

/// Without JWT support a JWT configuration is a typed startup error, never silently ignored.
#[cfg(not(feature = "jwt"))]
#[test]
fn jwt_settings_without_jwt_support_refuse_to_start() {
    for var in JWT_VARIABLES {
        // Present but blank counts as set for the secret (as with JWT support).
        let values: &[&str] = if var == "AUTH_JWT_SECRET" {
            &["0123456789abcdef0123456789abcdef", ""]
        } else {
            &["some-value"]
        };
        for value in values {
            let err = from_env(&[
                (var, value),
                ("AUTH_SERVICE_TOKENS", "svc-token-0123456789"),
            ])
            .expect_err("JWT setting without JWT support");
            assert!(
                matches!(err, AuthError::JwtNotCompiled { setting } if setting == var),
                "{var}: {err:?}"
            );
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "{var} is set but this build has no JWT support; enable the `auth` feature of webstir"
                )),
                "{message}"
            );
            assert!(
                webstir_auth::AuthenticatorBuilder::from_env(
                    |name| (name == var).then(|| (*value).to_owned()),
                    Path::new("/nonexistent-root"),
                )
                .is_err(),
                "the builder refuses too"
            );
        }
    }
    // With several set, the highest-precedence one is named (the key file is never read).
    let err = from_env(&[
        ("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("AUTH_JWT_PUBLIC_KEY_FILE", "missing.pem"),
    ])
    .expect_err("JWT setting without JWT support");
    assert!(matches!(
        err,
        AuthError::JwtNotCompiled {
            setting: "AUTH_JWT_PUBLIC_KEY_FILE"
        }
    ));
    // Blank values other than the secret are unset, as with JWT support.
    let auth = from_env(&[("AUTH_JWKS_URL", "  "), ("AUTH_JWT_ISSUER", "https://idp")])
        .expect("no JWT method configured");
    assert_eq!(auth.jwt_method(), None);
    // A JWT method chosen through the builder fails at `build`.
    let err = Authenticator::builder()
        .hs256_secret("0123456789abcdef0123456789abcdef")
        .build()
        .expect_err("JWT method without JWT support");
    assert!(matches!(
        err,
        AuthError::JwtNotCompiled {
            setting: "AuthenticatorBuilder::hs256_secret"
        }
    ));
    assert!(err.to_string().contains("no JWT support"), "{err}");
}

/// Without JWT support a bearer token that is not an API key is refused (401), never accepted.
#[cfg(not(feature = "jwt"))]
#[tokio::test]
async fn bearer_jwts_without_jwt_support_are_refused() {
    use serde_json::json;
    use webstir_auth::{AuthOutcome, Decision, RejectReason, Requirement};

    use crate::util::{SECRET, bearer, claims, hs_header, hs256};

    let auth = from_env(&[("AUTH_SERVICE_TOKENS", "svc-token-0123456789")]).expect("valid");
    assert_eq!(auth.jwt_method(), None);
    auth.prefetch_jwks().await;
    let token = hs256(&hs_header(), &claims(json!({})), SECRET.as_bytes());
    for token in [token.as_str(), "garbage", "a.b.c"] {
        let outcome = auth.authenticate(&bearer(token), None).await;
        assert!(
            matches!(
                outcome,
                AuthOutcome::Rejected(RejectReason::JwtNotConfigured)
            ),
            "{outcome:?}"
        );
        assert!(!RejectReason::JwtNotConfigured.is_server_side());
        assert_eq!(
            Requirement::authenticated().check(&outcome),
            Decision::Unauthorized(Some(RejectReason::JwtNotConfigured))
        );
        assert_eq!(Requirement::public().check(&outcome), Decision::Allow);
    }
}
