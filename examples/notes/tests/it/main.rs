//! The notes example as a user runs it: the built binary on loopback, driven over HTTP with a
//! cookie jar (`flows`, `view`) and in headless Chromium through chromedriver (`browser`).

mod browser;
mod flows;
mod view;
mod webdriver;

use std::path::Path;

use bytes::Bytes;
use tokio::process::Command;
use webstir_test::{TestClient, TestProcess, TestResponse};

/// The example binary with an isolated workspace root: a copy of the view's document, its own
/// database under `data/`, no stray `.env`.
pub(crate) async fn spawn() -> (TestProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("build"),
        &dir.path().join("build"),
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notes"));
    cmd.env("WORKSPACE_ROOT", dir.path())
        .env_remove("WEBSTIR_WORKSPACE_ROOT")
        .env_remove("DATABASE_URL")
        .current_dir(dir.path());
    let server = TestProcess::spawn(cmd).await.unwrap();
    (server, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A browser-like HTTP client: keeps the session cookie, follows nothing.
pub(crate) struct Browser {
    pub(crate) client: TestClient,
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(server: &TestProcess) -> Self {
        Self {
            client: server.client(),
            cookie: None,
        }
    }

    async fn send(
        &mut self,
        method: http::Method,
        path: &str,
        body: Option<String>,
    ) -> TestResponse {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        let cookie = self.cookie.clone();
        if let Some(cookie) = cookie.as_deref() {
            headers.push(("cookie", cookie));
        }
        if body.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let res = self
            .client
            .request(
                method,
                path,
                &headers,
                Bytes::from(body.unwrap_or_default()),
            )
            .await
            .unwrap();
        if let Some(set) = res.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        res
    }

    pub(crate) async fn get(&mut self, path: &str) -> TestResponse {
        self.send(http::Method::GET, path, None).await
    }

    /// `GET path`, expecting a page.
    pub(crate) async fn page(&mut self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status, 200, "GET {path}: {}", res.text());
        res.text()
    }

    /// `POST path` with a urlencoded form.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(http::Method::POST, path, Some(body)).await
    }

    /// Loads `page` and submits its form posting to `action` with `fields` and the form's token.
    pub(crate) async fn submit(
        &mut self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let html = self.page(page).await;
        let token = csrf_token(&html, action);
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }
}

/// The `_csrf` value of the form in `html` that posts to `action`.
pub(crate) fn csrf_token(html: &str, action: &str) -> String {
    let form = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action} in:\n{html}"));
    let rest = &html[form..];
    let at = rest.find("name=\"_csrf\" value=\"").unwrap() + "name=\"_csrf\" value=\"".len();
    rest[at..].split('"').next().unwrap().to_owned()
}

/// Asserts a 303 to `location`.
#[track_caller]
pub(crate) fn assert_redirect(res: &TestResponse, location: &str) {
    assert_eq!(
        (res.status, res.header("location")),
        (303, Some(location)),
        "{}",
        res.text()
    );
}

/// The ids of the notes on a notes page, newest first.
pub(crate) fn note_ids(html: &str) -> Vec<i64> {
    html.split("<li class=\"note\" id=\"note-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}
