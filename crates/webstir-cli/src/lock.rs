//! The watch lock, `.webstir/watch.lock`: a JSON file naming the process that runs `webstir watch`
//! for a workspace, so that a second watch, a build or a publish does not race it. A lock whose
//! process is gone is stale and taken over.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use crate::workspace::{STATE_DIR, Workspace};

/// The lock file, relative to the workspace root.
pub(crate) const LOCK_FILE: &str = ".webstir/watch.lock";

/// A held watch lock; dropping it removes the file.
#[derive(Debug)]
pub(crate) struct WatchLock {
    path: PathBuf,
}

impl WatchLock {
    /// Takes the lock for this process.
    ///
    /// # Errors
    /// `Cannot start webstir watch because webstir watch is active for this workspace (pid N). …`
    /// when a live process holds it; I/O errors.
    pub(crate) fn acquire(ws: &Workspace) -> Result<Self> {
        let dir = ws.path(STATE_DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = ws.path(LOCK_FILE);
        let owner = json!({
            "kind": "watch",
            "pid": std::process::id(),
            "workspaceRoot": ws.root.display().to_string(),
            "createdAt": jiff::Timestamp::now().to_string(),
        });
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(format!("{owner:#}\n").as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    return Ok(Self { path });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if let Some(pid) = live_owner(&path) {
                        bail!(busy_message("start webstir watch", pid, &ws.root));
                    }
                    // Stale (its process is gone) or unreadable: take it over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
        bail!("could not take the watch lock {}", path.display())
    }
}

impl Drop for WatchLock {
    fn drop(&mut self) {
        if read_pid(&self.path) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Fails when another live process holds the watch lock of `ws`.
///
/// # Errors
/// `Cannot run webstir <command> because webstir watch is active for this workspace (pid N). …`
pub(crate) fn refuse_if_watching(ws: &Workspace, command: &str) -> Result<()> {
    match watching(ws) {
        Some(pid) => bail!(busy_message(
            &format!("run webstir {command}"),
            pid,
            &ws.root
        )),
        None => Ok(()),
    }
}

/// The pid of another live process holding the watch lock of `ws`, if any.
pub(crate) fn watching(ws: &Workspace) -> Option<u32> {
    live_owner(&ws.path(LOCK_FILE)).filter(|pid| *pid != std::process::id())
}

fn busy_message(what: &str, pid: u32, root: &Path) -> String {
    format!(
        "Cannot {what} because webstir watch is active for this workspace (pid {pid}). \
         Stop the watch process before running another build pipeline against {}.",
        root.display()
    )
}

fn read_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("pid")?.as_u64()?.try_into().ok()
}

/// The lock's pid when that process is alive.
fn live_owner(path: &Path) -> Option<u32> {
    read_pid(path).filter(|pid| process_alive(*pid))
}

/// Whether a process with this pid exists (signal 0).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(err) => err == rustix::io::Errno::PERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Mode;

    fn ws(root: &Path) -> Workspace {
        Workspace {
            root: root.to_path_buf(),
            name: "x".into(),
            bin: "x".into(),
            mode: Mode::Api,
        }
    }

    #[test]
    fn one_holder_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let ws = ws(dir.path());
        // A lock left by a process that is gone.
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        std::fs::create_dir_all(ws.path(STATE_DIR)).unwrap();
        std::fs::write(ws.path(LOCK_FILE), format!("{{\"pid\":{dead_pid}}}")).unwrap();
        assert_eq!(watching(&ws), None);

        let lock = WatchLock::acquire(&ws).unwrap();
        assert_eq!(read_pid(&ws.path(LOCK_FILE)), Some(std::process::id()));
        // Our own lock does not block our own builds.
        refuse_if_watching(&ws, "build").unwrap();
        drop(lock);
        assert!(!ws.path(LOCK_FILE).exists());
    }

    #[test]
    fn a_live_holder_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let ws = ws(dir.path());
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::create_dir_all(ws.path(STATE_DIR)).unwrap();
        std::fs::write(ws.path(LOCK_FILE), format!("{{\"pid\":{}}}", other.id())).unwrap();
        let err = refuse_if_watching(&ws, "build").unwrap_err().to_string();
        let err2 = WatchLock::acquire(&ws).unwrap_err().to_string();
        other.kill().unwrap();
        other.wait().unwrap();
        assert_eq!(
            err,
            format!(
                "Cannot run webstir build because webstir watch is active for this workspace (pid {}). \
                 Stop the watch process before running another build pipeline against {}.",
                other.id(),
                dir.path().display()
            )
        );
        assert!(
            err2.starts_with("Cannot start webstir watch because"),
            "{err2}"
        );
        assert!(WatchLock::acquire(&ws).is_ok());
    }
}
