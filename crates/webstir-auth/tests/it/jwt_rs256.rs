//! RS256 with one configured public key, including HS/RS algorithm confusion.

use rsa::RsaPublicKey;
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs8::EncodePublicKey as _;
use serde_json::json;
use webstir_auth::{AuthError, AuthOutcome, Authenticator, JwtMethod, RejectReason};

use crate::util::{bearer, claims, hs256, public_jwk, public_pem, rs_header, rs256, rsa_key};

fn auth() -> Authenticator {
    Authenticator::builder()
        .rs256_public_key_pem(public_pem(rsa_key(0)))
        .build()
        .expect("valid config")
}

async fn rejection(auth: &Authenticator, token: &str) -> Option<RejectReason> {
    auth.authenticate(&bearer(token), None).await.rejection()
}

#[tokio::test]
async fn a_valid_rs256_token_is_accepted() {
    let auth = auth();
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256PublicKey));
    let token = rs256(
        &rs_header(None),
        &claims(json!({ "scope": "a" })),
        rsa_key(0),
    );
    let outcome = auth.authenticate(&bearer(&token), None).await;
    let ctx = outcome.context().expect("accepted");
    assert_eq!(ctx.user_id.as_deref(), Some("user-1"));
    assert!(ctx.has_scope("a"));
}

#[tokio::test]
async fn pkcs1_pem_and_jwk_forms_are_accepted() {
    let public = RsaPublicKey::from(rsa_key(0));
    let pkcs1 = public
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let token = rs256(&rs_header(Some("any")), &claims(json!({})), rsa_key(0));
    for auth in [
        Authenticator::builder().rs256_public_key_pem(pkcs1).build(),
        Authenticator::builder()
            .rs256_public_jwk(public_jwk(rsa_key(0), Some("k")).to_string())
            .build(),
    ] {
        let auth = auth.expect("valid config");
        assert_eq!(rejection(&auth, &token).await, None);
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let auth = auth();
    let public = RsaPublicKey::from(rsa_key(0));
    let pem = public_pem(rsa_key(0));
    let spki_der = public.to_public_key_der().expect("der");
    let pkcs1_der = public.to_pkcs1_der().expect("der");
    let jwk_n = public_jwk(rsa_key(0), None)["n"]
        .as_str()
        .expect("n")
        .to_owned();
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    for secret in [
        pem.as_bytes(),
        pem.trim_end().as_bytes(),
        spki_der.as_bytes(),
        pkcs1_der.as_bytes(),
        jwk_n.as_bytes(),
    ] {
        let token = hs256(&header, &claims(json!({})), secret);
        assert_eq!(
            rejection(&auth, &token).await,
            Some(RejectReason::UnsupportedAlgorithm)
        );
    }
}

#[tokio::test]
async fn a_signature_from_another_key_is_refused() {
    let token = rs256(&rs_header(None), &claims(json!({})), rsa_key(1));
    assert_eq!(
        rejection(&auth(), &token).await,
        Some(RejectReason::InvalidSignature)
    );
}

#[tokio::test]
async fn ps256_and_rs512_are_refused() {
    for alg in ["PS256", "RS512", "RS384", "rs256"] {
        let header = json!({ "alg": alg });
        let token = rs256(&header, &claims(json!({})), rsa_key(0));
        assert_eq!(
            rejection(&auth(), &token).await,
            Some(RejectReason::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn weak_and_invalid_keys_fail_at_startup() {
    let mut rng = rsa::rand_core::OsRng;
    let small = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("keygen");
    let err = Authenticator::builder()
        .rs256_public_key_pem(public_pem(&small))
        .build()
        .expect_err("1024-bit key refused");
    assert!(matches!(err, AuthError::WeakRsaKey { bits: 1024 }), "{err}");

    let err = Authenticator::builder()
        .rs256_public_jwk(public_jwk(&small, None).to_string())
        .build()
        .expect_err("1024-bit JWK refused");
    assert!(matches!(err, AuthError::InvalidPublicKey(_)), "{err}");

    let err = Authenticator::builder()
        .rs256_public_key_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
        .build()
        .expect_err("garbage refused");
    assert!(matches!(err, AuthError::InvalidPublicKey(_)), "{err}");
}

#[tokio::test]
async fn public_key_file_is_read_relative_to_the_workspace_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("keys")).expect("mkdir");
    std::fs::write(dir.path().join("keys/jwt.pem"), public_pem(rsa_key(0))).expect("write");
    let env = |name: &str| match name {
        "AUTH_JWT_PUBLIC_KEY_FILE" => Some("keys/jwt.pem".to_owned()),
        _ => None,
    };
    let auth = Authenticator::from_env(env, dir.path()).expect("valid config");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256PublicKey));
    let token = rs256(&rs_header(None), &claims(json!({})), rsa_key(0));
    assert!(matches!(
        auth.authenticate(&bearer(&token), None).await,
        AuthOutcome::Authenticated(_)
    ));
}

#[test]
fn an_unreadable_public_key_file_has_the_contract_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = |name: &str| (name == "AUTH_JWT_PUBLIC_KEY_FILE").then(|| "missing.pem".to_owned());
    let err = Authenticator::from_env(env, dir.path()).expect_err("missing file");
    let expected_path = dir.path().join("missing.pem");
    let message = err.to_string();
    let prefix = format!(
        "Failed to read AUTH_JWT_PUBLIC_KEY_FILE at {}: ",
        expected_path.display()
    );
    assert!(message.starts_with(&prefix), "{message}");
    assert!(message.len() > prefix.len(), "{message}");
}

#[test]
fn inline_pem_with_escaped_newlines_is_accepted() {
    let pem = public_pem(rsa_key(0)).replace('\n', "\\n");
    let env = |name: &str| (name == "AUTH_JWT_PUBLIC_KEY").then(|| pem.clone());
    let auth = Authenticator::from_env(env, std::path::Path::new(".")).expect("valid config");
    assert_eq!(auth.jwt_method(), Some(JwtMethod::Rs256PublicKey));
}
