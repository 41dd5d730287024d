//! HTTP/1.1 hygiene over raw TCP: `Host` rules (RFC 9112 §3.2), `nosniff` and `x-request-id` on
//! every response.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::start;

/// Send `request` on a fresh connection and read until the server closes it.
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server answered and closed")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn host_is_required_once_on_http_1_1_and_optional_on_1_0() {
    let app = start(&[]).await;
    let addr = app.client.addr();

    let missing = raw(addr, "GET /items/1 HTTP/1.1\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
    assert!(missing.contains(r#""error":"bad_request""#), "{missing}");
    assert!(missing.contains("Host"), "{missing}");
    assert!(header(&missing, "x-request-id").is_some(), "{missing}");
    assert_eq!(header(&missing, "x-content-type-options"), Some("nosniff"));

    let twice = raw(
        addr,
        "GET /items/1 HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(twice.starts_with("HTTP/1.1 400"), "{twice}");
    assert!(twice.contains(r#""error":"bad_request""#), "{twice}");
    // Before routing: an unknown path is 400 too, not 404.
    let unknown = raw(addr, "GET /nope HTTP/1.1\r\n\r\n").await;
    assert!(unknown.starts_with("HTTP/1.1 400"), "{unknown}");
    // Probes follow the same rule.
    let probe = raw(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
    assert!(probe.starts_with("HTTP/1.1 400"), "{probe}");

    // HTTP/1.0 may omit Host, but not repeat it.
    let old = raw(addr, "GET /items/1 HTTP/1.0\r\n\r\n").await;
    assert!(
        old.starts_with("HTTP/1.0 200") || old.starts_with("HTTP/1.1 200"),
        "{old}"
    );
    let old_twice = raw(addr, "GET /items/1 HTTP/1.0\r\nhost: a\r\nhost: b\r\n\r\n").await;
    assert!(old_twice.contains(" 400 "), "{old_twice}");

    let fine = raw(
        addr,
        "GET /items/1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine}");
    app.stop().await;
}

#[tokio::test]
async fn every_response_is_nosniff_and_carries_a_request_id() {
    let app = start(&[]).await;
    let addr = app.client.addr();
    let requests = [
        ("GET /items/1", "200"),
        ("GET /nope", "404"),
        ("POST /items/1", "405"),
        ("GET /boom", "500"),
        ("OPTIONS /items/1", "204"),
        ("OPTIONS /anything", "204"),
    ];
    for (line, status) in requests {
        let res = raw(
            addr,
            &format!("{line} HTTP/1.1\r\nhost: x\r\naccess-control-request-method: GET\r\nconnection: close\r\n\r\n"),
        )
        .await;
        assert!(
            res.starts_with(&format!("HTTP/1.1 {status}")),
            "{line}: {res}"
        );
        assert_eq!(
            header(&res, "x-content-type-options"),
            Some("nosniff"),
            "{line}: {res}"
        );
        assert!(header(&res, "x-request-id").is_some(), "{line}: {res}");
    }
    // The client's id is echoed on a preflight too.
    let res = raw(
        addr,
        "OPTIONS /items/1 HTTP/1.1\r\nhost: x\r\nx-request-id: pre-1\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(header(&res, "x-request-id"), Some("pre-1"), "{res}");
    // Probes are not routes, but are not sniffed either.
    let res = raw(
        addr,
        "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        header(&res, "x-content-type-options"),
        Some("nosniff"),
        "{res}"
    );
    app.stop().await;

    // `SECURITY_HEADERS=off` turns `nosniff` off with the others.
    let app = start(&[("SECURITY_HEADERS", "off")]).await;
    let res = raw(
        app.client.addr(),
        "GET /items/1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(header(&res, "x-content-type-options"), None, "{res}");
    app.stop().await;
}
