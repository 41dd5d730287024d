//! `webstir::testing`: what a user's own tests rely on.

use std::path::Path;

use serde_json::json;
use webstir::extract::{Form, Json};
use webstir::testing::TestApp;
use webstir::{Ctx, Module, Reply, Result, Route, params};

#[derive(serde::Deserialize, serde::Serialize)]
struct Note {
    body: String,
}

async fn hello(ctx: Ctx) -> Result<Reply> {
    Ok(Reply::json(&json!({
        "route": ctx.route_name(),
        "greeting": ctx.env().get("GREETING"),
        "user": ctx.auth().and_then(|a| a.user_id.clone()),
    })))
}

async fn item(ctx: Ctx) -> Result<Reply> {
    let id: u64 = ctx.param_as("id")?;
    Ok(Reply::json(&json!({
        "id": id,
        "requestId": ctx.request_id(),
        "user": ctx.auth().and_then(|a| a.user_id.clone()),
        "scopes": ctx.auth().map(|a| a.scopes.clone()),
    })))
}

async fn add_note(ctx: Ctx) -> Result<Reply> {
    let note: Note = ctx.json()?;
    ctx.db()
        .execute(
            "INSERT INTO notes (body) VALUES (?)",
            params![note.body.as_str()],
        )
        .await?;
    Ok(Reply::json(&json!({ "saved": note.body })).status(201))
}

async fn list_notes(ctx: Ctx) -> Result<Reply> {
    let notes: Vec<Note> = ctx
        .db()
        .query_as("SELECT body FROM notes ORDER BY body", params![])
        .await?;
    Ok(Reply::json(&notes))
}

async fn typed_json(Json(note): Json<Note>) -> Json<serde_json::Value> {
    Json(json!({ "json": note.body }))
}

async fn typed_form(Form(note): Form<Note>) -> Json<serde_json::Value> {
    Json(json!({ "form": note.body }))
}

async fn stream() -> axum::body::Body {
    let chunks = futures_util::stream::iter(["one ", "two ", "three"])
        .map(|chunk| Ok::<_, std::convert::Infallible>(bytes::Bytes::from(chunk)));
    axum::body::Body::from_stream(chunks)
}

async fn boom(_ctx: Ctx) -> Result<Reply> {
    panic!("kaboom in a handler");
}

use futures_util::StreamExt as _;

/// The migrations of the test app: one table, portable SQL.
fn migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_notes.sql"),
        "CREATE TABLE notes (body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n",
    )
    .unwrap();
    dir
}

fn module(migrations: &Path) -> Module {
    Module::new("@test/kit", "0.1.0")
        .capabilities(["http", "db"])
        .migrations(migrations)
        .route(Route::get("/api/hello").name("hello").handler(hello))
        .route(Route::get("/api/items/:id").name("item").handler(item))
        .route(
            Route::get("/api/me")
                .name("me")
                .authenticated()
                .handler(hello),
        )
        .route(
            Route::post("/api/items/:id")
                .name("writeItem")
                .scopes(["items:write"])
                .handler(item),
        )
        .route(
            Route::delete("/api/items/:id")
                .name("deleteItem")
                .roles(["admin"])
                .handler(item),
        )
        .route(
            Route::post("/internal/sync")
                .name("sync")
                .service_only()
                .handler(hello),
        )
        .route(Route::post("/api/notes").name("addNote").handler(add_note))
        .route(
            Route::get("/api/notes")
                .name("listNotes")
                .handler(list_notes),
        )
        .route(Route::post("/api/json").name("json").handler(typed_json))
        .route(Route::post("/api/form").name("form").handler(typed_form))
        .route(Route::get("/api/stream").name("stream").handler(stream))
        .route(Route::get("/api/boom").name("boom").handler(boom))
}

#[tokio::test]
async fn routes_answer_in_process_with_the_runtime_envelopes() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();

    let res = app.get("/api/hello").send().await;
    assert_eq!(res.status(), 200, "{res:?}");
    assert_eq!(res.json()["route"], "hello");
    assert!(res.header("x-request-id").is_some());
    assert_eq!(res.header("content-type"), Some("application/json"));

    let res = app.get("/api/nope").send().await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json()["error"], "not_found");

    let res = app.head("/api/hello").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "");

    let res = app.options("/api/hello").send().await;
    assert_eq!(res.status(), 204);

    let res = app.put("/api/hello").send().await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET"));

    let res = app
        .get("/api/items/7")
        .header("x-request-id", "req-123")
        .send()
        .await;
    assert_eq!(res.json()["id"], 7);
    assert_eq!(res.json()["requestId"], "req-123");
    assert_eq!(res.header("x-request-id"), Some("req-123"));

    let res = app.get("/api/items/seven").send().await;
    assert_eq!(res.status(), 400);

    // Development mode: a panic is a 500 that shows its message.
    let res = app.get("/api/boom").send().await;
    assert_eq!(res.status(), 500);
    assert!(res.text().contains("kaboom"), "{res:?}");

    // Probes answer, and the app is ready.
    assert_eq!(app.get("/readyz").send().await.status(), 200);
}

#[tokio::test]
async fn streaming_bodies_are_collected() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();
    let res = app.get("/api/stream").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "one two three");
}

#[tokio::test]
async fn json_and_form_bodies_reach_the_extractors() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();

    let res = app
        .post("/api/json")
        .json(&json!({ "body": "hi" }))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{res:?}");
    assert_eq!(res.json(), json!({ "json": "hi" }));

    let res = app
        .post("/api/form")
        .form(&[("body", "a b&c")])
        .send()
        .await;
    assert_eq!(res.status(), 200, "{res:?}");
    assert_eq!(res.json()["form"], "a b&c");

    let res = app
        .post("/api/json")
        .body("body=x", "application/x-www-form-urlencoded")
        .send()
        .await;
    assert_eq!(res.status(), 415, "{res:?}");

    #[derive(serde::Deserialize)]
    struct Saved {
        saved: String,
    }
    let res = app
        .post("/api/notes")
        .json(&Note {
            body: "typed".into(),
        })
        .send()
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json_as::<Saved>().saved, "typed");
}

#[tokio::test]
async fn the_body_limit_applies_in_process() {
    let dir = migrations();
    let app = TestApp::builder(module(dir.path()))
        .env("REQUEST_BODY_MAX_BYTES", "16")
        .build()
        .await
        .unwrap();
    let res = app
        .post("/api/json")
        .json(&json!({ "body": "far more than sixteen bytes" }))
        .send()
        .await;
    assert_eq!(res.status(), 413, "{res:?}");
}

#[tokio::test]
async fn env_values_reach_the_app_and_database_url_is_reserved() {
    let dir = migrations();
    let app = TestApp::builder(module(dir.path()))
        .env("GREETING", "hello from the test")
        .build()
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/hello").send().await.json()["greeting"],
        "hello from the test"
    );
    assert_eq!(app.env().get("NODE_ENV"), Some("development"));

    let err = TestApp::builder(module(dir.path()))
        .env("DATABASE_URL", "file:elsewhere.sqlite")
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn migrations_are_applied_and_handlers_share_the_database() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();

    let res = app
        .post("/api/notes")
        .json(&json!({ "body": "from a handler" }))
        .send()
        .await;
    assert_eq!(res.status(), 201, "{res:?}");
    let rows: Vec<Note> = app
        .db()
        .query_as("SELECT body FROM notes", params![])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].body, "from a handler");

    // Seeding through app.db() is what handlers see.
    app.db()
        .execute("INSERT INTO notes (body) VALUES (?)", params!["seeded"])
        .await
        .unwrap();
    let res = app.get("/api/notes").send().await;
    assert_eq!(
        res.json(),
        json!([{ "body": "from a handler" }, { "body": "seeded" }])
    );

    // The framework's own tables are there too (system migrations).
    let system: Vec<serde_json::Value> = app
        .db()
        .query_as("SELECT id FROM _webstir_system_migrations", params![])
        .await
        .unwrap();
    assert!(!system.is_empty());
}

#[tokio::test]
async fn two_apps_do_not_share_a_database_and_the_file_goes_with_the_app() {
    let dir = migrations();
    let first = TestApp::new(module(dir.path())).await.unwrap();
    let second = TestApp::new(module(dir.path())).await.unwrap();
    first
        .post("/api/notes")
        .json(&json!({ "body": "only in the first" }))
        .send()
        .await;
    assert_eq!(
        first.get("/api/notes").send().await.json(),
        json!([{ "body": "only in the first" }])
    );
    assert_eq!(second.get("/api/notes").send().await.json(), json!([]));

    let file = first.sqlite_file().expect("a SQLite file");
    assert!(file.exists());
    assert_ne!(Some(&file), second.sqlite_file().as_ref());
    drop(first);
    assert!(!file.exists(), "{} should be removed", file.display());
    assert!(!file.parent().unwrap().exists());
}

#[tokio::test]
async fn an_app_without_a_database_gets_none() {
    let app = TestApp::new(
        Module::new("@test/nodb", "0.1.0")
            .route(Route::get("/api/hello").name("hello").handler(hello)),
    )
    .await
    .unwrap();
    assert!(app.sqlite_file().is_none());
    assert_eq!(app.get("/api/hello").send().await.status(), 200);
}

#[tokio::test]
async fn module_layers_wrap_in_process_requests() {
    let module = Module::new("@test/layers", "0.1.0")
        .route(Route::get("/api/hello").name("hello").handler(hello))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            http::HeaderName::from_static("x-layer"),
            http::HeaderValue::from_static("yes"),
        ));
    let app = TestApp::new(module).await.unwrap();
    let res = app.get("/api/hello").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("x-layer"), Some("yes"));
    // Also on the runtime's own answers.
    assert_eq!(app.get("/nope").send().await.header("x-layer"), Some("yes"));
}

#[tokio::test]
async fn a_handler_can_be_called_with_a_ctx() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();

    let ctx = app
        .get("/api/items/42?verbose=1")
        .header("x-request-id", "unit-1")
        .ctx()
        .await;
    assert_eq!(ctx.param("id"), Some("42"));
    assert_eq!(ctx.query("verbose").as_deref(), Some("1"));
    assert_eq!(ctx.route_name(), "item");
    assert_eq!(ctx.request_id(), "unit-1");
    assert!(ctx.auth().is_none());
    let res = app.respond(item(ctx).await).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json()["id"], 42);

    // The body and the database come with it.
    let ctx = app
        .post("/api/notes")
        .json(&json!({ "body": "direct" }))
        .ctx()
        .await;
    let res = app.respond(add_note(ctx).await).await;
    assert_eq!(res.status(), 201);
    let n: Vec<Note> = app
        .db()
        .query_as("SELECT body FROM notes", params![])
        .await
        .unwrap();
    assert_eq!(n[0].body, "direct");

    // Errors become the server's envelope.
    let ctx = app.get("/api/items/x").ctx().await;
    let res = app.respond(item(ctx).await).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json()["errors"][0]["code"], "validation", "{res:?}");
}

#[tokio::test]
#[should_panic(expected = "no route matches (404)")]
async fn a_ctx_for_an_unknown_path_panics_clearly() {
    let app = TestApp::new(
        Module::new("@test/nodb", "0.1.0")
            .route(Route::get("/api/hello").name("hello").handler(hello)),
    )
    .await
    .unwrap();
    let _ = app.get("/api/missing").ctx().await;
}

#[tokio::test]
async fn loopback_mode_serves_real_http_and_stops_on_drop() {
    let dir = migrations();
    let app = TestApp::new(module(dir.path())).await.unwrap();
    let served = app.serve().await.unwrap();
    assert!(served.url().starts_with("http://127.0.0.1:"));
    let client = webstir_test::TestClient::new(served.addr());

    let res = client
        .post_json("/api/notes", &json!({ "body": "over tcp" }))
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    // Same app, same database as the in-process requests.
    assert_eq!(
        app.get("/api/notes").send().await.json(),
        json!([{ "body": "over tcp" }])
    );
    assert_eq!(client.get("/api/hello").await.unwrap().status, 200);

    let addr = served.addr();
    served.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // In-process requests still work after the socket is closed.
    assert_eq!(app.get("/api/hello").send().await.status(), 200);
}

#[cfg(feature = "auth")]
mod auth {
    use super::*;

    #[tokio::test]
    async fn authenticated_routes_need_a_user() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();

        let res = app.get("/api/me").send().await;
        assert_eq!(res.status(), 401, "{res:?}");
        assert!(res.header("www-authenticate").is_some());

        let res = app.get("/api/me").as_user("alice").send().await;
        assert_eq!(res.status(), 200, "{res:?}");
        assert_eq!(res.json()["user"], "alice");

        // A token minted for another app's secret is refused.
        let other = TestApp::new(module(dir.path())).await.unwrap();
        let res = app
            .get("/api/me")
            .bearer(&other.user_token("mallory"))
            .send()
            .await;
        assert_eq!(res.status(), 401);
        // … and its own is accepted.
        let res = app
            .get("/api/me")
            .bearer(&app.user_token("bob"))
            .send()
            .await;
        assert_eq!(res.json()["user"], "bob");
    }

    #[tokio::test]
    async fn scopes_and_roles_are_enforced() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();

        assert_eq!(app.post("/api/items/1").send().await.status(), 401);
        let res = app.post("/api/items/1").as_user("alice").send().await;
        assert_eq!(res.status(), 403, "{res:?}");
        assert!(res.text().contains("items:write"));
        let res = app
            .post("/api/items/1")
            .as_user("alice")
            .scopes(["items:read", "items:write"])
            .send()
            .await;
        assert_eq!(res.status(), 200, "{res:?}");
        assert_eq!(res.json()["scopes"], json!(["items:read", "items:write"]));

        let res = app.delete("/api/items/1").as_user("alice").send().await;
        assert_eq!(res.status(), 403);
        let res = app.delete("/api/items/1").roles(["admin"]).send().await;
        assert_eq!(res.status(), 200, "{res:?}");
        assert_eq!(res.json()["user"], "test-user");
    }

    #[tokio::test]
    async fn service_only_routes_take_the_service_token() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();
        assert_eq!(app.post("/internal/sync").send().await.status(), 401);
        let res = app
            .post("/internal/sync")
            .as_user("alice")
            .scopes(["service"])
            .roles(["service"])
            .send()
            .await;
        assert_eq!(res.status(), 403, "{res:?}");
        assert_eq!(
            app.post("/internal/sync")
                .as_service()
                .send()
                .await
                .status(),
            200
        );
        let res = app
            .post("/internal/sync")
            .header("x-service-token", app.service_token())
            .send()
            .await;
        assert_eq!(res.status(), 200);
    }

    #[tokio::test]
    async fn configured_issuer_audience_and_tokens_are_kept() {
        let dir = migrations();
        let app = TestApp::builder(module(dir.path()))
            .env("AUTH_JWT_ISSUER", "https://issuer.test")
            .env("AUTH_JWT_AUDIENCE", "kit")
            .env("AUTH_SERVICE_TOKENS", "a-long-service-token-of-the-app")
            .build()
            .await
            .unwrap();
        let res = app.get("/api/me").as_user("carol").send().await;
        assert_eq!(res.status(), 200, "{res:?}");
        // A token without the audience is refused by the real authenticator.
        let stray = app.token(json!({ "sub": "dave", "aud": "someone-else" }));
        assert_eq!(app.get("/api/me").bearer(&stray).send().await.status(), 401);
        let res = app
            .post("/internal/sync")
            .header("x-service-token", "a-long-service-token-of-the-app")
            .send()
            .await;
        assert_eq!(res.status(), 200);
    }

    #[tokio::test]
    async fn a_ctx_carries_the_signed_in_user() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();
        let ctx = app
            .post("/api/items/9")
            .as_user("erin")
            .scopes(["items:write"])
            .claim("email", "erin@example.test")
            .ctx()
            .await;
        let auth = ctx.auth().expect("signed in");
        assert_eq!(auth.user_id.as_deref(), Some("erin"));
        assert_eq!(auth.email.as_deref(), Some("erin@example.test"));
        let res = app.respond(item(ctx).await).await;
        assert_eq!(res.json()["user"], "erin");
    }

    #[tokio::test]
    #[should_panic(expected = "access rule refused the request (401")]
    async fn a_ctx_for_a_protected_route_without_credentials_panics() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();
        let _ = app.get("/api/me").ctx().await;
    }

    #[tokio::test]
    async fn tokens_work_over_the_loopback_socket() {
        let dir = migrations();
        let app = TestApp::new(module(dir.path())).await.unwrap();
        let served = app.serve().await.unwrap();
        let client = webstir_test::TestClient::new(served.addr());
        let token = format!("Bearer {}", app.user_token("frank"));
        let res = client
            .request(
                http::Method::GET,
                "/api/me",
                &[("authorization", &token)],
                bytes::Bytes::new(),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["user"], "frank");
        assert_eq!(client.get("/api/me").await.unwrap().status, 401);
    }
}

#[tokio::test]
async fn postgres_gets_a_fresh_schema_per_app() {
    let Ok(url) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipping postgres_gets_a_fresh_schema_per_app: WEBSTIR_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let dir = migrations();
    let first = TestApp::builder(module(dir.path()))
        .postgres(&url)
        .build()
        .await
        .unwrap();
    let second = TestApp::builder(module(dir.path()))
        .postgres(&url)
        .build()
        .await
        .unwrap();
    let schema = first.postgres_schema().expect("a schema").to_owned();
    assert_ne!(Some(schema.as_str()), second.postgres_schema());
    assert!(first.sqlite_file().is_none());

    let res = first
        .post("/api/notes")
        .json(&json!({ "body": "pg" }))
        .send()
        .await;
    assert_eq!(res.status(), 201, "{res:?}");
    assert_eq!(
        first.get("/api/notes").send().await.json(),
        json!([{ "body": "pg" }])
    );
    assert_eq!(second.get("/api/notes").send().await.json(), json!([]));

    // The table is in the app's schema.
    let admin = webstir::Db::connect(&url, Path::new(".")).unwrap();
    let tables: Vec<serde_json::Value> = admin
        .query_as(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name = 'notes'",
            params![schema.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(tables.len(), 1);

    drop(first);
    let schemas: Vec<serde_json::Value> = admin
        .query_as(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?",
            params![schema.as_str()],
        )
        .await
        .unwrap();
    assert!(schemas.is_empty(), "schema {schema} should be dropped");
}

/// What a user's test file does: `use webstir::tokio;` makes `#[tokio::test]` work without a
/// tokio dev-dependency.
mod as_a_user_writes_it {
    use webstir::testing::TestApp;
    use webstir::tokio;
    use webstir::{Module, Route};

    #[tokio::test]
    async fn hello_answers() {
        let app = TestApp::new(
            Module::new("@user/app", "0.1.0")
                .route(Route::get("/api/hello").name("hello").handler(super::hello)),
        )
        .await
        .unwrap();
        let res = app.get("/api/hello").send().await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json()["route"], "hello");
    }
}
