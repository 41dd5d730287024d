//! The schedule parser (cron, macros, `CRON_TZ=`), with and without a time zone, and the next
//! tick of whatever parses.
#![no_main]
libfuzzer_sys::fuzz_target!(|expr: &str| {
    let from: jiff::Timestamp = "2026-07-01T00:00:00Z".parse().expect("a timestamp");
    for tz in [None, Some("Europe/Paris")] {
        if let Ok(schedule) = webstir_manifest::Schedule::parse_with_tz(expr, tz) {
            let _ = schedule.next_after(from);
        }
    }
});
