//! The request model end to end over loopback: Ctx and extractor-style handlers, state, tower layers,
//! streamed responses and request bodies, specificity routing, startup refusals, auth before the body,
//! strict content types, form encodings, bounded error echoes, tower services as routes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::response::Response;
use axum::response::sse::{Event, Sse};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use webstir::extract::{Auth, Form, Json, Path, Query, State};
use webstir::manifest::{
    FlashSpec, RenderMode, RequestHookDefinition, RequestHookPhase, RouteDefinition,
};
use webstir::{
    Config, Ctx, Env, Error, HttpMethod, Module, Reply, Result, Route, Server, StartError,
};
use webstir_test::{TestClient, TestResponse};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// HS256 secret (32+ bytes) the test servers verify tokens with.
const SECRET: &str = "request-model-secret-0123456789-abcdefghijklmnop";
/// A service token the test servers accept.
const SERVICE_TOKEN: &str = "svc-request-model-0123456789abcdef";
/// Generous bound so a broken server fails a test instead of hanging it.
const WAIT: Duration = Duration::from_secs(10);

struct Srv {
    client: TestClient,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Srv {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(WAIT, &mut self.task).await;
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.client.get(path).await.unwrap()
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        self.client
            .request(method, path, headers, body.into())
            .await
            .unwrap()
    }
}

fn env_of(extra: &[(&str, &str)]) -> (Env, Config) {
    let mut pairs: Vec<(String, String)> = vec![("PORT".into(), "0".into())];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let env = Env::from_pairs(pairs);
    let config = Config::from_env(&env).expect("valid test config");
    (env, config)
}

/// Serve `module` in-process on a free loopback port.
async fn serve(module: Module, extra: &[(&str, &str)]) -> Srv {
    let (env, config) = env_of(extra);
    let server = Server::bind(&module, env, config).await.expect("bind");
    let addr = server.local_addr();
    let client = TestClient::new(addr);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(async move {
                let _ = rx.await;
            })
            .await
            .expect("server ran");
    });
    for _ in 0..200 {
        if client.get("/readyz").await.map(|r| r.status).ok() == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Srv {
        client,
        addr,
        stop: Some(tx),
        task,
    }
}

/// The error `Server::bind` refuses `module` with.
async fn bind_error(module: Module) -> StartError {
    let (env, config) = env_of(&[]);
    match Server::bind(&module, env, config).await {
        Ok(server) => panic!("bind succeeded on {}", server.local_addr()),
        Err(err) => err,
    }
}

/// An HS256 bearer token for `sub` with an optional space-separated `scope` claim.
fn bearer(sub: &str, scope: Option<&str>) -> String {
    let now = jiff::Timestamp::now().as_second();
    let mut claims = json!({ "sub": sub, "iat": now, "exp": now + 600 });
    if let Some(scope) = scope {
        claims["scope"] = scope.into();
    }
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    format!("Bearer {token}")
}

/// The first error entry's code of a `{"errors":[…]}` body.
fn code(res: &TestResponse) -> String {
    res.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no errors[0].code in {} {}", res.status, res.text()))
        .to_owned()
}

/// The first error entry's message.
fn message(res: &TestResponse) -> String {
    res.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no errors[0].message in {} {}", res.status, res.text()))
        .to_owned()
}

/// Read from `stream` into `buf` until `needle` appears (false on EOF, error or timeout).
async fn read_until(stream: &mut TcpStream, buf: &mut Vec<u8>, needle: &[u8]) -> bool {
    let search = async {
        loop {
            if buf.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, search).await.unwrap_or(false)
}

fn contains(buf: &[u8], needle: &str) -> bool {
    buf.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The response head (up to the blank line), lowercased.
fn head_of(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A chunk in HTTP/1.1 chunked transfer encoding.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Ctx and extractor-style handlers in one module
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Greeting(String);

#[derive(Deserialize)]
struct Page {
    limit: Option<u32>,
    q: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Note {
    text: String,
    n: u32,
}

#[derive(Deserialize)]
struct OrgItem {
    org: String,
    id: u64,
}

async fn ctx_style(ctx: Ctx) -> Result<Reply> {
    let id: u64 = ctx.param_as("id")?;
    Ok(Reply::json(
        &json!({ "style": "ctx", "id": id, "q": ctx.query("q"), "route": ctx.route_name() }),
    ))
}

async fn get_item(
    Path(id): Path<u64>,
    Query(page): Query<Page>,
    State(greeting): State<Greeting>,
) -> Json<Value> {
    Json(json!({ "id": id, "limit": page.limit, "q": page.q, "greeting": greeting.0 }))
}

async fn create_note(
    Path(id): Path<u64>,
    State(greeting): State<Greeting>,
    Json(note): Json<Note>,
) -> (StatusCode, String) {
    (
        StatusCode::CREATED,
        format!("{} {id}: {} x{}", greeting.0, note.text, note.n),
    )
}

async fn checked_note(Json(note): Json<Note>) -> Result<Json<Note>> {
    if note.n == 0 {
        return Err(Error::validation("n must be positive"));
    }
    Ok(Json(note))
}

async fn pair(Path((name, n)): Path<(String, u32)>) -> String {
    format!("{name}:{n}")
}

async fn org_item(Path(key): Path<OrgItem>) -> Json<Value> {
    Json(json!({ "org": key.org, "id": key.id }))
}

async fn ctx_last(
    Path(id): Path<u64>,
    State(greeting): State<Greeting>,
    ctx: Ctx,
) -> Result<Reply> {
    let note: Note = ctx.json()?;
    Ok(Reply::json(&json!({
        "id": id,
        "greeting": greeting.0,
        "text": note.text,
        "method": ctx.method().as_str(),
        "param": ctx.param("id"),
    })))
}

fn handlers_module() -> Module {
    Module::new("@test/request-model", "0.1.0")
        .state(Greeting("hello".into()))
        .route(
            Route::get("/ctx/items/:id")
                .name("ctxItem")
                .handler(ctx_style),
        )
        .route(Route::get("/items/:id").name("getItem").handler(get_item))
        .route(
            Route::post("/items/:id/notes")
                .name("createNote")
                .handler(create_note),
        )
        .route(
            Route::post("/notes")
                .name("checkedNote")
                .handler(checked_note),
        )
        .route(Route::get("/pairs/:name/:n").name("pair").handler(pair))
        .route(
            Route::get("/orgs/:org/items/:id")
                .name("orgItem")
                .handler(org_item),
        )
        .route(Route::put("/items/:id").name("ctxLast").handler(ctx_last))
}

#[tokio::test]
async fn ctx_and_extractor_handlers_share_one_module() {
    let app = serve(handlers_module(), &[]).await;

    let res = app.get("/ctx/items/7?q=abc").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({ "style": "ctx", "id": 7, "q": "abc", "route": "ctxItem" })
    );

    let res = app.get("/items/42?limit=5&q=x%20y").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.json(),
        json!({ "id": 42, "limit": 5, "q": "x y", "greeting": "hello" })
    );
    let res = app.get("/items/42").await;
    assert_eq!(res.json()["limit"], Value::Null);

    let json_ct = [("content-type", "application/json")];
    let res = app
        .send(
            Method::POST,
            "/items/9/notes",
            &json_ct,
            r#"{"text":"hi","n":3}"#,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.text(), "hello 9: hi x3");

    let res = app
        .send(Method::POST, "/notes", &json_ct, r#"{"text":"ok","n":2}"#)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "text": "ok", "n": 2 }));
    let res = app
        .send(Method::POST, "/notes", &json_ct, r#"{"text":"zero","n":0}"#)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(code(&res), "validation");
    assert_eq!(message(&res), "n must be positive");
    // JSON of the wrong shape, and not JSON at all
    let res = app
        .send(
            Method::POST,
            "/notes",
            &json_ct,
            r#"{"text":"x","n":"many"}"#,
        )
        .await;
    assert_eq!((res.status, code(&res).as_str()), (400, "validation"));
    let res = app
        .send(Method::POST, "/notes", &json_ct, "{not json")
        .await;
    assert_eq!((res.status, code(&res).as_str()), (400, "invalid_json"));
    let res = app.send(Method::POST, "/notes", &json_ct, "").await;
    assert_eq!((res.status, code(&res).as_str()), (400, "invalid_json"));

    // Path as a tuple and as a struct (percent-decoded values)
    let res = app.get("/pairs/ann%20b/12").await;
    assert_eq!((res.status, res.text().as_str()), (200, "ann b:12"));
    let res = app.get("/orgs/acme/items/77").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "org": "acme", "id": 77 }));

    // a bad Path value: 400 validation naming the parameter
    let res = app.get("/items/abc").await;
    assert_eq!(res.status, 400);
    assert_eq!(code(&res), "validation");
    assert!(message(&res).contains("'id'"), "{}", message(&res));
    let res = app.get("/pairs/ann/minus").await;
    assert_eq!(res.status, 400);
    assert_eq!(code(&res), "validation");
    assert!(message(&res).contains("'n'"), "{}", message(&res));
    let res = app.get("/orgs/acme/items/-1").await;
    assert_eq!(res.status, 400);
    assert!(message(&res).contains("'id'"), "{}", message(&res));
    let res = app.get("/ctx/items/nope").await;
    assert_eq!(res.status, 400);
    assert_eq!(code(&res), "validation");
    assert!(message(&res).contains("'id'"), "{}", message(&res));

    // Ctx as the last extractor after Path and State: it still sees the body and the params
    let res = app
        .send(
            Method::PUT,
            "/items/5",
            &json_ct,
            r#"{"text":"late","n":1}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({ "id": 5, "greeting": "hello", "text": "late", "method": "PUT", "param": "5" })
    );
    // the earlier extractor rejects before the Ctx reads anything
    let res = app
        .send(
            Method::PUT,
            "/items/x",
            &json_ct,
            r#"{"text":"late","n":1}"#,
        )
        .await;
    assert_eq!((res.status, code(&res).as_str()), (400, "validation"));

    // every route response carries a request id
    assert!(res.header("x-request-id").is_some());
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 2. Module::state
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Hits(Arc<AtomicU64>);

struct NeverAdded;

async fn hit_extract(State(hits): State<Hits>) -> String {
    (hits.0.fetch_add(1, Ordering::SeqCst) + 1).to_string()
}

async fn hit_ctx(ctx: Ctx) -> Result<String> {
    let hits = ctx.state::<Hits>()?;
    Ok((hits.0.fetch_add(1, Ordering::SeqCst) + 1).to_string())
}

fn state_module(hits: Hits) -> Module {
    Module::new("@test/state", "0.1.0")
        .state(hits)
        .route(Route::post("/hit/extract").handler(hit_extract))
        .route(Route::post("/hit/ctx").handler(hit_ctx))
        .route(
            Route::get("/missing/extract")
                .handler(|State(_): State<Arc<NeverAdded>>| async { "unreachable" }),
        )
        .route(Route::get("/missing/ctx").handler(|ctx: Ctx| async move {
            ctx.state::<NeverAdded>()?;
            Ok::<_, Error>(Reply::text("unreachable"))
        }))
}

#[tokio::test]
async fn state_extractor_and_ctx_state_share_one_value() {
    let hits = Hits::default();
    let app = serve(state_module(hits.clone()), &[]).await;
    let mut seen = Vec::new();
    for path in ["/hit/extract", "/hit/ctx", "/hit/extract", "/hit/ctx"] {
        let res = app.send(Method::POST, path, &[], Bytes::new()).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        seen.push(res.text());
    }
    assert_eq!(seen, ["1", "2", "3", "4"]);
    // the test's own clone sees the same counter
    assert_eq!(hits.0.load(Ordering::SeqCst), 4);

    // a state type the module never added: 500 naming the type outside production
    for path in ["/missing/extract", "/missing/ctx"] {
        let res = app.get(path).await;
        assert_eq!(res.status, 500, "{path}: {}", res.text());
        let body = res.json();
        assert_eq!(body["error"], "internal_error", "{path}: {body}");
        let msg = body["message"].as_str().unwrap_or_default();
        assert!(msg.contains("NeverAdded"), "{path}: {body}");
        assert!(msg.contains("Module::state"), "{path}: {body}");
    }
    app.stop().await;

    // in production the message is not shown
    let app = serve(
        state_module(Hits::default()),
        &[("NODE_ENV", "production"), ("HOST", "127.0.0.1")],
    )
    .await;
    for path in ["/missing/extract", "/missing/ctx"] {
        let res = app.get(path).await;
        assert_eq!(res.status, 500, "{path}");
        assert_eq!(res.json(), json!({ "error": "internal_error" }), "{path}");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 3. Module and route tower layers
// ---------------------------------------------------------------------------------------------

const ORIGIN: &str = "https://app.example";

fn layered_module() -> Module {
    Module::new("@test/layers", "0.1.0")
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-module-layer"),
            HeaderValue::from_static("on"),
        ))
        .layer(CorsLayer::new().allow_origin(AllowOrigin::exact(HeaderValue::from_static(ORIGIN))))
        .route(
            Route::get("/plain")
                .name("plain")
                .handler(|| async { "plain" }),
        )
        .route(
            Route::get("/cached")
                .name("cached")
                .handler(|| async { Reply::text("cached") })
                .layer(SetResponseHeaderLayer::overriding(
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=60"),
                )),
        )
        .route(
            Route::get("/secret")
                .name("secret")
                .authenticated()
                .handler(|auth: Auth| async move { Json(json!({ "user": auth.user_id.clone() })) })
                .layer(SetResponseHeaderLayer::overriding(
                    HeaderName::from_static("x-route-layer"),
                    HeaderValue::from_static("secret"),
                )),
        )
}

#[tokio::test]
async fn module_layers_wrap_everything_and_route_layers_only_their_route() {
    let app = serve(layered_module(), &[("AUTH_JWT_SECRET", SECRET)]).await;
    let origin = [("origin", ORIGIN)];

    let res = app.send(Method::GET, "/plain", &origin, Bytes::new()).await;
    assert_eq!((res.status, res.text().as_str()), (200, "plain"));
    assert_eq!(res.header("x-module-layer"), Some("on"));
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(res.header("cache-control"), None);
    assert!(res.header("x-request-id").is_some());

    let res = app
        .send(Method::GET, "/cached", &origin, Bytes::new())
        .await;
    assert_eq!((res.status, res.text().as_str()), (200, "cached"));
    assert_eq!(res.header("cache-control"), Some("max-age=60"));
    assert_eq!(res.header("x-module-layer"), Some("on"));
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));

    // 404s (and 405s) go through the module layers too
    let res = app
        .send(Method::GET, "/nowhere", &origin, Bytes::new())
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"], "not_found");
    assert_eq!(res.header("x-module-layer"), Some("on"));
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(res.header("cache-control"), None);
    let res = app
        .send(Method::DELETE, "/plain", &origin, Bytes::new())
        .await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("x-module-layer"), Some("on"));

    // a route with a layer still has its access rule checked: 401 without a credential
    let res = app
        .send(Method::GET, "/secret", &origin, Bytes::new())
        .await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(code(&res), "auth");
    assert_eq!(res.header("x-module-layer"), Some("on"));
    assert_eq!(
        res.header("x-route-layer"),
        None,
        "route layers run after the rule passed"
    );
    let res = app
        .send(
            Method::GET,
            "/secret",
            &[("authorization", "Bearer not-a-jwt")],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 401);

    let token = bearer("user-1", None);
    let res = app
        .send(
            Method::GET,
            "/secret",
            &[("authorization", &token)],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "user": "user-1" }));
    assert_eq!(res.header("x-route-layer"), Some("secret"));
    assert_eq!(res.header("x-module-layer"), Some("on"));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Streamed responses
// ---------------------------------------------------------------------------------------------

/// Fired by the test once it has seen the first chunk; the stream produces the last one only then.
#[derive(Clone, Default)]
struct Gate(Arc<Notify>);

async fn chunked_stream(State(gate): State<Gate>) -> Response {
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let gate = gate.clone();
        async move {
            match step {
                0 => Some((Ok::<_, Infallible>(Bytes::from_static(b"first-chunk;")), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((Ok(Bytes::from_static(b"middle-chunk;")), 2))
                }
                2 => {
                    gate.0.notified().await;
                    Some((Ok(Bytes::from_static(b"last-chunk;")), 3))
                }
                _ => None,
            }
        }
    });
    Response::builder()
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(axum::body::Body::from_stream(stream))
        .unwrap()
}

async fn sse_stream(
    State(gate): State<Gate>,
) -> Sse<impl futures_util::Stream<Item = std::result::Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let gate = gate.clone();
        async move {
            match step {
                0 => Some((Ok(Event::default().event("tick").data("event-one")), 1)),
                1 => {
                    gate.0.notified().await;
                    Some((Ok(Event::default().event("tick").data("event-two")), 2))
                }
                _ => None,
            }
        }
    });
    Sse::new(stream)
}

fn streaming_module(gate: Gate) -> Module {
    Module::new("@test/streams", "0.1.0")
        .state(gate)
        .route(Route::get("/stream").name("stream").handler(chunked_stream))
        .route(Route::get("/events").name("events").handler(sse_stream))
}

#[tokio::test]
async fn streamed_body_is_delivered_incrementally() {
    let gate = Gate::default();
    let app = serve(streaming_module(gate.clone()), &[]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"middle-chunk;").await,
        "first chunks not received: {}",
        String::from_utf8_lossy(&buf)
    );
    // the last chunk cannot exist yet: the stream waits for the gate
    assert!(contains(&buf, "first-chunk;"));
    assert!(!contains(&buf, "last-chunk;"));
    let head = head_of(&buf);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        head.contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("x-request-id:"), "{head}");
    gate.0.notify_one();
    assert!(
        read_until(&mut stream, &mut buf, b"0\r\n\r\n").await,
        "stream did not finish: {}",
        String::from_utf8_lossy(&buf)
    );
    assert!(contains(&buf, "last-chunk;"));
    app.stop().await;
}

#[tokio::test]
async fn sse_events_are_delivered_incrementally() {
    let gate = Gate::default();
    let app = serve(streaming_module(gate.clone()), &[]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"data: event-one\n\n").await,
        "first event not received: {}",
        String::from_utf8_lossy(&buf)
    );
    assert!(contains(&buf, "event: tick\n"));
    assert!(!contains(&buf, "event-two"));
    let head = head_of(&buf);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    gate.0.notify_one();
    assert!(
        read_until(&mut stream, &mut buf, b"data: event-two\n\n").await,
        "second event not received: {}",
        String::from_utf8_lossy(&buf)
    );
    assert!(
        read_until(&mut stream, &mut buf, b"0\r\n\r\n").await,
        "event stream did not end"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 5. A request body consumed as a stream, under the size cap
// ---------------------------------------------------------------------------------------------

/// Fired by the handler once it has the first frame of the body.
#[derive(Clone, Default)]
struct FirstFrame(Arc<Notify>);

async fn count_body(
    State(first): State<FirstFrame>,
    mut body: axum::body::Body,
) -> Result<Json<Value>> {
    let (mut bytes, mut frames) = (0usize, 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len();
            frames += 1;
            if frames == 1 {
                first.0.notify_one();
            }
        }
    }
    Ok(Json(json!({ "bytes": bytes, "frames": frames })))
}

fn upload_module(first: FirstFrame) -> Module {
    Module::new("@test/uploads", "0.1.0")
        .state(first)
        .route(Route::post("/count").name("count").handler(count_body))
}

#[tokio::test]
async fn streamed_request_body_is_read_frame_by_frame() {
    let first = FirstFrame::default();
    let app = serve(
        upload_module(first.clone()),
        &[("REQUEST_BODY_MAX_BYTES", "1024")],
    )
    .await;

    // the handler sees the first chunk before the client sent the rest
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let mut req = b"POST /count HTTP/1.1\r\nhost: test\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    req.extend(chunk(&[b'a'; 100]));
    stream.write_all(&req).await.unwrap();
    tokio::time::timeout(WAIT, first.0.notified())
        .await
        .expect("the handler never saw the first frame while the body was incomplete");
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.extend(chunk(&[b'b'; 200]));
    }
    rest.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&rest).await.unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"}").await,
        "{}",
        String::from_utf8_lossy(&buf)
    );
    let head = head_of(&buf);
    assert!(
        head.starts_with("http/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    let text = String::from_utf8_lossy(&buf);
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["bytes"], 700);
    assert!(body["frames"].as_u64().unwrap() >= 2, "{body}");

    // a buffered client body under the cap
    let res = app
        .send(
            Method::POST,
            "/count",
            &[("content-type", "application/octet-stream")],
            vec![b'x'; 1000],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["bytes"], 1000);

    // a declared length over the cap: 413 before the handler
    let res = app
        .send(
            Method::POST,
            "/count",
            &[("content-type", "application/octet-stream")],
            vec![b'x'; 2000],
        )
        .await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert_eq!(res.json()["error"], "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn streamed_request_body_over_the_cap_is_413() {
    let app = serve(
        upload_module(FirstFrame::default()),
        &[("REQUEST_BODY_MAX_BYTES", "1024")],
    )
    .await;
    // chunked: no declared length, so the cap can only apply while the handler streams it
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let mut req = b"POST /count HTTP/1.1\r\nhost: test\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..8 {
        req.extend(chunk(&[b'z'; 512]));
    }
    req.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&req).await.unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"\r\n\r\n").await,
        "no response"
    );
    let _ = read_until(&mut stream, &mut buf, b"}").await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    assert!(
        head_of(&buf).starts_with("http/1.1 413"),
        "expected 413 for a chunked body over REQUEST_BODY_MAX_BYTES, got: {text}"
    );
    assert!(text.contains("payload_too_large"), "{text}");
    assert!(head_of(&buf).contains("connection: close"), "{text}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 6. Specificity routing
// ---------------------------------------------------------------------------------------------

fn items_module(literal_first: bool) -> Module {
    let literal = Route::get("/items/new")
        .name("newItem")
        .handler(|| async { "new-form" });
    let param = Route::get("/items/:id")
        .name("item")
        .handler(|Path(id): Path<String>| async move { format!("item {id}") });
    let nested = Route::get("/items/:id/edit")
        .name("editItem")
        .handler(|Path(id): Path<String>| async move { format!("edit {id}") });
    let module = Module::new("@test/specificity", "0.1.0");
    if literal_first {
        module.route(literal).route(param).route(nested)
    } else {
        module.route(nested).route(param).route(literal)
    }
}

#[tokio::test]
async fn specificity_routing_ignores_declaration_order() {
    for literal_first in [true, false] {
        let app = serve(items_module(literal_first), &[]).await;
        let res = app.get("/items/new").await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "new-form"),
            "{literal_first}"
        );
        let res = app.get("/items/42").await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "item 42"),
            "{literal_first}"
        );
        let res = app.get("/items/new/edit").await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "edit new"),
            "{literal_first}"
        );
        let res = app.get("/items/new/other").await;
        assert_eq!(res.status, 404, "{literal_first}");
        app.stop().await;
    }
}

#[tokio::test]
async fn ambiguous_routes_are_refused_at_startup_naming_both() {
    let cases = [
        (("crossA", "/a/:x/b"), ("crossB", "/a/b/:y")),
        (("byA", "/x/:a"), ("byB", "/x/:b")),
    ];
    for ((first, first_path), (second, second_path)) in cases {
        let module = Module::new("@test/ambiguous", "0.1.0")
            .route(Route::get(first_path).name(first).handler(|| async { "1" }))
            .route(
                Route::get(second_path)
                    .name(second)
                    .handler(|| async { "2" }),
            );
        let err = bind_error(module).await;
        assert!(matches!(err, StartError::AmbiguousRoutes(_)), "{err:?}");
        let text = err.to_string();
        for needle in [first, first_path, second, second_path] {
            assert!(text.contains(needle), "'{needle}' missing from: {text}");
        }
    }
    // different methods on the same pattern are not ambiguous
    let module = Module::new("@test/ambiguous", "0.1.0")
        .route(Route::get("/x/:a").name("getX").handler(|| async { "get" }))
        .route(
            Route::post("/x/:b")
                .name("postX")
                .handler(|| async { "post" }),
        );
    let app = serve(module, &[]).await;
    assert_eq!(app.get("/x/1").await.text(), "get");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 7. Declared-but-unenforced keys are refused at startup
// ---------------------------------------------------------------------------------------------

async fn assert_unenforced(module: Module, owner: &str, key: &str) {
    let err = bind_error(module).await;
    assert!(
        matches!(err, StartError::Unenforced(_)),
        "{owner} {key}: {err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(owner), "'{owner}' missing from: {text}");
    assert!(text.contains(key), "'{key}' missing from: {text}");
}

fn one_route(route: Route) -> Module {
    Module::new("@test/unenforced", "0.1.0").route(route.handler(|| async { "x" }))
}

#[tokio::test]
async fn unenforced_keys_are_refused_at_startup() {
    // route keys, through full definitions (`form.csrf` is enforced: tests/it/csrf.rs)
    let def = |name: &str| RouteDefinition::new(name, HttpMethod::Get, "/d");
    // `session`, `flash` and `form.session` are enforced (tests/it/sessions.rs); a flash
    // declaration must be one the runtime can follow.
    assert_unenforced(
        one_route(Route::from_definition(def("flashDef").flash(
            FlashSpec::default().publish(webstir::manifest::FlashPublish::new("n").when("later")),
        ))),
        "route flashDef",
        "flash.publish",
    )
    .await;
    assert_unenforced(
        one_route(Route::from_definition(def("hookDef").request_hook("audit"))),
        "route hookDef",
        "requestHooks",
    )
    .await;
    assert_unenforced(
        one_route(Route::from_definition(
            def("renderDef").render_mode(RenderMode::Ssr),
        )),
        "route renderDef",
        "renderMode",
    )
    .await;

    // module keys
    let base = || {
        Module::new("@test/unenforced-module", "0.1.0")
            .route(Route::get("/ok").name("ok").handler(|| async { "ok" }))
    };
    // A view declared in the manifest is served (its document, no loader): tests/it/views.rs.
    assert_unenforced(
        base().with_manifest(|m| {
            m.request_hooks.push(RequestHookDefinition::new(
                "audit",
                RequestHookPhase::BeforeHandler,
                0,
            ));
        }),
        "module @test/unenforced-module",
        "requestHooks",
    )
    .await;
    assert_unenforced(
        base().with_manifest(|m| m.init = Some("setup".into())),
        "module @test/unenforced-module",
        "init",
    )
    .await;

    // an urlencoded form without csrf is enforced (415 for other bodies), so it is accepted
    let app = serve(
        one_route(Route::post("/f").name("plainForm").form_urlencoded(false)),
        &[],
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 8. Auth decided before the body
// ---------------------------------------------------------------------------------------------

fn guarded_module() -> Module {
    Module::new("@test/guarded", "0.1.0").route(
        Route::post("/upload")
            .name("upload")
            .authenticated()
            .handler(|auth: Auth, body: Bytes| async move {
                Json(json!({ "user": auth.user_id.clone(), "bytes": body.len() }))
            }),
    )
}

#[tokio::test]
async fn auth_is_decided_before_the_body_is_read() {
    let app = serve(guarded_module(), &[("AUTH_JWT_SECRET", SECRET)]).await;

    // a huge declared body sent slowly: the 401 arrives after a small fraction of it
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-type: application/octet-stream\r\ncontent-length: 50000000\r\n\r\n")
        .await
        .unwrap();
    stream.write_all(&[b'u'; 1024]).await.unwrap();
    let mut buf = Vec::new();
    // nothing more is sent: if the server waited for the body, this would time out
    assert!(
        read_until(&mut stream, &mut buf, b"\r\n\r\n").await,
        "no answer while the body was incomplete: {}",
        String::from_utf8_lossy(&buf)
    );
    let head = head_of(&buf);
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(read_until(&mut stream, &mut buf, b"}").await);
    assert!(
        contains(&buf, r#""code":"auth""#),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    // the server closes the connection instead of draining 50 MB
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open");

    // Expect: 100-continue without a credential: a final 401, never 100 Continue
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-type: application/octet-stream\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"\r\n\r\n").await,
        "no answer to Expect"
    );
    let head = head_of(&buf);
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(
        !contains(&buf, "100 Continue"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    // with a valid token: 100 Continue, then the handler's answer
    let token = bearer("uploader", None);
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /upload HTTP/1.1\r\nhost: test\r\nauthorization: {token}\r\ncontent-type: application/octet-stream\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"\r\n\r\n").await,
        "no 100 Continue"
    );
    assert!(
        head_of(&buf).starts_with("http/1.1 100 continue"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    stream.write_all(b"0123456789").await.unwrap();
    assert!(
        read_until(&mut stream, &mut buf, b"}").await,
        "{}",
        String::from_utf8_lossy(&buf)
    );
    let text = String::from_utf8_lossy(&buf).into_owned();
    assert!(text.contains("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(r#"{"bytes":10,"user":"uploader"}"#)
            || text.contains(r#"{"user":"uploader","bytes":10}"#),
        "{text}"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 9. Strict JSON content types
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Named {
    name: String,
}

fn json_module() -> Module {
    Module::new("@test/json", "0.1.0")
        .route(
            Route::post("/extract")
                .name("extractJson")
                .handler(|Json(n): Json<Named>| async move { n.name }),
        )
        .route(
            Route::post("/ctx")
                .name("ctxJson")
                .handler(|ctx: Ctx| async move {
                    let n: Named = ctx.json()?;
                    Ok::<_, Error>(n.name)
                }),
        )
}

#[tokio::test]
async fn json_bodies_need_a_json_content_type() {
    let app = serve(json_module(), &[]).await;
    let body = r#"{"name":"ada"}"#;
    for path in ["/extract", "/ctx"] {
        // no content-type at all
        let res = app.send(Method::POST, path, &[], body).await;
        assert_eq!(res.status, 415, "{path} missing: {}", res.text());
        assert_eq!(code(&res), "unsupported_media_type", "{path}");
        assert!(res.json()["errors"][0]["message"].is_string());
        for wrong in [
            "text/plain; charset=json",
            "multipart/form-data; boundary=json",
            "application/x-www-form-urlencoded",
            "application/jsonx",
        ] {
            let res = app
                .send(Method::POST, path, &[("content-type", wrong)], body)
                .await;
            assert_eq!(res.status, 415, "{path} {wrong}: {}", res.text());
            assert_eq!(code(&res), "unsupported_media_type", "{path} {wrong}");
            assert_eq!(res.json()["errors"].as_array().unwrap().len(), 1);
        }
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "Application/JSON",
        ] {
            let res = app
                .send(Method::POST, path, &[("content-type", ok)], body)
                .await;
            assert_eq!(
                (res.status, res.text().as_str()),
                (200, "ada"),
                "{path} {ok}"
            );
        }
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 10. Form encodings
// ---------------------------------------------------------------------------------------------

fn form_module() -> Module {
    Module::new("@test/forms", "0.1.0")
        .route(
            Route::post("/extract")
                .name("extractForm")
                .handler(|Form(f): Form<HashMap<String, String>>| async move { Json(json!(f)) }),
        )
        .route(
            Route::post("/ctx")
                .name("ctxForm")
                .handler(|ctx: Ctx| async move {
                    let f: HashMap<String, String> = ctx.form()?;
                    Ok::<_, Error>(Json(json!(f)))
                }),
        )
        .route(
            Route::post("/declared")
                .name("declaredForm")
                .form_urlencoded(false)
                .handler(|ctx: Ctx| async move {
                    let f: HashMap<String, String> = ctx.form()?;
                    Ok::<_, Error>(Json(json!(f)))
                }),
        )
}

#[tokio::test]
async fn malformed_form_encodings_are_400_invalid_form() {
    let app = serve(form_module(), &[]).await;
    let form_ct = [("content-type", "application/x-www-form-urlencoded")];
    for path in ["/extract", "/ctx", "/declared"] {
        let bad: [&[u8]; 5] = [b"a=%zz", b"a=%4", b"a=%ff%fe", b"a=\xff", b"%c3=x"];
        for body in bad {
            let res = app
                .send(Method::POST, path, &form_ct, Bytes::copy_from_slice(body))
                .await;
            assert_eq!(
                res.status,
                400,
                "{path} {:?}: {}",
                String::from_utf8_lossy(body),
                res.text()
            );
            assert_eq!(
                code(&res),
                "invalid_form",
                "{path} {:?}",
                String::from_utf8_lossy(body)
            );
        }
        let res = app
            .send(Method::POST, path, &form_ct, "a=1&b=%C3%A9+x&c=")
            .await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        assert_eq!(
            res.json(),
            json!({ "a": "1", "b": "é x", "c": "" }),
            "{path}"
        );
    }
    // Form<T> refuses other content types
    let res = app
        .send(
            Method::POST,
            "/extract",
            &[("content-type", "application/json")],
            r#"{"a":"1"}"#,
        )
        .await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (415, "unsupported_media_type")
    );
    // a route declared `form` refuses a JSON body before the handler
    let res = app
        .send(
            Method::POST,
            "/declared",
            &[("content-type", "application/json")],
            r#"{"a":"1"}"#,
        )
        .await;
    assert_eq!(res.status, 415, "{}", res.text());
    assert_eq!(code(&res), "unsupported_media_type");
    let res = app
        .send(
            Method::POST,
            "/declared",
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            "a=1",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 11. Error bodies echo only a short piece of input
// ---------------------------------------------------------------------------------------------

fn echo_module() -> Module {
    Module::new("@test/echo", "0.1.0")
        .route(
            Route::get("/n/:id")
                .name("num")
                .handler(|Path(id): Path<u64>| async move { id.to_string() }),
        )
        .route(
            Route::get("/c/:id")
                .name("ctxNum")
                .handler(|ctx: Ctx| async move {
                    let id: u64 = ctx.param_as("id")?;
                    Ok::<_, Error>(id.to_string())
                }),
        )
        .route(
            Route::post("/j")
                .name("json")
                .handler(|Json(n): Json<Named>| async move { n.name }),
        )
        .route(
            Route::post("/cj")
                .name("ctxJson")
                .handler(|ctx: Ctx| async move {
                    let n: Named = ctx.json()?;
                    Ok::<_, Error>(n.name)
                }),
        )
        .route(
            Route::post("/f")
                .name("form")
                .form_urlencoded(false)
                .handler(|| async { "form" }),
        )
        .route(
            Route::get("/q")
                .name("query")
                .handler(|Query(p): Query<Page>| async move { format!("{:?}", p.limit) }),
        )
}

#[tokio::test]
async fn error_messages_never_echo_long_input() {
    let app = serve(echo_module(), &[]).await;
    let long = "9".repeat(1000) + &"x".repeat(1000);
    let short = |res: &TestResponse, what: &str| {
        let msg = message(res);
        assert!(msg.len() < 300, "{what}: {} chars: {msg}", msg.len());
        assert!(
            res.body.len() < 600,
            "{what}: body of {} bytes",
            res.body.len()
        );
    };

    for path in [format!("/n/{long}"), format!("/c/{long}")] {
        let res = app.get(&path).await;
        assert_eq!(
            (res.status, code(&res).as_str()),
            (400, "validation"),
            "{path}"
        );
        short(&res, "path parameter");
    }

    let long_ct = format!("application/{}", "x".repeat(2000));
    for path in ["/j", "/cj", "/f"] {
        let res = app
            .send(
                Method::POST,
                path,
                &[("content-type", &long_ct)],
                r#"{"name":"a"}"#,
            )
            .await;
        assert_eq!(res.status, 415, "{path}: {}", res.text());
        short(&res, "content-type");
    }

    let long_value = "v".repeat(2000);
    for body in [
        json!({ "name": 12345, "pad": long_value }).to_string(),
        format!(r#"{{"name": {}}}"#, "1".repeat(2000)),
        format!(r#"{{"name": ["{long_value}"]}}"#),
        format!(r#"{{"name": "{long_value}" garbage"#),
        format!(r#"{{"{long_value}": 1}}"#),
    ] {
        for path in ["/j", "/cj"] {
            let res = app
                .send(
                    Method::POST,
                    path,
                    &[("content-type", "application/json")],
                    body.clone(),
                )
                .await;
            assert_eq!(res.status, 400, "{path}: {}", res.text());
            short(&res, "json value");
        }
    }

    let res = app.get(&format!("/q?limit={long}")).await;
    assert_eq!(res.status, 400);
    short(&res, "query value");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 12. Tower services as routes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn route_service_mounts_a_tower_service() {
    let svc = tower::service_fn(|req: axum::extract::Request| async move {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let res = Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("x-served-by", "tower")
            .body(axum::body::Body::from(format!(
                "{method} {path} {}",
                body.len()
            )))
            .unwrap();
        Ok::<_, Infallible>(res)
    });
    let module = Module::new("@test/service", "0.1.0")
        .route(Route::post("/svc/:anything").name("svc").service(svc))
        .route(
            Route::get("/other")
                .name("other")
                .handler(|| async { "other" }),
        );
    let app = serve(module, &[]).await;
    let res = app.send(Method::POST, "/svc/abc", &[], "12345").await;
    assert_eq!(res.status, 202, "{}", res.text());
    assert_eq!(res.text(), "POST /svc/abc 5");
    assert_eq!(res.header("x-served-by"), Some("tower"));
    assert!(res.header("x-request-id").is_some());
    assert_eq!(app.get("/other").await.text(), "other");
    assert_eq!(app.get("/svc/abc").await.status, 405);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Service-only routes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn service_only_routes_refuse_user_tokens_with_a_service_scope() {
    let module = Module::new("@test/service-only", "0.1.0").route(
        Route::post("/internal/sync")
            .name("sync")
            .service_only()
            .handler(|auth: Auth| async move { format!("{:?}", auth.kind) }),
    );
    let app = serve(
        module,
        &[
            ("AUTH_JWT_SECRET", SECRET),
            ("AUTH_SERVICE_TOKENS", SERVICE_TOKEN),
        ],
    )
    .await;

    let res = app
        .send(Method::POST, "/internal/sync", &[], Bytes::new())
        .await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(code(&res), "auth");

    for scope in ["service", "read service write"] {
        let token = bearer("sneaky-user", Some(scope));
        let res = app
            .send(
                Method::POST,
                "/internal/sync",
                &[("authorization", &token)],
                Bytes::new(),
            )
            .await;
        assert_eq!(res.status, 403, "scope {scope:?}: {}", res.text());
        assert_eq!(code(&res), "forbidden");
    }

    let res = app
        .send(
            Method::POST,
            "/internal/sync",
            &[("x-service-token", "svc-wrong-0123456789abcdefghij")],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 401, "{}", res.text());

    let res = app
        .send(
            Method::POST,
            "/internal/sync",
            &[("x-service-token", SERVICE_TOKEN)],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Body cap and auth-before-body also hold for buffering extractors and behind module layers
// ---------------------------------------------------------------------------------------------

fn capped_module(with_layer: bool) -> Module {
    let module = Module::new("@test/capped", "0.1.0")
        .route(
            Route::post("/json")
                .name("json")
                .handler(|Json(n): Json<Named>| async move { n.name }),
        )
        .route(
            Route::post("/ctx")
                .name("ctx")
                .handler(|ctx: Ctx| async move { format!("{} bytes", ctx.body().len()) }),
        )
        .route(
            Route::post("/guarded")
                .name("guarded")
                .authenticated()
                .handler(|body: Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .route(Route::get("/id").name("id").handler(
            |webstir::extract::RequestId(id): webstir::extract::RequestId| async move { id },
        ));
    if with_layer {
        module.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-module-layer"),
            HeaderValue::from_static("on"),
        ))
    } else {
        module
    }
}

/// Send `head` plus `body` on a fresh connection; the response head (lowercased) and whole text.
async fn exchange(addr: SocketAddr, head: &str, body: &[u8], until: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    let _ = read_until(&mut stream, &mut buf, b"\r\n\r\n").await;
    let _ = read_until(&mut stream, &mut buf, until).await;
    (head_of(&buf), String::from_utf8_lossy(&buf).into_owned())
}

#[tokio::test]
async fn body_cap_and_auth_before_body_hold_with_and_without_module_layers() {
    for with_layer in [false, true] {
        let app = serve(
            capped_module(with_layer),
            &[
                ("REQUEST_BODY_MAX_BYTES", "1024"),
                ("AUTH_JWT_SECRET", SECRET),
            ],
        )
        .await;
        let layer_header = |head: &str| {
            if with_layer {
                assert!(head.contains("x-module-layer: on"), "{head}");
            }
        };

        // chunked bodies over the cap through buffering extractors: 413 payload_too_large
        let mut chunked = Vec::new();
        for _ in 0..4 {
            chunked.extend(chunk(&[b' '; 512]));
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        for (path, ct) in [("/json", "application/json"), ("/ctx", "text/plain")] {
            let (head, text) = exchange(
                app.addr,
                &format!("POST {path} HTTP/1.1\r\nhost: t\r\ncontent-type: {ct}\r\ntransfer-encoding: chunked\r\n\r\n"),
                &chunked,
                b"}",
            )
            .await;
            assert!(
                head.starts_with("http/1.1 413"),
                "{with_layer} {path}: {text}"
            );
            assert!(
                head.contains("connection: close"),
                "{with_layer} {path}: {head}"
            );
            assert!(
                text.contains(r#""error":"payload_too_large""#),
                "{with_layer} {path}: {text}"
            );
            layer_header(&head);
        }

        // a declared length over the cap: 413 without reading the body
        let (head, text) = exchange(
            app.addr,
            "POST /ctx HTTP/1.1\r\nhost: t\r\ncontent-type: text/plain\r\ncontent-length: 5000000\r\n\r\n",
            b"",
            b"}",
        )
        .await;
        assert!(head.starts_with("http/1.1 413"), "{with_layer}: {text}");
        assert!(head.contains("connection: close"), "{with_layer}: {head}");
        layer_header(&head);

        // auth is still decided before the body, and before 100 Continue
        let (head, text) = exchange(
            app.addr,
            "POST /guarded HTTP/1.1\r\nhost: t\r\ncontent-length: 50000000\r\n\r\n",
            &[b'g'; 512],
            b"}",
        )
        .await;
        assert!(head.starts_with("http/1.1 401"), "{with_layer}: {text}");
        assert!(head.contains("connection: close"), "{with_layer}: {head}");
        layer_header(&head);
        let (head, text) = exchange(
            app.addr,
            "POST /guarded HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n",
            b"",
            b"}",
        )
        .await;
        assert!(head.starts_with("http/1.1 401"), "{with_layer}: {text}");
        assert!(!text.contains("100 Continue"), "{with_layer}: {text}");
        let token = bearer("u", None);
        let (head, text) = exchange(
            app.addr,
            &format!("POST /guarded HTTP/1.1\r\nhost: t\r\nauthorization: {token}\r\ncontent-length: 10\r\n\r\n"),
            b"0123456789",
            b"10 bytes",
        )
        .await;
        assert!(head.starts_with("http/1.1 200"), "{with_layer}: {text}");
        assert!(text.ends_with("10 bytes"), "{with_layer}: {text}");

        // under the cap everything works; HEAD on a GET route has no body
        let res = app
            .send(
                Method::POST,
                "/json",
                &[("content-type", "application/json")],
                r#"{"name":"n"}"#,
            )
            .await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "n"),
            "{with_layer}"
        );
        let res = app
            .send(
                Method::GET,
                "/id",
                &[("x-request-id", "client-chosen-id")],
                Bytes::new(),
            )
            .await;
        assert_eq!(res.text(), "client-chosen-id", "{with_layer}");
        assert_eq!(res.header("x-request-id"), Some("client-chosen-id"));
        let res = app
            .send(
                Method::HEAD,
                "/id",
                &[("x-request-id", "head-id")],
                Bytes::new(),
            )
            .await;
        assert_eq!(res.status, 200, "{with_layer}");
        assert!(
            res.body.is_empty(),
            "{with_layer}: HEAD body {:?}",
            res.text()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn query_extractor_rejects_malformed_encodings() {
    let module = Module::new("@test/query", "0.1.0").route(Route::get("/q").name("q").handler(
        |Query(p): Query<Page>| async move { Json(json!({ "limit": p.limit, "q": p.q })) },
    ));
    let app = serve(module, &[]).await;
    let res = app.get("/q?limit=3&q=caf%C3%A9").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "limit": 3, "q": "café" }));
    for bad in ["/q?q=%zz", "/q?q=%4", "/q?q=%ff%fe"] {
        let res = app.get(bad).await;
        assert_eq!(
            (res.status, code(&res).as_str()),
            (400, "invalid_form"),
            "{bad}"
        );
    }
    let res = app.get("/q?limit=many").await;
    assert_eq!((res.status, code(&res).as_str()), (400, "validation"));
    app.stop().await;
}

#[tokio::test]
async fn streamed_response_passes_module_layers_and_outlives_the_request_timeout() {
    let gate = Gate::default();
    let module = streaming_module(gate.clone()).layer(SetResponseHeaderLayer::overriding(
        HeaderName::from_static("x-module-layer"),
        HeaderValue::from_static("on"),
    ));
    // the handler returns at once; only the body takes longer than the request timeout
    let app = serve(module, &[("REQUEST_TIMEOUT_MS", "200")]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(
        read_until(&mut stream, &mut buf, b"middle-chunk;").await,
        "{}",
        String::from_utf8_lossy(&buf)
    );
    assert!(!contains(&buf, "last-chunk;"));
    let head = head_of(&buf);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-module-layer: on"), "{head}");
    // well past REQUEST_TIMEOUT_MS (a lower bound, not a timed assertion)
    tokio::time::sleep(Duration::from_millis(600)).await;
    gate.0.notify_one();
    assert!(
        read_until(&mut stream, &mut buf, b"0\r\n\r\n").await,
        "stream cut: {}",
        String::from_utf8_lossy(&buf)
    );
    assert!(
        contains(&buf, "last-chunk;"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    app.stop().await;
}

#[tokio::test]
async fn module_compression_layer_compresses_route_responses() {
    let big = "webstir ".repeat(2000);
    let module = Module::new("@test/gzip", "0.1.0")
        .layer(tower_http::compression::CompressionLayer::new())
        .route(Route::get("/big").name("big").handler(move || {
            let big = big.clone();
            async move { big }
        }));
    let app = serve(module, &[]).await;
    let res = app
        .send(
            Method::GET,
            "/big",
            &[("accept-encoding", "gzip")],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.body.len() < 16000, "{} bytes", res.body.len());
    assert!(res.header("x-request-id").is_some());
    let res = app.get("/big").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.body.len(), 16000);
    app.stop().await;
}

#[tokio::test]
async fn service_routes_keep_access_rules_and_optional_auth_sees_the_caller() {
    let svc = tower::service_fn(|req: axum::extract::Request| async move {
        let _ = req;
        Ok::<_, Infallible>(Response::new(axum::body::Body::from("svc-ok")))
    });
    let module = Module::new("@test/service-auth", "0.1.0")
        .route(
            Route::get("/svc")
                .name("svc")
                .authenticated()
                .service(svc)
                .layer(SetResponseHeaderLayer::overriding(
                    HeaderName::from_static("x-route-layer"),
                    HeaderValue::from_static("svc"),
                )),
        )
        .route(
            Route::get("/whoami")
                .name("whoami")
                .handler(|auth: Option<Auth>| async move {
                    Json(json!({ "user": auth.and_then(|a| a.user_id.clone()) }))
                }),
        );
    let app = serve(module, &[("AUTH_JWT_SECRET", SECRET)]).await;
    let res = app.get("/svc").await;
    assert_eq!((res.status, code(&res).as_str()), (401, "auth"));
    assert_eq!(res.header("x-route-layer"), None);
    let token = bearer("svc-user", None);
    let res = app
        .send(
            Method::GET,
            "/svc",
            &[("authorization", &token)],
            Bytes::new(),
        )
        .await;
    assert_eq!((res.status, res.text().as_str()), (200, "svc-ok"));
    assert_eq!(res.header("x-route-layer"), Some("svc"));

    let res = app.get("/whoami").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "user": null }));
    let res = app
        .send(
            Method::GET,
            "/whoami",
            &[("authorization", &token)],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({ "user": "svc-user" }));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Other crates' extractors: their plain-text rejections come back in the error envelope
// ---------------------------------------------------------------------------------------------

async fn takes_text(body: String) -> String {
    format!("got {} bytes", body.len())
}

async fn takes_axum_path(axum::extract::Path(id): axum::extract::Path<u32>) -> String {
    format!("id {id}")
}

#[tokio::test]
async fn foreign_extractor_rejections_use_the_error_envelope() {
    let module = Module::new("@test/foreign", "0.1.0")
        .route(Route::post("/text").name("text").handler(takes_text))
        .route(
            Route::get("/axum/:id")
                .name("axumPath")
                .handler(takes_axum_path),
        );
    let app = serve(module, &[]).await;
    let ok = app
        .client
        .request(
            Method::POST,
            "/text",
            &[("content-type", "text/plain")],
            Bytes::from_static(b"hello"),
        )
        .await
        .unwrap();
    assert_eq!((ok.status, ok.text()), (200, "got 5 bytes".to_owned()));
    // axum's `String` extractor refuses invalid UTF-8 with a plain-text 400; it arrives as JSON.
    let bad = app
        .client
        .request(
            Method::POST,
            "/text",
            &[("content-type", "text/plain")],
            Bytes::from_static(b"\xff\xfe"),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(bad.header("content-type"), Some("application/json"));
    assert_eq!(code(&bad), "bad_request");
    // axum's own `Path` needs axum's router: a 500 in the envelope, its text only outside production.
    let res = app.client.get("/axum/7").await.unwrap();
    assert_eq!(res.status, 500);
    assert_eq!(res.json()["error"], "internal_error");
    assert!(
        res.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("extractor")),
        "{}",
        res.text()
    );
    app.stop().await;
}
