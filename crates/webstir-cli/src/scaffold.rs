//! `init`: resolving where and what to scaffold, and writing the project.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use crate::changes::Changes;
use crate::routes::{self, RoutePlan, RouteRequest};
use crate::workspace::{Mode, absolute};
use crate::{UsageError, link, registry, templates};

/// Environment variable naming the webstir checkout new projects depend on.
pub(crate) const SOURCE_ENV: &str = "WEBSTIR_SOURCE";

/// What `init` was given.
#[derive(Debug, Clone, Default)]
pub(crate) struct InitRequest {
    pub(crate) positionals: Vec<String>,
    pub(crate) server_only: bool,
    pub(crate) workspace: Option<PathBuf>,
}

/// A resolved `init`: where, which mode, which package name, which webstir sources.
#[derive(Debug, Clone)]
pub(crate) struct InitPlan {
    pub(crate) root: PathBuf,
    pub(crate) mode: Mode,
    pub(crate) name: String,
    pub(crate) source: PathBuf,
}

impl InitPlan {
    /// Resolves the accepted forms: `init [api|full] DIR`, `init DIR [--server-only]` (one
    /// positional is a directory, mode `full` unless `--server-only`), and
    /// `init [api|full] --workspace DIR`.
    ///
    /// # Errors
    /// [`UsageError`] for a wrong number of arguments; `Unknown init mode "<v>". …`; missing
    /// webstir sources.
    pub(crate) fn resolve(req: &InitRequest, cwd: &Path) -> Result<Self> {
        let usage = "Usage: webstir init [api|full] <directory> (or: webstir init <directory> --server-only)";
        let (mode_text, dir) = match (&req.workspace, req.positionals.as_slice()) {
            (Some(ws), []) => (None, ws.clone()),
            (Some(ws), [mode]) => (Some(mode.as_str()), ws.clone()),
            (None, [dir]) => (None, PathBuf::from(dir)),
            (None, [mode, dir]) => (Some(mode.as_str()), PathBuf::from(dir)),
            _ => return Err(UsageError(usage.to_owned()).into()),
        };
        let mode = match mode_text {
            None if req.server_only => Mode::Api,
            None => Mode::Full,
            Some(text) => match Mode::parse(text) {
                Some(Mode::Full) if req.server_only => {
                    bail!("--server-only cannot be combined with mode \"full\".")
                }
                Some(mode) => mode,
                None => bail!("Unknown init mode \"{text}\". Expected api or full."),
            },
        };
        let root = absolute(cwd, &dir);
        let base = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            name: package_name(&base),
            mode,
            root,
            source: webstir_source()?,
        })
    }

    /// Writes the project; returns the workspace-relative paths written, sorted.
    ///
    /// # Errors
    /// `Refusing to initialize non-empty directory: <path>`, or I/O errors.
    pub(crate) fn execute(&self) -> Result<Vec<String>> {
        match std::fs::read_dir(&self.root) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    bail!(
                        "Refusing to initialize non-empty directory: {}",
                        self.root.display()
                    );
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => {
                bail!(
                    "Refusing to initialize non-empty directory: {}",
                    self.root.display()
                )
            }
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read {}", self.root.display()));
            }
        }
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;

        let ctx = json!({
            "name": self.name,
            "crate": self.name.replace('-', "_"),
            "mode": self.mode.as_str(),
        });
        let mut changes = Changes::new(&self.root);
        for file in templates::project(&ctx)? {
            changes.create(&file.path, &file.contents)?;
        }
        changes.create(link::CONFIG, &link::config_text(None, &self.source)?)?;
        let lock = self.source.join("Cargo.lock");
        if lock.is_file() {
            let text = std::fs::read_to_string(&lock)
                .with_context(|| format!("cannot read {}", lock.display()))?;
            changes.create("Cargo.lock", &text)?;
        }
        std::fs::create_dir_all(self.root.join(routes::TESTS_DIR))
            .with_context(|| format!("cannot create {}", routes::TESTS_DIR))?;
        let example = RoutePlan::resolve(&RouteRequest {
            name: "hello".into(),
            summary: Some("Say hello".into()),
            description: Some(
                "An example route; its handler is src/backend/routes/hello.rs".into(),
            ),
            tags: Some("example".into()),
            ..RouteRequest::default()
        })?;
        routes::apply(&self.root, &example, &mut changes)?;
        registry::sync_jobs(&self.root, &mut changes)?;
        Ok(changes.list())
    }
}

/// A Cargo package name from a folder name: ASCII letters, digits, `-` and `_`, lowercase, not
/// starting with a digit.
fn package_name(base: &str) -> String {
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_owned();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "app-");
    }
    name.trim_end_matches('-').to_owned()
}

/// The webstir checkout new projects depend on: `$WEBSTIR_SOURCE`, else the one this binary was
/// built from.
///
/// # Errors
/// When that folder has no `crates/webstir/Cargo.toml`.
pub(crate) fn webstir_source() -> Result<PathBuf> {
    let raw = match std::env::var_os(SOURCE_ENV).filter(|v| !v.is_empty()) {
        Some(value) => PathBuf::from(value),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    checked_source(raw)
}

/// `raw`, made absolute, when it is a webstir checkout.
///
/// # Errors
/// When that folder has no `crates/webstir/Cargo.toml`.
pub(crate) fn checked_source(raw: PathBuf) -> Result<PathBuf> {
    let raw = if raw.is_absolute() {
        raw
    } else {
        std::env::current_dir()
            .context("cannot read the current directory")?
            .join(raw)
    };
    let source = raw.canonicalize().unwrap_or(raw);
    if !source.join("crates/webstir/Cargo.toml").is_file() {
        bail!(
            "webstir sources not found at {} (expected crates/webstir/Cargo.toml there); set {SOURCE_ENV} (or pass --source) to a webstir checkout",
            source.display()
        );
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        positionals: &[&str],
        server_only: bool,
        workspace: Option<&str>,
    ) -> Result<InitPlan> {
        InitPlan::resolve(
            &InitRequest {
                positionals: positionals.iter().map(|s| (*s).to_owned()).collect(),
                server_only,
                workspace: workspace.map(PathBuf::from),
            },
            Path::new("/tmp/here"),
        )
    }

    #[test]
    fn accepted_forms() {
        let p = resolve(&["my-backend"], true, None).unwrap();
        assert_eq!(
            (p.mode, p.root.as_path(), p.name.as_str()),
            (Mode::Api, Path::new("/tmp/here/my-backend"), "my-backend")
        );
        let p = resolve(&["my-backend"], false, None).unwrap();
        assert_eq!(p.mode, Mode::Full);
        let p = resolve(&["API", "../x/Shop App"], false, None).unwrap();
        assert_eq!(
            (p.mode, p.root.as_path(), p.name.as_str()),
            (Mode::Api, Path::new("/tmp/x/Shop App"), "shop-app")
        );
        let p = resolve(&["api"], false, Some("/srv/ws")).unwrap();
        assert_eq!(
            (p.mode, p.root.as_path()),
            (Mode::Api, Path::new("/srv/ws"))
        );
        let p = resolve(&[], false, Some("ws")).unwrap();
        assert_eq!(
            (p.mode, p.root.as_path()),
            (Mode::Full, Path::new("/tmp/here/ws"))
        );
    }

    #[test]
    fn bad_forms() {
        let err = resolve(&["spa", "x"], false, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unknown init mode \"spa\". Expected api or full."
        );
        let err = resolve(&[], false, None).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        let err = resolve(&["a", "b"], false, Some("c")).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        let err = resolve(&["full", "x"], true, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--server-only cannot be combined with mode \"full\"."
        );
    }

    #[test]
    fn package_names() {
        assert_eq!(package_name("my-backend"), "my-backend");
        assert_eq!(package_name("My Backend!"), "my-backend");
        assert_eq!(package_name("2048"), "app-2048");
        assert_eq!(package_name(""), "app");
        assert_eq!(package_name("_x_"), "_x_");
    }
}
