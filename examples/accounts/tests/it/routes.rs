use bytes::Bytes;
use serde_json::json;
use webstir_test::TestClient;

use crate::{get_as, spawn, token};

async fn post_form(
    client: &TestClient,
    path: &str,
    body: &'static str,
) -> webstir_test::TestResponse {
    client
        .request(
            http::Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Bytes::from_static(body.as_bytes()),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn accounts_can_be_listed_created_and_fetched() {
    let (server, dir) = spawn().await;
    let client = server.client();
    let bearer = token(dir.path(), "user-1", &[]).await;
    let auth = ("authorization", bearer.as_str());
    let res = get_as(&client, "/api/accounts", auth).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["accounts"][0]["email"], "ada@example.com");
    assert_eq!(
        body["accounts"].as_array().unwrap().len(),
        2,
        "only user-1's accounts"
    );
    assert!(body["greetedAt"].as_str().unwrap().ends_with('Z'));

    let post = |body: serde_json::Value| {
        let bearer = bearer.clone();
        async move {
            client
                .request(
                    http::Method::POST,
                    "/api/accounts",
                    &[
                        ("content-type", "application/json"),
                        ("authorization", &bearer),
                    ],
                    Bytes::from(serde_json::to_vec(&body).unwrap()),
                )
                .await
                .unwrap()
        }
    };
    let res = post(json!({"email": "linus@example.com", "name": "Linus"})).await;
    assert_eq!(res.status, 201);
    let id = res.json()["account"]["id"].as_i64().unwrap();
    let res = get_as(&client, &format!("/api/accounts/{id}"), auth).await;
    assert_eq!(res.json()["account"]["name"], "Linus");

    let res = post(json!({"email": "linus@example.com"})).await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json()["errors"][0]["code"], "conflict");
    // The first insert is still there exactly once.
    let all = get_as(&client, "/api/accounts", auth).await.json();
    let linus: Vec<_> = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["email"] == "linus@example.com")
        .collect();
    assert_eq!(linus.len(), 1);

    let res = post(json!({"email": "nope"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["errors"][0]["details"]["field"], "email");

    let res = get_as(&client, "/api/accounts/999", auth).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["errors"][0]["code"], "not_found");
}

#[tokio::test]
async fn form_post_redirects_and_fragment_has_its_headers() {
    let (server, _dir) = spawn().await;
    let client = server.client();
    let res = post_form(&client, "/api/welcome", "name=Webstir").await;
    assert_eq!(res.status, 303);
    assert_eq!(res.header("location"), Some("/done?name=Webstir"));

    let res = client.get("/api/greeting/Webstir").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-webstir-fragment-target"), Some("greeting"));
    assert_eq!(res.header("x-webstir-fragment-mode"), Some("replace"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.text(), "<p>Hello Webstir</p>");
    let res = client.get("/api/greeting/%3Cscript%3E").await.unwrap();
    assert_eq!(res.text(), "<p>Hello &lt;script&gt;</p>");
}

#[tokio::test]
async fn probes_and_errors_over_the_wire() {
    let (server, _dir) = spawn().await;
    let client = server.client();
    let res = client.get("/api/health").await.unwrap();
    assert_eq!(res.json()["ok"], true);
    let res = client.get("/readyz").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["manifest"]["name"], "@demo/accounts");
    assert_eq!(res.json()["manifest"]["routes"], 6);
    let res = client.get("/missing").await.unwrap();
    assert_eq!(
        res.json(),
        json!({"error": "not_found", "path": "/missing"})
    );
    let bearer = token(_dir.path(), "user-1", &[]).await;
    let res = client
        .request(
            http::Method::POST,
            "/api/accounts",
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            Bytes::from_static(b"{\"email\":"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["errors"][0]["code"], "invalid_json");
}
