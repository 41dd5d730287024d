//! Building the backend: `cargo build` (cargo's own progress and diagnostics on stderr), then the
//! built binary's `manifest` subcommand, written to `.webstir/backend-manifest.json`.
//!
//! `.webstir/backend-build.json` remembers which binary the manifest came from and its cargo
//! profile, so commands that only need a built backend (`backend-inspect`, `serve`, `jobs`,
//! `migrate`, `auth`) rebuild only when a source is newer than the manifest, and then in the same
//! profile (after `webstir build --release` they keep using, and rebuilding, the release binary).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use webstir_manifest::ModuleManifest;

use crate::workspace::{STATE_DIR, Workspace};
use crate::{lock, registry};

/// The manifest file, relative to the workspace root.
pub(crate) const MANIFEST_FILE: &str = ".webstir/backend-manifest.json";
/// The build record, relative to the workspace root.
const BUILD_FILE: &str = ".webstir/backend-build.json";

/// Cargo profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `cargo build` (the dev loop).
    Dev,
    /// `cargo build --release` (`build --release`, publish).
    Release,
}

impl Profile {
    /// Cargo's name for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Release => "release",
        }
    }
}

/// What `cargo build` produced.
#[derive(Debug, Clone)]
pub(crate) struct CargoOutput {
    /// The backend executable.
    pub(crate) binary: PathBuf,
    /// Whether cargo found it up to date (nothing recompiled).
    pub(crate) fresh: bool,
}

/// A built backend and its manifest.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) binary: PathBuf,
    pub(crate) manifest: ModuleManifest,
    /// The profile it was built with.
    pub(crate) profile: Profile,
}

/// The cargo executable: `$CARGO` when a cargo invocation set it, else `cargo` from `PATH`.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cargo build` for the backend binary in the workspace. Cargo's progress and rendered
/// diagnostics go to this process's stderr; `quiet` passes `--quiet` (errors and warnings only).
///
/// # Errors
/// `backend build failed: cargo exited with …` when compilation fails (cargo has printed why).
pub(crate) fn cargo_build(ws: &Workspace, profile: Profile, quiet: bool) -> Result<CargoOutput> {
    let mut cmd = cargo();
    cmd.current_dir(&ws.root)
        .args(["build", "--message-format=json-render-diagnostics", "--bin"])
        .arg(&ws.bin);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    if quiet {
        cmd.arg("--quiet");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run cargo; is the Rust toolchain installed?")?;
    let mut found: Option<CargoOutput> = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("cannot read cargo's output")?;
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact"
                || message["target"]["name"] != ws.bin.as_str()
            {
                continue;
            }
            let is_bin = message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if let (true, Some(exe)) = (is_bin, message["executable"].as_str()) {
                found = Some(CargoOutput {
                    binary: PathBuf::from(exe),
                    fresh: message["fresh"].as_bool().unwrap_or(false),
                });
            }
        }
    }
    let status = child.wait().context("cargo did not finish")?;
    if !status.success() {
        bail!("backend build failed: cargo exited with {status}");
    }
    found.with_context(|| format!("cargo did not report the backend binary '{}'", ws.bin))
}

/// Runs `<binary> manifest` for the workspace and parses (and validates) the manifest.
///
/// # Errors
/// When the binary fails or prints something that is not a valid manifest.
pub(crate) fn read_manifest(ws: &Workspace, binary: &Path) -> Result<ModuleManifest> {
    let output = Command::new(binary)
        .arg("manifest")
        .current_dir(&ws.root)
        .env("WORKSPACE_ROOT", &ws.root)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`{} manifest` failed ({}): {}",
            binary.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    ModuleManifest::from_json(&text).with_context(|| {
        format!(
            "`{} manifest` printed an invalid manifest",
            binary.display()
        )
    })
}

/// Writes `.webstir/backend-manifest.json` and the build record.
///
/// # Errors
/// On I/O errors.
pub(crate) fn write_state(ws: &Workspace, built: &Built) -> Result<()> {
    let dir = ws.path(STATE_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let record = json!({
        "binary": built.binary.display().to_string(),
        "profile": built.profile.as_str(),
    });
    std::fs::write(ws.path(BUILD_FILE), format!("{record:#}\n"))
        .with_context(|| format!("cannot write {BUILD_FILE}"))?;
    std::fs::write(ws.path(MANIFEST_FILE), built.manifest.to_json_pretty())
        .with_context(|| format!("cannot write {MANIFEST_FILE}"))?;
    Ok(())
}

/// `webstir build [--release]`: refuses while a watch runs, refreshes the registries, builds, and
/// writes the manifest and the build record.
///
/// # Errors
/// The watch lock is held; a route or job file is invalid; compilation or the manifest fails.
pub(crate) fn build(ws: &Workspace, profile: Profile) -> Result<Built> {
    lock::refuse_if_watching(ws, "build")?;
    registry::sync(&ws.root)?;
    let out = cargo_build(ws, profile, false)?;
    let manifest = read_manifest(ws, &out.binary)?;
    let built = Built {
        binary: out.binary,
        manifest,
        profile,
    };
    write_state(ws, &built)?;
    Ok(built)
}

/// The built backend, building it first when the manifest is missing or older than a source
/// (`src/**`, `Cargo.toml`, `Cargo.lock`), in the profile of the last build (dev when there is
/// none). While a watch runs, its latest build is used as is.
///
/// # Errors
/// As [`build`], or when there is no build yet and a watch holds the lock.
pub(crate) fn ensure_built(ws: &Workspace) -> Result<Built> {
    if let Some(built) = current(ws)? {
        return Ok(built);
    }
    if lock::watching(ws).is_some()
        && let Some(built) = recorded(ws)
    {
        eprintln!("note: webstir watch is running for this workspace; using its latest build");
        return Ok(built);
    }
    let profile = recorded_profile(ws).unwrap_or(Profile::Dev);
    if profile == Profile::Release {
        eprintln!("note: sources changed since `webstir build --release`; rebuilding (release)");
    }
    build(ws, profile)
}

/// The recorded build when it is up to date with the sources.
fn current(ws: &Workspace) -> Result<Option<Built>> {
    let Some(built) = recorded(ws) else {
        return Ok(None);
    };
    let Ok(manifest_time) = modified(&ws.path(MANIFEST_FILE)) else {
        return Ok(None);
    };
    let mut newest = modified(&built.binary).unwrap_or(SystemTime::UNIX_EPOCH);
    for file in ["Cargo.toml", "Cargo.lock"] {
        if let Ok(time) = modified(&ws.path(file)) {
            newest = newest.max(time);
        }
    }
    newest = newest.max(newest_in(&ws.path("src"))?);
    Ok((manifest_time >= newest).then_some(built))
}

/// The build record with its manifest, when both are readable and the binary exists.
fn recorded(ws: &Workspace) -> Option<Built> {
    let record = read_record(ws)?;
    let binary = PathBuf::from(record["binary"].as_str()?);
    if !binary.is_file() {
        return None;
    }
    let manifest =
        ModuleManifest::from_json(&std::fs::read_to_string(ws.path(MANIFEST_FILE)).ok()?).ok()?;
    Some(Built {
        binary,
        manifest,
        profile: profile_of(&record),
    })
}

/// The profile of the last recorded build (whether or not its binary still exists).
fn recorded_profile(ws: &Workspace) -> Option<Profile> {
    read_record(ws).map(|record| profile_of(&record))
}

fn read_record(ws: &Workspace) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(ws.path(BUILD_FILE)).ok()?).ok()
}

/// A record without `profile` was written before profiles were recorded: a dev build.
fn profile_of(record: &Value) -> Profile {
    if record["profile"] == "release" {
        Profile::Release
    } else {
        Profile::Dev
    }
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    std::fs::metadata(path)?.modified()
}

/// The newest modification time of `dir` and everything under it.
fn newest_in(dir: &Path) -> Result<SystemTime> {
    let mut newest = modified(dir).unwrap_or(SystemTime::UNIX_EPOCH);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(newest);
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            newest = newest.max(newest_in(&entry.path())?);
        } else if let Ok(time) = entry.metadata().and_then(|m| m.modified()) {
            newest = newest.max(time);
        }
    }
    Ok(newest)
}
