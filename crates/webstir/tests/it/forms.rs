//! Multipart forms over a real socket (text fields into a type, files streamed to temporary files
//! that are removed afterwards, hostile bodies refused with stable codes) and password hashing.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::json;
use webstir::extract::{Multipart, UploadedFile};
use webstir::testing::TestApp;
use webstir::{Module, Reply, Route};
use webstir_test::TestClient;

#[derive(Debug, Deserialize)]
struct Profile {
    name: String,
    age: u32,
}

/// Paths of the temporary files the handler saw, to check they are gone afterwards.
type Seen = Arc<Mutex<Vec<std::path::PathBuf>>>;

fn module(seen: Seen) -> Module {
    let upload = move |form: Multipart<Profile>| {
        let seen = seen.clone();
        async move {
            let mut files = Vec::new();
            for file in &form.files {
                assert!(file.path().is_file(), "the part is on disk while handled");
                seen.lock().unwrap().push(file.path().to_path_buf());
                let bytes = file.bytes().await.unwrap();
                files.push(json!({
                    "field": file.field(),
                    "fileName": file.file_name(),
                    "contentType": file.content_type(),
                    "len": file.len(),
                    "sha": bytes.iter().map(|b| u64::from(*b)).sum::<u64>(),
                }));
            }
            Ok::<Reply, webstir::Error>(Reply::json(&json!({
                "name": form.fields.name,
                "age": form.fields.age,
                "files": files,
            })))
        }
    };
    let keep = |form: Multipart<Profile>| async move {
        let target = std::env::temp_dir().join(format!("webstir-kept-{}", form.fields.name));
        let mut files = form.files;
        let file: UploadedFile = files.remove(0);
        file.persist(&target).await.unwrap();
        Ok::<Reply, webstir::Error>(Reply::text(target.display().to_string()))
    };
    Module::new("forms", "1.0.0")
        .route(Route::post("/upload").name("upload").handler(upload))
        .route(Route::post("/keep").name("keep").handler(keep))
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

async fn post(
    client: &TestClient,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> webstir_test::TestResponse {
    client
        .request(
            Method::POST,
            path,
            &[("content-type", content_type)],
            Bytes::from(body),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn fields_and_files_arrive_and_temporary_files_are_removed() {
    let seen: Seen = Arc::default();
    let app = TestApp::builder(module(seen.clone()))
        .env("REQUEST_BODY_MAX_BYTES", "300000")
        .build()
        .await
        .unwrap();
    let served = app.serve().await.unwrap();
    let client = TestClient::new(served.addr());
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let body = multipart(
        "XyZ",
        &[
            ("name", None, b"Ada".as_slice()),
            ("age", None, b"36"),
            ("avatar", Some("me.png"), &big),
            ("notes", Some("empty.txt"), b""),
        ],
    );
    let res = post(
        &client,
        "/upload",
        "multipart/form-data; boundary=XyZ",
        body,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["name"], "Ada");
    assert_eq!(v["age"], 36);
    assert_eq!(v["files"][0]["fileName"], "me.png");
    assert_eq!(v["files"][0]["len"], 200_000);
    assert_eq!(
        v["files"][0]["sha"],
        big.iter().map(|b| u64::from(*b)).sum::<u64>()
    );
    assert_eq!(v["files"][1]["len"], 0);
    let paths = seen.lock().unwrap().clone();
    assert_eq!(paths.len(), 2);
    for path in paths {
        assert!(!path.exists(), "{} was left behind", path.display());
    }

    // A persisted file is moved out and kept.
    let body = multipart(
        "b",
        &[
            ("name", None, b"kept-1".as_slice()),
            ("age", None, b"1"),
            ("f", Some("a.txt"), b"hello"),
        ],
    );
    let res = post(&client, "/keep", "multipart/form-data; boundary=b", body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let kept = std::path::PathBuf::from(res.text());
    assert_eq!(std::fs::read(&kept).unwrap(), b"hello");
    std::fs::remove_file(kept).unwrap();
}

#[tokio::test]
async fn hostile_multipart_bodies_get_stable_errors() {
    let seen: Seen = Arc::default();
    let app = TestApp::builder(module(seen.clone()))
        .env("REQUEST_BODY_MAX_BYTES", "4096")
        .build()
        .await
        .unwrap();
    let served = app.serve().await.unwrap();
    let client = TestClient::new(served.addr());
    let code = |res: &webstir_test::TestResponse| res.json()["errors"][0]["code"].clone();

    // Not multipart, or no boundary.
    let res = post(&client, "/upload", "application/json", b"{}".to_vec()).await;
    assert_eq!(
        (res.status, code(&res)),
        (415, json!("unsupported_media_type"))
    );
    let res = post(&client, "/upload", "multipart/form-data", b"x".to_vec()).await;
    assert_eq!(
        (res.status, code(&res)),
        (415, json!("unsupported_media_type"))
    );

    // Over the body cap: 413, and the partial file is removed.
    let big = vec![7u8; 8192];
    let body = multipart(
        "b",
        &[
            ("name", None, b"A".as_slice()),
            ("age", None, b"1"),
            ("f", Some("big.bin"), &big),
        ],
    );
    let res = post(&client, "/upload", "multipart/form-data; boundary=b", body).await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(seen.lock().unwrap().is_empty());

    // Malformed: a body that never closes its parts.
    let res = post(
        &client,
        "/upload",
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda".to_vec(),
    )
    .await;
    assert_eq!(
        (res.status, code(&res)),
        (400, json!("invalid_form")),
        "{}",
        res.text()
    );

    // Fields that do not fit the type: 400 validation.
    let body = multipart(
        "b",
        &[("name", None, b"A".as_slice()), ("age", None, b"old")],
    );
    let res = post(&client, "/upload", "multipart/form-data; boundary=b", body).await;
    assert_eq!(
        (res.status, code(&res)),
        (400, json!("validation")),
        "{}",
        res.text()
    );

    // Invalid UTF-8 in a text field.
    let body = multipart(
        "b",
        &[("name", None, b"\xff\xfe".as_slice()), ("age", None, b"1")],
    );
    let res = post(&client, "/upload", "multipart/form-data; boundary=b", body).await;
    assert_eq!(
        (res.status, code(&res)),
        (400, json!("invalid_form")),
        "{}",
        res.text()
    );

    // No temporary file survives any of it.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            seen.lock()
                .unwrap()
                .iter()
                .any(|p| p.file_name() == Some(e.file_name().as_os_str()))
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn passwords_hash_and_verify_off_the_workers() {
    let hash = webstir::password::hash("correct horse").await.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(
        webstir::password::verify("correct horse", &hash)
            .await
            .unwrap()
    );
    assert!(!webstir::password::verify("wrong", &hash).await.unwrap());
    assert!(webstir::password::verify_sign_in("correct horse", Some(hash.clone())).await);
    assert!(!webstir::password::verify_sign_in("correct horse", None).await);
    let err = webstir::password::hash("").await.unwrap_err();
    assert_eq!(err.to_string(), "validation: the password is empty");
    let err = webstir::password::verify("x", "not-a-hash")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a valid Argon2 PHC string"),
        "{err}"
    );
}
