//! Startup configuration: precedence and refusals.

use std::path::Path;

use webstir_auth::{AuthError, Authenticator, JwksSettings, JwtMethod, MAX_LEEWAY};

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

#[cfg(not(feature = "jwks-https"))]
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
