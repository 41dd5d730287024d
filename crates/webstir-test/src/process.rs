use std::io;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::TestClient;

/// A backend binary running as a real process on loopback.
///
/// `spawn` sets `PORT=0` (a free port), `HOST=127.0.0.1` and `LOG_FORMAT=json` unless the command
/// already sets them, waits up to 30 s for the `API server running` line and reads the port from it.
/// Output lines (stdout and stderr) are captured for assertions. The process is killed on drop.
#[derive(Debug)]
pub struct TestProcess {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

fn port_from(line: &str) -> Option<u16> {
    let at = line.find("\"port\":")? + "\"port\":".len();
    let digits: String = line[at..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl TestProcess {
    /// Start the command and wait until it serves.
    ///
    /// # Errors
    /// When the process cannot start, exits early, or does not report readiness within 30 s; the
    /// error message includes its output.
    pub async fn spawn(mut cmd: Command) -> io::Result<Self> {
        let std_cmd = cmd.as_std();
        let has = |name: &str| std_cmd.get_envs().any(|(k, _)| k == name);
        let defaults = [("PORT", "0"), ("HOST", "127.0.0.1"), ("LOG_FORMAT", "json")];
        let missing: Vec<_> = defaults.into_iter().filter(|(k, _)| !has(k)).collect();
        for (k, v) in missing {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, mut port_rx) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("no stderr"))?;
        for reader in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(stderr),
        ] {
            let lines = lines.clone();
            let port_tx = port_tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(reader).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if line.contains("API server running")
                        && let Some(port) = port_from(&line)
                    {
                        let _ = port_tx.send(port);
                    }
                    if let Ok(mut all) = lines.lock() {
                        all.push(line);
                    }
                }
            });
        }
        drop(port_tx);
        let port = tokio::time::timeout(Duration::from_secs(30), port_rx.recv()).await;
        let dump = |lines: &Arc<Mutex<Vec<String>>>| {
            lines.lock().map(|l| l.join("\n")).unwrap_or_default()
        };
        match port {
            Ok(Some(port)) => Ok(Self {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                lines,
            }),
            Ok(None) => {
                let status = child.wait().await?;
                Err(io::Error::other(format!(
                    "server exited ({status}) before it was ready; output:\n{}",
                    dump(&lines)
                )))
            }
            Err(_) => Err(io::Error::other(format!(
                "server not ready after 30 s; output:\n{}",
                dump(&lines)
            ))),
        }
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client for it.
    pub fn client(&self) -> TestClient {
        TestClient::new(self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Output lines captured so far (stdout and stderr interleaved).
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Send a signal by name (`TERM`, `INT`, `KILL`, …) with `kill(1)`.
    ///
    /// # Errors
    /// When the process is gone or `kill` fails.
    pub fn signal(&self, name: &str) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other("process already exited"))?;
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "kill -{name} {pid} failed: {status}"
            )))
        }
    }

    /// Wait for the process to exit (at most `timeout`).
    ///
    /// # Errors
    /// When it does not exit in time.
    pub async fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .map_err(|_| {
                io::Error::new(io::ErrorKind::TimedOut, "process did not exit in time")
            })??;
        // Let the output readers drain.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_is_read_from_json_and_plain_lines() {
        assert_eq!(
            super::port_from(r#"{"message":"API server running","port":4123}"#),
            Some(4123)
        );
        assert_eq!(
            super::port_from(r#"API server running {"port":80,"mode":"x"}"#),
            Some(80)
        );
        assert_eq!(super::port_from("API server running"), None);
    }
}
