//! The session outside route handlers: a view's loader reads it (declared on the view), and a
//! `beforeHandler` hook gates pages on it (a sign-in check as a hook).

use bytes::Bytes;
use http::Method;
use serde_json::json;
use webstir::testing::TestApp;
use webstir::{Ctx, Hook, HookCtx, Module, Reply, Result, Route, SessionMode, View};
use webstir_test::{TestClient, TestResponse};

async fn sign_in(ctx: Ctx) -> Result<Reply> {
    let session = ctx.session()?;
    session.regenerate()?;
    session.insert("user", "ada")?;
    Ok(Reply::text("signed in"))
}

async fn page(ctx: Ctx) -> Result<Reply> {
    let user: Option<String> = ctx.session()?.get("user")?;
    Ok(Reply::json(&json!({ "user": user })))
}

async fn dashboard(ctx: Ctx) -> Result<serde_json::Value> {
    let user: Option<String> = ctx.session()?.get("user")?;
    Ok(json!({ "user": user }))
}

async fn gate(ctx: &mut HookCtx) -> Result<Option<Reply>> {
    let user: Option<String> = ctx.session()?.get("user")?;
    Ok(user.is_none().then(|| Reply::redirect("/sign-in")))
}

fn module() -> Module {
    Module::new("@test/session-access", "0.1.0")
        .hook(Hook::before_handler("signed-in").run(gate))
        .route(
            Route::post("/session")
                .name("signIn")
                .session(SessionMode::Optional, true)
                .handler(sign_in),
        )
        .route(
            Route::get("/private")
                .name("private")
                .session(SessionMode::Optional, false)
                .hooks(["signed-in"])
                .handler(page),
        )
        .view(
            View::get("/dashboard")
                .name("dashboard")
                .document("dashboard")
                .session(SessionMode::Optional)
                .loader(dashboard),
        )
        .view(
            View::get("/members")
                .name("members")
                .document("dashboard")
                .session(SessionMode::Required)
                .loader(dashboard),
        )
}

struct Browser {
    client: TestClient,
    cookie: Option<String>,
}

impl Browser {
    async fn send(&mut self, method: Method, path: &str) -> TestResponse {
        let cookie = self.cookie.clone();
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        let res = self
            .client
            .request(method, path, &headers, Bytes::new())
            .await
            .unwrap();
        if let Some(set) = res.header("set-cookie") {
            self.cookie = Some(set.split(';').next().unwrap_or_default().to_owned());
        }
        res
    }
}

fn state_user(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"webstir-view-state\">";
    let start = html.find(open).expect("a view state script") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let state: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    state["data"]["user"].clone()
}

#[tokio::test]
async fn views_and_hooks_read_the_session() {
    let ws = tempfile::tempdir().unwrap();
    let doc = ws.path().join("build/frontend/pages/dashboard/index.html");
    std::fs::create_dir_all(doc.parent().unwrap()).unwrap();
    std::fs::write(&doc, "<html><body><p>{{ data.user }}</p></body></html>").unwrap();
    let app = TestApp::builder(module())
        .env("WORKSPACE_ROOT", ws.path().display().to_string())
        .build()
        .await
        .unwrap();
    let served = app.serve().await.unwrap();
    let mut b = Browser {
        client: TestClient::new(served.addr()),
        cookie: None,
    };

    // Signed out: the hook redirects, the optional view renders without a user, the required
    // view answers 401.
    let res = b.send(Method::GET, "/private").await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(res.header("location"), Some("/sign-in"));
    let res = b.send(Method::GET, "/dashboard").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(state_user(&res.text()), json!(null));
    let res = b.send(Method::GET, "/members").await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(res.json()["errors"][0]["code"], "session_required");

    // Signed in: the hook lets the page through and both views see the user.
    let res = b.send(Method::POST, "/session").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = b.send(Method::GET, "/private").await;
    assert_eq!(res.json(), json!({ "user": "ada" }));
    for path in ["/dashboard", "/members"] {
        let res = b.send(Method::GET, path).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        assert!(res.text().contains("<p>ada</p>"), "{}", res.text());
        assert_eq!(state_user(&res.text()), json!("ada"));
    }
}
