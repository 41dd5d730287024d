//! Request-time views over real HTTP: document lookup and cache (miss → hit → stale), HEAD,
//! missing documents, template errors, injection escaping, params, and routes winning over views.

use std::path::Path;
use std::time::{Duration, SystemTime};

use http::Method;
use serde_json::json;
use webstir::{Ctx, Error, Module, Reply, Result, Route, View};

use crate::hooks::serve;

const ACCOUNTS: &str = "<!doctype html>\n<html>\n<head><title>Accounts</title></head>\n<body class=\"shell\">\n<main data-account=\"{{ data.accountId }}\">{{ data.note }}</main>\n</body>\n</html>\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Rewrite `rel` and give it a modification time a minute away from the old one, so the cache sees
/// the change even within one timestamp tick.
fn rewrite(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::write(&path, text).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(before + Duration::from_secs(60)).unwrap();
}

fn touch(root: &Path, rel: &str, at: SystemTime) {
    let file = std::fs::File::options()
        .write(true)
        .open(root.join(rel))
        .unwrap();
    file.set_modified(at).unwrap();
}

async fn account(ctx: Ctx) -> Result<serde_json::Value> {
    let id = ctx.param("id").unwrap_or_default().to_owned();
    if id == "gone" {
        return Err(Error::not_found("account gone does not exist"));
    }
    Ok(json!({
        "accountId": id,
        "note": ctx.query("note"),
        "requestId": ctx.request_id(),
        "pathname": ctx.path(),
    }))
}

fn module() -> Module {
    Module::new("@test/views", "0.1.0")
        .view(
            View::get("/accounts/:id")
                .name("AccountView")
                .loader(account),
        )
        .view(View::get("/missing/:x").name("MissingView"))
        .view(View::get("/broken").name("BrokenView"))
        .view(View::get("/").name("HomeView"))
        .view(
            View::get("/profiles/:id")
                .name("ProfileView")
                .document("accounts")
                .loader(account),
        )
        .route(
            Route::get("/accounts/special")
                .name("specialAccount")
                .handler(|| async { Reply::json(&json!({ "route": "specialAccount" })) }),
        )
        .route(
            Route::post("/accounts/:id")
                .name("updateAccount")
                .handler(|| async { Reply::json(&json!({ "route": "updateAccount" })) }),
        )
}

fn state_of(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"webstir-view-state\">";
    let start = html.find(open).expect("a view state script") + open.len();
    let end = start + html[start..].find("</script>").expect("the script's end");
    serde_json::from_str(&html[start..end]).expect("view state JSON")
}

#[tokio::test]
async fn views_render_the_document_with_the_loaders_data_and_cache_it() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "build/frontend/pages/accounts/index.html", ACCOUNTS);
    let root_text = root.display().to_string();
    let app = serve(&module(), &[("WORKSPACE_ROOT", &root_text)]).await;

    let res = app.client.get("/accounts/demo?note=hello").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("x-webstir-document-cache"), Some("miss"));
    let request_id = res.header("x-request-id").unwrap().to_owned();
    let html = res.text();
    assert!(
        html.contains("<main data-account=\"demo\">hello</main>"),
        "{html}"
    );
    assert!(
        html.contains("<body class=\"shell\" data-webstir-view-name=\"AccountView\" data-webstir-view-pathname=\"/accounts/demo\" data-webstir-view-template=\"/accounts/:id\">"),
        "{html}"
    );
    assert!(html.contains("</script>\n</body>"), "{html}");
    assert_eq!(
        state_of(&html),
        json!({
            "view": { "name": "AccountView", "path": "/accounts/:id", "pathname": "/accounts/demo", "params": { "id": "demo" } },
            "data": { "accountId": "demo", "note": "hello", "requestId": request_id, "pathname": "/accounts/demo" },
            "requestId": request_id,
        })
    );

    let res = app.client.get("/accounts/demo").await.unwrap();
    assert_eq!(res.header("x-webstir-document-cache"), Some("hit"));

    // Another view naming the same document shares its cache entry.
    let res = app.client.get("/profiles/p1").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-webstir-document-cache"), Some("hit"));
    assert!(
        res.text()
            .contains("data-webstir-view-name=\"ProfileView\"")
    );

    rewrite(
        root,
        "build/frontend/pages/accounts/index.html",
        "<html><body><h1>v2 {{ data.accountId }}</h1></body></html>",
    );
    let res = app.client.get("/accounts/demo").await.unwrap();
    assert_eq!(res.header("x-webstir-document-cache"), Some("stale"));
    assert!(res.text().contains("<h1>v2 demo</h1>"), "{}", res.text());
    let res = app.client.get("/accounts/demo").await.unwrap();
    assert_eq!(res.header("x-webstir-document-cache"), Some("hit"));

    // Same size, new modification time: still seen as a change.
    touch(
        root,
        "build/frontend/pages/accounts/index.html",
        SystemTime::now() + Duration::from_secs(3600),
    );
    let res = app.client.get("/accounts/demo").await.unwrap();
    assert_eq!(res.header("x-webstir-document-cache"), Some("stale"));

    // HEAD: the same headers, no body.
    let get = app.client.get("/accounts/demo").await.unwrap();
    let head = app
        .client
        .request(Method::HEAD, "/accounts/demo", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "cache-control",
        "content-type",
        "x-webstir-document-cache",
        "content-length",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert!(head.header("x-request-id").is_some());

    // The loader's errors answer like a handler's.
    let res = app.client.get("/accounts/gone").await.unwrap();
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["errors"][0]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn injected_state_is_escaped_and_template_output_auto_escaped() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "build/frontend/accounts.html", ACCOUNTS);
    let root_text = root.display().to_string();
    let app = serve(&module(), &[("WORKSPACE_ROOT", &root_text)]).await;

    let evil = "</script><script>alert(1)</script>&\u{2028}";
    let path = format!(
        "/accounts/x?note={}",
        "%3C%2Fscript%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%26%E2%80%A8"
    );
    let res = app.client.get(&path).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let html = res.text();
    // Exactly one closing tag per script element: the data cannot end the state script.
    assert_eq!(html.matches("</script>").count(), 1, "{html}");
    assert!(html.contains("\\u003c/script\\u003e"), "{html}");
    assert!(html.contains("\\u0026\\u2028"), "{html}");
    assert_eq!(state_of(&html)["data"]["note"], evil);
    // minijinja escapes what the template prints.
    assert!(
        html.contains("&lt;&#x2f;script&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&amp;"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn missing_documents_and_template_errors_are_500s_that_say_where() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(
        root,
        "build/frontend/broken.html",
        "<html>\n<body>\n{{ data.x | nope(}}\n</body>\n</html>\n",
    );
    let root_text = root.display().to_string();
    let app = serve(&module(), &[("WORKSPACE_ROOT", &root_text)]).await;

    let res = app.client.get("/missing/thing").await.unwrap();
    assert_eq!(res.status, 500);
    assert!(res.header("x-request-id").is_some());
    let build = root.join("build/frontend");
    let dist = root.join("dist/frontend");
    let checked = [
        build.join("pages/missing/index.html"),
        build.join("missing/index.html"),
        build.join("missing.html"),
        dist.join("pages/missing/index.html"),
        dist.join("missing/index.html"),
        dist.join("missing.html"),
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect::<Vec<_>>()
    .join(", ");
    assert_eq!(
        res.json(),
        json!({
            "error": "internal_error",
            "message": format!("Frontend document for /missing/thing was not found. Checked {checked}."),
        })
    );

    let res = app.client.get("/broken").await.unwrap();
    assert_eq!(res.status, 500);
    let message = res.json()["message"].as_str().unwrap().to_owned();
    let file = build.join("broken.html").display().to_string();
    assert!(
        message.starts_with(&format!("template error in {file}:3: syntax error")),
        "{message}"
    );

    // `/` looks for `home`, which may be `build/frontend/index.html`; `dist/` is the fallback.
    write(
        root,
        "dist/frontend/index.html",
        "<html><body>published home</body></html>",
    );
    let res = app.client.get("/").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.text().contains("published home"));
    assert!(res.text().contains("data-webstir-view-name=\"HomeView\""));

    // Unknown paths are still the JSON 404.
    let res = app.client.get("/nowhere/at/all").await.unwrap();
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json(),
        json!({ "error": "not_found", "path": "/nowhere/at/all" })
    );
    app.stop().await;
}

#[tokio::test]
async fn routes_win_over_views() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "build/frontend/pages/accounts/index.html", ACCOUNTS);
    let root_text = root.display().to_string();
    let app = serve(&module(), &[("WORKSPACE_ROOT", &root_text)]).await;

    let res = app.client.get("/accounts/special").await.unwrap();
    assert_eq!(res.json(), json!({ "route": "specialAccount" }));
    // A route for another method on the view's path does not hide the view from GET…
    let res = app.client.get("/accounts/7").await.unwrap();
    assert_eq!(res.header("x-webstir-document-cache"), Some("miss"));
    // …and keeps its own method.
    let res = app
        .client
        .post_json("/accounts/7", &json!({}))
        .await
        .unwrap();
    assert_eq!(res.json(), json!({ "route": "updateAccount" }));
    // Views answer GET and HEAD only.
    let res = app
        .client
        .request(Method::DELETE, "/accounts/7", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(res.status, 405);
    app.stop().await;

    let manifest = serde_json::to_value(module().manifest()).unwrap();
    assert_eq!(
        manifest["views"][0],
        json!({ "name": "AccountView", "path": "/accounts/:id" })
    );
}
