//! `webstir watch`: build, run the backend, and rebuild and restart it when `src/backend/**`
//! changes.
//!
//! * File events (notify) under `src/backend/`, and on `Cargo.toml`, `Cargo.lock`, `.env` and
//!   `.env.local`, are debounced: a rebuild starts once no event arrived for [`DEBOUNCE`].
//! * Each rebuild after the first prints `[webstir] rebuilding…`. A rebuild that fails keeps the
//!   running process serving (cargo has printed the errors); one that recompiled nothing does not
//!   restart it, unless an env file or a migration under `src/backend/db/migrations` changed or
//!   none runs. A restart is how new migrations get applied: the dev backend applies pending
//!   migrations when it starts (`MIGRATE_ON_START`, on in development); with it off, the backend
//!   refuses to start and says which migrations are pending and how to apply them.
//! * The backend runs in its own process group with `PORT` set, its output prefixed `[backend] `;
//!   it is ready when it prints `API server running`. It is stopped with SIGTERM (SIGKILL after
//!   [`STOP_GRACE`]) before the new binary starts, so both never hold the port at once.
//! * SIGINT/SIGTERM stop the backend and release the watch lock.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::backend::{self, Built, Profile};
use crate::lock::WatchLock;
use crate::registry;
use crate::workspace::{BACKEND_DIR, MIGRATIONS_DIR, Workspace};

/// Quiet period that ends a burst of file events.
const DEBOUNCE: Duration = Duration::from_millis(40);
/// How long a stopping backend may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a starting backend may take to print `API server running`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The port tried first when none is configured.
const FIRST_PORT: u16 = 4000;

/// What `watch` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct WatchPlan {
    pub(crate) port: Option<u16>,
    /// The `filter:` label of the scope summary (`backend`, `all`, `auto`).
    pub(crate) filter: &'static str,
}

/// Runs the watch until SIGINT/SIGTERM.
///
/// # Errors
/// The lock is held by another watch, the port is taken, or the watcher cannot start.
pub(crate) fn run(ws: &Workspace, plan: &WatchPlan) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(watch(ws, plan))
}

/// One batch of file events.
#[derive(Debug, Default, Clone, Copy)]
struct Trigger {
    /// An env file changed: restart even when nothing recompiles.
    env: bool,
    /// A migration file was added, changed or removed: restart so the backend applies it.
    migrations: bool,
}

async fn watch(ws: &Workspace, plan: &WatchPlan) -> Result<ExitCode> {
    let _lock = WatchLock::acquire(ws)?;
    let port = resolve_port(ws, plan.port)?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Trigger>();
    let _watcher = start_watcher(ws, tx)?;

    let mut backend = Supervisor {
        ws: ws.clone(),
        port,
        child: None,
        url: None,
        announced: false,
        filter: plan.filter,
    };
    backend.rebuild(Trigger::default()).await;
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            Some(first) = rx.recv() => {
                let mut trigger = first;
                while let Ok(Some(next)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    trigger.env |= next.env;
                    trigger.migrations |= next.migrations;
                }
                println!("[webstir] rebuilding…");
                backend.rebuild(trigger).await;
            }
            code = backend.exited() => {
                eprintln!("[webstir] backend runtime exited unexpectedly with code {code}.");
            }
        }
    }
    backend.stop().await;
    println!("[webstir] watch stopped");
    Ok(ExitCode::SUCCESS)
}

/// Starts the file watcher; events that matter are sent to `tx`.
fn start_watcher(
    ws: &Workspace,
    tx: mpsc::UnboundedSender<Trigger>,
) -> Result<notify::RecommendedWatcher> {
    let root = ws.root.clone();
    let backend_dir = ws.path(BACKEND_DIR);
    let watched_backend = backend_dir.clone();
    let migrations_dir = ws.path(MIGRATIONS_DIR);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let mut relevant = false;
        let mut env = false;
        let mut migrations = false;
        for path in &event.paths {
            if is_editor_noise(path) {
                continue;
            }
            if path.starts_with(&watched_backend) {
                relevant = true;
                migrations |= path.starts_with(&migrations_dir);
            } else if path.parent() == Some(root.as_path()) {
                match path.file_name().and_then(|n| n.to_str()) {
                    Some("Cargo.toml" | "Cargo.lock") => relevant = true,
                    Some(".env" | ".env.local") => {
                        relevant = true;
                        env = true;
                    }
                    _ => {}
                }
            }
        }
        if relevant {
            let _ = tx.send(Trigger { env, migrations });
        }
    })
    .context("cannot start the file watcher")?;
    watcher
        .watch(&backend_dir, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", backend_dir.display()))?;
    watcher
        .watch(&ws.root, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", ws.root.display()))?;
    Ok(watcher)
}

/// Editor swap, backup and temporary files.
fn is_editor_noise(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    (name.starts_with('.') && !name.starts_with(".env"))
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// The port: `--port` (must be free), else `PORT` from the environment, `.env.local` or `.env`,
/// else the first free port from 4000.
fn resolve_port(ws: &Workspace, explicit: Option<u16>) -> Result<u16> {
    if let Some(port) = explicit {
        if port != 0 && !port_free(port) {
            bail!("Port {port} is already in use.");
        }
        return Ok(port);
    }
    if let Some(port) = configured_port(&ws.root) {
        if port != 0 && !port_free(port) {
            bail!(
                "Port {port} is already in use (PORT from the environment or .env); pass --port N."
            );
        }
        return Ok(port);
    }
    (FIRST_PORT..FIRST_PORT + 20)
        .find(|p| port_free(*p))
        .with_context(|| format!("Unable to find an open port starting at {FIRST_PORT}."))
}

fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// `PORT` from the real environment, else from `.env.local`, else from `.env`.
fn configured_port(root: &Path) -> Option<u16> {
    if let Ok(value) = std::env::var("PORT") {
        return value.trim().parse().ok();
    }
    for file in [".env.local", ".env"] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ").trim_start();
            if let Some(value) = line.strip_prefix("PORT=") {
                let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
                if let Ok(port) = value.parse() {
                    return Some(port);
                }
            }
        }
    }
    None
}

/// The port in an `API server running` line (`"port":N` in JSON logs, `port=N` otherwise).
fn port_in(line: &str) -> Option<u16> {
    for key in ["\"port\":", "port="] {
        if let Some(at) = line.find(key) {
            let digits: String = line[at + key.len()..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(port) = digits.parse() {
                return Some(port);
            }
        }
    }
    None
}

/// The running backend process and how to replace it.
struct Supervisor {
    ws: Workspace,
    port: u16,
    child: Option<Child>,
    url: Option<String>,
    announced: bool,
    filter: &'static str,
}

impl Supervisor {
    /// Rebuilds; on success (re)starts the backend when something changed.
    async fn rebuild(&mut self, trigger: Trigger) {
        let ws = self.ws.clone();
        let built = tokio::task::spawn_blocking(move || {
            registry::sync(&ws.root)?;
            backend::cargo_build(&ws, Profile::Dev, true)
        })
        .await
        .unwrap_or_else(|err| Err(anyhow::anyhow!("the build task failed: {err}")));
        let out = match built {
            Ok(out) => out,
            Err(err) => {
                eprintln!("error: {err:#}");
                if self.child.is_some() {
                    eprintln!(
                        "[webstir] backend rebuild failed; keeping the current runtime process."
                    );
                } else {
                    eprintln!("[webstir] backend build failed; waiting for changes.");
                }
                return;
            }
        };
        if out.fresh && self.child.is_some() {
            if trigger.migrations {
                println!("[webstir] migrations changed; restarting the backend to apply them");
            } else if trigger.env {
                println!("[webstir] env file changed; restarting the backend");
            } else {
                println!("[webstir] nothing recompiled; the backend keeps running");
                return;
            }
        }
        let restarting = self.child.is_some();
        self.stop().await;
        match self.start(&out.binary).await {
            Ok(url) => {
                if restarting || self.announced {
                    println!("[webstir] backend restarted at {url}");
                } else {
                    println!("[webstir] backend ready at {url}");
                }
                if !self.announced {
                    self.announced = true;
                    println!("[webstir] watch starting");
                    println!("workspace: {}", self.ws.name);
                    println!("mode: {}", self.ws.mode);
                    println!("filter: {}, running: backend-only", self.filter);
                    println!("url: {url}");
                }
                self.url = Some(url);
                let ws = self.ws.clone();
                let binary = out.binary.clone();
                let refreshed = tokio::task::spawn_blocking(move || {
                    let manifest = backend::read_manifest(&ws, &binary)?;
                    backend::write_state(
                        &ws,
                        &Built {
                            binary,
                            manifest,
                            profile: Profile::Dev,
                        },
                    )
                })
                .await;
                if let Ok(Err(err)) = refreshed {
                    eprintln!("[webstir] manifest not refreshed: {err:#}");
                }
            }
            Err(err) => eprintln!("[webstir] {err:#}"),
        }
    }

    /// Starts `binary serve` and waits for its `API server running` line; returns its URL.
    async fn start(&mut self, binary: &PathBuf) -> Result<String> {
        let mut child = Command::new(binary)
            .arg("serve")
            .current_dir(&self.ws.root)
            .env("PORT", self.port.to_string())
            .env("WORKSPACE_ROOT", &self.ws.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    println!("[backend] {line}");
                    if line.contains("API server running") {
                        let _ = ready_tx.send(line);
                    }
                }
            });
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[backend] {line}");
                }
            });
        }
        let outcome = tokio::select! {
            line = ready_rx.recv() => Ok(line),
            status = child.wait() => Err(status),
            () = tokio::time::sleep(READY_TIMEOUT) => Ok(None),
        };
        match outcome {
            Ok(Some(line)) => {
                let port = port_in(&line).unwrap_or(self.port);
                self.child = Some(child);
                Ok(format!("http://127.0.0.1:{port}"))
            }
            Ok(None) => {
                let _ = child.kill().await;
                bail!(
                    "Backend runtime did not become ready within {}ms.",
                    READY_TIMEOUT.as_millis()
                )
            }
            Err(status) => {
                let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
                bail!("Backend runtime exited before it became ready (code {code}).")
            }
        }
    }

    /// Stops the backend: SIGTERM, then SIGKILL after [`STOP_GRACE`].
    async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Resolves when a running backend exits on its own (never when none runs).
    async fn exited(&mut self) -> i32 {
        let Some(child) = self.child.as_mut() else {
            return std::future::pending().await;
        };
        let status = child.wait().await;
        self.child = None;
        status.ok().and_then(|s| s.code()).unwrap_or(-1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_ready_lines() {
        assert_eq!(
            port_in(
                r#"{"level":"INFO","message":"API server running","port":4312,"mode":"development"}"#
            ),
            Some(4312)
        );
        assert_eq!(
            port_in("INFO API server running port=4001 mode=development"),
            Some(4001)
        );
        assert_eq!(port_in("API server running"), None);
    }

    #[test]
    fn ports_from_env_files() {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var_os("PORT").is_some() {
            return;
        }
        assert_eq!(configured_port(dir.path()), None);
        std::fs::write(dir.path().join(".env"), "# x\nPORT=\"5055\"\n").unwrap();
        assert_eq!(configured_port(dir.path()), Some(5055));
        std::fs::write(dir.path().join(".env.local"), "export PORT=6000\n").unwrap();
        assert_eq!(configured_port(dir.path()), Some(6000));
    }

    #[test]
    fn editor_noise() {
        for noisy in ["a/.main.rs.swp", "a/main.rs~", "a/4913", "a/.#x"] {
            assert!(is_editor_noise(Path::new(noisy)), "{noisy}");
        }
        for real in ["a/main.rs", "a/x.route.json", "a/.env"] {
            assert!(!is_editor_noise(Path::new(real)), "{real}");
        }
    }
}
