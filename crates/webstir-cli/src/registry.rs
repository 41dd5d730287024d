//! The CLI-owned registries `src/backend/routes/mod.rs` and `src/backend/jobs/mod.rs`.
//!
//! They are regenerated as a whole from the files in their folder (never edited in place): every
//! module is declared, and each module with a `route()` / `job()` function (found with the Rust
//! parser) is registered. They only list modules: a hand-written registry (or module table) is
//! equally valid. Writing only when the text changes keeps rebuilds quiet.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::changes::Changes;
use crate::decl::{self, Found};
use crate::names::is_module_name;
use crate::workspace::{JOBS_DIR, ROUTES_DIR};
use crate::{routes, templates};

/// `(stem, path)` of every file in `dir` whose name ends with `suffix`, sorted by stem. A missing
/// folder has none.
///
/// # Errors
/// When the folder cannot be read.
pub(crate) fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(suffix)
            && !stem.is_empty()
            && entry.path().is_file()
        {
            out.push((stem.to_owned(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `dir/stem.rs` or `dir/stem/mod.rs` exists.
pub(crate) fn module_exists(dir: &Path, stem: &str) -> bool {
    dir.join(format!("{stem}.rs")).is_file() || dir.join(stem).join("mod.rs").is_file()
}

/// The modules of a folder: `NAME.rs` files (but `mod.rs` and `main.rs`) and `NAME/mod.rs`
/// folders whose name is a valid module name, sorted.
///
/// # Errors
/// When the folder cannot be read.
pub(crate) fn modules(dir: &Path) -> Result<Vec<String>> {
    let mut out: Vec<String> = files_with_suffix(dir, ".rs")?
        .into_iter()
        .map(|(stem, _)| stem)
        .filter(|stem| stem != "mod")
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().join("mod.rs").is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                out.push(name.to_owned());
            }
        }
    }
    out.retain(|m| is_module_name(m));
    out.sort();
    out.dedup();
    Ok(out)
}

/// `(workspace-relative path, path)` of module `stem` in `dir` (`stem.rs`, else `stem/mod.rs`).
pub(crate) fn module_file(dir: &Path, rel_dir: &str, stem: &str) -> (String, PathBuf) {
    let file = dir.join(format!("{stem}.rs"));
    if file.is_file() {
        (format!("{rel_dir}/{stem}.rs"), file)
    } else {
        (
            format!("{rel_dir}/{stem}/mod.rs"),
            dir.join(stem).join("mod.rs"),
        )
    }
}

/// Which modules of `dir` declare `fn fn_name()`, read with the Rust parser. A module that does
/// not parse keeps the registration it had in `previous` (the compiler reports the error).
fn declaring(
    dir: &Path,
    rel_dir: &str,
    modules: &[String],
    fn_name: &str,
    type_name: &str,
    previous: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for stem in modules {
        let (_, path) = module_file(dir, rel_dir, stem);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let registered = match decl::find(&text, fn_name, type_name) {
            Ok(Found::Missing) => false,
            Ok(_) => true,
            Err(_) => previous.contains(&format!("({stem}::{fn_name}())")),
        };
        if registered {
            out.push(stem.clone());
        }
    }
    Ok(out)
}

/// Regenerates `src/backend/routes/mod.rs`: every module of the folder, and a registration for
/// each one with a `route()` function. The runtime orders routes by specificity, so the order
/// of registrations does not matter; they are listed by file name.
///
/// # Errors
/// When the folder or a file cannot be read, or a write fails.
pub(crate) fn sync_routes(root: &Path, changes: &mut Changes) -> Result<()> {
    routes::convert_json(root, changes)?;
    sync_folder(
        root,
        changes,
        ROUTES_DIR,
        "route",
        "Route",
        "registry/routes.rs.jinja",
    )
}

/// Regenerates `src/backend/jobs/mod.rs` the same way, for modules with a `job()` function.
///
/// # Errors
/// As [`sync_routes`].
pub(crate) fn sync_jobs(root: &Path, changes: &mut Changes) -> Result<()> {
    crate::jobs::convert_json(root, changes)?;
    sync_folder(
        root,
        changes,
        JOBS_DIR,
        "job",
        "Job",
        "registry/jobs.rs.jinja",
    )
}

fn sync_folder(
    root: &Path,
    changes: &mut Changes,
    rel_dir: &str,
    fn_name: &str,
    type_name: &str,
    template: &str,
) -> Result<()> {
    let dir = root.join(rel_dir);
    let modules = modules(&dir)?;
    let previous = std::fs::read_to_string(dir.join("mod.rs")).unwrap_or_default();
    let entries = declaring(&dir, rel_dir, &modules, fn_name, type_name, &previous)?;
    let text = templates::render(
        template,
        &serde_json::json!({ "modules": modules, "entries": entries }),
    )?;
    changes.write(&format!("{rel_dir}/mod.rs"), &text)?;
    Ok(())
}

/// Regenerates both registries and the API tests' module list; returns the files that changed.
///
/// # Errors
/// As [`sync_routes`] and [`sync_jobs`].
pub(crate) fn sync(root: &Path) -> Result<Vec<String>> {
    let mut changes = Changes::new(root);
    sync_routes(root, &mut changes)?;
    sync_jobs(root, &mut changes)?;
    routes::sync_tests(root, &mut changes)?;
    Ok(changes.list())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_of_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["mod.rs", "b.rs", "a.rs", "Bad-Name.rs", "x.route.json"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("shared")).unwrap();
        std::fs::write(dir.path().join("shared/mod.rs"), "").unwrap();
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        assert_eq!(modules(dir.path()).unwrap(), vec!["a", "b", "shared"]);
        assert!(module_exists(dir.path(), "shared"));
        assert!(!module_exists(dir.path(), "empty"));
    }
}
