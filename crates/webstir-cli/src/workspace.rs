//! The webstir workspace a command works on: a Cargo project whose `Cargo.toml` has
//! `[package.metadata.webstir] mode = "api" | "full"`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use toml_edit::DocumentMut;

/// Backend folder, relative to the workspace root.
pub(crate) const BACKEND_DIR: &str = "src/backend";
/// Route files, relative to the workspace root.
pub(crate) const ROUTES_DIR: &str = "src/backend/routes";
/// Job files, relative to the workspace root.
pub(crate) const JOBS_DIR: &str = "src/backend/jobs";
/// SQL migrations, relative to the workspace root.
pub(crate) const MIGRATIONS_DIR: &str = "src/backend/db/migrations";
/// The CLI's state folder, relative to the workspace root.
pub(crate) const STATE_DIR: &str = ".webstir";

/// What a workspace holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Backend only.
    Api,
    /// Backend and frontend.
    Full,
}

impl Mode {
    /// Parses a mode name (trimmed, any case).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "api" => Some(Self::Api),
            "full" => Some(Self::Full),
            _ => None,
        }
    }

    /// The lowercase name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Full => "full",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved workspace.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// Absolute root folder (where `Cargo.toml` is).
    pub(crate) root: PathBuf,
    /// Cargo package name.
    pub(crate) name: String,
    /// Name of the backend binary target.
    pub(crate) bin: String,
    /// The mode.
    pub(crate) mode: Mode,
}

impl Workspace {
    /// Finds the workspace: `explicit` when given, else the nearest folder from the current
    /// directory upwards whose `Cargo.toml` has `[package.metadata.webstir]`.
    ///
    /// # Errors
    /// When there is no such `Cargo.toml` (the message says how to create a project or point at
    /// one), or it lacks a supported mode.
    pub(crate) fn locate(explicit: Option<&Path>) -> Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let root = match explicit {
            Some(path) => {
                let root = absolute(&cwd, path);
                if !root.join("Cargo.toml").is_file() {
                    bail!(
                        "no webstir project at {} (no Cargo.toml there); create one with \
                         `webstir init {} --server-only` or pass -w DIR of an existing project",
                        root.display(),
                        path.display()
                    );
                }
                root
            }
            None => cwd
                .ancestors()
                .find(|dir| has_webstir_metadata(&dir.join("Cargo.toml")))
                .map(Path::to_path_buf)
                .with_context(|| {
                    format!(
                        "no webstir project here (no Cargo.toml with [package.metadata.webstir] in \
                         {} or its parents); create one with `webstir init my-backend --server-only` \
                         or pass -w DIR",
                        cwd.display()
                    )
                })?,
        };
        Self::open(&root)
    }

    /// Reads the workspace at `root`.
    ///
    /// # Errors
    /// `Workspace Cargo.toml not found at <path>.`, invalid TOML, or a missing/unsupported mode.
    pub(crate) fn open(root: &Path) -> Result<Self> {
        let manifest = root.join("Cargo.toml");
        let text = match std::fs::read_to_string(&manifest) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!("Workspace Cargo.toml not found at {}.", manifest.display())
            }
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read {}", manifest.display()));
            }
        };
        let doc: DocumentMut = text.parse().with_context(|| {
            format!(
                "Workspace Cargo.toml at {} is not valid TOML",
                manifest.display()
            )
        })?;
        let package = doc.get("package").and_then(|p| p.as_table_like());
        let Some(name) = package
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_owned)
        else {
            bail!(
                "Workspace Cargo.toml at {} has no [package] name.",
                manifest.display()
            );
        };
        let mode = package
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get("webstir"))
            .and_then(|w| w.get("mode"))
            .and_then(|m| m.as_str());
        let Some(mode_text) = mode else {
            bail!("Workspace Cargo.toml is missing [package.metadata.webstir] mode.");
        };
        let Some(mode) = Mode::parse(mode_text) else {
            bail!("Unsupported webstir mode \"{mode_text}\". Expected one of: api, full.");
        };
        let bin = backend_bin(&doc).unwrap_or_else(|| name.clone());
        Ok(Self {
            root: root.to_path_buf(),
            name,
            bin,
            mode,
        })
    }

    /// `root/rel`.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// `path` made absolute against `cwd`, without resolving symlinks.
pub(crate) fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = cwd.join(path);
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether a `Cargo.toml` exists and declares `[package.metadata.webstir]`.
fn has_webstir_metadata(manifest: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return false;
    };
    let Ok(doc) = text.parse::<DocumentMut>() else {
        return false;
    };
    doc.get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("webstir"))
        .is_some()
}

/// The name of the `[[bin]]` whose path is `src/backend/main.rs`.
fn backend_bin(doc: &DocumentMut) -> Option<String> {
    let bins = doc.get("bin")?.as_array_of_tables()?;
    bins.iter()
        .find(|bin| {
            bin.get("path")
                .and_then(|p| p.as_str())
                .is_some_and(|p| Path::new(p) == Path::new("src/backend/main.rs"))
        })
        .or_else(|| bins.iter().next())
        .and_then(|bin| bin.get("name")?.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) {
        std::fs::write(dir.join("Cargo.toml"), text).unwrap();
    }

    #[test]
    fn reads_name_bin_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "[package]\nname = \"shop\"\n[[bin]]\nname = \"shop-api\"\npath = \"src/backend/main.rs\"\n\
             [package.metadata.webstir]\nmode = \" Full \"\n",
        );
        let ws = Workspace::open(dir.path()).unwrap();
        assert_eq!(
            (ws.name.as_str(), ws.bin.as_str(), ws.mode),
            ("shop", "shop-api", Mode::Full)
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let err = Workspace::open(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "Workspace Cargo.toml not found at {}.",
                dir.path().join("Cargo.toml").display()
            )
        );
        write(dir.path(), "[package]\nname = \"x\"\n");
        let err = Workspace::open(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            "Workspace Cargo.toml is missing [package.metadata.webstir] mode."
        );
        write(
            dir.path(),
            "[package]\nname = \"x\"\n[package.metadata.webstir]\nmode = \"spa\"\n",
        );
        let err = Workspace::open(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            "Unsupported webstir mode \"spa\". Expected one of: api, full."
        );
    }

    #[test]
    fn absolute_paths() {
        let cwd = Path::new("/a/b");
        assert_eq!(
            absolute(cwd, Path::new("c/../d/./e")),
            Path::new("/a/b/d/e")
        );
        assert_eq!(absolute(cwd, Path::new("/x")), Path::new("/x"));
    }
}
