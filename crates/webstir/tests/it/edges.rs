//! CORS, static files, default security headers and `POST /client-errors`, over real HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::json;
use webstir::{Config, Env, Module, Reply, Route, Server, StartError};
use webstir_test::{TestClient, TestResponse};

const APP: &str = "https://app.example.com";
const DEV: &str = "http://localhost:5173";

fn module() -> Module {
    Module::new("@test/edges", "0.1.0")
        .route(
            Route::get("/api/hello")
                .name("hello")
                .handler(|| async { Reply::json(&json!({ "hello": "world" })) }),
        )
        .route(
            Route::put("/api/items/:id")
                .name("putItem")
                .handler(|| async { Reply::json(&json!({ "ok": true })) }),
        )
        .route(
            Route::get("/page")
                .name("page")
                .handler(|| async { Reply::html("<h1>page</h1>") }),
        )
        .route(Route::get("/framed").name("framed").handler(|| async {
            Reply::html("<h1>framed</h1>")
                .header("x-frame-options", "SAMEORIGIN")
                .header("referrer-policy", "no-referrer")
        }))
        .route(
            Route::get("/shadowed.txt")
                .name("shadowed")
                .handler(|| async { Reply::text("from the route") }),
        )
}

struct Srv {
    client: TestClient,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Srv {
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.client
            .request(method, path, headers, Bytes::new())
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, &[]).await
    }

    /// A request line written as is (paths a URI parser would refuse or normalise).
    async fn raw_get(&self, path: &str) -> String {
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            self.addr
        );
        self.client.raw(request.as_bytes()).await.unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
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

async fn bind(extra: &[(&str, &str)]) -> Result<Server, StartError> {
    let (env, config) = env_of(extra);
    Server::bind(&module(), env, config).await
}

async fn serve(extra: &[(&str, &str)]) -> Srv {
    let server = bind(extra).await.expect("bind");
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

fn vary_has_origin(res: &TestResponse) -> bool {
    res.headers.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains("origin")
    })
}

#[tokio::test]
async fn cors_allow_list_answers_preflights_and_actual_responses() {
    let srv = serve(&[
        ("CORS_ALLOWED_ORIGINS", &format!("{APP}, {DEV}")),
        ("CORS_ALLOW_CREDENTIALS", "on"),
    ])
    .await;

    // Preflight from an allowed origin: 204 with everything a browser checks, and a request id.
    let res = srv
        .send(
            Method::OPTIONS,
            "/api/items/7",
            &[
                ("origin", DEV),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type,x-token"),
                ("x-request-id", "preflight-1"),
            ],
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some(DEV));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert!(
        res.header("access-control-allow-methods")
            .unwrap()
            .contains("PUT")
    );
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type,x-token")
    );
    assert_eq!(res.header("access-control-max-age"), Some("600"));
    assert_eq!(res.header("x-request-id"), Some("preflight-1"));
    assert!(vary_has_origin(&res));
    assert!(res.body.is_empty());

    // Preflight from another origin: no allow headers.
    let res = srv
        .send(
            Method::OPTIONS,
            "/api/items/7",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(res.header("access-control-allow-methods"), None);
    assert!(res.header("x-request-id").is_some());

    // The actual response carries the headers too, errors and 404s included.
    for (method, path, status) in [
        (Method::GET, "/api/hello", 200),
        (Method::PUT, "/api/items/7", 200),
        (Method::GET, "/nowhere", 404),
        (Method::DELETE, "/api/hello", 405),
    ] {
        let res = srv.send(method.clone(), path, &[("origin", APP)]).await;
        assert_eq!(res.status, status, "{method} {path}");
        assert_eq!(res.header("access-control-allow-origin"), Some(APP));
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(
            res.header("access-control-expose-headers"),
            Some("x-request-id")
        );
        assert!(vary_has_origin(&res), "{method} {path}");
    }

    // Another origin, and no origin: no allow headers, but `Vary: Origin` for caches.
    let res = srv
        .send(
            Method::GET,
            "/api/hello",
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(res.header("access-control-allow-credentials"), None);
    assert!(vary_has_origin(&res));
    let res = srv.get("/api/hello").await;
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert!(vary_has_origin(&res));
    srv.stop().await;
}

#[tokio::test]
async fn cors_allows_nothing_by_default_and_star_without_credentials() {
    let srv = serve(&[]).await;
    let res = srv
        .send(
            Method::OPTIONS,
            "/api/hello",
            &[("origin", DEV), ("access-control-request-method", "GET")],
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), None);
    let res = srv
        .send(Method::GET, "/api/hello", &[("origin", DEV)])
        .await;
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert!(!vary_has_origin(&res));
    srv.stop().await;

    let srv = serve(&[
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("CORS_ALLOWED_HEADERS", "content-type, authorization"),
        ("CORS_MAX_AGE", "60"),
    ])
    .await;
    let res = srv
        .send(
            Method::OPTIONS,
            "/api/hello",
            &[
                ("origin", DEV),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-other"),
            ],
        )
        .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type, authorization")
    );
    assert_eq!(res.header("access-control-max-age"), Some("60"));
    assert_eq!(res.header("access-control-allow-credentials"), None);
    let res = srv
        .send(Method::GET, "/api/hello", &[("origin", DEV)])
        .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    srv.stop().await;
}

#[tokio::test]
async fn bad_cors_settings_stop_startup_naming_the_variable_and_the_fix() {
    let err = bind(&[
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("CORS_ALLOW_CREDENTIALS", "true"),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("CORS_ALLOWED_ORIGINS cannot be *"), "{err}");
    assert!(err.contains("list the exact origins"), "{err}");
    let err = bind(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com/")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("CORS_ALLOWED_ORIGINS must list origins as scheme://host[:port]"),
        "{err}"
    );
    assert!(err.contains("got 'https://app.example.com/'"), "{err}");
    let err = bind(&[
        ("CORS_ALLOWED_ORIGINS", APP),
        ("CORS_ALLOW_CREDENTIALS", "sometimes"),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "CORS_ALLOW_CREDENTIALS must be on or off, got 'sometimes'"
    );
}

/// A workspace whose `dist/frontend` has pages, assets, a large file and a symlink out of it.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dist/frontend");
    let write = |rel: &str, content: &[u8]| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    };
    write("pages/home/index.html", b"<h1>home</h1>");
    write("pages/home/index.css", b"h1{}");
    write("pages/about/index.html", b"<h1>about</h1>");
    write("pages/about/index.js", b"console.log('about')");
    write("app.css", b"body{}");
    write("assets/app.3f2a9c1b.js", b"export {}");
    write("docs/index.html", b"<h1>docs</h1>");
    write("shadowed.txt", b"from the file");
    write("api/secret.json", b"{\"static\":true}");
    write("big.bin", &big());
    std::fs::write(dir.path().join("secret.txt"), b"TOP SECRET").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
    dir
}

fn big() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

fn root_of(dir: &Path) -> String {
    dir.display().to_string()
}

#[tokio::test]
async fn static_files_are_served_beside_the_api() {
    let dir = workspace();
    let srv = serve(&[("WORKSPACE_ROOT", &root_of(dir.path()))]).await;

    let res = srv.get("/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "<h1>home</h1>");
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("x-frame-options"), Some("DENY"));
    assert!(res.header("x-request-id").is_some());
    let etag = res.header("etag").unwrap().to_owned();
    let modified = res.header("last-modified").unwrap().to_owned();
    assert!(modified.ends_with(" GMT"), "{modified}");

    for (path, body, content_type) in [
        ("/about", "<h1>about</h1>", "text/html; charset=utf-8"),
        ("/about/", "<h1>about</h1>", "text/html; charset=utf-8"),
        ("/docs/", "<h1>docs</h1>", "text/html; charset=utf-8"),
        ("/docs", "<h1>docs</h1>", "text/html; charset=utf-8"),
        ("/index.css", "h1{}", "text/css; charset=utf-8"),
        (
            "/about/index.js",
            "console.log('about')",
            "text/javascript; charset=utf-8",
        ),
        ("/app.css", "body{}", "text/css; charset=utf-8"),
    ] {
        let res = srv.get(path).await;
        assert_eq!((res.status, res.text().as_str()), (200, body), "{path}");
        assert_eq!(res.header("content-type"), Some(content_type), "{path}");
    }
    let res = srv.get("/assets/app.3f2a9c1b.js").await;
    assert_eq!(
        res.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // Revalidation: 304 with the validators and no body.
    let res = srv
        .send(Method::GET, "/", &[("if-none-match", &etag)])
        .await;
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
    assert_eq!(res.header("etag"), Some(etag.as_str()));
    let res = srv
        .send(Method::GET, "/", &[("if-modified-since", &modified)])
        .await;
    assert_eq!(res.status, 304);
    let res = srv
        .send(
            Method::GET,
            "/",
            &[
                ("if-none-match", "\"stale\""),
                ("if-modified-since", &modified),
            ],
        )
        .await;
    assert_eq!(res.status, 200, "If-None-Match decides when present");

    // HEAD: the headers of GET, no body.
    let res = srv.send(Method::HEAD, "/app.css", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("6"));
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(res.body.is_empty());

    // Large files stream, whole.
    let res = srv.get("/big.bin").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert_eq!(res.body.as_ref(), big().as_slice());

    // API routes win; `/api/*` is never static; other methods are not static.
    let res = srv.get("/shadowed.txt").await;
    assert_eq!(res.text(), "from the route");
    let res = srv.get("/api/hello").await;
    assert_eq!(res.json()["hello"], "world");
    // `nosniff` is on every response; the frame and referrer headers only on HTML.
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("x-frame-options"), None);
    let res = srv.get("/api/secret.json").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"], "not_found");
    let res = srv.send(Method::POST, "/app.css", &[]).await;
    assert_eq!(res.status, 404);
    let res = srv.get("/missing.css").await;
    assert_eq!(
        (res.status, res.json()["error"].as_str()),
        (404, Some("not_found"))
    );
    srv.stop().await;
}

#[tokio::test]
async fn static_files_never_leave_their_root() {
    let dir = workspace();
    // The workspace root itself has files the static root must not reach.
    std::fs::write(dir.path().join("Cargo.toml"), b"[package] SECRET").unwrap();
    let srv = serve(&[("WORKSPACE_ROOT", &root_of(dir.path()))]).await;
    for path in [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/..%5cCargo.toml",
        "/%252e%252e%252fCargo.toml",
        "//etc/passwd",
        "/x%00.txt",
        "/..\\Cargo.toml",
        "/leak.txt",
        "/%2fetc%2fpasswd",
        "/pages/../../secret.txt",
        "/./app.css/../../secret.txt",
    ] {
        let raw = srv.raw_get(path).await;
        let status = raw.split(' ').nth(1).unwrap_or("");
        assert!(
            status == "404" || status == "400",
            "{path} answered {}",
            raw.lines().next().unwrap_or("")
        );
        assert!(!raw.contains("SECRET"), "{path} leaked: {raw}");
        assert!(!raw.contains("root:"), "{path} leaked: {raw}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn static_file_settings() {
    let dir = workspace();
    let root = root_of(dir.path());
    let srv = serve(&[("WORKSPACE_ROOT", &root), ("STATIC_FILES", "off")]).await;
    assert_eq!(srv.get("/").await.status, 404);
    srv.stop().await;

    std::fs::create_dir_all(dir.path().join("public")).unwrap();
    std::fs::write(dir.path().join("public/hi.txt"), b"hi").unwrap();
    let srv = serve(&[("WORKSPACE_ROOT", &root), ("STATIC_FILES_DIR", "public")]).await;
    let res = srv.get("/hi.txt").await;
    assert_eq!((res.status, res.text().as_str()), (200, "hi"));
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    srv.stop().await;

    let err = bind(&[("WORKSPACE_ROOT", &root), ("STATIC_FILES_DIR", "nope")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("STATIC_FILES_DIR must name an existing directory"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = bind(&[
        ("WORKSPACE_ROOT", &root_of(empty.path())),
        ("STATIC_FILES", "on"),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("STATIC_FILES is on but"), "{err}");
    // Without the directory and without settings: no static files, no error.
    let srv = serve(&[("WORKSPACE_ROOT", &root_of(empty.path()))]).await;
    assert_eq!(srv.get("/").await.status, 404);
    srv.stop().await;
}

#[tokio::test]
async fn html_responses_get_security_headers_that_handlers_can_override() {
    let srv = serve(&[]).await;
    let res = srv.get("/page").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("x-frame-options"), Some("DENY"));
    assert_eq!(
        res.header("referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    let res = srv.get("/framed").await;
    assert_eq!(res.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(res.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    let res = srv.get("/api/hello").await;
    assert_eq!(res.header("x-frame-options"), None);
    srv.stop().await;

    let srv = serve(&[("SECURITY_HEADERS", "off")]).await;
    let res = srv.get("/page").await;
    assert_eq!(res.header("x-frame-options"), None);
    assert_eq!(res.header("x-content-type-options"), None);
    srv.stop().await;
}

#[tokio::test]
async fn client_errors_are_taken_capped_and_rate_limited() {
    let srv = serve(&[
        ("CLIENT_ERRORS_PER_MINUTE", "4"),
        ("CORS_ALLOWED_ORIGINS", APP),
    ])
    .await;
    let report = json!({
        "type": "error",
        "message": "Uncaught TypeError: x is undefined",
        "filename": "https://app.example.com/app.js",
        "lineno": 12,
        "colno": 3,
    });
    let res = srv
        .client
        .post_json("/client-errors", &report)
        .await
        .unwrap();
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert!(res.header("x-request-id").is_some());

    // Not JSON: 415. Too large by content-length: 413, before reading.
    let res = srv
        .client
        .request(
            Method::POST,
            "/client-errors",
            &[("content-type", "text/plain")],
            Bytes::from_static(b"oops"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 415);
    assert_eq!(res.json()["error"], "unsupported_media_type");
    let res = srv
        .client
        .request(
            Method::POST,
            "/client-errors/",
            &[("content-type", "application/json"), ("origin", APP)],
            Bytes::from(vec![b' '; 40 * 1024]),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 413);
    assert_eq!(res.json()["error"], "payload_too_large");
    assert_eq!(res.header("access-control-allow-origin"), Some(APP));

    // An unreadable report is taken and dropped, like the original.
    let res = srv
        .client
        .request(
            Method::POST,
            "/client-errors",
            &[("content-type", "application/json")],
            Bytes::from_static(b"{not json"),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 204);

    // The fifth report this minute from this client: 429 with a stable code.
    let res = srv
        .client
        .post_json("/client-errors", &report)
        .await
        .unwrap();
    assert_eq!(res.status, 429);
    assert_eq!(res.json()["error"], "rate_limited");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    srv.stop().await;

    let srv = serve(&[("CLIENT_ERRORS", "off")]).await;
    let res = srv
        .client
        .post_json("/client-errors", &report)
        .await
        .unwrap();
    assert_eq!(res.status, 404);
    srv.stop().await;
}
