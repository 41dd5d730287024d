use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as a test sees it.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl TestResponse {
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// One header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn other(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(err.to_string())
}

/// An HTTP/1.1 client for one server on loopback; every request uses a fresh connection.
#[derive(Debug, Clone, Copy)]
pub struct TestClient {
    addr: SocketAddr,
}

impl TestClient {
    /// A client for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// The server address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`.
    ///
    /// # Errors
    /// I/O errors talking to the server.
    pub async fn get(&self, path: &str) -> io::Result<TestResponse> {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// `POST path` with a JSON body.
    ///
    /// # Errors
    /// I/O errors talking to the server.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> io::Result<TestResponse> {
        let bytes = serde_json::to_vec(body).map_err(other)?;
        self.request(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            bytes.into(),
        )
        .await
    }

    /// Any request.
    ///
    /// # Errors
    /// I/O errors talking to the server, or a 10 s timeout.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> io::Result<TestResponse> {
        let stream = TcpStream::connect(self.addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(other)?;
        tokio::spawn(conn);
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let req = builder.body(Full::new(body)).map_err(other)?;
        let fut = async {
            let res = sender.send_request(req).await.map_err(other)?;
            let (parts, body) = res.into_parts();
            let body = body.collect().await.map_err(other)?.to_bytes();
            Ok(TestResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(Duration::from_secs(10), fut)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out after 10 s"))?
    }

    /// Write raw bytes on a fresh connection and read until the server closes it (or 10 s pass).
    ///
    /// # Errors
    /// I/O errors talking to the server.
    pub async fn raw(&self, request: &[u8]) -> io::Result<String> {
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.write_all(request).await?;
        let mut out = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
        match read {
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(Err(err)) => return Err(err),
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
