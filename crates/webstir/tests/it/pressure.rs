//! Under pressure: at `HTTP_MAX_CONNECTIONS`, and out of file descriptors (a child process with a
//! low `RLIMIT_NOFILE`), idle keep-alive connections make room for new clients.

use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::start;

/// A keep-alive connection that has had one request answered and is now idle.
async fn idle_connection(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /items/1 HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("answered")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    stream
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let app = start(&[("HTTP_MAX_CONNECTIONS", "4")]).await;
    // The readiness probe in `start` used a slot; let it come back.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(idle_connection(app.client.addr()).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every slot is held by an idle keep-alive connection (idle timeout 60 s): a new client, the
    // health probe included, is answered within seconds.
    let health = tokio::time::timeout(Duration::from_secs(10), app.client.get("/healthz"))
        .await
        .expect("the probe is answered at the cap")
        .unwrap();
    assert_eq!(health.status, 200);
    let res = tokio::time::timeout(Duration::from_secs(10), app.client.get("/items/2"))
        .await
        .expect("a new client is answered at the cap")
        .unwrap();
    assert_eq!(res.status, 200);
    // The longest-idle connection was the one closed.
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "the longest-idle connection was closed"
    );
    app.stop().await;
}

const CHILD: &str = "WEBSTIR_IT_PRESSURE_CHILD";

/// The server run by [`out_of_descriptors_idle_connections_make_room_and_errors_are_not_spammed`]
/// in a child process with a low descriptor limit: logs to stdout, prints its address, serves until
/// its stdin closes.
#[tokio::test]
#[ignore = "run in a child process by out_of_descriptors_…"]
async fn child_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .try_init();
    let app = start(&[]).await;
    println!("LISTENING {}", app.client.addr());
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    app.stop().await;
}

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn out_of_descriptors_idle_connections_make_room_and_errors_are_not_spammed() {
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg("--")
        .arg(exe)
        .args([
            "--exact",
            "pressure::child_server",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD, "1")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the server with a low descriptor limit");
    let mut child = Kill(child);
    let stdout = child.0.stdout.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("LISTENING ") {
                let _ = addr_tx.send(addr.parse::<std::net::SocketAddr>().unwrap());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child server started");

    // Twice as many keep-alive connections as the child has descriptors: each one is answered,
    // the longest-idle ones being closed to make room.
    let mut held = Vec::new();
    for i in 0..128 {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /items/1 HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|err| panic!("client {i} was not served: {err}"));
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "client {i}"
        );
        held.push(stream);
    }
    // The probe still answers.
    let mut probe = std::net::TcpStream::connect(addr).unwrap();
    probe
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    probe.read_to_string(&mut out).expect("the probe answered");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    drop(held);
    drop(child);

    let log = log.lock().unwrap();
    let failures = log.iter().filter(|l| l.contains("accept failed")).count();
    assert!(
        (1..=10).contains(&failures),
        "the descriptor limit was reached, and logged a few times at most ({failures} lines):\n{}",
        log.join("\n")
    );
}
