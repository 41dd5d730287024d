//! Next-fire-time tests for `webstir_manifest::Schedule`.
//!
//! Every expected time was worked out by hand (weekdays and DST dates checked against a calendar):
//! 2026-01-01 is a Thursday, 2026-11-21 a Saturday. New York springs forward on 2026-03-08 (02:00 EST
//! → 03:00 EDT) and falls back on 2026-11-01 (02:00 EDT → 01:00 EST); Berlin springs forward on
//! 2026-03-29 (02:00 CET → 03:00 CEST) and falls back on 2026-10-25 (03:00 CEST → 02:00 CET).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use webstir_manifest::Schedule;
use webstir_manifest::schedule::ScheduleKind;

/// The instant most tests start from: Saturday 2026-11-21, 22:48:12 UTC.
const SAT: &str = "2026-11-21T22:48:12Z";

fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
}

/// Asserts the first `expected.len()` fire times of `expr` (UTC) after `from`.
#[track_caller]
fn check(expr: &str, from: &str, expected: &[&str]) {
    check_tz(expr, None, from, expected);
}

/// Asserts the first `expected.len()` fire times of `expr` in zone `tz` after `from`.
#[track_caller]
fn check_tz(expr: &str, tz: Option<&str>, from: &str, expected: &[&str]) {
    let schedule =
        Schedule::parse_with_tz(expr, tz).unwrap_or_else(|e| panic!("{expr:?} rejected: {e}"));
    let got: Vec<String> = schedule
        .upcoming(ts(from), expected.len())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got, expected,
        "fire times of {expr:?} (tz {tz:?}) after {from}"
    );
}

/// Asserts that `expr` fires exactly at `expected` after `from`, and never again.
#[track_caller]
fn check_all(expr: &str, from: &str, expected: &[&str]) {
    let schedule = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr:?} rejected: {e}"));
    let got: Vec<String> = schedule
        .upcoming(ts(from), expected.len() + 3)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, expected, "all fire times of {expr:?} after {from}");
}

/// Asserts that `expr` is rejected with exactly `message`.
#[track_caller]
fn rejects(expr: &str, message: &str) {
    match Schedule::parse(expr) {
        Ok(s) => panic!("{expr:?} was accepted as {s:?}"),
        Err(err) => assert_eq!(err.to_string(), message, "message for {expr:?}"),
    }
}

fn fields_message(expr: &str) -> String {
    format!(
        "Invalid --schedule value '{expr}'. Expected 5-7 space-separated cron fields, @macro, or rate(...)."
    )
}

fn rate_message(expr: &str) -> String {
    format!(
        "Invalid --schedule value '{expr}'. Expected rate(<positive integer> second(s)|minute(s)|hour(s)|day(s))."
    )
}

fn macros_message(expr: &str) -> String {
    format!(
        "Invalid --schedule value '{expr}'. Allowed macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot."
    )
}

fn field_message(field: &str, expr: &str) -> String {
    format!("Invalid cron field '{field}' in --schedule value '{expr}'.")
}

const NAMES: &str = " Letters are only allowed as JAN-DEC in the month field, SUN-SAT or a weekday followed by L (5L, FRI#L) in the day-of-week field, and L, W or LW in the day-of-month field.";
const C_UNSUPPORTED: &str = " The Quartz 'C' (calendar) modifier is not supported.";

// ---------------------------------------------------------------------------------------------
// Five fields
// ---------------------------------------------------------------------------------------------

#[test]
fn five_fields_basic() {
    check(
        "0 0 * * *",
        SAT,
        &["2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"],
    );
    check(
        "* * * * *",
        SAT,
        &["2026-11-21T22:49:00Z", "2026-11-21T22:50:00Z"],
    );
    check(
        "*/15 * * * *",
        SAT,
        &[
            "2026-11-21T23:00:00Z",
            "2026-11-21T23:15:00Z",
            "2026-11-21T23:30:00Z",
        ],
    );
    check(
        "0 */6 * * *",
        SAT,
        &[
            "2026-11-22T00:00:00Z",
            "2026-11-22T06:00:00Z",
            "2026-11-22T12:00:00Z",
        ],
    );
    check(
        "5-10/5 8 * * *",
        SAT,
        &[
            "2026-11-22T08:05:00Z",
            "2026-11-22T08:10:00Z",
            "2026-11-23T08:05:00Z",
        ],
    );
    check(
        "0 0 1,15 * *",
        "2026-11-02T00:00:00Z",
        &[
            "2026-11-15T00:00:00Z",
            "2026-12-01T00:00:00Z",
            "2026-12-15T00:00:00Z",
        ],
    );
    check(
        "59 23 31 12 *",
        SAT,
        &["2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"],
    );
}

#[test]
fn weekday_ranges_and_names() {
    // From Friday 2026-11-20 10:00: the next weekdays are Monday 23rd and Tuesday 24th.
    check(
        "30 9 * * 1-5",
        "2026-11-20T10:00:00Z",
        &["2026-11-23T09:30:00Z", "2026-11-24T09:30:00Z"],
    );
    // Exactly on a fire time: the search is strictly after it.
    check(
        "0 12 * * MON-FRI",
        "2026-11-20T12:00:00Z",
        &["2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"],
    );
    check(
        "0 22 * * SAT,SUN",
        "2026-11-20T00:00:00Z",
        &[
            "2026-11-21T22:00:00Z",
            "2026-11-22T22:00:00Z",
            "2026-11-28T22:00:00Z",
        ],
    );
    // 0, 7, SUN and sun are all Sunday.
    for expr in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun"] {
        check(expr, SAT, &["2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z"]);
    }
    // Saturday through Sunday written with names wraps through 7.
    check(
        "0 6 * * FRI-SUN",
        "2026-11-19T00:00:00Z",
        &[
            "2026-11-20T06:00:00Z",
            "2026-11-21T06:00:00Z",
            "2026-11-22T06:00:00Z",
            "2026-11-27T06:00:00Z",
        ],
    );
}

#[test]
fn month_names() {
    check(
        "0 0 * JAN *",
        SAT,
        &["2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z"],
    );
    check(
        "0 9 1 jan,Jul *",
        SAT,
        &["2027-01-01T09:00:00Z", "2027-07-01T09:00:00Z"],
    );
    check(
        "0 0 1 MAR-MAY *",
        SAT,
        &[
            "2027-03-01T00:00:00Z",
            "2027-04-01T00:00:00Z",
            "2027-05-01T00:00:00Z",
            "2028-03-01T00:00:00Z",
        ],
    );
}

#[test]
fn day_of_month_or_day_of_week() {
    // Both day fields restricted: the 13th OR any Monday (Vixie cron). November 2026: Mondays are
    // the 2nd, 9th, 16th; the 13th is a Friday.
    check(
        "0 0 13 * 1",
        "2026-11-01T00:00:00Z",
        &[
            "2026-11-02T00:00:00Z",
            "2026-11-09T00:00:00Z",
            "2026-11-13T00:00:00Z",
            "2026-11-16T00:00:00Z",
        ],
    );
}

#[test]
fn question_mark_means_any_day() {
    check(
        "0 0 ? * MON",
        SAT,
        &["2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"],
    );
    check(
        "0 0 1 * ?",
        SAT,
        &["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"],
    );
}

// ---------------------------------------------------------------------------------------------
// Six and seven fields
// ---------------------------------------------------------------------------------------------

#[test]
fn six_fields_have_seconds() {
    check(
        "*/10 * * * * *",
        SAT,
        &["2026-11-21T22:48:20Z", "2026-11-21T22:48:30Z"],
    );
    check(
        "30 0 0 * * *",
        SAT,
        &["2026-11-22T00:00:30Z", "2026-11-23T00:00:30Z"],
    );
    check(
        "0 0 12 * * MON",
        SAT,
        &["2026-11-23T12:00:00Z", "2026-11-30T12:00:00Z"],
    );
    check(
        "15,45 * * * * *",
        SAT,
        &[
            "2026-11-21T22:48:15Z",
            "2026-11-21T22:48:45Z",
            "2026-11-21T22:49:15Z",
        ],
    );
}

#[test]
fn seven_fields_have_a_year() {
    check_all("0 0 0 1 1 * 2030", SAT, &["2030-01-01T00:00:00Z"]);
    check_all("0 0 12 29 2 * 2028", SAT, &["2028-02-29T12:00:00Z"]);
    check_all("0 0 0 1 1 * 2020", SAT, &[]);
    check(
        "0 30 8 1 * * 2027-2028",
        SAT,
        &["2027-01-01T08:30:00Z", "2027-02-01T08:30:00Z"],
    );
    check_all(
        "0 30 8 1 JAN * 2027-2028",
        SAT,
        &["2027-01-01T08:30:00Z", "2028-01-01T08:30:00Z"],
    );
}

// ---------------------------------------------------------------------------------------------
// Month ends and leap days
// ---------------------------------------------------------------------------------------------

#[test]
fn month_ends() {
    // The 31st only exists in some months; February, April and June are skipped.
    check(
        "0 0 31 * *",
        "2026-01-31T00:00:00Z",
        &[
            "2026-03-31T00:00:00Z",
            "2026-05-31T00:00:00Z",
            "2026-07-31T00:00:00Z",
            "2026-08-31T00:00:00Z",
        ],
    );
    check(
        "0 0 30 * *",
        "2026-01-30T00:00:00Z",
        &["2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z"],
    );
    check(
        "0 0 1 * *",
        "2026-12-01T00:00:00Z",
        &["2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"],
    );
    // One second before midnight on New Year's Eve.
    check(
        "0 0 1 1 *",
        "2026-12-31T23:59:59Z",
        &["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"],
    );
}

#[test]
fn last_day_of_month() {
    check(
        "0 0 L * *",
        "2026-01-15T00:00:00Z",
        &[
            "2026-01-31T00:00:00Z",
            "2026-02-28T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z",
        ],
    );
    check(
        "0 23 L DEC *",
        SAT,
        &["2026-12-31T23:00:00Z", "2027-12-31T23:00:00Z"],
    );
    // Last day of February: 28 in common years, 29 in leap years, 28 again in 2100.
    check(
        "0 0 L 2 *",
        "2027-03-01T00:00:00Z",
        &["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"],
    );
    check_all("0 0 0 L 2 * 2100", SAT, &["2100-02-28T00:00:00Z"]);
}

#[test]
fn leap_days() {
    check(
        "0 0 29 2 *",
        SAT,
        &[
            "2028-02-29T00:00:00Z",
            "2032-02-29T00:00:00Z",
            "2036-02-29T00:00:00Z",
        ],
    );
    check(
        "0 12 29 FEB *",
        "2028-02-29T12:00:00Z",
        &["2032-02-29T12:00:00Z"],
    );
    // 2100 is not a leap year (divisible by 100, not by 400): 2096 → 2104.
    check(
        "0 0 29 2 *",
        "2096-03-01T00:00:00Z",
        &["2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"],
    );
    // 2000 was (divisible by 400).
    check(
        "0 0 29 2 *",
        "1999-01-01T00:00:00Z",
        &["2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"],
    );
}

#[test]
fn schedules_that_never_fire_end_quickly() {
    let started = Instant::now();
    for expr in ["0 0 30 2 *", "0 0 31 4 *", "0 0 0 29 2 * 2100"] {
        let schedule = Schedule::parse(expr).unwrap();
        assert_eq!(schedule.next_after(ts(SAT)), None, "{expr}");
        assert!(schedule.upcoming(ts(SAT), 3).is_empty(), "{expr}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "searching impossible dates took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// L, W and #
// ---------------------------------------------------------------------------------------------

#[test]
fn last_weekday_of_month() {
    // Jan 31 2026 is a Saturday → Fri 30; Feb 28 a Saturday → Fri 27; Mar 31 a Tuesday;
    // Apr 30 a Thursday; May 31 a Sunday → Fri 29.
    check(
        "0 0 LW * *",
        "2026-01-01T00:00:00Z",
        &[
            "2026-01-30T00:00:00Z",
            "2026-02-27T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z",
            "2026-05-29T00:00:00Z",
        ],
    );
}

#[test]
fn nearest_weekday() {
    // Jan 15 2026 is a Thursday; Feb 15 and Mar 15 are Sundays → Monday; Apr 15 a Wednesday.
    check(
        "0 0 15W * *",
        "2026-01-01T00:00:00Z",
        &[
            "2026-01-15T00:00:00Z",
            "2026-02-16T00:00:00Z",
            "2026-03-16T00:00:00Z",
            "2026-04-15T00:00:00Z",
        ],
    );
    // Aug 15 2026 is a Saturday → Friday 14th.
    check(
        "0 0 15W * *",
        "2026-08-01T00:00:00Z",
        &["2026-08-14T00:00:00Z"],
    );
    // Aug 1 2026 is a Saturday: 1W moves forward to Monday the 3rd, never back into July.
    check(
        "0 0 1W * *",
        "2026-07-15T00:00:00Z",
        &["2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"],
    );
}

#[test]
fn nth_weekday_of_month() {
    // Second Friday: Nov 13 2026, Dec 11 2026, Jan 8 2027.
    check(
        "0 0 * * 5#2",
        "2026-11-01T00:00:00Z",
        &[
            "2026-11-13T00:00:00Z",
            "2026-12-11T00:00:00Z",
            "2027-01-08T00:00:00Z",
        ],
    );
    // First Monday with a name.
    check(
        "0 0 * * MON#1",
        "2026-11-01T00:00:00Z",
        &[
            "2026-11-02T00:00:00Z",
            "2026-12-07T00:00:00Z",
            "2027-01-04T00:00:00Z",
        ],
    );
    // Fifth Monday: only months with five Mondays (Nov 2026, then Mar 2027).
    check(
        "0 0 * * 1#5",
        "2026-11-01T00:00:00Z",
        &["2026-11-30T00:00:00Z", "2027-03-29T00:00:00Z"],
    );
}

#[test]
fn last_weekday_of_a_kind() {
    let last_fridays = [
        "2026-11-27T00:00:00Z",
        "2026-12-25T00:00:00Z",
        "2027-01-29T00:00:00Z",
    ];
    for expr in ["0 0 * * 5#L", "0 0 * * 5L", "0 0 * * FRI#L", "0 0 * * FRIL"] {
        check(expr, "2026-11-01T00:00:00Z", &last_fridays);
    }
    // Last Sunday of March and of October: the EU's DST switch days.
    check(
        "0 1 * 3,10 0#L",
        "2026-01-01T00:00:00Z",
        &["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"],
    );
}

// ---------------------------------------------------------------------------------------------
// Nicknames
// ---------------------------------------------------------------------------------------------

#[test]
fn every_nickname() {
    let yearly = ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"];
    let monthly = ["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"];
    let weekly = ["2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z"];
    let daily = ["2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"];
    let hourly = ["2026-11-21T23:00:00Z", "2026-11-22T00:00:00Z"];
    check("@yearly", SAT, &yearly);
    check("@annually", SAT, &yearly);
    check("@monthly", SAT, &monthly);
    check("@weekly", SAT, &weekly);
    check("@daily", SAT, &daily);
    check("@midnight", SAT, &daily);
    check("@hourly", SAT, &hourly);
    check("@DAILY", SAT, &daily);
    check("  @Hourly  ", SAT, &hourly);
    for nickname in [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ] {
        assert_eq!(
            Schedule::parse(nickname).unwrap().kind(),
            ScheduleKind::Cron
        );
    }
}

#[test]
fn reboot_has_no_fire_time() {
    for expr in ["@reboot", "@REBOOT", "CRON_TZ=Europe/Berlin @reboot"] {
        let schedule = Schedule::parse(expr).unwrap();
        assert!(schedule.is_reboot(), "{expr}");
        assert_eq!(schedule.kind(), ScheduleKind::Reboot);
        assert_eq!(schedule.next_after(ts(SAT)), None);
        assert!(schedule.upcoming(ts(SAT), 5).is_empty());
    }
    assert!(!Schedule::parse("@daily").unwrap().is_reboot());
    assert!(!Schedule::parse("rate(1 hour)").unwrap().is_reboot());
}

#[test]
fn nickname_in_a_time_zone() {
    // Midnight in Berlin (CET, UTC+1) is 23:00 UTC the day before.
    check(
        "CRON_TZ=Europe/Berlin @daily",
        SAT,
        &["2026-11-21T23:00:00Z", "2026-11-22T23:00:00Z"],
    );
    check(
        "CRON_TZ=Europe/Berlin @midnight",
        SAT,
        &["2026-11-21T23:00:00Z", "2026-11-22T23:00:00Z"],
    );
}

// ---------------------------------------------------------------------------------------------
// rate(...)
// ---------------------------------------------------------------------------------------------

#[test]
fn rates_are_aligned_to_the_epoch() {
    check(
        "rate(1 second)",
        "2026-11-21T22:48:12.5Z",
        &["2026-11-21T22:48:13Z", "2026-11-21T22:48:14Z"],
    );
    check(
        "rate(30 seconds)",
        SAT,
        &["2026-11-21T22:48:30Z", "2026-11-21T22:49:00Z"],
    );
    check(
        "rate(5 minutes)",
        SAT,
        &["2026-11-21T22:50:00Z", "2026-11-21T22:55:00Z"],
    );
    // Exactly on a tick: strictly after.
    check(
        "rate(1 minute)",
        "2026-11-21T22:48:00Z",
        &["2026-11-21T22:49:00Z", "2026-11-21T22:50:00Z"],
    );
    check(
        "rate(1 hour)",
        SAT,
        &["2026-11-21T23:00:00Z", "2026-11-22T00:00:00Z"],
    );
    check(
        "rate(2 hours)",
        SAT,
        &["2026-11-22T00:00:00Z", "2026-11-22T02:00:00Z"],
    );
    // 90 minutes divides a day (16 × 5400 s), so every day starts on a tick.
    check(
        "rate(90 minutes)",
        SAT,
        &["2026-11-22T00:00:00Z", "2026-11-22T01:30:00Z"],
    );
    check(
        "rate(1 day)",
        SAT,
        &["2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"],
    );
    // 2026-11-21 is day 20778 since the epoch, a multiple of 3.
    check(
        "RATE(3 Days)",
        SAT,
        &["2026-11-24T00:00:00Z", "2026-11-27T00:00:00Z"],
    );
    // The epoch was a Thursday, so weekly rates fire on Thursdays.
    check(
        "rate(7 days)",
        SAT,
        &["2026-11-26T00:00:00Z", "2026-12-03T00:00:00Z"],
    );
    check(
        "rate( 10   minutes )",
        SAT,
        &["2026-11-21T22:50:00Z", "2026-11-21T23:00:00Z"],
    );
    // Before the epoch too.
    check(
        "rate(45 seconds)",
        "1969-12-31T23:59:59.5Z",
        &["1970-01-01T00:00:00Z", "1970-01-01T00:00:45Z"],
    );
}

#[test]
fn rate_kind_and_time_zone() {
    assert_eq!(
        Schedule::parse("rate(5 minutes)").unwrap().kind(),
        ScheduleKind::Rate(Duration::from_secs(300))
    );
    assert_eq!(
        Schedule::parse("rate(2 days)").unwrap().kind(),
        ScheduleKind::Rate(Duration::from_secs(172_800))
    );
    // A zone does not move a rate: it is real time, not wall-clock time.
    check_tz(
        "rate(1 day)",
        Some("America/New_York"),
        SAT,
        &["2026-11-22T00:00:00Z"],
    );
}

// ---------------------------------------------------------------------------------------------
// Time zones and daylight saving time
// ---------------------------------------------------------------------------------------------

#[test]
fn time_zone_prefixes_and_option() {
    let nine_edt = ["2026-07-01T13:00:00Z", "2026-07-02T13:00:00Z"];
    check(
        "CRON_TZ=America/New_York 0 9 * * *",
        "2026-07-01T00:00:00Z",
        &nine_edt,
    );
    check(
        "TZ=America/New_York 0 9 * * *",
        "2026-07-01T00:00:00Z",
        &nine_edt,
    );
    check(
        "cron_tz=America/New_York 0 9 * * *",
        "2026-07-01T00:00:00Z",
        &nine_edt,
    );
    check_tz(
        "0 9 * * *",
        Some("America/New_York"),
        "2026-07-01T00:00:00Z",
        &nine_edt,
    );
    // The same zone twice is fine.
    check_tz(
        "CRON_TZ=America/New_York 0 9 * * *",
        Some("America/New_York"),
        "2026-07-01T00:00:00Z",
        &nine_edt,
    );
    check("CRON_TZ=UTC 0 0 * * *", SAT, &["2026-11-22T00:00:00Z"]);
    // A half-hour zone: midnight in Kolkata (UTC+05:30) is 18:30 UTC the day before.
    check("0 0 * * *", SAT, &["2026-11-22T00:00:00Z"]);
    check_tz(
        "0 0 * * *",
        Some("Asia/Kolkata"),
        SAT,
        &["2026-11-22T18:30:00Z", "2026-11-23T18:30:00Z"],
    );
    assert_eq!(
        Schedule::parse("TZ=Asia/Kolkata 0 0 * * *").unwrap().expr(),
        "TZ=Asia/Kolkata 0 0 * * *"
    );
}

#[test]
fn dst_new_york_spring_forward_keeps_the_daily_run() {
    // 02:30 does not exist on 2026-03-08: the fixed-time job fires at 03:00 EDT (07:00Z) instead,
    // then at 02:30 EDT (06:30Z) the next day.
    check_tz(
        "30 2 * * *",
        Some("America/New_York"),
        "2026-03-07T12:00:00Z",
        &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
    );
    // 02:00 exactly (the first missing minute) also moves to 03:00 EDT.
    check_tz(
        "0 2 * * *",
        Some("America/New_York"),
        "2026-03-07T12:00:00Z",
        &["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"],
    );
    // An hourly job follows the wall clock: 01:00 EST (06:00Z), then 03:00 EDT (07:00Z).
    check_tz(
        "0 * * * *",
        Some("America/New_York"),
        "2026-03-08T05:30:00Z",
        &[
            "2026-03-08T06:00:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T08:00:00Z",
        ],
    );
}

#[test]
fn dst_new_york_fall_back_runs_daily_jobs_once() {
    // 01:30 happens twice on 2026-11-01 (EDT at 05:30Z, EST at 06:30Z): one run, the first.
    check_tz(
        "30 1 * * *",
        Some("America/New_York"),
        "2026-10-31T12:00:00Z",
        &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
    );
    // Midnight is unaffected but moves from 04:00Z (EDT) to 05:00Z (EST).
    check_tz(
        "0 0 * * *",
        Some("America/New_York"),
        "2026-10-31T00:00:00Z",
        &[
            "2026-10-31T04:00:00Z",
            "2026-11-01T04:00:00Z",
            "2026-11-02T05:00:00Z",
        ],
    );
    // An hourly job runs in both passes of 01:00, one real hour apart.
    check_tz(
        "0 * * * *",
        Some("America/New_York"),
        "2026-11-01T04:30:00Z",
        &[
            "2026-11-01T05:00:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T07:00:00Z",
        ],
    );
}

#[test]
fn dst_berlin_spring_forward_keeps_the_daily_run() {
    // 02:30 does not exist on 2026-03-29: 03:00 CEST (01:00Z), then 02:30 CEST (00:30Z).
    check_tz(
        "30 2 * * *",
        Some("Europe/Berlin"),
        "2026-03-28T12:00:00Z",
        &["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
    );
    // Office hours move from 08:00Z (CET) to 07:00Z (CEST) over the weekend.
    check(
        "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI",
        "2026-03-27T00:00:00Z",
        &["2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z"],
    );
    // An interval job (minute step) loses the times inside the gap, as documented.
    check_tz(
        "*/30 2 * * *",
        Some("Europe/Berlin"),
        "2026-03-28T12:00:00Z",
        &["2026-03-30T00:00:00Z", "2026-03-30T00:30:00Z"],
    );
}

#[test]
fn dst_berlin_fall_back_runs_daily_jobs_once() {
    // 02:30 happens twice on 2026-10-25 (CEST at 00:30Z, CET at 01:30Z): one run, the first.
    check_tz(
        "30 2 * * *",
        Some("Europe/Berlin"),
        "2026-10-24T12:00:00Z",
        &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
    );
    // Starting inside the repeated hour, after the first 02:30: no second run that day.
    check_tz(
        "30 2 * * *",
        Some("Europe/Berlin"),
        "2026-10-25T00:45:00Z",
        &["2026-10-26T01:30:00Z"],
    );
    // A six-field hourly job at minute 15 runs in both passes of 02:15.
    check_tz(
        "0 15 * * * *",
        Some("Europe/Berlin"),
        "2026-10-24T23:30:00Z",
        &[
            "2026-10-25T00:15:00Z",
            "2026-10-25T01:15:00Z",
            "2026-10-25T02:15:00Z",
        ],
    );
}

#[test]
fn a_year_of_daily_runs_across_both_transitions() {
    // 365 daily runs at 02:30 local time in 2026-07 .. 2027-07: exactly one per local date.
    for zone in ["America/New_York", "Europe/Berlin"] {
        let schedule = Schedule::parse_with_tz("30 2 * * *", Some(zone)).unwrap();
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let runs = schedule.upcoming(ts("2026-07-01T00:00:00Z"), 365);
        let dates: Vec<jiff::civil::Date> =
            runs.iter().map(|t| t.to_zoned(tz.clone()).date()).collect();
        let mut expected = jiff::civil::date(2026, 7, 1);
        for date in &dates {
            assert_eq!(*date, expected, "{zone}: a day was skipped or doubled");
            expected = expected.tomorrow().unwrap();
        }
        assert_eq!(expected, jiff::civil::date(2027, 7, 1), "{zone}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sub-second starts and iteration
// ---------------------------------------------------------------------------------------------

#[test]
fn fractional_start_times() {
    check(
        "0 0 * * *",
        "2026-11-21T23:59:59.999Z",
        &["2026-11-22T00:00:00Z"],
    );
    check(
        "0 0 * * *",
        "2026-11-22T00:00:00.5Z",
        &["2026-11-23T00:00:00Z"],
    );
    check(
        "* * * * * *",
        "2026-11-22T00:00:00.5Z",
        &["2026-11-22T00:00:01Z"],
    );
    // Before the epoch, with a fraction: midnight is still strictly after the start.
    check(
        "0 0 * * *",
        "1969-12-31T23:59:59.5Z",
        &["1970-01-01T00:00:00Z"],
    );
}

#[test]
fn upcoming_chains_next_after() {
    for expr in [
        "*/7 * * * *",
        "0 0 L * *",
        "0 0 * * 5#L",
        "rate(13 minutes)",
        "CRON_TZ=America/New_York 0 * * * *",
    ] {
        let schedule = Schedule::parse(expr).unwrap();
        let times = schedule.upcoming(ts("2026-10-31T00:00:00Z"), 40);
        assert_eq!(times.len(), 40, "{expr}");
        let mut prev = ts("2026-10-31T00:00:00Z");
        for &t in &times {
            assert!(t > prev, "{expr}: {t} is not after {prev}");
            assert_eq!(schedule.next_after(prev), Some(t), "{expr}");
            prev = t;
        }
    }
    assert!(
        Schedule::parse("@daily")
            .unwrap()
            .upcoming(ts(SAT), 0)
            .is_empty()
    );
}

#[test]
fn expr_display_and_from_str() {
    let schedule: Schedule = "  */5 * * * *\t".parse().unwrap();
    assert_eq!(schedule.expr(), "*/5 * * * *");
    assert_eq!(schedule.to_string(), "*/5 * * * *");
    assert_eq!(schedule.kind(), ScheduleKind::Cron);
    assert!("nope".parse::<Schedule>().is_err());
}

// ---------------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_wrong_number_of_fields() {
    for expr in [
        "",
        "every Tuesdayish",
        "* * * *",
        "* * * * * * * *",
        "daily",
        "CRON_TZ=Europe/Berlin",
    ] {
        rejects(expr, &fields_message(expr));
    }
    // Messages quote the trimmed expression.
    rejects("   ", &fields_message(""));
}

#[test]
fn rejects_unknown_macros() {
    for expr in ["@sometimes", "@", "@every 5m", "@ daily"] {
        rejects(expr, &macros_message(expr));
    }
}

#[test]
fn rejects_bad_rates() {
    for expr in [
        "rate(0 minutes)",
        "rate(5 fortnights)",
        "rate(1 week)",
        "rate(5minutes)",
        "rate(-1 hour)",
        "rate(1.5 hours)",
        "rate(5 minutes",
        "rate(5 minutes) extra",
        "rate()",
        "rate(minutes)",
        "rate(1 2 minutes)",
        "Rate(99999999999999999999 seconds)",
        "rate(99999999999999999 days)",
    ] {
        rejects(expr, &rate_message(expr));
    }
}

#[test]
fn rejects_bad_characters() {
    for (expr, field) in [
        ("0 0 * * MON!", "MON!"),
        ("0 0 * * +MON", "+MON"),
        ("0 0 1.5 * *", "1.5"),
        ("0 0 * * Mon;rm", "Mon;rm"),
        ("0 0 * * ½", "½"),
        ("0 0 1_000 * *", "1_000"),
    ] {
        rejects(expr, &field_message(field, expr));
    }
}

#[test]
fn rejects_misplaced_names() {
    for (expr, field) in [
        ("0 0 * MON *", "MON"),
        ("0 0 * * JAN", "JAN"),
        ("MON 0 * * *", "MON"),
        ("0 0 * JAN1 *", "JAN1"),
        ("0 0 * * 1MON", "1MON"),
        ("0 0 * * 5#MON", "5#MON"),
        ("0 0 JAN * *", "JAN"),
        ("0 0 * * MONDAY", "MONDAY"),
        ("0 0 0 1 1 * L", "L"),
        ("0 0 * L *", "L"),
        // croner accepts a bare L in day-of-week, but it never fires.
        ("0 0 * * L", "L"),
        ("0 0 * * 1,L", "1,L"),
    ] {
        rejects(expr, &(field_message(field, expr) + NAMES));
    }
}

#[test]
fn rejects_the_c_modifier() {
    for (expr, field) in [
        ("0 0 * * 5C", "5C"),
        ("0 0 5C * *", "5C"),
        ("0 0 1 * 1C", "1C"),
    ] {
        rejects(expr, &(field_message(field, expr) + C_UNSUPPORTED));
    }
    // DEC and OCT contain a C but are month names.
    assert!(Schedule::parse("0 0 1 OCT,DEC *").is_ok());
}

#[test]
fn rejects_what_croner_rejects() {
    // croner's own message, wrapped with the expression and the name of the field at fault.
    for (expr, name, field, detail) in [
        (
            "61 * * * *",
            "minute",
            "61",
            "Component error: Number out of bounds.",
        ),
        (
            "0 24 * * *",
            "hour",
            "24",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 32 * *",
            "day-of-month",
            "32",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 0 * *",
            "day-of-month",
            "0",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 * 13 *",
            "month",
            "13",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 * * 8",
            "day-of-week",
            "8",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 * * 5#6",
            "day-of-week",
            "5#6",
            "Component error: Nth specifier out of bounds.",
        ),
        (
            "5-1 * * * *",
            "minute",
            "5-1",
            "Component error: Range out of bounds.",
        ),
        (
            "*/0 * * * *",
            "minute",
            "*/0",
            "Component error: Step cannot be zero.",
        ),
        (
            "60 * * * * *",
            "second",
            "60",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 0 1 1 * 6000",
            "year",
            "6000",
            "Component error: Number out of bounds.",
        ),
        (
            "0 0 L-2 * *",
            "day-of-month",
            "L-2",
            "Component error: Invalid start of range.",
        ),
        (
            "? * * * *",
            "minute",
            "?",
            "Pattern contains illegal characters: CronPattern contains illegal character '?' in part '?'",
        ),
    ] {
        rejects(
            expr,
            &format!(
                "Invalid --schedule value '{expr}'. The {name} field '{field}' is invalid: {detail}"
            ),
        );
    }
    // Single-number steps are not standard cron; croner says what to write instead.
    let err = Schedule::parse("0/10 * * * *").unwrap_err().to_string();
    assert!(
        err.starts_with(
            "Invalid --schedule value '0/10 * * * *'. The minute field '0/10' is invalid: "
        ),
        "{err}"
    );
    assert!(err.contains("Use \"*/10\""), "{err}");
}

#[test]
fn rejects_unknown_time_zones() {
    rejects(
        "CRON_TZ=Mars/Olympus 0 0 * * *",
        "Invalid --schedule value 'CRON_TZ=Mars/Olympus 0 0 * * *'. Unknown time zone 'Mars/Olympus'; expected an IANA name such as Europe/Berlin or UTC.",
    );
    rejects(
        "TZ= 0 0 * * *",
        "Invalid --schedule value 'TZ= 0 0 * * *'. Unknown time zone ''; expected an IANA name such as Europe/Berlin or UTC.",
    );
    let err = Schedule::parse_with_tz("0 0 * * *", Some("Nowhere/Land")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unknown time zone 'Nowhere/Land'; expected an IANA name such as Europe/Berlin or UTC."
    );
    let err = Schedule::parse_with_tz("CRON_TZ=Europe/Berlin 0 0 * * *", Some("America/New_York"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid --schedule value 'CRON_TZ=Europe/Berlin 0 0 * * *'. It names time zone 'Europe/Berlin' but time zone 'America/New_York' was also given."
    );
}
