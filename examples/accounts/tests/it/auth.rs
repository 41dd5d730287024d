use bytes::Bytes;
use http::Method;

use crate::{SERVICE_TOKEN, command, get_as, spawn, token};

#[tokio::test]
async fn accounts_need_credentials_and_return_the_signed_in_users_accounts() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let res = client.get("/api/accounts").await.unwrap();
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["errors"][0]["code"], "auth");
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(res.header("x-request-id").is_some());

    let ada = token(dir.path(), "user-1", &[]).await;
    let res = get_as(&client, "/api/accounts", ("authorization", &ada)).await;
    assert_eq!(res.status, 200);
    let emails: Vec<&str> = res.json()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(emails, ["ada@example.com", "ada.work@example.com"]);

    let grace = token(dir.path(), "user-2", &[]).await;
    let res = get_as(&client, "/api/accounts", ("authorization", &grace)).await;
    assert_eq!(res.json()["accounts"].as_array().unwrap().len(), 1);
    // user-2 cannot read user-1's account
    let res = get_as(&client, "/api/accounts/1", ("authorization", &grace)).await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn forged_and_malformed_tokens_fail_closed() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let good = token(dir.path(), "user-1", &[]).await;
    // Flip one character of the signature.
    let mut forged = good.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        forged.as_str(),
        "Bearer not.a.jwt",
        "Bearer a.b.c.d.e",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjk5OTk5OTk5OTl9.",
        "Basic dXNlcjpwYXNz",
    ] {
        let res = get_as(&client, "/api/accounts", ("authorization", bad)).await;
        assert_eq!(res.status, 401, "{bad}");
        assert_eq!(res.json()["errors"][0]["code"], "auth");
    }
}

#[tokio::test]
async fn a_valid_service_token_wins_over_a_bad_bearer_and_sees_every_account() {
    let (server, _dir) = spawn().await;
    let res = server
        .client()
        .request(
            Method::GET,
            "/api/accounts",
            &[
                ("authorization", "Bearer junk.junk.junk"),
                ("x-service-token", SERVICE_TOKEN),
            ],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["accounts"].as_array().unwrap().len(), 3);
    let res = get_as(
        &server.client(),
        "/api/accounts",
        ("x-service-token", "wrong-token-0123456789"),
    )
    .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn scopes_are_enforced_with_403() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let reader = token(dir.path(), "user-1", &[]).await;
    let res = client
        .request(
            Method::DELETE,
            "/api/accounts/2",
            &[("authorization", &reader)],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["errors"][0]["code"], "forbidden");
    let writer = token(dir.path(), "user-1", &["accounts:write"]).await;
    let res = client
        .request(
            Method::DELETE,
            "/api/accounts/2",
            &[("authorization", &writer)],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 204);
    let res = client
        .request(Method::DELETE, "/api/accounts/2", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(res.status, 401, "no credential is 401, not 403");
}

async fn cli(root: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = command(root).args(args).output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn api_keys_are_created_once_verified_refused_in_queries_and_revoked() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let (ok, key, err) = cli(
        dir.path(),
        &[
            "auth",
            "api-key",
            "create",
            "--name",
            "ci",
            "--scopes",
            "accounts:write",
            "--subject",
            "user-2",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(key.starts_with("wsk_"), "{key}");
    let res = get_as(&client, "/api/accounts", ("x-api-key", &key)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["accounts"][0]["email"], "grace@example.com");

    let res = client
        .get(&format!("/api/accounts?api_key={key}"))
        .await
        .unwrap();
    assert_eq!(res.status, 401, "keys in query strings are refused");

    let (ok, listed, _) = cli(dir.path(), &["auth", "api-key", "list"]).await;
    assert!(ok);
    assert!(
        listed.contains("ci") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the secret is never listed");
    let id = key.split('_').nth(1).unwrap();
    let (ok, _, err) = cli(dir.path(), &["auth", "api-key", "revoke", id]).await;
    assert!(ok, "{err}");
    let res = get_as(&client, "/api/accounts", ("x-api-key", &key)).await;
    assert_eq!(res.status, 401, "revoked");
    let (ok, _, err) = cli(dir.path(), &["auth", "api-key", "revoke", "0000"]).await;
    assert!(!ok);
    assert!(err.contains("no active API key"), "{err}");
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let good = token(dir.path(), "user-1", &[]).await;
    let secrets = [
        good.trim_start_matches("Bearer ").to_owned(),
        "forged.token.value-abcdef".to_owned(),
        SERVICE_TOKEN.to_owned(),
        "session=cookie-secret-value".to_owned(),
    ];
    let _ = get_as(&client, "/api/accounts", ("authorization", &good)).await;
    let _ = get_as(
        &client,
        "/api/accounts",
        ("authorization", "Bearer forged.token.value-abcdef"),
    )
    .await;
    let _ = get_as(&client, "/api/accounts", ("x-service-token", SERVICE_TOKEN)).await;
    let _ = get_as(
        &client,
        "/api/accounts",
        ("cookie", "session=cookie-secret-value"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let output = server.output().join("\n");
    assert!(output.contains("request.completed"));
    for secret in &secrets {
        assert!(
            !output.contains(secret.as_str()),
            "secret leaked into logs: {secret}"
        );
    }
    assert!(
        output.contains("webstir::security") || output.contains("auth.rejected"),
        "denials are logged as security events:\n{output}"
    );
}

#[tokio::test]
async fn a_short_hs256_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .env("AUTH_JWT_SECRET", "change-me")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_JWT_SECRET"), "{stderr}");
}

#[tokio::test]
async fn the_manifest_shows_access_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("manifest").output().await.unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let routes = manifest["routes"].as_array().unwrap();
    let rule = |name: &str| routes.iter().find(|r| r["name"] == name).unwrap()["auth"].clone();
    assert_eq!(
        rule("listAccounts"),
        serde_json::json!({"mode": "authenticated"})
    );
    assert_eq!(
        rule("deleteAccount"),
        serde_json::json!({"mode": "authenticated", "scopes": ["accounts:write"]})
    );
    assert!(rule("welcome").is_null(), "public routes carry no rule");
}
