//! Helpers: running `webstir` in a folder, following a long-running process's output, a minimal
//! HTTP/1.1 GET over loopback, and signals.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long a step may take before the test gives up (a safeguard against hangs on a loaded
/// 2-core machine, not an assertion about speed).
pub(crate) const PATIENCE: Duration = Duration::from_secs(600);

/// The target folder of this workspace: scaffolded projects build into it, so only their own crate
/// compiles in tests.
pub(crate) fn target_dir() -> PathBuf {
    let dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    };
    dir.canonicalize().unwrap_or(dir)
}

/// The webstir checkout (what new projects depend on).
pub(crate) fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the checkout exists")
}

/// `webstir ARGS` in `dir`, with the shared target folder and no network.
pub(crate) fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webstir"));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        // The cargo (and so the toolchain) this test was built with, whatever rustup's default.
        .env("CARGO", env!("CARGO"))
        .env("NO_COLOR", "1")
        .env_remove("WEBSTIR_SOURCE")
        .env_remove("PORT")
        .env_remove("WORKSPACE_ROOT")
        .env_remove("WEBSTIR_WORKSPACE_ROOT")
        .env_remove("DATABASE_MIGRATIONS_TABLE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `webstir ARGS` in `dir` to completion.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args)
        .output()
        .expect("the webstir binary runs")
}

/// stdout and stderr as text.
pub(crate) fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8"),
    )
}

/// Runs `webstir ARGS` in `dir` and returns stdout; fails the test unless it exits 0.
pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let output = run(dir, args);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "webstir {args:?} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

/// A line of a followed process: `(is_stderr, text)`.
pub(crate) type Line = (bool, String);

/// A running process whose output lines are collected in the background.
pub(crate) struct Followed {
    pub(crate) child: Child,
    lines: Receiver<Line>,
    pub(crate) seen: Vec<Line>,
}

impl Followed {
    /// Spawns `cmd` with piped stdout and stderr.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the process starts");
        let (tx, rx) = channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for (is_err, stream) in [
            (false, Box::new(out) as Box<dyn std::io::Read + Send>),
            (true, Box::new(err)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((is_err, line)).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the next line that satisfies `pred` and returns it; panics with everything seen
    /// when the output ends or [`PATIENCE`] runs out first.
    pub(crate) fn wait_for(&mut self, what: &str, pred: impl Fn(&Line) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = pred(&line);
                    self.seen.push(line.clone());
                    if found {
                        return line.1;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} line\n{}", self.transcript()),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("output ended before a {what} line\n{}", self.transcript())
                }
            }
        }
    }

    /// Waits for a stdout line containing `needle`.
    pub(crate) fn stdout_line(&mut self, needle: &str) -> String {
        self.wait_for(needle, |(is_err, text)| !is_err && text.contains(needle))
    }

    /// Waits for a stderr line containing `needle`.
    pub(crate) fn stderr_line(&mut self, needle: &str) -> String {
        self.wait_for(needle, |(is_err, text)| *is_err && text.contains(needle))
    }

    /// Everything seen so far, stderr lines marked `!`.
    pub(crate) fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(|(is_err, text)| format!("{} {text}\n", if *is_err { "!" } else { " " }))
            .collect()
    }

    /// Collects the remaining output and waits for the exit status code.
    pub(crate) fn finish(mut self) -> (Option<i32>, Vec<Line>) {
        let status = self.child.wait().expect("the process exits");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), std::mem::take(&mut self.seen))
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIGNAL` (`TERM`, `INT`, …) to `pid` with kill(1).
pub(crate) fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// `GET path` on `127.0.0.1:port`: `(status, body)`, or `None` when nothing answers.
pub(crate) fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head
        .lines()
        .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
    Some((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The port in a URL such as `http://127.0.0.1:4000`.
pub(crate) fn port_of(url: &str) -> u16 {
    url.trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}
