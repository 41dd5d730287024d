//! `webstir schedule "EXPR" [--tz ZONE] [--from RFC3339] [--count N]`: check a job schedule.
//!
//! Prints the next fire times of the expression, one RFC 3339 UTC timestamp per line, so a schedule
//! can be checked before it ships. The expression syntax is the one of `webstir_manifest::Schedule`
//! (5–7 cron fields, `@nicknames`, `@reboot`, `rate(N unit)`, `CRON_TZ=Zone ` prefix).

use std::io::{self, BufWriter, Write as _};
use std::process::ExitCode;

use jiff::Timestamp;
use webstir_manifest::Schedule;

/// Arguments of `webstir schedule`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  webstir schedule \"0 0 * * *\"\n  \
    webstir schedule \"30 2 * * *\" --tz America/New_York --count 10\n  \
    webstir schedule \"rate(15 minutes)\" --from 2026-11-21T00:00:00Z")]
pub(crate) struct Args {
    /// The schedule: 5-7 cron fields, @yearly/@monthly/@weekly/@daily/@hourly/@reboot, or
    /// rate(N minutes|hours|days). Quote it.
    #[arg(value_name = "EXPR")]
    expr: String,

    /// IANA time zone the cron fields are read in (default UTC, or the expression's CRON_TZ= prefix).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,

    /// Print fire times strictly after this instant (RFC 3339, e.g. 2026-11-21T22:48:12Z) [default: now].
    #[arg(long, value_name = "RFC3339")]
    from: Option<Timestamp>,

    /// How many fire times to print (1-10000).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
    )]
    count: u32,
}

/// Runs `webstir schedule`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let schedule = Schedule::parse_with_tz(&args.expr, args.tz.as_deref())?;
    if schedule.is_reboot() {
        eprintln!(
            "note: '{}' runs once each time the job runner starts; it has no clock fire times.",
            schedule.expr()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let from = args.from.unwrap_or_else(Timestamp::now);
    let count = usize::try_from(args.count)?;
    let times = schedule.upcoming(from, count);

    let mut out = BufWriter::new(io::stdout().lock());
    for time in &times {
        writeln!(out, "{time}")?;
    }
    out.flush()?;

    if times.len() < count {
        let after = times.last().copied().unwrap_or(from);
        eprintln!(
            "note: '{}' has {} fire time(s) after {from}; none after {after}.",
            schedule.expr(),
            times.len(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
