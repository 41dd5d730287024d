//! The bench routes on webstir, written the way an app author would write them.
//!
//! `GET /api/hello`, `GET /api/items/:id`, `POST /api/echo` (validated JSON body) and, with the `db`
//! feature, `GET /api/db/:id` (one row by primary key through `ctx.db()`, SQLite or PostgreSQL by
//! `DATABASE_URL`). `/healthz` is built into the runtime. With `db` too: `GET /api/session/page`, an
//! HTML page for a session-authenticated user (the SQLite session store of production), after
//! `POST /api/session/sign-in` set the cookie.

use serde::{Deserialize, Serialize};
use webstir::{Ctx, Error, Module, Reply, Result, Route};

async fn hello(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::json(&serde_json::json!({ "message": "Hello, World!" })))
}

#[derive(Serialize)]
struct Item {
    id: u64,
    name: String,
}

async fn item(ctx: Ctx) -> Result<Reply> {
    let id: u64 = ctx.param_as("id")?;
    Ok(Reply::json(&Item {
        id,
        name: format!("item {id}"),
    }))
}

#[derive(Deserialize, Serialize)]
struct Echo {
    name: String,
    email: String,
    age: u32,
}

async fn echo(ctx: Ctx) -> Result<Reply> {
    let input: Echo = ctx.json()?;
    if input.name.is_empty() || input.name.chars().count() > 100 {
        return Err(Error::validation("name must be 1-100 characters"));
    }
    if input.email.len() > 254 || !input.email.contains('@') {
        return Err(Error::validation("email must be an email address"));
    }
    if input.age > 150 {
        return Err(Error::validation("age must be 0-150"));
    }
    Ok(Reply::json(&input))
}

#[cfg(feature = "db")]
#[derive(Deserialize, Serialize)]
struct World {
    id: i64,
    #[serde(rename(serialize = "randomNumber"))]
    randomnumber: i64,
}

#[cfg(feature = "db")]
async fn db_row(ctx: Ctx) -> Result<Reply> {
    let id: i64 = ctx.param_as("id")?;
    let row: World = ctx
        .db()
        .query_one(
            "SELECT id, randomnumber FROM world WHERE id = ?",
            &[webstir::Value::Int(id)],
        )
        .await?;
    Ok(Reply::json(&row))
}

#[cfg(feature = "db")]
async fn sign_in(ctx: Ctx) -> Result<Reply> {
    let session = ctx.session()?;
    session.regenerate()?;
    session.insert("user", "ada@example.com")?;
    Ok(Reply::redirect("/api/session/page"))
}

#[cfg(feature = "db")]
async fn session_page(ctx: Ctx) -> Result<Reply> {
    let user: String = ctx
        .session()?
        .get("user")?
        .ok_or_else(|| Error::unauthorized("sign in first"))?;
    let user = user
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Ok(Reply::html(format!(
        "<!doctype html><html><head><title>Notes</title></head>\
         <body><h1>Hello, {user}</h1><p>Your session page.</p></body></html>"
    )))
}

fn module() -> Module {
    let module = Module::new("@bench/webstir-app", "0.0.0")
        .capabilities(["http"])
        .route(Route::get("/api/hello").name("hello").handler(hello))
        .route(Route::get("/api/items/:id").name("item").handler(item))
        .route(Route::post("/api/echo").name("echo").handler(echo));
    #[cfg(feature = "db")]
    let module = module
        .route(Route::get("/api/db/:id").name("dbRow").handler(db_row))
        .route(
            Route::post("/api/session/sign-in")
                .name("signIn")
                .session(webstir::SessionMode::Optional, true)
                .handler(sign_in),
        )
        .route(
            Route::get("/api/session/page")
                .name("sessionPage")
                .session(webstir::SessionMode::Required, false)
                .handler(session_page),
        );
    module
}

fn main() -> std::process::ExitCode {
    webstir::run(module())
}
