//! A minimal W3C WebDriver client for chromedriver: the dozen commands the browser tests use, as
//! JSON over the workspace's hyper (no WebDriver crate to build).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `name` on `PATH`, if it is there.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A chromedriver process on a free loopback port (killed on drop).
pub(crate) struct Driver {
    _child: Child,
    addr: SocketAddr,
}

impl Driver {
    pub(crate) async fn start(chromedriver: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = call(addr, http::Method::GET, "/status", None).await
                && status["ready"] == true
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not get ready in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            _child: child,
            addr,
        }
    }

    /// A new headless Chromium session with `extra` command-line switches.
    pub(crate) async fn session(&self, chromium: &Path, extra: &[&str]) -> Session {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--window-size=1000,843",
        ];
        args.extend_from_slice(extra);
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let value = call(self.addr, http::Method::POST, "/session", Some(caps))
            .await
            .unwrap_or_else(|err| panic!("a Chromium session: {err}"));
        Session {
            addr: self.addr,
            id: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }
}

/// One WebDriver command; the response's `value`, or its error message.
async fn call(
    addr: SocketAddr,
    method: http::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let run = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let json: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(json["value"].clone())
        } else {
            Err(format!("{status}: {}", json["value"]))
        }
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| Err(format!("{path}: no answer in 60 s")))
}

/// A browser session.
pub(crate) struct Session {
    addr: SocketAddr,
    id: String,
}

impl Session {
    async fn cmd(&self, method: http::Method, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.id);
        call(self.addr, method, &full, body)
            .await
            .unwrap_or_else(|err| panic!("WebDriver {path}: {err}"))
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(http::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub(crate) async fn url(&self) -> String {
        let url = self.cmd(http::Method::GET, "/url", None).await;
        url.as_str().unwrap().to_owned()
    }

    /// The serialized DOM (what scripts changed included).
    pub(crate) async fn source(&self) -> String {
        let html = self.cmd(http::Method::GET, "/source", None).await;
        html.as_str().unwrap().to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .cmd(
                http::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Types `text` into the element `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        let path = format!("/element/{id}/value");
        self.cmd(http::Method::POST, &path, Some(json!({ "text": text })))
            .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.find(css).await;
        let path = format!("/element/{id}/click");
        self.cmd(http::Method::POST, &path, Some(json!({}))).await;
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.try_text(css)
            .await
            .unwrap_or_else(|err| panic!("the text of {css}: {err}"))
    }

    async fn try_text(&self, css: &str) -> Result<String, String> {
        let session = format!("/session/{}", self.id);
        let found = call(
            self.addr,
            http::Method::POST,
            &format!("{session}/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await?;
        let id = found[ELEMENT].as_str().unwrap_or_default();
        let path = format!("{session}/element/{id}/text");
        let text = call(self.addr, http::Method::GET, &path, None).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `script` (a function body) in the page.
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.cmd(
            http::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// The page's cookies (HttpOnly ones included).
    pub(crate) async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.cmd(http::Method::GET, "/cookie", None).await;
        cookies
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["value"].as_str().unwrap().to_owned())
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let png = self.cmd(http::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap()
    }

    /// Polls until the current URL ends with `suffix` (10 s).
    pub(crate) async fn wait_for_url(&self, suffix: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.ends_with(suffix) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still at {url}, expected …{suffix}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until the text of `css` is `expected` (10 s).
    pub(crate) async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.try_text(css).await;
            if text.as_deref() == Ok(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} says {text:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session: Chromium exits.
    pub(crate) async fn quit(self) {
        let path = format!("/session/{}", self.id);
        let _ = call(self.addr, http::Method::DELETE, &path, None).await;
        std::mem::forget(self);
    }
}

impl Drop for Session {
    /// A test that panics still ends its Chromium (chromedriver, killed on drop, would leave it
    /// running): a blocking `DELETE /session/{id}`.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(self.addr) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.id, self.addr
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}
