//! Sessions and flash over real HTTP, with a cookie jar kept by hand: cookie flags, tampering,
//! expiry, rotation, sign-out, flash delivered once, `session_required`, the concurrent-write
//! rule, no cookie on 404/413/500, and the same behaviour on the memory, SQLite and PostgreSQL
//! stores.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::json;
use webstir::{
    Config, Ctx, Env, Error, FlashPublish, FlashSpec, Module, Reply, Result, Route, Server,
    SessionMode,
};
use webstir_test::{TestClient, TestResponse};

async fn login(ctx: Ctx) -> Result<Reply> {
    #[derive(serde::Deserialize)]
    struct Input {
        user: String,
    }
    let input: Input = ctx.json()?;
    if input.user.is_empty() {
        return Err(Error::validation("user is required"));
    }
    let session = ctx.session()?;
    session.regenerate()?;
    session.insert("user", &input.user)?;
    ctx.flash("signed-in", format!("Welcome {}", input.user))?;
    Ok(Reply::json(&json!({ "ok": true })))
}

async fn me(ctx: Ctx) -> Result<Reply> {
    let user: Option<String> = ctx.session()?.get("user")?;
    Ok(Reply::json(&json!({ "user": user })))
}

async fn peek(session: webstir::extract::Session) -> Result<Reply> {
    let user: Option<String> = session.get("user")?;
    Ok(Reply::json(
        &json!({ "exists": session.exists(), "user": user }),
    ))
}

async fn logout(ctx: Ctx) -> Result<Reply> {
    ctx.session()?.destroy()?;
    Ok(Reply::redirect("/"))
}

async fn home(ctx: Ctx) -> Result<Reply> {
    let messages: Vec<_> = ctx
        .flash_messages()
        .iter()
        .map(|m| json!({ "key": m.key(), "level": m.level(), "text": m.text() }))
        .collect();
    Ok(Reply::json(&json!({ "flash": messages })))
}

async fn counter(ctx: Ctx) -> Result<Reply> {
    let session = ctx.session()?;
    let n: u64 = session.get("n")?.unwrap_or(0);
    if let Some(ms) = ctx.query("ms").and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    session.insert("n", n + 1)?;
    Ok(Reply::json(&json!({ "n": n + 1 })))
}

async fn write_then(ctx: Ctx) -> Result<Reply> {
    ctx.session()?.insert("x", 1)?;
    match ctx.param("outcome").unwrap_or_default() {
        "404" => Err(Error::not_found("nothing here")),
        "500" => Err(Error::msg("failed after writing")),
        "panic" => panic!("failed after writing"),
        _ => Ok(Reply::text("ok")),
    }
}

async fn undeclared_write(ctx: Ctx) -> Result<Reply> {
    ctx.session()?.insert("x", 1)?;
    Ok(Reply::text("wrote"))
}

fn module() -> Module {
    Module::new("@test/sessions", "0.1.0")
        .route(
            Route::post("/login")
                .name("login")
                .session(SessionMode::Optional, true)
                .flash(
                    FlashSpec::default().publish(
                        FlashPublish::new("signed-in")
                            .level("success")
                            .when("success"),
                    ),
                )
                .handler(login),
        )
        .route(
            Route::get("/me")
                .name("me")
                .session(SessionMode::Required, false)
                .handler(me),
        )
        .route(
            Route::get("/peek")
                .name("peek")
                .session(SessionMode::Optional, false)
                .handler(peek),
        )
        .route(
            Route::post("/logout")
                .name("logout")
                .session(SessionMode::Optional, true)
                .handler(logout),
        )
        .route(
            Route::get("/home")
                .name("home")
                .flash(FlashSpec::default().consume("signed-in"))
                .handler(home),
        )
        .route(
            Route::post("/counter")
                .name("counter")
                .session(SessionMode::Optional, true)
                .handler(counter),
        )
        .route(
            Route::post("/write/:outcome")
                .name("writeThen")
                .session(SessionMode::Optional, true)
                .handler(write_then),
        )
        .route(
            Route::post("/undeclared")
                .name("undeclared")
                .session(SessionMode::Optional, false)
                .handler(undeclared_write),
        )
        .route(
            Route::get("/plain")
                .name("plain")
                .handler(|| async { Reply::json(&json!({ "ok": true })) }),
        )
}

struct Running {
    client: TestClient,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn bind(pairs: &[(&str, &str)]) -> std::result::Result<Server, webstir::StartError> {
    let mut all: Vec<(String, String)> = vec![
        ("PORT".into(), "0".into()),
        ("HOST".into(), "127.0.0.1".into()),
    ];
    all.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let env = Env::from_pairs(all);
    let config = Config::from_env(&env).expect("valid test config");
    Server::bind(&module(), env, config).await
}

async fn serve(pairs: &[(&str, &str)]) -> Running {
    let server = bind(pairs).await.expect("bind");
    let client = TestClient::new(server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server
            .serve(async move {
                let _ = rx.await;
            })
            .await;
    });
    for _ in 0..100 {
        if client.get("/readyz").await.map(|r| r.status).ok() == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running {
        client,
        stop: Some(tx),
    }
}

/// A cookie jar kept by hand: `Set-Cookie` with `Max-Age=0` removes.
#[derive(Default, Clone, Debug)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, res: &TestResponse) {
        for header in res.headers.get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn session(&self) -> Option<String> {
        self.0.get("webstir_session").cloned()
    }

    fn with_session(value: &str) -> Self {
        let mut jar = Jar::default();
        jar.0.insert("webstir_session".into(), value.into());
        jar
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(
        &mut self,
        client: &TestClient,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> TestResponse {
        let cookie = self.header();
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if !cookie.is_empty() {
            headers.push(("cookie", &cookie));
        }
        let bytes = match &body {
            Some(value) => {
                headers.push(("content-type", "application/json"));
                Bytes::from(serde_json::to_vec(value).unwrap())
            }
            None => Bytes::new(),
        };
        let res = client.request(method, path, &headers, bytes).await.unwrap();
        self.store(&res);
        res
    }

    async fn get(&mut self, client: &TestClient, path: &str) -> TestResponse {
        self.send(client, Method::GET, path, None).await
    }

    async fn post(
        &mut self,
        client: &TestClient,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        self.send(client, Method::POST, path, Some(body)).await
    }
}

fn set_cookies(res: &TestResponse) -> Vec<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn clears(res: &TestResponse) -> bool {
    set_cookies(res) == ["webstir_session=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly".to_owned()]
}

// ---------------------------------------------------------------------------------------------
// The behaviour every store must have.
// ---------------------------------------------------------------------------------------------

async fn behaves(client: &TestClient) {
    // No session yet.
    let mut jar = Jar::default();
    let res = jar.get(client, "/me").await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["errors"][0]["code"], "session_required");
    assert!(set_cookies(&res).is_empty(), "no cookie, nothing to clear");
    let res = jar.get(client, "/peek").await;
    assert_eq!(res.json(), json!({ "exists": false, "user": null }));
    assert!(set_cookies(&res).is_empty());

    // An anonymous session (pre-login), then sign-in rotates it.
    let res = jar.post(client, "/counter", json!({})).await;
    assert_eq!(res.json(), json!({ "n": 1 }));
    let anonymous = jar.session().expect("a first write sets a cookie");
    let res = jar.post(client, "/counter", json!({})).await;
    assert_eq!(res.json(), json!({ "n": 2 }));
    assert!(
        set_cookies(&res).is_empty(),
        "an update of the same session sends no cookie"
    );

    let res = jar.post(client, "/login", json!({ "user": "ada" })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let signed_in = jar.session().unwrap();
    assert_ne!(signed_in, anonymous, "sign-in gives a new id");
    let res = jar.get(client, "/me").await;
    assert_eq!(res.json(), json!({ "user": "ada" }));
    assert!(set_cookies(&res).is_empty(), "reads send no cookie");
    // Values survive rotation.
    let res = jar.post(client, "/counter", json!({})).await;
    assert_eq!(res.json(), json!({ "n": 3 }));

    // The pre-login id is dead: replaying it gets no session, and the cookie is cleared.
    let mut old = Jar::with_session(&anonymous);
    let res = old.get(client, "/me").await;
    assert_eq!(res.status, 401);
    assert!(clears(&res), "{:?}", set_cookies(&res));
    let res = old.get(client, "/peek").await;
    assert_eq!(res.json()["exists"], false);

    // Flash: delivered once, to the route that consumes the key.
    let res = jar.get(client, "/home").await;
    assert_eq!(
        res.json(),
        json!({ "flash": [{ "key": "signed-in", "level": "success", "text": "Welcome ada" }] })
    );
    let res = jar.get(client, "/home").await;
    assert_eq!(res.json(), json!({ "flash": [] }));
    // A failed sign-in (422 < error) publishes nothing (`when: success`) and changes nothing.
    let res = jar.post(client, "/login", json!({ "user": "" })).await;
    assert_eq!(res.status, 400);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        jar.get(client, "/home").await.json(),
        json!({ "flash": [] })
    );
    assert_eq!(
        jar.get(client, "/me").await.json(),
        json!({ "user": "ada" })
    );

    // Concurrent writes on one session: one wins, the other is told (409), nothing is lost
    // silently.
    let (mut first, mut second) = (jar.clone(), jar.clone());
    let (a, b) = tokio::join!(
        first.post(client, "/counter?ms=300", json!({})),
        second.post(client, "/counter?ms=300", json!({})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text(), b.text());
    let lost = if a.status == 409 { &a } else { &b };
    assert_eq!(lost.json()["errors"][0]["code"], "session_conflict");
    assert!(set_cookies(lost).is_empty());
    let res = jar.post(client, "/counter", json!({})).await;
    assert_eq!(
        res.json(),
        json!({ "n": 5 }),
        "exactly one of the two writes counted"
    );

    // Sign-out: the record is deleted and the cookie cleared; replaying the cookie finds nothing.
    let before = jar.session().unwrap();
    let res = jar.post(client, "/logout", json!({})).await;
    assert_eq!(res.status, 303);
    assert!(clears(&res), "{:?}", set_cookies(&res));
    assert_eq!(jar.session(), None);
    let mut replay = Jar::with_session(&before);
    let res = replay.get(client, "/me").await;
    assert_eq!(res.status, 401);
    assert!(clears(&res));

    // A new sign-in afterwards gets yet another id.
    jar.post(client, "/login", json!({ "user": "grace" })).await;
    let again = jar.session().unwrap();
    assert!(again != before && again != signed_in && again != anonymous);
}

async fn behaves_expired(client: &TestClient, expire: impl AsyncFnOnce()) {
    let mut jar = Jar::default();
    jar.post(client, "/login", json!({ "user": "ada" })).await;
    assert_eq!(jar.get(client, "/me").await.status, 200);
    expire().await;
    let res = jar.get(client, "/me").await;
    assert_eq!(res.status, 401, "an expired session is no session");
    assert!(clears(&res), "{:?}", set_cookies(&res));
}

#[tokio::test]
async fn memory_store() {
    let app = serve(&[("SESSION_STORE_DRIVER", "memory")]).await;
    behaves(&app.client).await;
}

#[tokio::test]
async fn memory_store_expiry_is_enforced_server_side() {
    let app = serve(&[("SESSION_MAX_AGE", "1")]).await;
    let mut jar = Jar::default();
    let res = jar
        .post(&app.client, "/login", json!({ "user": "ada" }))
        .await;
    assert!(set_cookies(&res)[0].contains("Max-Age=1;"));
    behaves_expired(&app.client, async || {
        tokio::time::sleep(Duration::from_millis(1100)).await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file:{}", dir.path().join("sessions.sqlite").display());
    let app = serve(&[("SESSION_STORE_URL", &url)]).await;
    behaves(&app.client).await;
    let db = webstir::Db::connect(&url, dir.path()).unwrap();
    let count = async || -> i64 {
        let rows = db
            .query(
                "SELECT count(*) AS n FROM webstir_sessions",
                webstir::params![],
            )
            .await
            .unwrap();
        rows[0].get::<i64>("n").unwrap()
    };
    let before = std::sync::atomic::AtomicI64::new(0);
    behaves_expired(&app.client, async || {
        db.execute(
            "UPDATE webstir_sessions SET expires_at = 0",
            webstir::params![],
        )
        .await
        .unwrap();
        before.store(count().await, std::sync::atomic::Ordering::Relaxed);
    })
    .await;
    // The expired row that was read is deleted.
    assert_eq!(count().await, before.into_inner() - 1);
}

#[tokio::test]
async fn postgres_store() {
    let Ok(base) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") else {
        eprintln!("skipping postgres_store: WEBSTIR_TEST_POSTGRES_URL not set");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("webstir_sessions_{}_{nanos}", std::process::id());
    let admin = webstir::Db::connect(&base, &std::env::temp_dir()).unwrap();
    admin
        .execute_batch(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    {
        // Two instances on one database share sessions.
        let one = serve(&[("SESSION_STORE_URL", &url), ("SESSION_SECRET", SECRET)]).await;
        let two = serve(&[("SESSION_STORE_URL", &url), ("SESSION_SECRET", SECRET)]).await;
        behaves(&one.client).await;
        let mut jar = Jar::default();
        jar.post(&one.client, "/login", json!({ "user": "ada" }))
            .await;
        assert_eq!(
            jar.get(&two.client, "/me").await.json(),
            json!({ "user": "ada" })
        );
        let db = webstir::Db::connect(&url, &std::env::temp_dir()).unwrap();
        behaves_expired(&two.client, async || {
            db.execute(
                "UPDATE webstir_sessions SET expires_at = 0",
                webstir::params![],
            )
            .await
            .unwrap();
        })
        .await;
    }
    admin
        .execute_batch(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

// ---------------------------------------------------------------------------------------------
// Cookie rules.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cookie_flags_in_development_and_production() {
    let dev = serve(&[]).await;
    let res = Jar::default()
        .post(&dev.client, "/login", json!({ "user": "ada" }))
        .await;
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1);
    let (pair, attributes) = cookies[0].split_once(';').unwrap();
    let value = pair.strip_prefix("webstir_session=").unwrap();
    assert_eq!(
        value.len(),
        87,
        "43-char id (256 bits), '.', 43-char HMAC: {value}"
    );
    assert_eq!(attributes, " Path=/; Max-Age=86400; SameSite=Lax; HttpOnly");

    let prod = serve(&[
        ("NODE_ENV", "production"),
        ("SESSION_SECRET", SECRET),
        ("SESSION_STORE_DRIVER", "memory"),
        ("SESSION_COOKIE_NAME", "__Host-sid"),
        ("SESSION_MAX_AGE", "3600"),
    ])
    .await;
    let res = Jar::default()
        .post(&prod.client, "/login", json!({ "user": "ada" }))
        .await;
    let cookies = set_cookies(&res);
    assert!(cookies[0].starts_with("__Host-sid="), "{cookies:?}");
    assert!(
        cookies[0].ends_with("; Path=/; Max-Age=3600; SameSite=Lax; HttpOnly; Secure"),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn production_needs_a_session_secret_and_bad_settings_are_named() {
    let err = bind(&[
        ("NODE_ENV", "production"),
        ("SESSION_STORE_DRIVER", "memory"),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("SESSION_SECRET is required when NODE_ENV=production"),
        "{err}"
    );
    let err = bind(&[("SESSION_SECRET", "short")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SESSION_SECRET must be at least 32 characters"),
        "{err}"
    );
    assert!(!err.contains("short"), "the secret is never echoed: {err}");
    let err = bind(&[("SESSION_MAX_AGE", "0")])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("SESSION_MAX_AGE"), "{err}");
    let err = bind(&[("SESSION_STORE_DRIVER", "redis")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("SESSION_STORE_DRIVER must be memory, sqlite or postgres"),
        "{err}"
    );
    let err = bind(&[("SESSION_COOKIE_NAME", "__Host-sid")])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("SESSION_COOKIE_SECURE"), "{err}");
}

#[tokio::test]
async fn tampered_truncated_and_garbage_cookies_are_no_session_and_are_cleared() {
    let app = serve(&[]).await;
    let mut jar = Jar::default();
    jar.post(&app.client, "/login", json!({ "user": "ada" }))
        .await;
    let good = jar.session().unwrap();
    let mut flipped = good.clone().into_bytes();
    // One bit in the id, one in the signature.
    let mut cases = Vec::new();
    flipped[3] ^= 0x01;
    cases.push(String::from_utf8(flipped.clone()).unwrap());
    flipped[3] ^= 0x01;
    flipped[80] ^= 0x02;
    cases.push(String::from_utf8(flipped).unwrap());
    cases.push(good[..good.len() - 1].to_owned());
    cases.push(good[..43].to_owned());
    cases.push("x".repeat(8192));
    cases.push(format!("{good}{good}"));
    for value in cases {
        let mut bad = Jar::with_session(&value);
        let res = bad.get(&app.client, "/peek").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json(), json!({ "exists": false, "user": null }));
        assert!(clears(&res), "{:?}", set_cookies(&res));
        let res = Jar::with_session(&value).get(&app.client, "/me").await;
        assert_eq!(res.status, 401, "{}", res.text());
        assert!(clears(&res));
        // A route that needs a session issues a fresh one.
        let mut bad = Jar::with_session(&value);
        let res = bad.post(&app.client, "/counter", json!({})).await;
        assert_eq!(res.json(), json!({ "n": 1 }));
        assert_ne!(bad.session(), None);
        assert_ne!(bad.session().as_deref(), Some(good.as_str()));
    }
    // The good cookie still works.
    assert_eq!(
        jar.get(&app.client, "/me").await.json(),
        json!({ "user": "ada" })
    );
}

#[tokio::test]
async fn no_cookie_on_404_413_500_and_routes_without_sessions_ignore_it() {
    let app = serve(&[("REQUEST_BODY_MAX_BYTES", "64")]).await;
    let garbage = Jar::with_session("garbage");
    for (method, path, body) in [
        (Method::GET, "/nowhere", None),
        (Method::POST, "/write/404", None),
        (Method::POST, "/write/500", None),
        (Method::POST, "/write/panic", None),
        (
            Method::POST,
            "/counter",
            Some(json!({ "pad": "x".repeat(200) })),
        ),
        (Method::GET, "/plain", None),
    ] {
        // With no cookie (a write would start a session) and with a bad one (would be cleared).
        for mut jar in [Jar::default(), garbage.clone()] {
            let res = jar
                .send(&app.client, method.clone(), path, body.clone())
                .await;
            assert!(
                [404, 413, 500, 200].contains(&res.status),
                "{method} {path}: {}",
                res.status
            );
            assert!(
                set_cookies(&res).is_empty(),
                "{method} {path} ({}): {:?}",
                res.status,
                set_cookies(&res)
            );
        }
    }
    // The writes before the failures were not saved either.
    let mut jar = Jar::default();
    jar.post(&app.client, "/counter", json!({})).await;
    jar.post(&app.client, "/write/500", json!({})).await;
    assert_eq!(jar.get(&app.client, "/peek").await.json()["exists"], true);
    // A successful write from the same route does set it.
    let res = Jar::default()
        .post(&app.client, "/write/ok", json!({}))
        .await;
    assert_eq!(set_cookies(&res).len(), 1);
}

#[tokio::test]
async fn a_write_the_route_did_not_declare_fails_loudly() {
    let app = serve(&[]).await;
    let res = Jar::default()
        .post(&app.client, "/undeclared", json!({}))
        .await;
    assert_eq!(res.status, 500);
    assert!(
        res.text().contains("without `write: true`"),
        "development shows why: {}",
        res.text()
    );
    assert!(set_cookies(&res).is_empty());
}

#[tokio::test]
async fn invalid_flash_declarations_are_refused_at_startup() {
    let module = Module::new("@test/bad-flash", "0.1.0").route(
        Route::get("/x")
            .name("x")
            .flash(FlashSpec::default().publish(FlashPublish::new("saved").level("loud")))
            .handler(|| async { Reply::text("x") }),
    );
    let env = Env::from_pairs([("PORT", "0")]);
    let err = Server::bind(&module, env.clone(), Config::from_env(&env).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("route x declares flash.publish, which is invalid: has level 'loud'"),
        "{err}"
    );
}
