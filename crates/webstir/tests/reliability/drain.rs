//! SIGTERM with 200 requests in flight and server-sent-event streams open: every in-flight request
//! gets its full answer, every stream ends with the chunked terminator, the process exits 0 within
//! `SHUTDOWN_GRACE_MS`. A stream that ignores shutdown is cut at the grace period, and the exit
//! code is still 0 (the README's documented code for a signal-initiated stop).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use webstir_test::TestProcess;

use crate::{BOUND, example_bin};

const IN_FLIGHT: usize = 200;
const STREAMS: usize = 5;

async fn spawn(grace_ms: &str) -> (TestProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(example_bin("drain_fixture"));
    cmd.current_dir(dir.path())
        .env("WORKSPACE_ROOT", dir.path())
        .env("SHUTDOWN_GRACE_MS", grace_ms)
        .env("LOG_LEVEL", "info")
        .env_remove("RUST_LOG")
        .env_remove("REQUEST_TIMEOUT_MS")
        .env_remove("HTTP_MAX_CONNECTIONS");
    let server = TestProcess::spawn(cmd).await.unwrap();
    (server, dir)
}

/// Send `GET path` on a fresh connection; returns the stream once the request is written.
async fn open(server: &TestProcess, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    stream
}

/// Read until `needle` has arrived; returns what was read.
async fn read_until(stream: &mut TcpStream, needle: &str) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("data within the bound")
            .unwrap();
        assert!(n > 0, "closed before {needle:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

/// Read to the end of the connection (bounded); `Err` text when the connection was reset.
async fn read_rest(stream: &mut TcpStream, mut seen: Vec<u8>) -> (String, bool) {
    let mut buf = [0u8; 4096];
    let clean = loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("the server closes the connection within the bound")
        {
            Ok(0) => break true,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&seen).into_owned(), clean)
}

#[tokio::test]
async fn sigterm_with_200_requests_in_flight_and_streams_open_drains_and_exits_zero() {
    let grace = Duration::from_millis(10_000);
    let (mut server, _dir) = spawn("10000").await;

    let mut holds = Vec::new();
    for _ in 0..IN_FLIGHT {
        let mut stream = open(&server, "/hold").await;
        holds.push(tokio::spawn(async move {
            read_rest(&mut stream, Vec::new()).await
        }));
    }
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut stream = open(&server, "/ticks").await;
        // At least one event has arrived before the signal.
        let seen = read_until(&mut stream, "event: tick").await;
        streams.push(tokio::spawn(
            async move { read_rest(&mut stream, seen).await },
        ));
    }
    // Every /hold request is inside its handler (the fixture counts them) before the signal.
    let client = server.client();
    let deadline = Instant::now() + BOUND;
    loop {
        let n = client.get("/inflight").await.unwrap().text();
        if n == IN_FLIGHT.to_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {IN_FLIGHT} in flight"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let signalled = Instant::now();
    server.signal("TERM").unwrap();
    let status = server.wait(grace + BOUND).await.unwrap();
    let exit_after = signalled.elapsed();

    let mut ok = 0;
    for hold in holds {
        let (text, clean) = hold.await.unwrap();
        assert!(clean, "connection reset: {text}");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.ends_with("done"), "{text}");
        ok += 1;
    }
    for stream in streams {
        let (text, clean) = stream.await.unwrap();
        assert!(clean, "stream reset: {text}");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("text/event-stream"), "{text}");
        assert!(
            text.ends_with("0\r\n\r\n"),
            "the stream ends with the chunked terminator: {text:?}"
        );
    }
    eprintln!(
        "drain: {ok}/{IN_FLIGHT} in-flight requests answered 200, {STREAMS}/{STREAMS} streams ended cleanly, exit {:?} {} ms after SIGTERM (grace {} ms)",
        status.code(),
        exit_after.as_millis(),
        grace.as_millis()
    );
    assert_eq!(status.code(), Some(0), "{:?}", server.output());
    assert!(
        exit_after < grace,
        "exited {exit_after:?} after SIGTERM, grace {grace:?}"
    );
    assert!(
        !server
            .output()
            .iter()
            .any(|l| l.contains("shutdown grace period over")),
        "nothing had to be dropped"
    );
}

#[tokio::test]
async fn a_stream_that_ignores_shutdown_is_cut_at_the_grace_period_and_the_exit_is_still_zero() {
    let grace = Duration::from_millis(1_000);
    let (mut server, _dir) = spawn("1000").await;
    let mut stream = open(&server, "/endless").await;
    let seen = read_until(&mut stream, "x\n").await;
    let reader = tokio::spawn(async move { read_rest(&mut stream, seen).await });

    let signalled = Instant::now();
    server.signal("TERM").unwrap();
    let status = server.wait(grace + BOUND).await.unwrap();
    let exit_after = signalled.elapsed();
    let (text, _clean) = reader.await.unwrap();
    eprintln!(
        "drain: endless stream cut, exit {:?} {} ms after SIGTERM (grace {} ms)",
        status.code(),
        exit_after.as_millis(),
        grace.as_millis()
    );
    assert_eq!(status.code(), Some(0), "{:?}", server.output());
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the endless body was cut, not finished"
    );
    assert!(exit_after >= grace, "the stream had the whole grace period");
    assert!(
        server
            .output()
            .iter()
            .any(|l| l.contains("shutdown grace period over")),
        "{:?}",
        server.output()
    );
}
