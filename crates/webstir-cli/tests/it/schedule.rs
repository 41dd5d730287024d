//! `webstir schedule`.

use jiff::Timestamp;

use crate::{text, webstir};

#[test]
fn prints_next_fire_times_in_utc() {
    let output = webstir(&[
        "schedule",
        "0 0 * * *",
        "--from",
        "2026-11-21T22:48:12Z",
        "--count",
        "3",
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        stdout,
        "2026-11-22T00:00:00Z\n2026-11-23T00:00:00Z\n2026-11-24T00:00:00Z\n"
    );
    assert_eq!(stderr, "");
}

#[test]
fn default_count_is_five_and_from_accepts_offsets() {
    // 23:48:12+01:00 is 22:48:12Z.
    let output = webstir(&[
        "schedule",
        "rate(5 minutes)",
        "--from",
        "2026-11-21T23:48:12+01:00",
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        stdout,
        "2026-11-21T22:50:00Z\n2026-11-21T22:55:00Z\n2026-11-21T23:00:00Z\n\
         2026-11-21T23:05:00Z\n2026-11-21T23:10:00Z\n"
    );
}

#[test]
fn time_zone_option_across_spring_forward() {
    // 02:30 does not exist in New York on 2026-03-08: that day's run is at 03:00 EDT (07:00Z).
    let output = webstir(&[
        "schedule",
        "30 2 * * *",
        "--tz",
        "America/New_York",
        "--from",
        "2026-03-07T12:00:00Z",
        "--count",
        "2",
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout, "2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z\n");
}

#[test]
fn from_defaults_to_now() {
    let before = Timestamp::now();
    let output = webstir(&["schedule", "* * * * * *", "--count", "3"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let times: Vec<Timestamp> = stdout.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(times.len(), 3, "{stdout}");
    assert!(times[0] > before, "{} is not after {before}", times[0]);
    assert_eq!((times[2] - times[0]).get_seconds(), 2, "{stdout}");
}

#[test]
fn bad_expression_exits_1_with_the_parser_message() {
    let output = webstir(&["schedule", "every Tuesdayish"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: Invalid --schedule value 'every Tuesdayish'. \
         Expected 5-7 space-separated cron fields, @macro, or rate(...).\n"
    );

    let output = webstir(&["schedule", "0 0 * * 5C"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr,
        "error: Invalid cron field '5C' in --schedule value '0 0 * * 5C'. \
         The Quartz 'C' (calendar) modifier is not supported.\n"
    );
}

#[test]
fn unknown_time_zone_exits_1() {
    let output = webstir(&["schedule", "@daily", "--tz", "Mars/Olympus"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: Unknown time zone 'Mars/Olympus'; expected an IANA name such as Europe/Berlin or UTC.\n"
    );
}

#[test]
fn reboot_prints_a_note_and_succeeds() {
    let output = webstir(&["schedule", "@reboot"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "note: '@reboot' runs once each time the job runner starts; it has no clock fire times.\n"
    );
}

#[test]
fn a_schedule_that_ends_prints_what_there_is() {
    let output = webstir(&[
        "schedule",
        "0 0 0 1 1 * 2030",
        "--from",
        "2026-11-21T00:00:00Z",
    ]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout, "2030-01-01T00:00:00Z\n");
    assert_eq!(
        stderr,
        "note: '0 0 0 1 1 * 2030' has 1 fire time(s) after 2026-11-21T00:00:00Z; \
         none after 2030-01-01T00:00:00Z.\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["schedule"][..],
        &["schedule", "@daily", "--from", "yesterday"],
        &["schedule", "@daily", "--count", "0"],
        &["schedule", "@daily", "--count", "many"],
        &["no-such-command"],
    ] {
        let output = webstir(args);
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
}
