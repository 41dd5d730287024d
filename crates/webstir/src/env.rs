//! Environment: `.env.local` / `.env` loading, the workspace root, and the [`Env`] accessor handlers get.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;

/// Read-only view of the process environment, taken once at startup after the env files were loaded.
///
/// ```
/// let env = webstir::Env::from_pairs([("GREETING", "hello")]);
/// assert_eq!(env.get("GREETING"), Some("hello"));
/// assert!(env.get("MISSING").is_none());
/// let err = env.require("MISSING").unwrap_err();
/// assert_eq!(err.to_string(), "Missing required env var MISSING");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: Arc<HashMap<String, String>>,
}

impl Env {
    /// Snapshot the current process environment.
    pub fn from_process() -> Self {
        Self {
            vars: Arc::new(std::env::vars().collect()),
        }
    }

    /// An environment made of the given pairs only (for tests and embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// This environment with `name` set to `value` when it is unset or blank.
    pub(crate) fn with_default(self, name: &str, value: &str) -> Self {
        if self.get_trimmed(name).is_some() {
            return self;
        }
        let mut vars = Arc::unwrap_or_clone(self.vars);
        vars.insert(name.to_owned(), value.to_owned());
        Self {
            vars: Arc::new(vars),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name`, trimmed, if set and not blank.
    pub fn get_trimmed(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or an error naming the missing variable.
    ///
    /// # Errors
    /// An internal [`Error`] whose message is `Missing required env var NAME`.
    pub fn require(&self, name: &str) -> Result<&str, Error> {
        self.get(name)
            .ok_or_else(|| Error::msg(format!("Missing required env var {name}")))
    }

    /// Every variable, sorted by name.
    pub fn entries(&self) -> Vec<(&str, &str)> {
        let mut all: Vec<_> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.sort_unstable();
        all
    }
}

/// The workspace root: `WORKSPACE_ROOT` (when not blank), else `WEBSTIR_WORKSPACE_ROOT`, else the
/// current directory. Relative SQLite paths and env files are resolved against it.
pub fn workspace_root() -> PathBuf {
    root_from(|name| std::env::var(name).ok())
}

/// The workspace-root precedence over any variable source (the process, or an [`Env`] snapshot).
pub(crate) fn root_from(get: impl Fn(&str) -> Option<String>) -> PathBuf {
    ["WORKSPACE_ROOT", "WEBSTIR_WORKSPACE_ROOT"]
        .into_iter()
        .filter_map(get)
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

/// Load `.env.local` then `.env` from `root` into the process environment without overriding
/// variables that are already set (so real env > `.env.local` > `.env`).
///
/// Must run before any other thread starts (it calls `std::env::set_var` through dotenvy).
/// Returns the files that were loaded; a file that exists but cannot be parsed yields a warning line.
pub fn load_env_files(root: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut loaded = Vec::new();
    let mut warnings = Vec::new();
    for name in [".env.local", ".env"] {
        let path = root.join(name);
        if !path.is_file() {
            continue;
        }
        match dotenvy::from_path(&path) {
            Ok(()) => loaded.push(path),
            Err(err) => warnings.push(format!(
                "[webstir-backend] failed to load {}: {err}",
                path.display()
            )),
        }
    }
    (loaded, warnings)
}
