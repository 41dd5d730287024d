//! Request hooks over real HTTP: order across phases, short-circuits, afterHandler replacement,
//! failures, and ids refused at startup.

use std::time::Duration;

use http::Method;
use serde_json::json;
use webstir::axum::response::{IntoResponse, Response};
use webstir::{
    AuthContext, Config, CredentialKind, Ctx, Env, Error, Hook, HookCtx, Module, Reply, Result,
    Route, Server, StartError,
};
use webstir_test::TestClient;

/// A server running a module in-process on a free port; stops when dropped.
pub(crate) struct Served {
    pub(crate) client: TestClient,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

pub(crate) async fn bind(module: &Module, extra: &[(&str, &str)]) -> Result<Server, StartError> {
    let mut pairs: Vec<(String, String)> = vec![("PORT".into(), "0".into())];
    pairs.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let env = Env::from_pairs(pairs);
    let config = Config::from_env(&env).expect("valid test config");
    Server::bind(module, env, config).await
}

pub(crate) async fn serve(module: &Module, extra: &[(&str, &str)]) -> Served {
    let server = bind(module, extra).await.expect("bind");
    let client = TestClient::new(server.local_addr());
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
        if client.get("/readyz").await.map(|r| r.status).ok() == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Served {
        client,
        stop: Some(tx),
        task: Some(task),
    }
}

/// What the hooks saw, in order (travels in the request's extensions).
#[derive(Clone, Default)]
struct Trace(Vec<String>);

fn trace(ctx: &mut HookCtx, step: &str) {
    let extensions = ctx.extensions_mut();
    let mut trace = extensions.remove::<Trace>().unwrap_or_default();
    trace.0.push(step.to_owned());
    extensions.insert(trace);
}

async fn setup(ctx: &mut HookCtx) -> Result<Option<Reply>> {
    trace(ctx, "beforeAuth");
    if ctx.query("early").is_some() {
        return Ok(Some(Reply::json(&json!({ "early": true })).status(202)));
    }
    if ctx.header("x-hook-caller") == Some("yes") {
        ctx.set_auth(AuthContext::new(CredentialKind::ServiceToken).with_user_id("hook-user"));
    }
    Ok(None)
}

async fn annotate(ctx: &mut HookCtx) -> Result<Option<Reply>> {
    let source = ctx.auth().map_or("none", |a| a.kind.as_str()).to_owned();
    trace(ctx, &format!("beforeHandler:{source}"));
    if ctx.query("fail").is_some() {
        return Err(Error::msg("hook exploded"));
    }
    if ctx.query("deny").is_some() {
        return Err(Error::forbidden("not on Sundays"));
    }
    if ctx.query("panic").is_some() {
        panic!("hook panicked on purpose");
    }
    Ok(None)
}

async fn short_check(ctx: &mut HookCtx) -> Result<Option<Response>> {
    trace(ctx, "beforeHandler:short-check");
    if ctx.query("short").is_some() {
        let steps = ctx
            .extensions()
            .get::<Trace>()
            .cloned()
            .unwrap_or_default()
            .0;
        return Ok(Some(
            (
                http::StatusCode::ACCEPTED,
                webstir::extract::Json(json!({ "trace": steps, "shortCircuited": true })),
            )
                .into_response(),
        ));
    }
    Ok(None)
}

async fn after_response(_ctx: &mut HookCtx, response: Response) -> Result<Response> {
    let (mut parts, body) = response.into_parts();
    let bytes = webstir::axum::body::to_bytes(body, 1 << 20).await?;
    let mut value: serde_json::Value = serde_json::from_slice(&bytes)?;
    if let Some(steps) = value["trace"].as_array_mut() {
        steps.push(json!("afterHandler"));
    }
    parts.headers.insert("x-hook-after", "1".parse().unwrap());
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(Response::from_parts(
        parts,
        webstir::axum::body::Body::from(serde_json::to_vec(&value)?),
    ))
}

async fn second_after(ctx: &mut HookCtx, response: Response) -> Result<Reply> {
    if ctx.query("replace").is_some() {
        return Ok(Reply::text("replaced by afterHandler").status(201));
    }
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let bytes = webstir::axum::body::to_bytes(body, 1 << 20).await?;
    let mut reply = Reply::bytes(bytes).status(status);
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_LENGTH {
            reply = reply.typed_header(name.clone(), value.clone());
        }
    }
    Ok(reply)
}

async fn late_caller(ctx: &mut HookCtx) -> Result<Option<Reply>> {
    ctx.set_auth(AuthContext::new(CredentialKind::Jwt));
    Ok(None)
}

async fn demo(ctx: Ctx) -> Result<Reply> {
    let mut steps = ctx.extension::<Trace>().cloned().unwrap_or_default().0;
    steps.push("handler".into());
    Ok(Reply::json(&json!({
        "trace": steps,
        "caller": ctx.auth().and_then(|a| a.user_id.clone()),
    })))
}

fn module() -> Module {
    Module::new("@test/hooks", "0.1.0")
        .hook(Hook::before_auth("setup-request").order(10).run(setup))
        .hook(
            Hook::before_handler("short-check")
                .order(20)
                .run(short_check),
        )
        .hook(
            Hook::before_handler("annotate-auth")
                .order(10)
                .run(annotate),
        )
        .hook(
            Hook::after_handler("after-response")
                .order(10)
                .summary("adds afterHandler")
                .run(after_response),
        )
        .hook(
            Hook::after_handler("after-second")
                .order(20)
                .run(second_after),
        )
        .hook(Hook::before_handler("late-caller").run(late_caller))
        .route(
            Route::get("/hooks/demo")
                .name("hooksDemo")
                // Scrambled on purpose: hooks run by phase, then order, then id.
                .hooks([
                    "after-second",
                    "short-check",
                    "after-response",
                    "annotate-auth",
                    "setup-request",
                ])
                .handler(demo),
        )
        .route(
            Route::get("/hooks/guarded")
                .name("hooksGuarded")
                .authenticated()
                .hooks(["setup-request"])
                .handler(demo),
        )
        .route(
            Route::get("/hooks/late")
                .name("hooksLate")
                .hooks(["late-caller"])
                .handler(demo),
        )
        .route(Route::get("/plain").name("plain").handler(demo))
}

#[tokio::test]
async fn hooks_run_by_phase_then_order_and_after_hooks_rewrite_the_response() {
    let app = serve(&module(), &[]).await;
    let res = app.client.get("/hooks/demo").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-hook-after"), Some("1"));
    assert!(res.header("x-request-id").is_some());
    assert_eq!(
        res.json(),
        json!({
            "trace": ["beforeAuth", "beforeHandler:none", "beforeHandler:short-check", "handler", "afterHandler"],
            "caller": null,
        })
    );

    // A caller set by a beforeAuth hook is what beforeHandler hooks and the handler see.
    let res = app
        .client
        .request(
            Method::GET,
            "/hooks/demo",
            &[("x-hook-caller", "yes")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(res.json()["trace"][1], "beforeHandler:service_token");
    assert_eq!(res.json()["caller"], "hook-user");

    // The last afterHandler hook may replace the response entirely.
    let res = app.client.get("/hooks/demo?replace=1").await.unwrap();
    assert_eq!(res.status, 201);
    assert_eq!(res.text(), "replaced by afterHandler");
    assert!(res.header("x-hook-after").is_none());

    // Routes without hooks are untouched.
    let res = app.client.get("/plain").await.unwrap();
    assert_eq!(res.json(), json!({ "trace": ["handler"], "caller": null }));
    app.stop().await;
}

#[tokio::test]
async fn before_hooks_short_circuit() {
    let app = serve(&module(), &[]).await;
    // beforeHandler: the handler and afterHandler hooks are skipped.
    let res = app.client.get("/hooks/demo?short=1").await.unwrap();
    assert_eq!(res.status, 202);
    assert!(res.header("x-hook-after").is_none());
    assert!(res.header("x-request-id").is_some());
    assert_eq!(
        res.json(),
        json!({
            "trace": ["beforeAuth", "beforeHandler:none", "beforeHandler:short-check"],
            "shortCircuited": true,
        })
    );

    // beforeAuth answers before the access rule would refuse the request.
    let res = app.client.get("/hooks/guarded").await.unwrap();
    assert_eq!(res.status, 401, "{}", res.text());
    let res = app.client.get("/hooks/guarded?early=1").await.unwrap();
    assert_eq!(res.status, 202);
    assert_eq!(res.json(), json!({ "early": true }));
    assert!(res.header("x-request-id").is_some());

    // A caller set by beforeAuth satisfies the rule in place of credentials.
    let res = app
        .client
        .request(
            Method::GET,
            "/hooks/guarded",
            &[("x-hook-caller", "yes")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["caller"], "hook-user");
    app.stop().await;
}

#[tokio::test]
async fn failing_hooks_answer_500_naming_the_hook() {
    let app = serve(&module(), &[]).await;
    let res = app.client.get("/hooks/demo?fail=1").await.unwrap();
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json(),
        json!({
            "error": "internal_error",
            "message": "request hook annotate-auth (beforeHandler) failed: hook exploded",
        })
    );
    assert!(res.header("x-request-id").is_some());

    let res = app.client.get("/hooks/demo?panic=1").await.unwrap();
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json()["message"],
        "request hook annotate-auth (beforeHandler) panicked: hook panicked on purpose"
    );

    // An expected failure keeps its envelope.
    let res = app.client.get("/hooks/demo?deny=1").await.unwrap();
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["errors"][0]["code"], "forbidden");

    // Setting the caller after the access rule was decided is refused.
    let res = app.client.get("/hooks/late").await.unwrap();
    assert_eq!(res.status, 500);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("only beforeAuth hooks may"),
        "{}",
        res.text()
    );

    // In production the message stays in the logs.
    app.stop().await;
    let app = serve(
        &module(),
        &[("NODE_ENV", "production"), ("HOST", "127.0.0.1")],
    )
    .await;
    let res = app.client.get("/hooks/demo?fail=1").await.unwrap();
    assert_eq!(res.status, 500);
    assert_eq!(res.json(), json!({ "error": "internal_error" }));
    app.stop().await;
}

#[tokio::test]
async fn hook_ids_are_enforced_at_startup_and_shown_in_the_manifest() {
    let unknown = Module::new("@test/hooks", "0.1.0")
        .hook(Hook::before_handler("audit").run(annotate))
        .route(
            Route::get("/x")
                .name("x")
                .hooks(["audit", "missing"])
                .handler(demo),
        );
    let err = bind(&unknown, &[]).await.unwrap_err().to_string();
    assert!(
        err.starts_with("route x declares requestHooks, which lists hook 'missing', which the module does not implement"),
        "{err}"
    );

    let twice = Module::new("@test/hooks", "0.1.0")
        .hook(Hook::before_handler("audit").run(annotate))
        .hook(Hook::after_handler("audit").run(after_response));
    let err = bind(&twice, &[]).await.unwrap_err().to_string();
    assert!(err.contains("declares hook 'audit' twice"), "{err}");

    let metadata_only = Module::new("@test/hooks", "0.1.0").with_manifest(|m| {
        m.request_hooks
            .push(webstir::manifest::RequestHookDefinition::new(
                "ghost",
                webstir::manifest::RequestHookPhase::BeforeAuth,
                1,
            ));
    });
    let err = bind(&metadata_only, &[]).await.unwrap_err().to_string();
    assert!(
        err.contains("lists hook 'ghost' without an implementation"),
        "{err}"
    );

    let manifest = serde_json::to_value(module().manifest()).unwrap();
    assert_eq!(
        manifest["requestHooks"][0],
        json!({ "id": "setup-request", "phase": "beforeAuth", "order": 10 })
    );
    assert_eq!(
        manifest["requestHooks"][3],
        json!({ "id": "after-response", "phase": "afterHandler", "order": 10, "summary": "adds afterHandler" })
    );
    assert_eq!(
        manifest["routes"][0]["requestHooks"][0],
        json!({ "id": "after-second" })
    );
}
