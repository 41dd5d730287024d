//! CSRF over real HTTP with a cookie kept by hand: tokens bound to the session and single-use,
//! missing / wrong / reused tokens refused with 403 `csrf`, the header and multipart forms, and
//! cross-site requests to cookie-authenticated routes refused by `Origin` / `Sec-Fetch-Site`.

use bytes::Bytes;
use http::Method;
use serde_json::json;
use webstir::testing::TestApp;
use webstir::{Ctx, Module, Reply, Result, Route, SessionMode};
use webstir_test::{TestClient, TestResponse};

async fn form_page(ctx: Ctx) -> Result<Reply> {
    let form = ctx.query("form").unwrap_or_else(|| "createItem".to_owned());
    let token = ctx.session()?.csrf_token(&form);
    Ok(Reply::json(&json!({ "token": token })))
}

async fn create_item(ctx: Ctx) -> Result<Reply> {
    let _ = ctx;
    Ok(Reply::redirect("/items"))
}

async fn sign_out(ctx: Ctx) -> Result<Reply> {
    ctx.session()?.destroy()?;
    Ok(Reply::text("bye"))
}

#[derive(serde::Deserialize, serde::Serialize)]
struct NewNote {
    title: String,
    body: String,
}

async fn create_note(
    session: webstir::extract::Session,
    webstir::extract::Form(note): webstir::extract::Form<NewNote>,
) -> Result<Reply> {
    let mut errors = webstir::forms::FormErrors::new();
    if note.title.trim().is_empty() {
        errors = errors.field("title", "Title is required");
    }
    if note.body.len() > 10 {
        errors = errors
            .field("body", "Too long")
            .form("Fix the fields below");
    }
    if !errors.is_empty() {
        session.keep_form("createNote", &note, &errors)?;
        return Ok(Reply::redirect("/notes/new"));
    }
    Ok(Reply::redirect("/notes"))
}

async fn new_note(ctx: Ctx) -> Result<Reply> {
    match ctx.session()?.take_form("createNote") {
        Some(kept) => Ok(Reply::json(
            &json!({ "values": kept.values, "errors": kept.errors }),
        )),
        None => Ok(Reply::json(&json!({ "values": null }))),
    }
}

fn module() -> Module {
    Module::new("@test/csrf", "0.1.0")
        .route(
            Route::get("/items/new")
                .name("newItem")
                .session(SessionMode::Optional, false)
                .handler(form_page),
        )
        .route(
            Route::post("/items")
                .name("createItem")
                .form_urlencoded(true)
                .handler(create_item),
        )
        .route(
            Route::post("/notes")
                .name("createNote")
                .session(SessionMode::Optional, false)
                .flash(
                    webstir::FlashSpec::default()
                        .publish(webstir::FlashPublish::new("saved").when("success"))
                        .publish(webstir::FlashPublish::new("rejected").when("error")),
                )
                .handler(create_note),
        )
        .route(
            Route::get("/notes/new")
                .name("newNote")
                .session(SessionMode::Optional, false)
                .flash(
                    webstir::FlashSpec::default()
                        .consume("saved")
                        .consume("rejected"),
                )
                .handler(new_note),
        )
        .route(
            Route::post("/uploads")
                .name("upload")
                .form_multipart(true)
                .handler(create_item),
        )
        .route(
            Route::put("/items/api")
                .name("createItemApi")
                .session(SessionMode::Optional, false)
                .handler(create_item),
        )
        .route(
            Route::post("/sign-out")
                .name("signOut")
                .session(SessionMode::Optional, true)
                .handler(sign_out),
        )
}

/// A browser-like client: keeps the session cookie.
struct Browser {
    client: TestClient,
    cookie: Option<String>,
}

impl Browser {
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        let cookie = self.cookie.clone();
        if let Some(cookie) = cookie.as_deref() {
            all.push(("cookie", cookie));
        }
        let res = self
            .client
            .request(method, path, &all, body.into())
            .await
            .unwrap();
        if let Some(set) = res.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        res
    }

    async fn token(&mut self) -> String {
        self.token_for("/items/new").await
    }

    async fn token_for(&mut self, page: &str) -> String {
        let res = self.send(Method::GET, page, &[], Bytes::new()).await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["token"].as_str().unwrap().to_owned()
    }

    async fn submit(&mut self, body: &str, extra: &[(&str, &str)]) -> TestResponse {
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        self.send(Method::POST, "/items", &headers, body.to_owned())
            .await
    }
}

fn code(res: &TestResponse) -> serde_json::Value {
    res.json()["errors"][0]["code"].clone()
}

async fn browser(app: &TestApp) -> (webstir::testing::Served<'_>, Browser) {
    let served = app.serve().await.unwrap();
    let client = TestClient::new(served.addr());
    (
        served,
        Browser {
            client,
            cookie: None,
        },
    )
}

#[tokio::test]
async fn tokens_are_bound_to_the_session_and_single_use() {
    let app = TestApp::new(module()).await.unwrap();
    let (_served, mut alice) = browser(&app).await;

    // No session, no token.
    let res = alice.submit("title=x", &[]).await;
    assert_eq!(
        (res.status, code(&res)),
        (403, json!("csrf")),
        "{}",
        res.text()
    );

    let token = alice.token().await;
    assert!(
        alice.cookie.is_some(),
        "asking for a token starts a session"
    );
    assert_eq!(alice.token().await, token, "stable until used");

    // Missing and wrong tokens are refused and leave the valid one usable.
    let res = alice.submit("title=x", &[]).await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
    let res = alice.submit("title=x&_csrf=not-the-token", &[]).await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));

    let res = alice.submit(&format!("title=x&_csrf={token}"), &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(res.header("location"), Some("/items"));

    // Reused: refused; the next page gets a new token.
    let res = alice.submit(&format!("title=x&_csrf={token}"), &[]).await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
    let fresh = alice.token().await;
    assert_ne!(fresh, token);

    // Another browser's session cannot use alice's token.
    let (_served2, mut mallory) = browser(&app).await;
    let _ = mallory.token().await;
    let res = mallory.submit(&format!("title=x&_csrf={fresh}"), &[]).await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
    let res = alice.submit(&format!("title=x&_csrf={fresh}"), &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
}

#[tokio::test]
async fn the_header_and_multipart_forms_carry_tokens_too() {
    let app = TestApp::new(module()).await.unwrap();
    let (_served, mut b) = browser(&app).await;

    let token = b.token().await;
    let res = b
        .send(
            Method::POST,
            "/items",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-csrf-token", &token),
            ],
            "title=x",
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());

    // A multipart body: the runtime accepts only urlencoded on this route (415 before any token).
    let token = b.token().await;
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--b--\r\n"
    );
    let res = b
        .send(
            Method::POST,
            "/items",
            &[("content-type", "multipart/form-data; boundary=b")],
            body,
        )
        .await;
    assert_eq!(res.status, 415, "{}", res.text());

    // A multipart form route takes the token from its `_csrf` part.
    let token = b.token_for("/items/new?form=upload").await;
    let part = |value: &str| {
        format!(
            "--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{value}\r\n\
             --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhi\r\n--b--\r\n"
        )
    };
    let multipart = [("content-type", "multipart/form-data; boundary=b")];
    let res = b
        .send(Method::POST, "/uploads", &multipart, part("wrong"))
        .await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
    let res = b
        .send(Method::POST, "/uploads", &multipart, part(&token))
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let res = b
        .send(Method::POST, "/uploads", &multipart, part(&token))
        .await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
}

#[tokio::test]
async fn cross_site_requests_to_cookie_routes_are_refused() {
    let app = TestApp::builder(module())
        .env("CORS_ALLOWED_ORIGINS", "https://app.example.com")
        .build()
        .await
        .unwrap();
    let (served, mut b) = browser(&app).await;
    let host = served.addr().to_string();
    let token = b.token().await;

    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let mut all = headers.clone();
        all.push(("content-type", "application/x-www-form-urlencoded"));
        let res = b
            .send(Method::POST, "/items", &all, format!("_csrf={token}"))
            .await;
        assert_eq!(
            (res.status, code(&res)),
            (403, json!("cross_site")),
            "{headers:?}"
        );
        // Routes without a CSRF form but with the session cookie too.
        let res = b
            .send(Method::POST, "/sign-out", &headers, Bytes::new())
            .await;
        assert_eq!(
            (res.status, code(&res)),
            (403, json!("cross_site")),
            "{headers:?}"
        );
        let res = b
            .send(Method::PUT, "/items/api", &headers, Bytes::new())
            .await;
        assert_eq!(
            (res.status, code(&res)),
            (403, json!("cross_site")),
            "{headers:?}"
        );
    }
    // Reads are not refused.
    let res = b
        .send(
            Method::GET,
            "/items/new",
            &[("sec-fetch-site", "cross-site")],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200);

    // Same origin, a trusted origin, and same-origin fetch metadata pass (the token still counts).
    let same = format!("http://{host}");
    let token = b.token().await;
    let res = b
        .submit(
            &format!("_csrf={token}"),
            &[("origin", &same), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let token = b.token().await;
    let res = b
        .submit(
            &format!("_csrf={token}"),
            &[("origin", "https://app.example.com")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let res = b
        .send(
            Method::POST,
            "/sign-out",
            &[("origin", &same)],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[tokio::test]
async fn a_failed_submission_redirects_back_with_its_errors_and_values_once() {
    let app = TestApp::new(module()).await.unwrap();
    let (_served, mut b) = browser(&app).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let res = b
        .send(
            Method::POST,
            "/notes",
            &form,
            "title=&body=far+too+long+text",
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(res.header("location"), Some("/notes/new"));
    let res = b.send(Method::GET, "/notes/new", &[], Bytes::new()).await;
    assert_eq!(
        res.json(),
        json!({
            "values": { "title": "", "body": "far too long text" },
            "errors": {
                "form": ["Fix the fields below"],
                "fields": { "title": ["Title is required"], "body": ["Too long"] }
            }
        })
    );
    // Taken once: a reload shows an empty form.
    let res = b.send(Method::GET, "/notes/new", &[], Bytes::new()).await;
    assert_eq!(res.json(), json!({ "values": null }));
    // Another browser never sees it.
    let (_s2, mut other) = browser(&app).await;
    let res = other
        .send(Method::GET, "/notes/new", &[], Bytes::new())
        .await;
    assert_eq!(res.json(), json!({ "values": null }));
    // A valid submission goes through.
    let res = b
        .send(Method::POST, "/notes", &form, "title=Hi&body=ok")
        .await;
    assert_eq!(res.header("location"), Some("/notes"));

    // The same errors as the JSON envelope, for routes that answer JSON.
    let err = webstir::forms::FormErrors::new()
        .field("title", "Title is required")
        .form("Try again")
        .into_error();
    assert_eq!(err.status().as_u16(), 400);
    let entries: Vec<_> = err
        .entries()
        .iter()
        .map(|e| (e.code.clone(), e.message.clone(), e.details.clone()))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("validation".to_owned(), "Try again".to_owned(), None),
            (
                "validation".to_owned(),
                "Title is required".to_owned(),
                Some(json!({ "field": "title" }))
            ),
        ]
    );
}

#[tokio::test]
async fn a_forms_own_session_declaration_is_enforced() {
    use webstir::manifest::{FormSpec, HttpMethod, RouteDefinition, SessionSpec};
    async fn remember(ctx: Ctx) -> Result<Reply> {
        ctx.session()?.insert("seen", true)?;
        Ok(Reply::text("ok"))
    }
    let mut required = SessionSpec::new(SessionMode::Required);
    required.write = Some(true);
    let module = module().route(
        Route::from_definition(
            RouteDefinition::new("formSession", HttpMethod::Post, "/remember")
                .form(FormSpec::urlencoded().session(required)),
        )
        .handler(remember),
    );
    let app = TestApp::new(module).await.unwrap();
    let (_served, mut b) = browser(&app).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    // `form.session: required` answers 401 without a session, before the handler.
    let res = b.send(Method::POST, "/remember", &form, "x=1").await;
    assert_eq!((res.status, code(&res)), (401, json!("session_required")));
    // With one (any page that starts it), the form's `write: true` lets the handler write.
    let _ = b.token().await;
    let res = b.send(Method::POST, "/remember", &form, "x=1").await;
    assert_eq!(res.status, 200, "{}", res.text());
}
