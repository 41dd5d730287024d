//! A backend with jobs, for the process-level tests of the `jobs` subcommand
//! (`crates/webstir/tests/it/jobs.rs`).
//!
//! Every job appends one line per event to the file named by `JOBS_FIXTURE_OUT`, so a test can
//! count runs and check their order:
//!
//! | job | schedule | does |
//! |---|---|---|
//! | `tick` | `rate(1 second)` | writes `tick` |
//! | `fails` | — | fails with `database unavailable` |
//! | `slow` | `* * * * * *` (every second) | writes `slow-start`, sleeps `JOBS_FIXTURE_SLOW_MS` (2500), writes `slow-end` |
//! | `boot` | `@reboot` | writes `boot` |
//! | `panics` | — | panics |
//!
//! ```bash
//! JOBS_FIXTURE_OUT=/tmp/out cargo run -p webstir --example jobs_fixture -- jobs --watch --job tick
//! ```

use std::io::Write;
use std::time::Duration;

use webstir::{Error, Job, JobContext, Module, Result};

fn record(ctx: &JobContext, line: &str) -> Result<()> {
    let path = ctx.env().require("JOBS_FIXTURE_OUT")?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line, so concurrent runs never interleave within a line.
    file.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

async fn tick(ctx: JobContext) -> Result<()> {
    record(&ctx, "tick")
}

async fn fails(_ctx: JobContext) -> Result<()> {
    Err(Error::msg("database unavailable"))
}

async fn slow(ctx: JobContext) -> Result<()> {
    let ms = ctx
        .env()
        .get_trimmed("JOBS_FIXTURE_SLOW_MS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500);
    record(&ctx, "slow-start")?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    record(&ctx, "slow-end")
}

async fn boot(ctx: JobContext) -> Result<()> {
    record(&ctx, "boot")
}

async fn panics(_ctx: JobContext) -> Result<()> {
    let items: Vec<u32> = Vec::new();
    let first = items.first().copied();
    match first {
        Some(_) => Ok(()),
        None => panic!("no items to process"),
    }
}

fn main() -> std::process::ExitCode {
    webstir::run(
        Module::new("@test/jobs-fixture", "0.1.0")
            .job(
                Job::new("tick")
                    .schedule("rate(1 second)")
                    .description("Appends a line")
                    .priority(5)
                    .run(tick),
            )
            .job(Job::new("fails").description("Always fails").run(fails))
            .job(
                Job::new("slow")
                    .schedule("* * * * * *")
                    .description("Takes longer than its interval")
                    .run(slow),
            )
            .job(Job::new("boot").schedule("@reboot").run(boot))
            .job(Job::new("panics").run(panics)),
    )
}
