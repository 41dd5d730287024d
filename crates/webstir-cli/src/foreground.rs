//! Running the built backend in the foreground (`serve`, `jobs`, `migrate`, `auth`): the child
//! gets its own process group, and SIGINT, SIGTERM and SIGHUP sent to `webstir` are passed on to
//! it one for one, so a Ctrl-C reaches it once (not once from the terminal and once from us: a
//! second signal means "hurry" to the runtime) and a process manager's SIGTERM to `webstir` stops
//! the backend instead of orphaning it. `webstir` then exits with the child's code (128 + N when
//! signal N ended it, as shells report it).
//!
//! stdout and stderr are inherited. stdin is inherited unless it is a terminal: a process outside
//! the terminal's foreground group that reads from it would be stopped by SIGTTIN.

use std::io::IsTerminal as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, Result};
use tokio::signal::unix::{SignalKind, signal};

/// Runs `cmd` to completion, forwarding signals; returns its exit code.
///
/// # Errors
/// When the signal handlers cannot be installed or the program cannot be started.
pub(crate) fn run(mut cmd: Command) -> Result<ExitCode> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.process_group(0);
    if std::io::stdin().is_terminal() {
        cmd.stdin(Stdio::null());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(async move {
        // Installed before the child starts, so an early signal is forwarded, not fatal to us.
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        let mut child = tokio::process::Command::from(cmd)
            .spawn()
            .with_context(|| format!("cannot run {program}"))?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw);
        loop {
            let forward = tokio::select! {
                status = child.wait() => {
                    let status = status.with_context(|| format!("{program} did not finish"))?;
                    break Ok::<i32, anyhow::Error>(
                        status
                            .code()
                            .or_else(|| status.signal().map(|n| 128 + n))
                            .unwrap_or(1),
                    );
                }
                _ = interrupt.recv() => rustix::process::Signal::INT,
                _ = terminate.recv() => rustix::process::Signal::TERM,
                _ = hangup.recv() => rustix::process::Signal::HUP,
            };
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, forward);
            }
        }
    })?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
