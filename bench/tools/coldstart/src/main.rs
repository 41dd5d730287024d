//! Cold start: spawn a server pinned to one CPU and time spawn → first `HTTP/1.1 200` on a path.
//!
//! ```text
//! coldstart [--runs N] [--port P] [--path /healthz] [--server-cpu 0] [--client-cpu 1] -- CMD ARGS…
//! ```
//!
//! Each run uses port `P + run` (set as `PORT` in the child's environment), polls with a fresh connection
//! every 100 µs (`Connection: close`), then sends SIGTERM (SIGKILL after 2 s) and reaps the child. The last
//! run also reads the server's idle RSS 500 ms after its first 200. Prints one JSON object:
//! `{"runs_ms":[…],"median_ms":…,"min_ms":…,"max_ms":…,"idle_rss_kib":…}`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn pin(cpu: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn probe(addr: &SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => read += n,
        }
    }
    &head == b"HTTP/1.1 200"
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One cold start: (ms to the first 200, idle RSS in KiB 500 ms later when `idle_rss`).
fn one_run(
    cmd: &[String],
    port: u16,
    path: &str,
    server_cpu: usize,
    idle_rss: bool,
) -> Result<(f64, Option<u64>), String> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut command = Command::new(&cmd[0]);
    command
        .args(&cmd[1..])
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe work (one syscall) between fork and exec.
    unsafe {
        command.pre_exec(move || pin(server_cpu));
    }
    let start = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("spawn {}: {e}", cmd[0]))?;
    let deadline = start + Duration::from_secs(15);
    let mut result = Err(format!("no 200 on {path} within 15 s"));
    while Instant::now() < deadline {
        if probe(&addr, path) {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let rss = if idle_rss {
                std::thread::sleep(Duration::from_millis(500));
                rss_kib(child.id())
            } else {
                None
            };
            result = Ok((ms, rss));
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            result = Err(format!("server exited early: {status}"));
            break;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let stop = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            _ if Instant::now() > stop => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(split) = args.iter().position(|a| a == "--") else {
        eprintln!("usage: coldstart [--runs N] [--port P] [--path /healthz] [--server-cpu 0] [--client-cpu 1] -- CMD ARGS…");
        return ExitCode::from(2);
    };
    let (opts, cmd) = (&args[..split], &args[split + 1..]);
    if cmd.is_empty() {
        eprintln!("coldstart: no command after --");
        return ExitCode::from(2);
    }
    let opt = |name: &str, default: &str| -> String {
        opts.iter()
            .position(|a| a == name)
            .and_then(|i| opts.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let runs: usize = opt("--runs", "10").parse().unwrap_or(10);
    let port: u16 = opt("--port", "18200").parse().unwrap_or(18200);
    let path = opt("--path", "/healthz");
    let server_cpu: usize = opt("--server-cpu", "0").parse().unwrap_or(0);
    let client_cpu: usize = opt("--client-cpu", "1").parse().unwrap_or(1);
    if let Err(e) = pin(client_cpu) {
        eprintln!("coldstart: could not pin the poller to CPU {client_cpu}: {e}");
    }
    let mut times = Vec::with_capacity(runs);
    let mut idle_rss = None;
    for run in 0..runs {
        // The idle RSS is read once, in the last run (500 ms after the first 200, no traffic since).
        match one_run(cmd, port + run as u16, &path, server_cpu, run + 1 == runs) {
            Ok((ms, rss)) => {
                times.push(ms);
                idle_rss = idle_rss.or(rss);
            }
            Err(e) => {
                eprintln!("coldstart: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    let list: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
    println!(
        "{{\"runs_ms\":[{}],\"median_ms\":{median:.3},\"min_ms\":{:.3},\"max_ms\":{:.3},\"idle_rss_kib\":{}}}",
        list.join(","),
        sorted[0],
        sorted[sorted.len() - 1],
        idle_rss.map_or("null".to_owned(), |r| r.to_string())
    );
    ExitCode::SUCCESS
}
