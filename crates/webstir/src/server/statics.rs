//! The frontend's build output (`dist/frontend`) served beside the API, for `full` workspaces: GET
//! and HEAD on paths no route matches, with the deploy runner's file candidates, content types,
//! `ETag`/`Last-Modified` revalidation (304), and no way out of the directory.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use super::response::Body;
use crate::{ConfigError, Env};

/// Files up to this size are read in one go; larger ones stream in chunks of this size.
const CHUNK: usize = 64 * 1024;

/// First path segments the deploy runner never maps to `pages/<path>/index.html`.
const RESERVED: [&str; 7] = [
    "__webstir",
    "api",
    "fonts",
    "images",
    "media",
    "pages",
    "sse",
];

/// The static file root (`STATIC_FILES_DIR`, canonical).
#[derive(Debug)]
pub(crate) struct StaticFiles {
    root: PathBuf,
}

/// A file found for a request.
struct Found {
    file: File,
    meta: Metadata,
    /// The name the content type and cache policy come from.
    name: String,
}

impl StaticFiles {
    /// `STATIC_FILES` (`on`/`off`; default: on when the directory exists) and `STATIC_FILES_DIR`
    /// (default `dist/frontend`, relative to the workspace root).
    pub(crate) fn from_env(env: &Env, workspace: &Path) -> Result<Option<Self>, ConfigError> {
        let explicit_dir = env.get_trimmed("STATIC_FILES_DIR");
        let dir = workspace.join(explicit_dir.unwrap_or("dist/frontend"));
        let wanted = match env.get_trimmed("STATIC_FILES") {
            None => None,
            Some(_) => Some(super::edges::switch(env, "STATIC_FILES", false)?),
        };
        if wanted == Some(false) {
            return Ok(None);
        }
        match std::fs::canonicalize(&dir) {
            Ok(root) if root.is_dir() => Ok(Some(Self { root })),
            _ if wanted.is_none() && explicit_dir.is_none() => Ok(None),
            _ if explicit_dir.is_some() => Err(ConfigError {
                name: "STATIC_FILES_DIR",
                value: dir.display().to_string(),
                problem: "must name an existing directory (relative to the workspace root): build \
                          the frontend first, fix the path, or set STATIC_FILES=off",
            }),
            _ => Err(ConfigError {
                name: "STATIC_FILES",
                value: dir.display().to_string(),
                problem: "is on but the static directory does not exist: build the frontend into \
                          dist/frontend, point STATIC_FILES_DIR at its output, or set STATIC_FILES=off",
            }),
        }
    }

    /// The response for `path`, or `None` when no file answers it (the caller's 404 follows).
    pub(crate) async fn serve(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let head = method == Method::HEAD;
        if !(head || method == Method::GET) || path == "/api" || path.starts_with("/api/") {
            return None;
        }
        let segments = segments(path)?;
        let root = self.root.clone();
        let found = tokio::task::spawn_blocking(move || find(&root, &segments))
            .await
            .ok()??;
        Some(respond(found, head, headers).await)
    }
}

/// The decoded path segments, or `None` for anything that could leave the root or name something
/// odd: `.`/`..` (encoded or not), backslashes, NUL, encoded slashes, empty segments, bad escapes.
fn segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.split('/')
        .map(|raw| {
            let seg = decode(raw)?;
            let bad = seg.is_empty()
                || seg == "."
                || seg == ".."
                || seg.contains(['/', '\\', '\0', ':'])
                || seg.chars().any(char::is_control);
            (!bad).then_some(seg)
        })
        .collect()
}

/// Strict percent-decoding to UTF-8 (a malformed escape is `None`).
fn decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The deploy runner's candidates, in order: the exact file; extensionless `x` → `x.html`,
/// `x/index.html`; `/` → `index.html`, `pages/home/index.html`; `/index.<ext>` →
/// `pages/home/index.<ext>`; `/<page>/index.(js|css)` → `pages/<page>/index.*`; an extensionless
/// path outside the reserved prefixes → `pages/<path>/index.html`.
fn candidates(segments: &[String]) -> Vec<String> {
    let Some(last) = segments.last() else {
        return vec!["index.html".into(), "pages/home/index.html".into()];
    };
    let rel = segments.join("/");
    let mut out = vec![rel.clone()];
    let extension = last.rsplit_once('.').map(|(_, ext)| ext);
    match extension {
        None => {
            out.push(format!("{rel}.html"));
            out.push(format!("{rel}/index.html"));
            if !RESERVED.contains(&segments[0].as_str()) {
                out.push(format!("pages/{rel}/index.html"));
            }
        }
        Some(ext) => {
            if segments.len() == 1 && last.starts_with("index.") {
                out.push(format!("pages/home/index.{ext}"));
            }
            if segments.len() == 2
                && (last == "index.js" || last == "index.css")
                && !RESERVED.contains(&segments[0].as_str())
            {
                out.push(format!("pages/{}/{last}", segments[0]));
            }
        }
    }
    out
}

/// The first candidate that is a regular file whose real path (symlinks resolved) is inside
/// `root`.
fn find(root: &Path, segments: &[String]) -> Option<Found> {
    candidates(segments).into_iter().find_map(|rel| {
        let real = std::fs::canonicalize(root.join(&rel)).ok()?;
        if !real.starts_with(root) {
            tracing::warn!(target: "webstir::http", path = %rel, "static file resolves outside the static root; not served");
            return None;
        }
        let file = File::open(&real).ok()?;
        let meta = file.metadata().ok()?;
        meta.is_file().then(|| Found {
            file,
            meta,
            name: rel,
        })
    })
}

async fn respond(found: Found, head: bool, request: &HeaderMap) -> Response<Body> {
    let Found { file, meta, name } = found;
    let len = meta.len();
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let etag = etag(len, modified);
    let last_modified = http_date(modified);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    if let Some(value) = last_modified.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(LAST_MODIFIED, value);
    }
    headers.insert(CACHE_CONTROL, cache_control(&name));

    let (status, body) = if not_modified(request, &etag, modified) {
        (StatusCode::NOT_MODIFIED, Body::default())
    } else {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        let body = if head {
            Body::default()
        } else if len <= CHUNK as u64 {
            match tokio::task::spawn_blocking(move || read_all(file, len)).await {
                Ok(Ok(bytes)) => Body::Full(Full::new(bytes)),
                _ => return unreadable(),
            }
        } else {
            Body::Any(axum::body::Body::from_stream(stream(file, len)))
        };
        (StatusCode::OK, body)
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

fn unreadable() -> Response<Body> {
    super::response::json_value(
        StatusCode::INTERNAL_SERVER_ERROR,
        &serde_json::json!({ "error": "internal_error" }),
    )
}

fn read_all(mut file: File, len: u64) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(len as usize);
    (&mut file).take(len).read_to_end(&mut buf)?;
    Ok(buf.into())
}

/// The file's first `len` bytes (its size when it was opened), `CHUNK` at a time.
fn stream(
    file: File,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::from_std(file).take(len);
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(CHUNK);
        let n = file.read_buf(&mut buf).await?;
        Ok((n > 0).then(|| (buf.freeze(), file)))
    })
}

/// A validator from the file's size and modification time.
fn etag(len: u64, modified: SystemTime) -> String {
    let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "W/\"{len:x}-{:x}.{:x}\"",
        since.as_secs(),
        since.subsec_nanos()
    )
}

fn http_date(time: SystemTime) -> Option<String> {
    let ts = jiff::Timestamp::try_from(time).ok()?;
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&ts)
        .ok()
}

/// `If-None-Match` (weak comparison) when present, else `If-Modified-Since` at second precision.
fn not_modified(request: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(value) = request.get(IF_NONE_MATCH) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        let ours = etag.trim_start_matches("W/");
        return value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    let Some(since) = request
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(v)
                .ok()
        })
    else {
        return false;
    };
    let Ok(modified) = jiff::Timestamp::try_from(modified) else {
        return false;
    };
    modified.as_second() <= since.as_second()
}

/// Content-hashed names (`app.3f2a9c1b.js`) never change: cached for a year. Everything else is
/// revalidated on each use (cheap: a 304).
fn cache_control(name: &str) -> HeaderValue {
    let file = name.rsplit('/').next().unwrap_or(name);
    let parts: Vec<&str> = file.split('.').collect();
    let hashed = parts.len() >= 3 && {
        let hash = parts[parts.len() - 2];
        (8..=64).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if hashed {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    }
}

fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

impl super::service::App {
    /// A static response with its request id, counted and logged as route `static`.
    pub(super) fn finish_static(
        &self,
        mut res: Response<Body>,
        request: &HeaderMap,
        method: &Method,
        start: std::time::Instant,
    ) -> Response<Body> {
        let id = super::request_id::resolve(request);
        let status = res.status().as_u16();
        self.finish(
            &tracing::Span::none(),
            super::request_id::text(&id),
            method,
            "static",
            status,
            start,
        );
        res.headers_mut()
            .insert(http::HeaderName::from_static("x-request-id"), id);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Option<Vec<String>> {
        segments(path)
    }

    #[test]
    fn paths_that_could_leave_the_root_are_refused() {
        for bad in [
            "/../Cargo.toml",
            "/%2e%2e/x",
            "/..%2fx",
            "/%2e%2e%2fx",
            "/..%5cx",
            "/a\\b",
            "//etc/passwd",
            "/x%00.txt",
            "/a/./b",
            "/%zz",
            "/c:/windows",
            "relative",
        ] {
            assert_eq!(segs(bad), None, "{bad}");
        }
        assert_eq!(segs("/"), Some(vec![]));
        assert_eq!(segs("/docs/"), Some(vec!["docs".to_owned()]));
        assert_eq!(
            segs("/a%20b/c.css"),
            Some(vec!["a b".to_owned(), "c.css".to_owned()])
        );
        // Double-encoded dots stay literal names (`%2e%2e`), which do not exist.
        assert_eq!(segs("/%252e%252e"), Some(vec!["%2e%2e".to_owned()]));
    }

    #[test]
    fn candidates_follow_the_deploy_runner() {
        let c = |p: &str| candidates(&segs(p).unwrap());
        assert_eq!(c("/"), ["index.html", "pages/home/index.html"]);
        assert_eq!(
            c("/about"),
            [
                "about",
                "about.html",
                "about/index.html",
                "pages/about/index.html"
            ]
        );
        assert_eq!(
            c("/images/x"),
            ["images/x", "images/x.html", "images/x/index.html"]
        );
        assert_eq!(c("/index.css"), ["index.css", "pages/home/index.css"]);
        assert_eq!(
            c("/about/index.js"),
            ["about/index.js", "pages/about/index.js"]
        );
        assert_eq!(c("/app.css"), ["app.css"]);
    }

    #[test]
    fn cache_policy_and_types() {
        assert_eq!(
            cache_control("assets/app.3f2a9c1b.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("app.js"), "no-cache");
        assert_eq!(content_type("a/B.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("x"), "application/octet-stream");
    }

    #[test]
    fn revalidation() {
        let modified = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500);
        let tag = etag(10, modified);
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag, modified));
        h.insert(IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
        assert!(not_modified(&h, &tag, modified));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_str(&http_date(modified).unwrap()).unwrap(),
        );
        // If-None-Match wins over If-Modified-Since.
        assert!(!not_modified(&h, &tag, modified));
        h.remove(IF_NONE_MATCH);
        assert!(not_modified(&h, &tag, modified));
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert!(!not_modified(&h, &tag, modified));
    }
}
