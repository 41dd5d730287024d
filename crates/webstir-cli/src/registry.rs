//! The CLI-owned registries `src/backend/routes/mod.rs` and `src/backend/jobs/mod.rs`.
//!
//! They are regenerated as a whole from the files in their folder (never edited in place): every
//! `NAME.route.json` / `NAME.job.json` becomes a registration, with `NAME::handle` / `NAME::run`
//! when the module `NAME.rs` (or `NAME/mod.rs`) exists, and every other module in the folder is
//! declared so handlers can share code. Writing only when the text changes keeps rebuilds quiet.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use webstir_manifest::{HttpMethod, normalize_path};

use crate::changes::Changes;
use crate::names::is_module_name;
use crate::workspace::{JOBS_DIR, ROUTES_DIR};
use crate::{jobs, routes, templates};

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

/// The modules of a folder: `NAME.rs` files (but `mod.rs`) and `NAME/mod.rs` folders whose name
/// is a valid module name, sorted.
fn modules(dir: &Path) -> Result<Vec<String>> {
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

#[derive(Serialize)]
struct Entry {
    file: String,
    module: String,
    handler: bool,
}

/// Regenerates `src/backend/routes/mod.rs`. Routes are mounted most specific path first (static
/// segments before `:param` segments), then by method and file name.
///
/// # Errors
/// When a route file is invalid or has a file name that is not a module name, or a write fails.
pub(crate) fn sync_routes(root: &Path, changes: &mut Changes) -> Result<()> {
    let dir = root.join(ROUTES_DIR);
    let mut found = routes::scan(&dir)?;
    found.sort_by(|a, b| {
        specificity(&a.definition.path, &b.definition.path)
            .then_with(|| method_rank(a.definition.method).cmp(&method_rank(b.definition.method)))
            .then_with(|| a.stem.cmp(&b.stem))
    });
    let entries = found
        .iter()
        .map(|r| entry(&dir, ROUTES_DIR, &r.stem, ".route.json"))
        .collect::<Result<Vec<_>>>()?;
    let text = templates::render(
        "registry/routes.rs.jinja",
        &serde_json::json!({ "modules": modules(&dir)?, "routes": entries }),
    )?;
    changes.write(&format!("{ROUTES_DIR}/mod.rs"), &text)?;
    Ok(())
}

/// Regenerates `src/backend/jobs/mod.rs`, jobs sorted by name.
///
/// # Errors
/// When a job file is invalid or has a file name that is not a module name, or a write fails.
pub(crate) fn sync_jobs(root: &Path, changes: &mut Changes) -> Result<()> {
    let dir = root.join(JOBS_DIR);
    let mut found = jobs::scan(&dir)?;
    found.sort_by(|a, b| a.definition.name.cmp(&b.definition.name));
    let entries = found
        .iter()
        .map(|j| entry(&dir, JOBS_DIR, &j.stem, ".job.json"))
        .collect::<Result<Vec<_>>>()?;
    let text = templates::render(
        "registry/jobs.rs.jinja",
        &serde_json::json!({ "modules": modules(&dir)?, "jobs": entries }),
    )?;
    changes.write(&format!("{JOBS_DIR}/mod.rs"), &text)?;
    Ok(())
}

/// Regenerates both registries; returns the files that changed.
///
/// # Errors
/// As [`sync_routes`] and [`sync_jobs`].
pub(crate) fn sync(root: &Path) -> Result<Vec<String>> {
    let mut changes = Changes::new(root);
    sync_routes(root, &mut changes)?;
    sync_jobs(root, &mut changes)?;
    Ok(changes.list())
}

fn entry(dir: &Path, rel_dir: &str, stem: &str, suffix: &str) -> Result<Entry> {
    if !is_module_name(stem) {
        bail!(
            "{rel_dir}/{stem}{suffix}: the file name must be a Rust module name (lowercase letters, \
             digits and '_', not a keyword) followed by {suffix}"
        );
    }
    Ok(Entry {
        file: format!("{stem}{suffix}"),
        module: stem.to_owned(),
        handler: module_exists(dir, stem),
    })
}

/// Orders paths so that a more specific one comes first: segment by segment, a static segment
/// before a `:param`, static segments alphabetically.
fn specificity(a: &str, b: &str) -> Ordering {
    let key = |path: &str| -> Vec<(u8, String)> {
        normalize_path(path)
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some(_) => (1, String::new()),
                None => (0, s.to_owned()),
            })
            .collect()
    };
    key(a).cmp(&key(b))
}

fn method_rank(method: HttpMethod) -> usize {
    HttpMethod::ALL
        .iter()
        .position(|m| *m == method)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_segments_before_params() {
        let mut paths = vec![
            "/api/accounts/:id",
            "/api/accounts/new",
            "/api/accounts",
            "/api/:kind/new",
            "/",
        ];
        paths.sort_by(|a, b| specificity(a, b));
        assert_eq!(
            paths,
            vec![
                "/",
                "/api/accounts",
                "/api/accounts/new",
                "/api/accounts/:id",
                "/api/:kind/new"
            ]
        );
    }

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
