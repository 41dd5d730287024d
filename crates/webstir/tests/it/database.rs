use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use webstir::{Config, Ctx, Env, Module, Reply, Result, Route, Server, params};
use webstir_test::TestClient;

async fn add(ctx: Ctx) -> Result<Reply> {
    let name = ctx.param("name").unwrap_or_default().to_owned();
    ctx.db()
        .execute("INSERT INTO tags (name) VALUES (?)", params![name])
        .await?;
    Ok(Reply::empty().status(201))
}

async fn count(ctx: Ctx) -> Result<Reply> {
    let rows = ctx
        .db()
        .query("SELECT count(*) AS n FROM tags", params![])
        .await?;
    Ok(Reply::json(&serde_json::Value::Object(rows[0].to_map())))
}

fn module() -> Module {
    Module::new("@test/db", "0.1.0")
        .capabilities(["db"])
        .route(Route::post("/tags/:name").name("addTag").handler(add))
        .route(Route::get("/tags").name("countTags").handler(count))
}

async fn serve(pairs: Vec<(String, String)>) -> (TestClient, tokio::sync::oneshot::Sender<()>) {
    let env = Env::from_pairs(pairs);
    let config = Config::from_env(&env).unwrap();
    let server = Server::bind(&module(), env, config).await.unwrap();
    let client = TestClient::new(server.local_addr());
    let probe = client;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server
            .serve(async move {
                let _ = rx.await;
            })
            .await;
    });
    wait_ready(&probe).await;
    (client, tx)
}

async fn wait_ready(client: &TestClient) {
    for _ in 0..100 {
        if client.get("/readyz").await.map(|r| r.status).ok() == Some(200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server not ready after 5 s");
}

#[tokio::test]
async fn handlers_use_the_database_and_constraint_violations_are_409() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("src/backend/db/migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("0001_tags.sql"),
        "CREATE TABLE tags (name TEXT PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n",
    )
    .unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let (client, stop) = serve(vec![
        ("PORT".into(), "0".into()),
        ("WORKSPACE_ROOT".into(), root),
    ])
    .await;
    assert!(dir.path().join("data/dev.sqlite").is_file());
    assert_eq!(
        client
            .request(http::Method::POST, "/tags/rust", &[], Default::default())
            .await
            .unwrap()
            .status,
        201
    );
    let dup = client
        .request(http::Method::POST, "/tags/rust", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["errors"][0]["code"], "conflict");
    assert!(
        !dup.text().contains("tags"),
        "constraint details are not echoed: {}",
        dup.text()
    );
    assert_eq!(client.get("/tags").await.unwrap().json(), json!({"n": 1}));
    let _ = stop.send(());

    // Framework tables come from system migrations with their own history, applied before the
    // app's own; the app's history holds only the app's migrations.
    let db = webstir::Db::connect(webstir::Db::DEFAULT_URL, dir.path()).unwrap();
    let system: Vec<String> = db
        .query_as(
            "SELECT id FROM _webstir_system_migrations ORDER BY id",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(system, ["0001_api_keys", "0002_sessions"]);
    let keys: i64 = db
        .query_one("SELECT count(*) FROM webstir_api_keys", params![])
        .await
        .unwrap();
    assert_eq!(keys, 0);
    let app: Vec<String> = db
        .query_as("SELECT id FROM _webstir_migrations ORDER BY id", params![])
        .await
        .unwrap();
    assert_eq!(app, ["0001_tags"]);
}

#[tokio::test]
async fn a_bad_database_url_stops_startup_naming_the_variable() {
    let env = Env::from_pairs([("PORT", "0"), ("DATABASE_URL", "mysql://localhost/app")]);
    let config = Config::from_env(&env).unwrap();
    let err = Server::bind(&module(), env, config).await.unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    async fn start(addr: SocketAddr, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                conns.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            addr,
            task: Some(task),
        }
    }

    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort(); // drops the listener and every proxied connection
        }
    }
}

async fn ready_status(client: &TestClient) -> u16 {
    client.get("/readyz").await.unwrap().status
}

#[tokio::test]
async fn readyz_follows_the_database_down_and_back_up_without_a_restart() {
    let Ok(pg) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") else {
        eprintln!("skipping: WEBSTIR_TEST_POSTGRES_URL not set");
        return;
    };
    let upstream: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let mut proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream).await;
    let port = proxy.addr.port();
    let url = pg.replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1);
    assert_ne!(
        url, pg,
        "WEBSTIR_TEST_POSTGRES_URL must point at 127.0.0.1:5432 for this test"
    );
    let (client, stop) = serve(vec![
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), url),
        ("MIGRATE_ON_START".into(), "off".into()),
    ])
    .await;
    assert_eq!(ready_status(&client).await, 200);

    proxy.cut();
    let mut status = 0;
    for _ in 0..50 {
        status = ready_status(&client).await;
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503, "database down → not ready");
    let body = client.get("/readyz").await.unwrap().json();
    assert_eq!(body["status"], "error");
    assert!(
        body["message"].as_str().unwrap().starts_with("database"),
        "{body}"
    );
    assert_eq!(
        client.get("/healthz").await.unwrap().status,
        200,
        "liveness is unaffected"
    );

    let _proxy = Proxy::start(proxy.addr, upstream).await;
    for _ in 0..100 {
        status = ready_status(&client).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "database back → ready again");
    let _ = stop.send(());
}
