//! Writing files inside a workspace, recording which ones changed, and printing the result the way
//! the reference does (`[webstir] <command> complete`, `key: value` lines, `changes:` list).

use std::collections::BTreeSet;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// Files written under a root, by workspace-relative path (`/`-separated).
#[derive(Debug)]
pub(crate) struct Changes {
    root: PathBuf,
    paths: BTreeSet<String>,
}

impl Changes {
    /// Nothing written yet under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            paths: BTreeSet::new(),
        }
    }

    /// Writes `contents` to `rel` unless it already holds exactly that. Returns whether it wrote.
    ///
    /// # Errors
    /// When the path goes through a symbolic link, or on I/O errors.
    pub(crate) fn write(&mut self, rel: &str, contents: &str) -> Result<bool> {
        let path = self.checked(rel)?;
        match std::fs::read(&path) {
            Ok(old) if old == contents.as_bytes() => return Ok(false),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.paths.insert(rel.to_owned());
        Ok(true)
    }

    /// Creates `rel` with `contents`; fails if it exists.
    ///
    /// # Errors
    /// When the file exists, the path goes through a symbolic link, or on I/O errors.
    pub(crate) fn create(&mut self, rel: &str, contents: &str) -> Result<()> {
        let path = self.checked(rel)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(contents.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.paths.insert(rel.to_owned());
        Ok(())
    }

    /// The absolute path of `rel`, refusing any symbolic link on the way from the root.
    fn checked(&self, rel: &str) -> Result<PathBuf> {
        refuse_symlinks(&self.root, rel)?;
        Ok(self.root.join(rel))
    }

    /// Records `rel` as changed (a file removed, for instance).
    pub(crate) fn record(&mut self, rel: &str) {
        self.paths.insert(rel.to_owned());
    }

    /// The changed paths, sorted.
    pub(crate) fn list(&self) -> Vec<String> {
        self.paths.iter().cloned().collect()
    }
}

/// Fails when `root/rel` or any folder between `root` and it is a symbolic link, so that a write
/// can never land outside the workspace.
///
/// # Errors
/// `Refusing to write through symbolic link: <path>`.
pub(crate) fn refuse_symlinks(root: &Path, rel: &str) -> Result<()> {
    let mut path = root.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        if part == ".." {
            bail!("Refusing to write outside the workspace root: {rel}");
        }
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                bail!(
                    "Refusing to write through symbolic link: {}",
                    path.display()
                )
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => break,
            Err(err) => {
                return Err(err).with_context(|| format!("cannot inspect {}", path.display()));
            }
        }
    }
    Ok(())
}

/// A command's result report: `[webstir] <command> complete`, then `key: value` lines, then the
/// optional `changes:` list.
#[derive(Debug)]
pub(crate) struct Report {
    command: &'static str,
    fields: Vec<(&'static str, String)>,
    changes: Option<Vec<String>>,
}

impl Report {
    /// A report for `command`.
    pub(crate) fn new(command: &'static str) -> Self {
        Self {
            command,
            fields: Vec::new(),
            changes: None,
        }
    }

    /// Adds a `key: value` line.
    #[must_use]
    pub(crate) fn field(mut self, key: &'static str, value: impl ToString) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }

    /// Adds the `changes:` list.
    #[must_use]
    pub(crate) fn changes(mut self, changes: Vec<String>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// The report's text.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("[webstir] {} complete\n", self.command);
        for (key, value) in &self.fields {
            out.push_str(&format!("{key}: {value}\n"));
        }
        if let Some(changes) = &self.changes {
            if changes.is_empty() {
                out.push_str("changes: none\n");
            } else {
                out.push_str(&format!("changes: {}\n", changes.len()));
                for path in changes {
                    out.push_str(&format!("  - {path}\n"));
                }
            }
        }
        out
    }

    /// Prints the report to stdout.
    ///
    /// # Errors
    /// When stdout is closed.
    pub(crate) fn print(&self) -> Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(self.render().as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut changes = Changes::new(dir.path());
        assert!(changes.write("a/b.txt", "x").unwrap());
        assert!(!changes.write("a/b.txt", "x").unwrap());
        let mut again = Changes::new(dir.path());
        assert!(!again.write("a/b.txt", "x").unwrap());
        assert!(again.list().is_empty());
        assert_eq!(changes.list(), vec!["a/b.txt".to_owned()]);
        let err = changes.create("a/b.txt", "y").unwrap_err();
        assert!(format!("{err:#}").contains("cannot create"), "{err:#}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("jobs")).unwrap();
        let mut changes = Changes::new(dir.path());
        let err = changes.write("jobs/x.rs", "x").unwrap_err().to_string();
        assert!(
            err.starts_with("Refusing to write through symbolic link: "),
            "{err}"
        );
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }

    #[test]
    fn report_format() {
        let text = Report::new("add-route")
            .field("target", "GET /api/x")
            .changes(vec!["a".into(), "b".into()])
            .render();
        assert_eq!(
            text,
            "[webstir] add-route complete\ntarget: GET /api/x\nchanges: 2\n  - a\n  - b\n"
        );
        let text = Report::new("x").changes(Vec::new()).render();
        assert_eq!(text, "[webstir] x complete\nchanges: none\n");
    }
}
