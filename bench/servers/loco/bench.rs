//! The bench routes on Loco 1.2 (copied into a generated lightweight app's src/controllers/ by
//! bench/run --with-loco; patch.py registers it). Loco's default production middleware stays on.

use loco_rs::prelude::*;
use serde::{Deserialize, Serialize};

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

async fn healthz() -> Result<Response> {
    let uptime = STARTED.get_or_init(std::time::Instant::now).elapsed().as_secs_f64();
    format::json(serde_json::json!({ "ok": true, "uptime": uptime }))
}

async fn hello() -> Result<Response> {
    format::json(serde_json::json!({ "message": "Hello, World!" }))
}

#[derive(Serialize)]
struct Item {
    id: u64,
    name: String,
}

async fn item(Path(id): Path<u64>) -> Result<Response> {
    format::json(Item { id, name: format!("item {id}") })
}

#[derive(Deserialize, Serialize)]
struct Echo {
    name: String,
    email: String,
    age: u32,
}

async fn echo(Json(input): Json<Echo>) -> Result<Response> {
    if input.name.is_empty() || input.name.chars().count() > 100 {
        return Err(Error::BadRequest("name must be 1-100 characters".into()));
    }
    if input.email.len() > 254 || !input.email.contains('@') {
        return Err(Error::BadRequest("email must be an email address".into()));
    }
    if input.age > 150 {
        return Err(Error::BadRequest("age must be 0-150".into()));
    }
    format::json(input)
}

pub fn routes() -> Routes {
    Routes::new()
        .add("/healthz", get(healthz))
        .add("/api/hello", get(hello))
        .add("/api/items/{id}", get(item))
        .add("/api/echo", post(echo))
}
