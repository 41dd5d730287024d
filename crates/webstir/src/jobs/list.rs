//! `jobs --list` (an aligned text table) and `jobs --json` (a JSON array).

use jiff::Timestamp;
use webstir_manifest::Schedule;

use crate::module::Job;

/// What an empty cell shows.
const NONE: &str = "—";

fn schedule_of(job: &Job) -> Option<&str> {
    job.definition
        .schedule
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The next run as shown by `--list`: an RFC 3339 UTC time, `@reboot`, or `None` when the job has
/// no schedule (or no fire time left).
fn next_run(job: &Job, now: Timestamp) -> Option<String> {
    let schedule = Schedule::parse(schedule_of(job)?).ok()?;
    if schedule.is_reboot() {
        return Some("@reboot".to_owned());
    }
    schedule.next_after(now).map(|t| t.to_string())
}

/// The table: a header, then one row per job in declaration order; columns are padded to the
/// widest cell (in characters) and the last column is not padded.
pub(crate) fn table(jobs: &[Job], now: Timestamp) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "NAME".to_owned(),
        "SCHEDULE".to_owned(),
        "NEXT RUN".to_owned(),
        "DESCRIPTION".to_owned(),
        "PRIORITY".to_owned(),
    ]];
    for job in jobs {
        let d = &job.definition;
        rows.push([
            d.name.clone(),
            schedule_of(job).unwrap_or(NONE).to_owned(),
            next_run(job, now).unwrap_or_else(|| NONE.to_owned()),
            d.description
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(NONE)
                .to_owned(),
            d.priority
                .as_ref()
                .map_or_else(|| NONE.to_owned(), ToString::to_string),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The JSON array: per job `name`, `schedule`, `description`, `priority` (as in the manifest;
/// absent keys omitted) and `nextRun` (RFC 3339 UTC; omitted for `@reboot` and unscheduled jobs).
pub(crate) fn json(jobs: &[Job], now: Timestamp) -> serde_json::Value {
    jobs.iter()
        .map(|job| {
            let mut value =
                serde_json::to_value(&job.definition).unwrap_or(serde_json::Value::Null);
            if let (Some(object), Some(next)) = (
                value.as_object_mut(),
                next_run(job, now).filter(|n| n != "@reboot"),
            ) {
                object.insert("nextRun".to_owned(), serde_json::Value::String(next));
            }
            value
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Vec<Job> {
        vec![
            Job::new("nightly")
                .schedule("0 0 * * *")
                .description("Nightly account sync")
                .priority(5),
            Job::new("boot").schedule("@reboot"),
            Job::new("manual").description("Run by hand"),
        ]
    }

    #[test]
    fn table_is_aligned_with_placeholders() {
        let now: Timestamp = "2026-11-21T22:48:12Z".parse().unwrap();
        let table = table(&jobs(), now);
        let expected = "\
NAME     SCHEDULE   NEXT RUN              DESCRIPTION           PRIORITY
nightly  0 0 * * *  2026-11-22T00:00:00Z  Nightly account sync  5
boot     @reboot    @reboot               —                     —
manual   —          —                     Run by hand           —
";
        assert_eq!(table, expected);
    }

    #[test]
    fn json_keeps_manifest_keys_and_adds_next_run() {
        let now: Timestamp = "2026-11-21T22:48:12Z".parse().unwrap();
        assert_eq!(
            json(&jobs(), now),
            serde_json::json!([
                {"name": "nightly", "schedule": "0 0 * * *", "description": "Nightly account sync",
                 "priority": 5, "nextRun": "2026-11-22T00:00:00Z"},
                {"name": "boot", "schedule": "@reboot"},
                {"name": "manual", "description": "Run by hand"},
            ])
        );
    }
}
