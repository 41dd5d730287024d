//! The `/about` view: a document from build/frontend rendered with the loader's data, through the
//! document cache; the manifest; the stylesheet.

use std::time::Duration;

use crate::{Browser, spawn};

#[tokio::test]
async fn the_about_view_renders_through_the_document_cache() {
    let (server, dir) = spawn().await;
    let mut b = Browser::new(&server);

    let res = b.get("/about").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-webstir-document-cache"), Some("miss"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let html = res.text();
    assert!(html.contains(r#"data-webstir-view-name="about""#), "{html}");
    assert!(html.contains(r#"id="webstir-view-state""#), "{html}");
    assert!(html.contains("<strong>0</strong> users"), "{html}");

    let res = b.get("/about").await;
    assert_eq!(res.header("x-webstir-document-cache"), Some("hit"));

    // The loader's data is live: one user, one note.
    b.submit(
        "/sign-up",
        "/sign-up",
        &[("email", "ada@example.com"), ("password", "correct horse")],
    )
    .await;
    b.submit("/notes", "/notes", &[("title", "Hello")]).await;
    let html = b.page("/about").await;
    assert!(html.contains("<strong>1</strong> user have"), "{html}");
    assert!(html.contains("<strong>1</strong> note so far"), "{html}");

    // An edited document is picked up without a restart.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let file = dir.path().join("build/frontend/pages/about/index.html");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("About Notes", "About these notes")).unwrap();
    let res = b.get("/about").await;
    assert_eq!(res.header("x-webstir-document-cache"), Some("stale"));
    assert!(res.text().contains("About these notes"));
}

#[tokio::test]
async fn the_manifest_lists_the_routes_and_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_notes"))
        .arg("manifest")
        .env("WORKSPACE_ROOT", dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let routes = manifest["routes"].as_array().unwrap();
    let route = |name: &str| routes.iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(route("createNote")["form"]["csrf"], true);
    assert_eq!(route("notesPanel")["fragment"]["target"], "note-count");
    assert_eq!(route("signIn")["flash"]["publish"][0]["key"], "signed-in");
    assert_eq!(manifest["views"][0]["name"], "about");
}

#[tokio::test]
async fn the_stylesheet_is_css() {
    let (server, _dir) = spawn().await;
    let res = server.client().get("/app.css").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
}
