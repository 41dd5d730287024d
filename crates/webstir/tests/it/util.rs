use std::time::Duration;

use serde_json::json;
use webstir::{Config, Ctx, Env, Error, FragmentMode, Module, Reply, Result, Route, Server};
use webstir_test::TestClient;

async fn echo(ctx: Ctx) -> Result<Reply> {
    let body = ctx.body_value()?;
    Ok(Reply::json(
        &json!({ "body": body, "query": ctx.query("q") }),
    ))
}

#[derive(serde::Deserialize)]
struct Typed {
    count: u32,
}

async fn typed(ctx: Ctx) -> Result<Reply> {
    let input: Typed = ctx.json()?;
    Ok(Reply::json(&json!({ "count": input.count })))
}

async fn boom(_ctx: Ctx) -> Result<Reply> {
    panic!("kaboom: secret internals");
}

async fn fail(_ctx: Ctx) -> Result<Reply> {
    let n: i32 = "not a number".parse()?;
    Ok(Reply::json(&n))
}

async fn slow(ctx: Ctx) -> Result<Reply> {
    let ms: u64 = ctx.query("ms").and_then(|v| v.parse().ok()).unwrap_or(500);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(Reply::text("done"))
}

async fn item(ctx: Ctx) -> Result<Reply> {
    let id: u64 = ctx.param_as("id")?;
    if id == 0 {
        return Err(Error::not_found("item 0 does not exist"));
    }
    Ok(Reply::json(
        &json!({ "id": id, "requestId": ctx.request_id(), "route": ctx.route_name() }),
    ))
}

pub(crate) fn module() -> Module {
    Module::new("@test/runtime", "1.2.3")
        .capabilities(["http"])
        .route(Route::post("/echo").name("echo").handler(echo))
        .route(Route::post("/typed").name("typed").handler(typed))
        .route(Route::get("/boom").name("boom").handler(boom))
        .route(Route::get("/fail").name("fail").handler(fail))
        .route(Route::get("/slow").name("slow").handler(slow))
        .route(
            Route::get("/items/new")
                .name("newItem")
                .handler(|| async { Reply::text("form") }),
        )
        .route(Route::get("/items/:id").name("item").handler(item))
        .route(
            Route::delete("/items/:id")
                .name("deleteItem")
                .handler(|| async { Reply::empty() }),
        )
        .route(
            Route::get("/redirect")
                .name("redirect")
                .handler(|| async { Reply::redirect("/done?name=Webstir") }),
        )
        .route(
            Route::get("/moved")
                .name("moved")
                .handler(|| async { Reply::redirect("/elsewhere").status(301) }),
        )
        .route(Route::get("/fragment").name("fragment").handler(|| async {
            Reply::fragment("greeting", "<p>Hello Webstir</p>")
                .selector("#main")
                .mode(FragmentMode::Append)
        }))
        .route(
            Route::get("/fragment-cached")
                .name("fragmentCached")
                .handler(|| async {
                    Reply::fragment("greeting", "<p>Hi</p>").header("Cache-Control", "max-age=5")
                }),
        )
        .route(
            Route::get("/bad-fragment")
                .name("badFragment")
                .handler(|| async { Reply::fragment("  ", "<p>x</p>") }),
        )
        .route(Route::get("/errors").name("errors").handler(|| async {
            Reply::errors(vec![webstir::ApiError::new("domain", "not allowed today")])
        }))
        .route(
            Route::get("/html")
                .name("html")
                .handler(|| async { Reply::html("<h1>Hi</h1>").header("x-custom", "yes") }),
        )
        .route(
            Route::get("/env")
                .name("env")
                .handler(|ctx: Ctx| async move {
                    let value = ctx.env().require("WEBSTIR_TEST_REQUIRED")?;
                    Ok::<_, Error>(Reply::text(value.to_owned()))
                }),
        )
        .route(
            Route::get("/set-id")
                .name("setId")
                .handler(|| async { Reply::text("x").header("x-request-id", "handler-chosen") }),
        )
}

pub(crate) struct Running {
    pub(crate) client: TestClient,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

/// Serve the test module in-process on a free port with extra env settings.
pub(crate) async fn start(extra: &[(&str, &str)]) -> Running {
    let mut pairs: Vec<(String, String)> = vec![("PORT".into(), "0".into())];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let env = Env::from_pairs(pairs);
    let config = Config::from_env(&env).expect("valid test config");
    let server = Server::bind(&module(), env, config).await.expect("bind");
    let client = TestClient::new(server.local_addr());
    let probe = client;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(async move {
                let _ = rx.await;
            })
            .await
            .expect("server ran");
    });
    for _ in 0..100 {
        if probe.get("/readyz").await.map(|r| r.status).ok() == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running {
        client,
        stop: Some(tx),
        task,
    }
}
