//! The bench routes on bare hyper 1: the limit webstir is measured against.
//!
//! No framework, no middleware, no logging: a `match` on the path, serde_json for bodies, and the fastest
//! drivers measured on this machine (`shared/reference/performance.md` §B.4): rusqlite inline on the worker
//! thread with `prepare_cached`, and one shared, pipelined tokio-postgres client with a prepared statement.
//!
//! Env: `PORT` (4000), `HOST` (127.0.0.1), `DATABASE_URL` (a SQLite file path / `file:` URL, or `postgres://…`).

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

const BODY_LIMIT: usize = 1024 * 1024;

enum Db {
    None,
    Sqlite(String),
    Postgres(tokio_postgres::Client, tokio_postgres::Statement),
}

static DB: OnceLock<Db> = OnceLock::new();
static STARTED: OnceLock<Instant> = OnceLock::new();

thread_local! {
    static SQLITE: RefCell<Option<rusqlite::Connection>> = const { RefCell::new(None) };
}

#[derive(Deserialize, Serialize)]
struct Echo {
    name: String,
    email: String,
    age: u32,
}

impl Echo {
    fn validate(&self) -> Result<(), &'static str> {
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err("name must be 1-100 characters");
        }
        if self.email.len() > 254 || !self.email.contains('@') {
            return Err("email must be an email address");
        }
        if self.age > 150 {
            return Err("age must be 0-150");
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct Item<'a> {
    id: u64,
    name: &'a str,
}

#[derive(Serialize)]
struct World {
    id: i64,
    #[serde(rename = "randomNumber")]
    random_number: i64,
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] });
    json(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn sqlite_row(path: &str, id: i64) -> rusqlite::Result<World> {
    SQLITE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(rusqlite::Connection::open(path)?);
        }
        let conn = slot.as_ref().expect("just opened");
        let mut stmt = conn.prepare_cached("SELECT id, randomnumber FROM world WHERE id = ?1")?;
        stmt.query_row([id], |row| {
            Ok(World {
                id: row.get(0)?,
                random_number: row.get(1)?,
            })
        })
    })
}

async fn db_route(id: &str) -> Response<Full<Bytes>> {
    let Ok(id) = id.parse::<i64>() else {
        return error(StatusCode::BAD_REQUEST, "validation", "id must be an integer");
    };
    let row = match DB.get() {
        Some(Db::Sqlite(path)) => sqlite_row(path, id).map_err(|e| e.to_string()),
        Some(Db::Postgres(client, stmt)) => match client.query_one(stmt, &[&id]).await {
            Ok(row) => Ok(World {
                id: row.get(0),
                random_number: row.get(1),
            }),
            Err(e) => Err(e.to_string()),
        },
        _ => Err("no DATABASE_URL".to_owned()),
    };
    match row {
        Ok(world) => json(StatusCode::OK, serde_json::to_vec(&world).unwrap_or_default()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e),
    }
}

async fn echo(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(req.into_body(), BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "body too large"),
    };
    let input: Echo = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "validation", &e.to_string()),
    };
    if let Err(message) = input.validate() {
        return error(StatusCode::BAD_REQUEST, "validation", message);
    }
    json(StatusCode::OK, serde_json::to_vec(&input).unwrap_or_default())
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    let res = match (req.method(), path) {
        (&Method::GET, "/healthz") => {
            let uptime = STARTED.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
            json(StatusCode::OK, format!("{{\"ok\":true,\"uptime\":{uptime}}}").into_bytes())
        }
        (&Method::GET, "/api/hello") => json(
            StatusCode::OK,
            serde_json::to_vec(&serde_json::json!({ "message": "Hello, World!" })).unwrap_or_default(),
        ),
        (&Method::POST, "/api/echo") => echo(req).await,
        (&Method::GET, p) if p.starts_with("/api/items/") => match p["/api/items/".len()..].parse::<u64>() {
            Ok(id) => {
                let name = format!("item {id}");
                json(StatusCode::OK, serde_json::to_vec(&Item { id, name: &name }).unwrap_or_default())
            }
            Err(_) => error(StatusCode::BAD_REQUEST, "validation", "id must be an integer"),
        },
        (&Method::GET, p) if p.starts_with("/api/db/") => db_route(&p["/api/db/".len()..]).await,
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    };
    Ok(res)
}

async fn open_db() -> Db {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        return Db::None;
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect to DATABASE_URL");
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("postgres connection ended: {e}");
            }
        });
        let stmt = client
            .prepare("SELECT id, randomnumber FROM world WHERE id = $1")
            .await
            .expect("prepare");
        Db::Postgres(client, stmt)
    } else {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("file://")
            .trim_start_matches("sqlite:")
            .trim_start_matches("file:");
        Db::Sqlite(path.to_owned())
    }
}

#[tokio::main]
async fn main() {
    STARTED.get_or_init(Instant::now);
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(4000);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let _ = DB.set(open_db().await);
    let listener = TcpListener::bind((host.as_str(), port)).await.expect("bind");
    println!("API server running {{\"port\":{port}}}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
