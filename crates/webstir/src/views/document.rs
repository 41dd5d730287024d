//! Finding a view's document in the frontend build and keeping its parsed template in memory,
//! validated by the file's modification time and size.
//!
//! File checks are plain blocking `std::fs` calls: a `stat` of a local file takes microseconds, less
//! than a trip through tokio's blocking pool, and a read happens only on a miss or a change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::Error;

/// Whether a document came from the cache (`x-webstir-document-cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheStatus {
    /// First load of this file.
    Miss,
    /// Unchanged since it was loaded.
    Hit,
    /// Changed since it was loaded: read and parsed again.
    Stale,
}

impl CacheStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Miss => "miss",
            CacheStatus::Hit => "hit",
            CacheStatus::Stale => "stale",
        }
    }
}

/// A parsed document: one minijinja template (HTML auto-escaping, named by its path).
pub(crate) struct Document {
    env: minijinja::Environment<'static>,
    name: String,
}

impl Document {
    fn parse(path: &Path, source: String) -> Result<Self, Error> {
        let name = path.display().to_string();
        let mut env = minijinja::Environment::new();
        // Auto-escaping is chosen by the template name's extension; documents are HTML whatever
        // they are called.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template_owned(name.clone(), source)
            .map_err(|err| template_error(&name, &err))?;
        Ok(Self { env, name })
    }

    /// Render with `context`.
    ///
    /// # Errors
    /// An internal error naming the file and line.
    pub(crate) fn render(&self, context: &serde_json::Value) -> Result<String, Error> {
        self.env
            .get_template(&self.name)
            .and_then(|template| template.render(minijinja::value::Serde(context)))
            .map_err(|err| template_error(&self.name, &err))
    }
}

/// `template error in <file>:<line>: <what>` (the line when minijinja knows it).
fn template_error(file: &str, err: &minijinja::Error) -> Error {
    let file = err.name().unwrap_or(file);
    let at = match err.line() {
        Some(line) => format!("{file}:{line}"),
        None => file.to_owned(),
    };
    let what = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let mut message = format!("template error in {at}: {what}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Error::msg(message)
}

/// A name that stays inside the frontend directories (it comes from the request path by default).
fn is_document_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

struct Cached {
    modified: Option<SystemTime>,
    size: u64,
    document: Arc<Document>,
}

/// The workspace's frontend documents and the in-memory cache of their parsed templates.
pub(crate) struct Documents {
    root: PathBuf,
    cache: Mutex<HashMap<PathBuf, Arc<Cached>>>,
}

impl Documents {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self {
            root,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Where the document `name` may be, in lookup order.
    fn candidates(&self, name: &str) -> Vec<PathBuf> {
        let mut paths = Vec::with_capacity(8);
        for dir in ["build/frontend", "dist/frontend"] {
            let base = self.root.join(dir);
            paths.push(base.join("pages").join(name).join("index.html"));
            paths.push(base.join(name).join("index.html"));
            paths.push(base.join(format!("{name}.html")));
            if name == "home" {
                paths.push(base.join("index.html"));
            }
        }
        paths
    }

    /// The parsed document `name` for the request path `pathname`, from the cache when the file
    /// has not changed.
    ///
    /// # Errors
    /// Internal errors: no candidate file exists (the message lists the paths checked), the file
    /// cannot be read, or its template does not parse (file and line).
    pub(crate) fn load(
        &self,
        name: &str,
        pathname: &str,
    ) -> Result<(Arc<Document>, CacheStatus), Error> {
        if !is_document_name(name) {
            return Err(Error::msg(format!(
                "Frontend document for {pathname} was not found: '{}' is not a document name (letters, digits, '-', '_', '.'; not starting with '.').",
                crate::extract::echo(name)
            )));
        }
        let candidates = self.candidates(name);
        let found = candidates.iter().find_map(|path| {
            std::fs::metadata(path)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|meta| (path, meta))
        });
        let Some((path, meta)) = found else {
            let checked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::msg(format!(
                "Frontend document for {pathname} was not found. Checked {}.",
                checked.join(", ")
            )));
        };
        let modified = meta.modified().ok();
        let size = meta.len();
        let previous = self.lock().get(path).cloned();
        if let Some(cached) = &previous
            && cached.modified == modified
            && cached.size == size
        {
            return Ok((cached.document.clone(), CacheStatus::Hit));
        }
        let source = std::fs::read_to_string(path).map_err(|err| {
            Error::msg(format!(
                "Frontend document {} could not be read: {err}",
                path.display()
            ))
        })?;
        let document = Arc::new(Document::parse(path, source)?);
        self.lock().insert(
            path.clone(),
            Arc::new(Cached {
                modified,
                size,
                document: document.clone(),
            }),
        );
        let status = if previous.is_some() {
            CacheStatus::Stale
        } else {
            CacheStatus::Miss
        };
        Ok((document, status))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Cached>>> {
        // The map stays consistent even if a holder panicked (inserts are single calls).
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_follows_the_reference() {
        let docs = Documents::new(PathBuf::from("/ws"));
        let paths: Vec<String> = docs
            .candidates("home")
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "/ws/build/frontend/pages/home/index.html",
                "/ws/build/frontend/home/index.html",
                "/ws/build/frontend/home.html",
                "/ws/build/frontend/index.html",
                "/ws/dist/frontend/pages/home/index.html",
                "/ws/dist/frontend/home/index.html",
                "/ws/dist/frontend/home.html",
                "/ws/dist/frontend/index.html",
            ]
        );
        assert_eq!(docs.candidates("accounts").len(), 6);
    }

    #[test]
    fn request_derived_names_stay_inside_the_frontend_directories() {
        assert!(is_document_name("accounts"));
        assert!(is_document_name("v1.2_x-y"));
        for bad in ["", ".", "..", ".env", "a/b", "a\\b", "%2e%2e"] {
            assert!(!is_document_name(bad), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err = Document::parse(
            Path::new("/ws/build/frontend/x.html"),
            "<p>\n{{ oops(\n</p>".into(),
        )
        .err()
        .expect("a syntax error");
        let text = err.to_string();
        assert!(
            text.starts_with("template error in /ws/build/frontend/x.html:"),
            "{text}"
        );
    }
}
