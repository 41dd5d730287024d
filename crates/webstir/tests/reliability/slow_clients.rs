//! Slow clients over raw TCP: slowloris (a request head at 1 byte/s) and slow bodies (1 byte/s).
//! Each socket is closed within its configured timeout + 2 s, and a well-behaved client keeps
//! getting fast answers meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webstir::{Config, Ctx, Env, Module, Reply, Result, Route, Server};
use webstir_test::TestClient;

use crate::BOUND;

const ATTACKERS: usize = 20;
/// The slack the issue allows past the configured timeout.
const SLACK: Duration = Duration::from_secs(2);

async fn echo(ctx: Ctx) -> Result<Reply> {
    let body = ctx.text()?.to_owned();
    Ok(Reply::text(body))
}

fn module() -> Module {
    Module::new("@test/slow-clients", "0.1.0")
        .route(
            Route::get("/items/:id")
                .name("item")
                .handler(|| async { Reply::text("item") }),
        )
        .route(Route::post("/echo").name("echo").handler(echo))
}

async fn serve(pairs: &[(&str, &str)]) -> (TestClient, tokio::sync::oneshot::Sender<()>) {
    let mut all = vec![("PORT", "0")];
    all.extend_from_slice(pairs);
    let env = Env::from_pairs(all);
    let config = Config::from_env(&env).unwrap();
    let server = Server::bind(&module(), env, config).await.unwrap();
    let client = TestClient::new(server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server
            .serve(async move {
                let _ = rx.await;
            })
            .await;
    });
    (client, tx)
}

/// Connect, send `head` at once, then drip `drip` one byte per second until the server closes the
/// connection. Returns how long the connection lived and what the server answered.
async fn drip(client: TestClient, head: &'static [u8], drip: &'static [u8]) -> (Duration, String) {
    let started = Instant::now();
    let stream = TcpStream::connect(client.addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(head).await.unwrap();
    let dripping = tokio::spawn(async move {
        for byte in drip.iter().cycle() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if write.write_all(std::slice::from_ref(byte)).await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    dripping.abort();
    assert!(
        closed.is_ok(),
        "the server never closed the slow connection"
    );
    (
        started.elapsed(),
        String::from_utf8_lossy(&answer).into_owned(),
    )
}

/// A well-behaved client: `GET /items/1` every 100 ms until `stop`; returns (requests, slowest).
fn bystander(
    client: TestClient,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(usize, Duration)> {
    tokio::spawn(async move {
        let (mut count, mut slowest) = (0, Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let res = tokio::time::timeout(BOUND, client.get("/items/1"))
                .await
                .expect("a bystander request hung")
                .unwrap();
            assert_eq!(res.status, 200, "{}", res.text());
            slowest = slowest.max(started.elapsed());
            count += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (count, slowest)
    })
}

async fn attack(
    client: TestClient,
    head: &'static [u8],
    bytes: &'static [u8],
) -> (Vec<(Duration, String)>, usize, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = bystander(client, stop.clone());
    let mut attackers = Vec::new();
    for _ in 0..ATTACKERS {
        attackers.push(tokio::spawn(drip(client, head, bytes)));
    }
    let mut results = Vec::new();
    for attacker in attackers {
        results.push(attacker.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let (count, slowest) = watcher.await.unwrap();
    (results, count, slowest)
}

#[tokio::test]
async fn slowloris_heads_at_one_byte_a_second_are_closed_within_the_header_timeout() {
    let timeout = Duration::from_millis(1_500);
    let (client, stop) = serve(&[("HTTP_HEADER_TIMEOUT_MS", "1500")]).await;
    let (results, count, slowest) = attack(
        client,
        b"GET /items/1 HTTP/1.1\r\nhost: x\r\n",
        b"x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    )
    .await;
    let longest = results.iter().map(|(d, _)| *d).max().unwrap();
    eprintln!(
        "slowloris: {ATTACKERS} heads at 1 byte/s closed after at most {} ms (HTTP_HEADER_TIMEOUT_MS {}); bystander: {count} requests, all 200, slowest {} ms",
        longest.as_millis(),
        timeout.as_millis(),
        slowest.as_millis()
    );
    for (lived, answer) in &results {
        assert!(!answer.contains(" 200 "), "{answer}");
        assert!(
            *lived <= timeout + SLACK,
            "a slowloris connection lived {lived:?}"
        );
    }
    assert!(count > 0);
    assert!(slowest < SLACK, "the bystander waited {slowest:?}");
    let _ = stop.send(());
}

#[tokio::test]
async fn bodies_at_one_byte_a_second_are_408_within_the_request_timeout() {
    let timeout = Duration::from_millis(1_500);
    let (client, stop) = serve(&[("REQUEST_TIMEOUT_MS", "1500")]).await;
    let (results, count, slowest) = attack(
        client,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n",
        b"slow body ",
    )
    .await;
    let longest = results.iter().map(|(d, _)| *d).max().unwrap();
    eprintln!(
        "slow bodies: {ATTACKERS} bodies at 1 byte/s answered 408 and closed after at most {} ms (REQUEST_TIMEOUT_MS {}); bystander: {count} requests, all 200, slowest {} ms",
        longest.as_millis(),
        timeout.as_millis(),
        slowest.as_millis()
    );
    for (lived, answer) in &results {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        assert!(*lived <= timeout + SLACK, "a slow body lived {lived:?}");
    }
    assert!(count > 0);
    assert!(slowest < SLACK, "the bystander waited {slowest:?}");
    let _ = stop.send(());
}
