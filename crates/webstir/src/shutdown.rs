//! One shutdown coordinator per process: the HTTP drain, the job scheduler and long-lived work
//! (streams, workers) all wait on the same [`Shutdown`]; SIGINT/SIGTERM are listened for once.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// Stop taking new work; finish what runs within the grace period.
    Stopping(String),
    /// A second request (signal): cut the grace period short.
    Hurry(String),
}

/// The process's shutdown state, cheap to clone. Everything that must stop cleanly waits on
/// [`Shutdown::requested`]; a second signal resolves [`Shutdown::hurried`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let shutdown = webstir::Shutdown::new();
/// let waiter = shutdown.clone();
/// let task = tokio::spawn(async move { waiter.requested().await });
/// shutdown.trigger("tests are done");
/// assert_eq!(task.await.unwrap(), "tests are done");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<Phase>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A coordinator that has not been triggered.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(Phase::Running)),
        }
    }

    /// Ask everything to stop (the first call wins; later calls hurry).
    pub fn trigger(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.tx.send_modify(|phase| {
            *phase = match std::mem::replace(phase, Phase::Running) {
                Phase::Running => Phase::Stopping(reason),
                Phase::Stopping(first) | Phase::Hurry(first) => Phase::Hurry(first),
            }
        });
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.tx.borrow() != Phase::Running
    }

    /// Resolves with the reason once shutdown is requested (at once if it already was).
    pub async fn requested(&self) -> String {
        let mut rx = self.tx.subscribe();
        loop {
            if let Phase::Stopping(reason) | Phase::Hurry(reason) = &*rx.borrow_and_update() {
                return reason.clone();
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Resolves when a second request (a second signal) asks to stop now.
    pub async fn hurried(&self) {
        let mut rx = self.tx.subscribe();
        loop {
            if matches!(&*rx.borrow_and_update(), Phase::Hurry(_)) {
                return;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Listen for SIGINT and SIGTERM (once per process): the first triggers, the second hurries.
    /// Needs a tokio runtime.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        let mut signals = Signals::new()?;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let name = signals.recv().await;
                if !this.is_requested() {
                    tracing::info!(target: "webstir::app", signal = name, "shutdown signal received; finishing in-flight work");
                }
                this.trigger(format!("received {name}"));
            }
        });
        Ok(())
    }
}

/// SIGINT and SIGTERM, registered when created (so a signal that arrives before anyone waits is not
/// lost, and does not kill the process).
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Register the handlers (needs a tokio runtime).
    pub(crate) fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next signal's name (`SIGINT` or `SIGTERM`).
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_trigger_stops_second_hurries() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_requested());
        let hurried = tokio::spawn({
            let s = shutdown.clone();
            async move { s.hurried().await }
        });
        shutdown.trigger("first");
        assert_eq!(shutdown.requested().await, "first");
        assert!(!hurried.is_finished());
        shutdown.trigger("second");
        hurried.await.unwrap();
        assert_eq!(shutdown.requested().await, "first");
    }
}
