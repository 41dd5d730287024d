use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webstir_manifest::ModuleManifest;
use webstir_test::TestProcess;

use crate::{command, spawn};

#[tokio::test]
async fn manifest_subcommand_prints_a_valid_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("manifest").output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let manifest =
        ModuleManifest::from_json(&text).expect("manifest validates against the contract");
    assert_eq!(manifest.contract_version, "1.0.0");
    assert_eq!(manifest.name, "@demo/accounts");
    let keys: Vec<String> = manifest
        .routes
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.name))
        .collect();
    assert!(
        keys.contains(&"GET /api/accounts listAccounts".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"POST /api/accounts createAccount".to_owned()));
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["kind"], "backend");
    let greeting = raw["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "greeting")
        .unwrap();
    assert_eq!(greeting["fragment"]["target"], "greeting");
    assert_eq!(
        raw["routes"][0]["tags"],
        serde_json::json!(["accounts", "api"])
    );
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let (server, dir) = spawn().await;
    let bearer = crate::token(dir.path(), "user-1", &[]).await;
    let res = server
        .client()
        .request(
            http::Method::POST,
            "/api/accounts",
            &[
                ("content-type", "application/json"),
                ("x-request-id", "trace-me-123"),
                ("authorization", &bearer),
            ],
            bytes::Bytes::from_static(br#"{"email":"log@example.com"}"#),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines: Vec<serde_json::Value> = server
        .output()
        .iter()
        .filter(|l| l.contains("trace-me-123"))
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"account created"), "{lines:?}");
    assert!(messages.contains(&"request.completed"), "{lines:?}");
    let done = lines
        .iter()
        .find(|l| l["message"] == "request.completed")
        .unwrap();
    assert_eq!(done["status"], 201);
    assert_eq!(done["span"]["route"], "createAccount");
    assert_eq!(done["span"]["method"], "POST");
    assert!(done["duration_ms"].as_f64().is_some());
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_request_finish_and_exits_zero() {
    let (mut server, dir) = spawn().await;
    let bearer = crate::token(dir.path(), "user-1", &[]).await;
    let body = br#"{"email":"inflight@example.com","name":"In Flight"}"#;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /api/accounts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: {bearer}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("TERM").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused once shutdown began.
    assert!(server.client().get("/healthz").await.is_err());
    stream.write_all(&body[10..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("inflight@example.com"));
    let status = server.wait(Duration::from_secs(10)).await.unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn sigint_on_an_idle_server_exits_zero() {
    let (mut server, _dir) = spawn().await;
    server.signal("INT").unwrap();
    let status = server.wait(Duration::from_secs(10)).await.unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn env_files_load_in_order_and_the_real_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "REQUEST_BODY_MAX_BYTES=10\n").unwrap();
    std::fs::write(
        dir.path().join(".env.local"),
        "# local\nREQUEST_BODY_MAX_BYTES=\"100\"\n",
    )
    .unwrap();
    let body = b"name=envfile-0123456789012345678"; // 31 bytes
    let post = |server: &TestProcess| {
        let client = server.client();
        async move {
            client
                .request(
                    http::Method::POST,
                    "/api/welcome",
                    &[("content-type", "application/x-www-form-urlencoded")],
                    bytes::Bytes::from_static(body),
                )
                .await
        }
    };
    let server = TestProcess::spawn(command(dir.path())).await.unwrap();
    assert_eq!(
        post(&server).await.unwrap().status,
        303,
        ".env.local beats .env"
    );
    drop(server);
    let mut cmd = command(dir.path());
    cmd.env("REQUEST_BODY_MAX_BYTES", "20");
    let server = TestProcess::spawn(cmd).await.unwrap();
    let res = post(&server).await.unwrap();
    assert_eq!(res.status, 413, "the real environment beats both files");
    assert_eq!(res.json()["error"], "payload_too_large");
}

#[tokio::test]
async fn a_bad_setting_stops_startup_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .env("PORT", "eighty")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PORT must be a port number (0-65535), got 'eighty'"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_busy_port_is_reported_clearly() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .env("PORT", &port)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not listen on 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("set PORT"), "{stderr}");
}
