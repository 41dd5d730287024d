//! The `jobs` subcommand and the in-process scheduler, as real processes: the `jobs_fixture`
//! example (`crates/webstir/examples/jobs_fixture.rs`) declares the jobs; each job appends lines to
//! the file named by `JOBS_FIXTURE_OUT`, so the tests count runs and check their order. Schedules are
//! `rate(1 second)` and 6-field cron, so no test waits for a real minute; every wait is a generous
//! bound, never an assertion about time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use webstir::jiff::Timestamp;
use webstir_test::TestClient;

/// Upper bound for anything a test waits for.
const BOUND: Duration = Duration::from_secs(30);

fn fixture_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/it-<hash> → target/<profile>/examples/jobs_fixture
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("jobs_fixture{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --examples -p webstir` first (`cargo test -p webstir` builds it)",
        bin.display()
    );
    bin
}

/// A scratch directory (workspace root and output file) for one test.
struct Fixture {
    dir: PathBuf,
    out: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jobs-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        let out = dir.join("out.txt");
        Self { dir, out }
    }

    /// The fixture binary with `args`, isolated from the developer's env files and settings.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(fixture_bin());
        cmd.args(args)
            .current_dir(&self.dir)
            .env("WORKSPACE_ROOT", &self.dir)
            .env("JOBS_FIXTURE_OUT", &self.out)
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "info")
            .env_remove("RUST_LOG")
            .env_remove("JOBS_SCHEDULER")
            .env_remove("SHUTDOWN_GRACE_MS")
            .env_remove("JOBS_FIXTURE_SLOW_MS")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Run to completion.
    async fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(envs.iter().copied());
        tokio::time::timeout(BOUND, cmd.output())
            .await
            .expect("process finished within the bound")
            .expect("process ran")
    }

    /// Start a long-running process and capture its output.
    fn spawn(&self, args: &[&str], envs: &[(&str, &str)]) -> Watched {
        let mut cmd = self.command(args);
        cmd.envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn fixture");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let readers = [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(stderr),
        ]
        .into_iter()
        .map(|reader| {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(reader).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().unwrap().push(line);
                }
            })
        })
        .collect();
        Watched {
            child,
            lines,
            readers,
        }
    }

    /// The lines the jobs wrote.
    fn written(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn count(&self, line: &str) -> usize {
        self.written().iter().filter(|l| *l == line).count()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `jobs --watch` process.
struct Watched {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Watched {
    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("process is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Wait (within the bound) until `done` holds; panic with the output if it never does.
    async fn until(&self, what: &str, mut done: impl FnMut(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + BOUND;
        loop {
            if done(&self.output()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Wait for the process to exit (within the bound) and for its output to be read.
    async fn exit(&mut self) -> ExitStatus {
        let status = match tokio::time::timeout(BOUND, self.child.wait()).await {
            Ok(status) => status.expect("wait for process"),
            Err(_) => panic!("process did not exit; output:\n{}", self.output()),
        };
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(BOUND, reader).await;
        }
        status
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The JSON log lines whose message contains `needle`.
fn events(output: &str, needle: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| {
            event["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle))
        })
        .collect()
}

/// Wait (within the bound) until `done` holds for the fixture's written lines.
async fn until_written(
    fixture: &Fixture,
    watched: &Watched,
    what: &str,
    done: impl Fn(&Fixture) -> bool,
) {
    watched.until(what, |_| done(fixture)).await;
}

/// The cells of a table row, cut at the header's column starts (in characters).
fn cells(header: &str, row: &str) -> Vec<String> {
    let starts: Vec<usize> = ["NAME", "SCHEDULE", "NEXT RUN", "DESCRIPTION", "PRIORITY"]
        .iter()
        .map(|title| header[..header.find(title).expect(title)].chars().count())
        .collect();
    let chars: Vec<char> = row.chars().collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts
                .get(i + 1)
                .copied()
                .unwrap_or(chars.len())
                .min(chars.len());
            if start > 0 {
                assert_eq!(
                    chars.get(start - 1),
                    Some(&' '),
                    "column {i} misaligned in {row:?}"
                );
            }
            chars[start.min(end)..end]
                .iter()
                .collect::<String>()
                .trim()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn list_prints_an_aligned_table_with_next_runs() {
    let fixture = Fixture::new("list");
    let before = Timestamp::now();
    let output = fixture.run(&["jobs", "--list"], &[]).await;
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    let header = lines[0];
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|row| cells(header, row)).collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["tick", "fails", "slow", "boot", "panics"]);

    assert_eq!(rows[0][1], "rate(1 second)");
    let next: Timestamp = rows[0][2].parse().expect("next run is RFC 3339");
    assert!(rows[0][2].ends_with('Z') && next > before, "{}", rows[0][2]);
    assert_eq!(rows[0][3], "Appends a line");
    assert_eq!(rows[0][4], "5");

    assert_eq!(rows[1][1..], ["—", "—", "Always fails", "—"]);
    assert_eq!(rows[2][1], "* * * * * *");
    rows[2][2].parse::<Timestamp>().expect("cron next run");
    assert_eq!(rows[3][1..], ["@reboot", "@reboot", "—", "—"]);

    // Without flags, `jobs` lists too (it never runs anything by surprise).
    let bare = fixture.run(&["jobs"], &[]).await;
    assert!(bare.status.success());
    let bare = String::from_utf8(bare.stdout).unwrap();
    assert!(bare.starts_with("NAME "), "{bare}");
    assert!(fixture.written().is_empty(), "listing ran a job");
}

#[tokio::test]
async fn json_lists_jobs_in_declaration_order() {
    let fixture = Fixture::new("json");
    let output = fixture.run(&["jobs", "--json"], &[]).await;
    assert!(output.status.success(), "{}", text(&output));
    let jobs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let jobs = jobs.as_array().expect("an array");
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tick", "fails", "slow", "boot", "panics"]);
    let tick = &jobs[0];
    assert_eq!(tick["schedule"], "rate(1 second)");
    assert_eq!(tick["description"], "Appends a line");
    assert_eq!(tick["priority"], 5);
    tick["nextRun"]
        .as_str()
        .expect("nextRun")
        .parse::<Timestamp>()
        .expect("nextRun is RFC 3339");
    let fails = jobs[1].as_object().unwrap();
    assert!(!fails.contains_key("schedule") && !fails.contains_key("nextRun"));
    assert_eq!(jobs[3]["schedule"], "@reboot");
    assert!(jobs[3].get("nextRun").is_none());
}

#[tokio::test]
async fn job_runs_once_with_a_run_id_and_exits_0() {
    let fixture = Fixture::new("job-ok");
    let output = fixture.run(&["jobs", "--job", "tick"], &[]).await;
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    assert_eq!(fixture.written(), ["tick"]);
    let started = events(&all, "[jobs] running tick (schedule: rate(1 second))");
    let completed = events(&all, "[jobs] tick completed in ");
    assert_eq!((started.len(), completed.len()), (1, 1), "{all}");
    let run_id = completed[0]["span"]["run_id"]
        .as_str()
        .expect("run_id in the span");
    assert_eq!(run_id.len(), 36, "a UUID: {run_id}");
    assert_eq!(started[0]["span"]["run_id"], run_id);
    assert_eq!(completed[0]["span"]["job"], "tick");
    assert!(completed[0]["duration_ms"].is_u64(), "{all}");
}

#[tokio::test]
async fn failing_job_exits_1_with_the_error() {
    let fixture = Fixture::new("job-fail");
    let output = fixture.run(&["jobs", "--job=fails"], &[]).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(
        all.contains("[jobs] fails failed: database unavailable"),
        "{all}"
    );
}

#[tokio::test]
async fn panicking_job_is_a_failed_run() {
    let fixture = Fixture::new("job-panic");
    let output = fixture.run(&["jobs", "--job", "panics"], &[]).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(
        all.contains("[jobs] panics failed: panicked: no items to process"),
        "{all}"
    );
}

#[tokio::test]
async fn unknown_job_lists_the_known_names() {
    let fixture = Fixture::new("job-unknown");
    for args in [
        &["jobs", "--job=missing"][..],
        &["jobs", "--watch", "--job", "missing"][..],
    ] {
        let output = fixture.run(args, &[]).await;
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "[jobs] job 'missing' not found; known jobs: tick, fails, slow, boot, panics"
            ),
            "{args:?}: {stderr}"
        );
    }
    assert!(fixture.written().is_empty());
}

#[tokio::test]
async fn all_runs_every_job_in_order_and_reports_failures() {
    let fixture = Fixture::new("all");
    let output = fixture
        .run(&["jobs", "--all"], &[("JOBS_FIXTURE_SLOW_MS", "50")])
        .await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    // Sequential: the slow job finished before the next one started.
    assert_eq!(
        fixture.written(),
        ["tick", "slow-start", "slow-end", "boot"]
    );
    let order: Vec<String> = events(&all, "[jobs] running ")
        .iter()
        .map(|e| e["span"]["job"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, ["tick", "fails", "slow", "boot", "panics"]);
    assert!(
        all.contains("[jobs] fails failed: database unavailable"),
        "{all}"
    );
    assert!(
        all.contains("[jobs] 2 of 5 job(s) failed: fails, panics"),
        "{all}"
    );
}

#[tokio::test]
async fn watch_runs_a_rate_job_repeatedly_until_sigterm() {
    let fixture = Fixture::new("watch-tick");
    let mut watched = fixture.spawn(&["jobs", "--watch", "--job", "tick"], &[]);
    watched
        .until("the watch line", |out| {
            out.contains("[jobs] watching jobs: tick")
        })
        .await;
    until_written(&fixture, &watched, "3 ticks", |f| f.count("tick") >= 3).await;
    watched.signal("TERM");
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(
        out.contains("[jobs] received SIGTERM; stopped 1 scheduled job timer(s)."),
        "{out}"
    );
    let runs = events(&out, "[jobs] tick completed in ");
    let mut ids: Vec<&str> = runs
        .iter()
        .map(|e| e["span"]["run_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert!(ids.len() >= 3, "each run has its own id: {out}");
    assert_eq!(ids.len(), fixture.count("tick"));
}

#[tokio::test]
async fn a_tick_during_a_run_is_skipped_not_stacked() {
    let fixture = Fixture::new("overlap");
    let mut watched = fixture.spawn(
        &["jobs", "--watch", "--job", "slow"],
        &[("JOBS_FIXTURE_SLOW_MS", "2500")],
    );
    watched
        .until("an overlap skip", |out| {
            out.contains(
                "[jobs] skipping slow; previous run is still active (overlap policy: skip)",
            )
        })
        .await;
    watched.signal("TERM");
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(0), "{out}");
    let written = fixture.written();
    assert!(!written.is_empty(), "{out}");
    for pair in written.chunks(2) {
        assert_eq!(
            pair,
            ["slow-start", "slow-end"],
            "runs overlapped: {written:?}"
        );
    }
}

#[tokio::test]
async fn sigint_mid_run_lets_the_run_finish_and_exits_0() {
    let fixture = Fixture::new("graceful");
    let mut watched = fixture.spawn(
        &["jobs", "--watch", "--job", "slow"],
        &[
            ("JOBS_FIXTURE_SLOW_MS", "8000"),
            ("SHUTDOWN_GRACE_MS", "25000"),
        ],
    );
    until_written(&fixture, &watched, "a run to start", |f| {
        f.count("slow-start") == 1
    })
    .await;
    watched.signal("INT");
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(fixture.written(), ["slow-start", "slow-end"], "{out}");
    assert!(
        out.contains("[jobs] received SIGINT; stopped 1 scheduled job timer(s).")
            && out.contains("[jobs] waiting up to 25000 ms for 1 running job(s): slow")
            && out.contains("[jobs] slow completed in "),
        "{out}"
    );
}

#[tokio::test]
async fn runs_past_the_grace_period_are_abandoned_with_exit_1() {
    let fixture = Fixture::new("abandon");
    let mut watched = fixture.spawn(
        &["jobs", "--watch", "--job", "slow"],
        &[
            ("JOBS_FIXTURE_SLOW_MS", "600000"),
            ("SHUTDOWN_GRACE_MS", "200"),
        ],
    );
    until_written(&fixture, &watched, "a run to start", |f| {
        f.count("slow-start") == 1
    })
    .await;
    watched.signal("TERM");
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("[jobs] abandoned 1 running job(s) after the grace period: slow"),
        "{out}"
    );
    assert_eq!(fixture.written(), ["slow-start"]);
}

#[tokio::test]
async fn reboot_job_runs_once_then_the_watch_exits() {
    let fixture = Fixture::new("reboot");
    let mut watched = fixture.spawn(&["jobs", "--watch", "--job", "boot"], &[]);
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(fixture.written(), ["boot"]);
    assert!(
        out.contains("[jobs] completed @reboot jobs and exiting."),
        "{out}"
    );
}

#[tokio::test]
async fn watch_all_runs_reboot_once_and_skips_unscheduled_jobs() {
    let fixture = Fixture::new("watch-all");
    let mut watched = fixture.spawn(&["jobs", "--watch"], &[("JOBS_FIXTURE_SLOW_MS", "100")]);
    watched
        .until("the watch line", |out| {
            out.contains("[jobs] watching jobs: tick, slow, boot")
        })
        .await;
    until_written(&fixture, &watched, "3 ticks and 2 slow runs", |f| {
        f.count("tick") >= 3 && f.count("slow-end") >= 2
    })
    .await;
    watched.signal("TERM");
    let status = watched.exit().await;
    let out = watched.output();
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(fixture.count("boot"), 1, "{out}");
    assert!(
        out.contains("[jobs] received SIGTERM; stopped 2 scheduled job timer(s)."),
        "{out}"
    );
    assert!(events(&out, "[jobs] running fails").is_empty(), "{out}");
    assert!(events(&out, "[jobs] running panics").is_empty(), "{out}");
}

#[tokio::test]
async fn watching_a_job_without_a_schedule_says_so() {
    let fixture = Fixture::new("watch-unscheduled");
    let output = fixture
        .run(&["jobs", "--watch", "--job", "fails"], &[])
        .await;
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    assert!(
        all.contains("[jobs] no jobs have schedules compatible with the built-in watcher"),
        "{all}"
    );
}

#[tokio::test]
async fn conflicting_flags_are_rejected() {
    let fixture = Fixture::new("flags");
    let output = fixture.run(&["jobs", "--all", "--job", "tick"], &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(fixture.written().is_empty());
}

/// Start `serve` on a free port; wait for `API server running` and return a client for it.
async fn serve(fixture: &Fixture, envs: &[(&str, &str)]) -> (Watched, TestClient) {
    let mut envs = envs.to_vec();
    envs.extend([("PORT", "0"), ("HOST", "127.0.0.1")]);
    let watched = fixture.spawn(&["serve"], &envs);
    watched
        .until("the ready line", |out| out.contains("API server running"))
        .await;
    let ready = events(&watched.output(), "API server running");
    let port = ready[0]["port"].as_u64().expect("port on the ready line");
    let port = u16::try_from(port).expect("a port number");
    (
        watched,
        TestClient::new(SocketAddr::from(([127, 0, 0, 1], port))),
    )
}

#[tokio::test]
async fn serve_runs_the_scheduler_in_process_when_configured() {
    let fixture = Fixture::new("serve-in-process");
    let (mut server, client) = serve(
        &fixture,
        &[
            ("JOBS_SCHEDULER", "in-process"),
            ("JOBS_FIXTURE_SLOW_MS", "100"),
        ],
    )
    .await;
    let health = client.get("/healthz").await.expect("healthz");
    assert_eq!(health.status, 200);
    until_written(&fixture, &server, "2 ticks", |f| f.count("tick") >= 2).await;
    server.signal("TERM");
    let status = server.exit().await;
    let out = server.output();
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(fixture.count("boot"), 1, "{out}");
    assert!(
        out.contains("[jobs] watching jobs: tick, slow, boot"),
        "{out}"
    );
    assert!(
        out.contains("[jobs] received SIGTERM; stopped 2 scheduled job timer(s)."),
        "{out}"
    );
}

#[tokio::test]
async fn serve_does_not_schedule_jobs_by_default() {
    let fixture = Fixture::new("serve-off");
    let (mut server, client) = serve(&fixture, &[]).await;
    let health = client.get("/healthz").await.expect("healthz");
    assert_eq!(health.status, 200);
    server.signal("TERM");
    let status = server.exit().await;
    let out = server.output();
    assert_eq!(status.code(), Some(0), "{out}");
    // With the scheduler on, the @reboot job starts before the ready line and shutdown waits for
    // it, so an empty file means nothing was scheduled.
    assert!(fixture.written().is_empty(), "{out}");
    assert!(!out.contains("[jobs]"), "{out}");
}

#[tokio::test]
async fn a_bad_jobs_scheduler_value_stops_startup() {
    let fixture = Fixture::new("serve-bad");
    let output = fixture
        .run(
            &["serve"],
            &[("JOBS_SCHEDULER", "sometimes"), ("PORT", "0")],
        )
        .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JOBS_SCHEDULER must be in-process or off, got 'sometimes'"),
        "{stderr}"
    );
}
