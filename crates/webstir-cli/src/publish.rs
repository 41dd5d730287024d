//! `publish`: a release build of the backend, laid out in `dist/backend/` with its manifest, its
//! migrations and a run note. Nothing else under `dist/` is touched.

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::backend::{self, Profile};
use crate::changes::refuse_symlinks;
use crate::workspace::{MIGRATIONS_DIR, Workspace};
use crate::{lock, registry};

/// The output folder, relative to the workspace root.
pub(crate) const DIST_DIR: &str = "dist/backend";
/// Where migrations go inside the output folder.
pub(crate) const DIST_MIGRATIONS: &str = "migrations";

/// Builds in release mode and writes `dist/backend/`; returns the root-relative files written.
///
/// # Errors
/// The watch lock is held; the build or manifest fails; I/O errors.
pub(crate) fn publish(ws: &Workspace) -> Result<Vec<String>> {
    lock::refuse_if_watching(ws, "publish")?;
    registry::sync(&ws.root)?;
    let out = backend::cargo_build(ws, Profile::Release, false)?;
    let manifest = backend::read_manifest(ws, &out.binary)?;

    refuse_symlinks(&ws.root, DIST_DIR)?;
    let dist = ws.path(DIST_DIR);
    match std::fs::remove_dir_all(&dist) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot clear {}", dist.display())),
    }
    std::fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;

    let mut written = Vec::new();
    std::fs::copy(&out.binary, dist.join(&ws.bin))
        .with_context(|| format!("cannot copy {}", out.binary.display()))?;
    written.push(format!("{DIST_DIR}/{}", ws.bin));

    std::fs::write(dist.join("manifest.json"), manifest.to_json_pretty())
        .context("cannot write the manifest")?;
    written.push(format!("{DIST_DIR}/manifest.json"));

    for name in sql_files(&ws.path(MIGRATIONS_DIR))? {
        let target = dist.join(DIST_MIGRATIONS);
        std::fs::create_dir_all(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        std::fs::copy(ws.path(MIGRATIONS_DIR).join(&name), target.join(&name))
            .with_context(|| format!("cannot copy {MIGRATIONS_DIR}/{name}"))?;
        written.push(format!("{DIST_DIR}/{DIST_MIGRATIONS}/{name}"));
    }

    std::fs::write(dist.join("README.md"), run_note(ws, &manifest.name))
        .context("cannot write the run note")?;
    written.push(format!("{DIST_DIR}/README.md"));
    written.sort();
    Ok(written)
}

fn sql_files(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.path().is_dir() {
            bail!(
                "{MIGRATIONS_DIR} holds a folder ({}); migrations are flat .sql files",
                entry.file_name().to_string_lossy()
            );
        }
        if let Some(name) = entry.file_name().to_str()
            && name.ends_with(".sql")
            && !name.starts_with('.')
        {
            out.push(name.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

fn run_note(ws: &Workspace, module: &str) -> String {
    let bin = &ws.bin;
    format!(
        "# {module} (backend)\n\
         \n\
         Built by `webstir publish` (release profile). To run it, from this folder:\n\
         \n\
         ```sh\n\
         ./{bin} migrate && ./{bin} serve\n\
         ```\n\
         \n\
         It runs in **production mode** unless `NODE_ENV` says otherwise (`NODE_ENV=development`\n\
         switches back to the development defaults):\n\
         \n\
         - logs are JSON lines on stdout, and it binds 0.0.0.0 (set `HOST` to narrow it);\n\
         - a 500 answers `{{\"error\":\"internal_error\"}}` without the internal message (it is logged);\n\
         - migrations are not applied at start: with migrations pending, `serve` exits with status 1\n\
         \x20 and names them and the fix (`./{bin} migrate`). `MIGRATE_ON_START=on` applies them at\n\
         \x20 start instead; `./{bin} migrate --status` lists them.\n\
         - the database is `DATABASE_URL`, else the SQLite file `data/app.sqlite` under the folder it\n\
         \x20 runs from (or `WORKSPACE_ROOT`); the development file `data/dev.sqlite` is never used.\n\
         \n\
         Configure it with environment variables (`PORT`, `HOST`, `DATABASE_URL`, `LOG_LEVEL`, …) or a\n\
         `.env` file in the folder it runs from; `./{bin} --help` lists the subcommands.\n\
         `manifest.json` is the module manifest; `{DIST_MIGRATIONS}/` holds the SQL migrations (found\n\
         beside the binary).\n"
    )
}
