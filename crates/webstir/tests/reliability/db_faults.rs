//! PostgreSQL unreachable under load, through a TCP proxy in front of the shared server that the
//! test cuts and restores (the server itself is never stopped): while it is down every request is
//! a 503 well within `REQUEST_TIMEOUT_MS` (never a hang), `/readyz` is 503, and once it is back the
//! service resumes by itself. The SQLite half (a file locked by another process) is in
//! `examples/accounts/tests/it/faults.rs`, where the log lines of a real process can be read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use webstir::{Config, Ctx, Env, Module, Reply, Result, Route, Server, params};
use webstir_test::TestClient;

use crate::BOUND;

const WORKERS: usize = 16;
const REQUEST_TIMEOUT: Duration = Duration::from_millis(3_000);

async fn one(ctx: Ctx) -> Result<Reply> {
    let n: i64 = ctx.db().query_one("SELECT 1", params![]).await?;
    Ok(Reply::text(n.to_string()))
}

/// A TCP proxy in front of PostgreSQL that the test can cut (listener and every proxied
/// connection dropped) and restore on the same port.
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
            while let Ok((mut inbound, _)) = listener.accept().await {
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
            task.abort();
        }
    }
}

#[derive(Default)]
struct Tally {
    ok: usize,
    unavailable: usize,
    other: Vec<u16>,
    slowest: Duration,
}

/// `WORKERS` clients calling `GET /one` back to back until `stop`.
fn load(client: TestClient, stop: Arc<AtomicBool>) -> Vec<JoinHandle<Tally>> {
    (0..WORKERS)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let res = tokio::time::timeout(BOUND, client.get("/one"))
                        .await
                        .expect("a request hung past the bound")
                        .unwrap();
                    tally.slowest = tally.slowest.max(started.elapsed());
                    match res.status {
                        200 => tally.ok += 1,
                        503 => tally.unavailable += 1,
                        other => tally.other.push(other),
                    }
                }
                tally
            })
        })
        .collect()
}

async fn finish(workers: Vec<JoinHandle<Tally>>, stop: &AtomicBool) -> Tally {
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for worker in workers {
        let t = worker.await.unwrap();
        total.ok += t.ok;
        total.unavailable += t.unavailable;
        total.other.extend(t.other);
        total.slowest = total.slowest.max(t.slowest);
    }
    total
}

/// Poll `/readyz` until it answers `want` (bounded).
async fn ready_becomes(client: &TestClient, want: u16) {
    let deadline = Instant::now() + BOUND;
    loop {
        let status = client.get("/readyz").await.unwrap().status;
        if status == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {status}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn postgres_unreachable_under_load_is_503_then_service_resumes_by_itself() {
    let Ok(pg) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") else {
        eprintln!("skipping: WEBSTIR_TEST_POSTGRES_URL not set");
        return;
    };
    let upstream: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let mut proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream).await;
    let url = pg.replacen(
        "127.0.0.1:5432",
        &format!("127.0.0.1:{}", proxy.addr.port()),
        1,
    );
    assert_ne!(
        url, pg,
        "WEBSTIR_TEST_POSTGRES_URL must point at 127.0.0.1:5432"
    );

    let env = Env::from_pairs([
        ("PORT", "0"),
        ("DATABASE_URL", url.as_str()),
        ("MIGRATE_ON_START", "off"),
        ("REQUEST_TIMEOUT_MS", "3000"),
    ]);
    let config = Config::from_env(&env).unwrap();
    let module = Module::new("@test/pg-faults", "0.1.0")
        .capabilities(["db"])
        .route(Route::get("/one").name("one").handler(one));
    let server = Server::bind(&module, env, config).await.unwrap();
    let client = TestClient::new(server.local_addr());
    let (stop_server, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server
            .serve(async move {
                let _ = rx.await;
            })
            .await;
    });
    ready_becomes(&client, 200).await;

    // Up: every request is served.
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(client, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let up = finish(workers, &stop).await;
    assert!(
        up.ok > 0 && up.unavailable == 0 && up.other.is_empty(),
        "up: {} ok, {} 503, {:?}",
        up.ok,
        up.unavailable,
        up.other
    );

    // Down, under load: 503s, none slower than the request timeout, /readyz 503, liveness fine.
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(client, stop.clone());
    proxy.cut();
    ready_becomes(&client, 503).await;
    let body = client.get("/readyz").await.unwrap().json();
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("database"),
        "{body}"
    );
    assert_eq!(client.get("/healthz").await.unwrap().status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let down = finish(workers, &stop).await;
    // Now every request is a 503; measure that phase on its own.
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(client, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let steady_down = finish(workers, &stop).await;

    // Stalled: the port accepts connections but nothing answers (a host that went silent):
    // requests still end as 503 by the request timeout, never a hang.
    let silent = TcpListener::bind(proxy.addr).await.unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(client, stop.clone());
    tokio::time::sleep(REQUEST_TIMEOUT + Duration::from_secs(2)).await;
    let stalled = finish(workers, &stop).await;
    holder.abort();
    let _ = holder.await;

    // Back: restored on the same port; the service resumes without a restart.
    let _proxy = Proxy::start(proxy.addr, upstream).await;
    let restored = Instant::now();
    ready_becomes(&client, 200).await;
    let deadline = Instant::now() + BOUND;
    while client.get("/one").await.unwrap().status != 200 {
        assert!(Instant::now() < deadline, "requests did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed_after = restored.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(client, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let back = finish(workers, &stop).await;

    eprintln!(
        "postgres faults ({WORKERS} clients, REQUEST_TIMEOUT_MS {}): up {} ok; cut: {} ok, {} 503, other {:?}, slowest {} ms; down: {} 503, {} ok, other {:?}, slowest {} ms; stalled: {} 503, {} ok, other {:?}, slowest {} ms; resumed {} ms after restore; back {} ok, {} 503",
        REQUEST_TIMEOUT.as_millis(),
        up.ok,
        down.ok,
        down.unavailable,
        down.other,
        down.slowest.as_millis(),
        steady_down.unavailable,
        steady_down.ok,
        steady_down.other,
        steady_down.slowest.as_millis(),
        stalled.unavailable,
        stalled.ok,
        stalled.other,
        stalled.slowest.as_millis(),
        resumed_after.as_millis(),
        back.ok,
        back.unavailable
    );
    assert!(
        down.other.is_empty() && steady_down.other.is_empty(),
        "only 200 or 503 while it goes down"
    );
    assert!(
        down.slowest < REQUEST_TIMEOUT + Duration::from_secs(2),
        "a request hung {:?}",
        down.slowest
    );
    assert!(
        steady_down.unavailable > 0 && steady_down.ok == 0,
        "down means 503"
    );
    assert!(
        steady_down.slowest < REQUEST_TIMEOUT + Duration::from_secs(2),
        "a request hung {:?}",
        steady_down.slowest
    );
    assert!(
        stalled.unavailable > 0 && stalled.ok == 0 && stalled.other.is_empty(),
        "a silent database means 503"
    );
    assert!(
        stalled.slowest < REQUEST_TIMEOUT + Duration::from_secs(2),
        "a request hung {:?}",
        stalled.slowest
    );
    assert!(
        back.ok > 0 && back.unavailable == 0 && back.other.is_empty(),
        "back: {} ok, {} 503, {:?}",
        back.ok,
        back.unavailable,
        back.other
    );
    let _ = stop_server.send(());
}
