//! Job schedules: cron (5–7 fields), `@nicknames`, `@reboot` and `rate(N unit)`.
//!
//! This is the one schedule parser of webstir: `webstir add-job --schedule`, manifest validation,
//! `webstir schedule` and the job runner all go through [`Schedule::parse`]. Cron expressions are
//! parsed and evaluated by the [`croner`] crate; this module adds the webstir syntax around it
//! (`@reboot`, `@midnight`, `rate(...)`, time-zone prefixes) and the reference's error messages.
//!
//! # Syntax
//!
//! | Form | Example | Fires |
//! |---|---|---|
//! | 5 fields: `min hour day-of-month month day-of-week` | `0 0 * * *` | every day at 00:00 |
//! | 6 fields: `sec min hour dom month dow` | `*/10 * * * * *` | every 10 seconds |
//! | 7 fields: `sec min hour dom month dow year` | `0 0 12 29 FEB * 2028` | 2028-02-29 12:00 |
//! | `@yearly`, `@annually` | | `0 0 1 1 *` |
//! | `@monthly` | | `0 0 1 * *` |
//! | `@weekly` | | `0 0 * * SUN` |
//! | `@daily`, `@midnight` | | `0 0 * * *` |
//! | `@hourly` | | `0 * * * *` |
//! | `@reboot` | | once, when the job runner starts ([`Schedule::next_after`] is `None`) |
//! | `rate(N unit)` | `rate(5 minutes)` | every N units, see below |
//!
//! Cron fields accept numbers, `*`, ranges (`1-5`), steps (`*/15`, `10-50/20`), lists (`1,15`),
//! month names (`JAN`–`DEC`) in the month field and weekday names (`SUN`–`SAT`) in the
//! day-of-week field, all case-insensitive. Day-of-week `0` and `7` are Sunday. `?` means `*` in the
//! day-of-month and day-of-week fields. When both day fields are restricted, a day matches if
//! **either** matches (Vixie cron). The extensions are croner's:
//!
//! * `L` in day-of-month: the last day of the month; `LW`: the last weekday (Mon–Fri) of the month.
//! * `15W` in day-of-month: the weekday closest to the 15th, never crossing into another month.
//! * `5#2` in day-of-week: the second Friday of the month; `5#L` or `5L`: the last Friday.
//! * `C` (Quartz's "calendar" modifier) passes the reference's character check but is **not
//!   supported**: an expression that uses it is rejected with a message that says so, instead of
//!   being stored and never running.
//! * croner's `+` (day-of-month AND day-of-week) is not in the reference's character set and is
//!   rejected.
//!
//! # Time zones
//!
//! A schedule runs in UTC unless it names an IANA time zone, either with a prefix in the expression
//! (`CRON_TZ=Europe/Berlin 0 9 * * MON-FRI` or `TZ=Europe/Berlin ...`) or with
//! [`Schedule::parse_with_tz`]. Naming two different zones is an error. The zone only affects
//! cron schedules and nicknames: `rate(...)` is a fixed interval of real time and `@reboot` has no
//! time at all, so both ignore it. Zones are looked up in the system's time-zone database with a
//! copy bundled into the binary as a fallback (for containers without `/usr/share/zoneinfo`).
//!
//! ## Daylight saving time
//!
//! croner follows the Open Cron Pattern Specification and Vixie cron:
//!
//! * A **fixed-time** schedule (a single value in each of the second, minute and hour fields, such
//!   as `30 2 * * *`) never loses a day: when the time falls into a spring-forward gap it fires at
//!   the first wall-clock second after the gap (02:30 in New York on the spring-forward day fires at
//!   03:00 EDT). When the time occurs twice in a fall-back overlap it fires **once**, at the first
//!   occurrence.
//! * An **interval** schedule (a `*`, step, range or list in the second, minute or hour field, such
//!   as `0 * * * *` or `0,30 2 * * *`) follows the wall clock: times inside a gap do not exist and
//!   are skipped, and times inside an overlap fire on each pass (an hourly job runs at 01:00 EDT and
//!   again at 01:00 EST, one real hour apart).
//!
//! # `rate(N unit)`
//!
//! `N` is a positive integer and the unit is `second(s)`, `minute(s)`, `hour(s)` or `day(s)`. A rate
//! fires at every instant that is a whole multiple of `N` units since the Unix epoch
//! (1970-01-01T00:00:00Z). The fire times are therefore the same on every machine and after every
//! restart: `rate(5 minutes)` fires at :00, :05, :10, …; `rate(1 day)` at 00:00 UTC;
//! `rate(7 days)` every Thursday at 00:00 UTC (the epoch was a Thursday). A runner that prefers the
//! reference's "run at start, then every N" can read the interval from [`Schedule::kind`].
//!
//! # Errors
//!
//! Invalid expressions are rejected with the messages of the reference's `add-job` validator
//! (checked in this order), then croner's own message for anything the character check lets through:
//!
//! * `Invalid --schedule value '<s>'. Allowed macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot.`
//! * `Invalid --schedule value '<s>'. Expected rate(<positive integer> second(s)|minute(s)|hour(s)|day(s)).`
//! * `Invalid --schedule value '<s>'. Expected 5-7 space-separated cron fields, @macro, or rate(...).`
//! * `Invalid cron field '<f>' in --schedule value '<s>'.` (a character outside letters, digits and
//!   `* / , - ? #`; misplaced names and `C` add a sentence saying why)
//! * `Invalid --schedule value '<s>'. The <name> field '<f>' is invalid: <croner's message>` (for
//!   example a value out of range; without the field part when no single field is at fault)
//! * `Invalid --schedule value '<s>'. Unknown time zone '<zone>'; expected an IANA name such as
//!   Europe/Berlin or UTC.` (without the first sentence when the zone came from
//!   [`Schedule::parse_with_tz`])
//!
//! ```
//! use jiff::Timestamp;
//! use webstir_manifest::Schedule;
//!
//! let nightly = Schedule::parse("0 0 * * *").unwrap();
//! let from: Timestamp = "2026-11-21T22:48:12Z".parse().unwrap();
//! assert_eq!(nightly.next_after(from).unwrap().to_string(), "2026-11-22T00:00:00Z");
//!
//! let err = Schedule::parse("every Tuesdayish").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "Invalid --schedule value 'every Tuesdayish'. \
//!      Expected 5-7 space-separated cron fields, @macro, or rate(...)."
//! );
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A parsed, valid schedule.
///
/// Build one with [`Schedule::parse`], [`Schedule::parse_with_tz`] or [`str::parse`].
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Cron { cron: Box<Cron>, tz: TimeZone },
    Rate(Duration),
    Reboot,
}

/// What kind of schedule a [`Schedule`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleKind {
    /// A cron expression or a cron nickname such as `@daily`.
    Cron,
    /// `rate(N unit)`: every `N` units, aligned to the Unix epoch.
    Rate(Duration),
    /// `@reboot`: once when the job runner starts, never on a clock.
    Reboot,
}

/// A schedule that cannot be parsed; its message is the reference's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScheduleError {
    message: String,
}

impl ScheduleError {
    fn new(message: String) -> Self {
        Self { message }
    }

    fn invalid(expr: &str, detail: impl fmt::Display) -> Self {
        Self::new(format!("Invalid --schedule value '{expr}'. {detail}"))
    }

    fn field(expr: &str, field: &str, why: Option<&str>) -> Self {
        let mut message = format!("Invalid cron field '{field}' in --schedule value '{expr}'.");
        if let Some(why) = why {
            message.push(' ');
            message.push_str(why);
        }
        Self::new(message)
    }
}

const MACROS_MESSAGE: &str =
    "Allowed macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot.";
const RATE_MESSAGE: &str = "Expected rate(<positive integer> second(s)|minute(s)|hour(s)|day(s)).";
const FIELDS_MESSAGE: &str = "Expected 5-7 space-separated cron fields, @macro, or rate(...).";
const NAMES_MESSAGE: &str = "Letters are only allowed as JAN-DEC in the month field, SUN-SAT or a weekday followed by L (5L, FRI#L) in the day-of-week field, and L, W or LW in the day-of-month field.";
const C_MESSAGE: &str = "The Quartz 'C' (calendar) modifier is not supported.";
const TZ_HINT: &str = "expected an IANA name such as Europe/Berlin or UTC.";

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    /// Parse a schedule expression; times are UTC unless it starts with `CRON_TZ=Zone/Name ` or
    /// `TZ=Zone/Name `.
    ///
    /// Surrounding whitespace is ignored; [`Schedule::expr`] returns the trimmed text.
    ///
    /// # Errors
    /// [`ScheduleError`] with the reference's message (see the [module docs](self)).
    ///
    /// ```
    /// use webstir_manifest::Schedule;
    ///
    /// assert!(Schedule::parse("*/15 9-17 * * MON-FRI").is_ok());
    /// assert!(Schedule::parse("CRON_TZ=Europe/Berlin @daily").is_ok());
    /// assert!(Schedule::parse("rate(5 minutes)").is_ok());
    /// assert_eq!(
    ///     Schedule::parse("@sometimes").unwrap_err().to_string(),
    ///     "Invalid --schedule value '@sometimes'. Allowed macros: @yearly, @annually, \
    ///      @monthly, @weekly, @daily, @midnight, @hourly, @reboot."
    /// );
    /// ```
    pub fn parse(expr: &str) -> Result<Self, ScheduleError> {
        Self::parse_with_tz(expr, None)
    }

    /// Parse a schedule expression whose cron times are in the IANA time zone `tz` (`None`: UTC).
    ///
    /// A `CRON_TZ=`/`TZ=` prefix in the expression is still honoured; naming a different zone there
    /// than in `tz` is an error.
    ///
    /// # Errors
    /// [`ScheduleError`] with the reference's message, or naming the unknown time zone.
    ///
    /// ```
    /// use jiff::Timestamp;
    /// use webstir_manifest::Schedule;
    ///
    /// let nine = Schedule::parse_with_tz("0 9 * * *", Some("America/New_York")).unwrap();
    /// let from: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
    /// // 09:00 EDT is 13:00 UTC.
    /// assert_eq!(nine.next_after(from).unwrap().to_string(), "2026-07-01T13:00:00Z");
    ///
    /// let err = Schedule::parse_with_tz("0 9 * * *", Some("Mars/Olympus")).unwrap_err();
    /// assert!(err.to_string().contains("Unknown time zone 'Mars/Olympus'"));
    /// ```
    pub fn parse_with_tz(expr: &str, tz: Option<&str>) -> Result<Self, ScheduleError> {
        let expr = expr.trim();
        let option_tz = match tz {
            Some(name) => Some(lookup_tz(name).ok_or_else(|| {
                ScheduleError::new(format!("Unknown time zone '{name}'; {TZ_HINT}"))
            })?),
            None => None,
        };

        let (prefix_tz, body) = split_tz_prefix(expr);
        let prefix_tz = match prefix_tz {
            Some(name) => Some(lookup_tz(name).ok_or_else(|| {
                ScheduleError::invalid(expr, format!("Unknown time zone '{name}'; {TZ_HINT}"))
            })?),
            None => None,
        };
        let tz = match (prefix_tz, option_tz) {
            (Some(a), Some(b)) if a.iana_name() != b.iana_name() => {
                return Err(ScheduleError::invalid(
                    expr,
                    format!(
                        "It names time zone '{}' but time zone '{}' was also given.",
                        a.iana_name().unwrap_or("?"),
                        b.iana_name().unwrap_or("?"),
                    ),
                ));
            }
            (Some(tz), _) | (None, Some(tz)) => tz,
            (None, None) => TimeZone::UTC,
        };

        let repr = parse_body(expr, body, tz)?;
        Ok(Self {
            expr: expr.to_owned(),
            repr,
        })
    }

    /// The expression as written (trimmed), including any time-zone prefix.
    ///
    /// ```
    /// use webstir_manifest::Schedule;
    ///
    /// assert_eq!(Schedule::parse("  @daily ").unwrap().expr(), "@daily");
    /// ```
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// What kind of schedule this is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webstir_manifest::{Schedule, schedule::ScheduleKind};
    ///
    /// assert_eq!(Schedule::parse("@hourly").unwrap().kind(), ScheduleKind::Cron);
    /// assert_eq!(Schedule::parse("@reboot").unwrap().kind(), ScheduleKind::Reboot);
    /// assert_eq!(
    ///     Schedule::parse("rate(2 hours)").unwrap().kind(),
    ///     ScheduleKind::Rate(Duration::from_secs(7200))
    /// );
    /// ```
    pub fn kind(&self) -> ScheduleKind {
        match &self.repr {
            Repr::Cron { .. } => ScheduleKind::Cron,
            Repr::Rate(every) => ScheduleKind::Rate(*every),
            Repr::Reboot => ScheduleKind::Reboot,
        }
    }

    /// Whether this is `@reboot` (runs once when the job runner starts; no fire times).
    ///
    /// ```
    /// use webstir_manifest::Schedule;
    ///
    /// assert!(Schedule::parse("@REBOOT").unwrap().is_reboot());
    /// assert!(!Schedule::parse("@daily").unwrap().is_reboot());
    /// ```
    pub fn is_reboot(&self) -> bool {
        matches!(self.repr, Repr::Reboot)
    }

    /// The first fire time strictly after `after`.
    ///
    /// `None` for `@reboot`, and for a schedule with no fire time left (`0 0 30 2 *`, or a year
    /// field in the past). Fire times are whole seconds.
    ///
    /// ```
    /// use jiff::Timestamp;
    /// use webstir_manifest::Schedule;
    ///
    /// let at: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    /// let daily = Schedule::parse("@daily").unwrap();
    /// assert_eq!(daily.next_after(at).unwrap().to_string(), "2026-11-23T00:00:00Z");
    /// assert_eq!(Schedule::parse("@reboot").unwrap().next_after(at), None);
    /// ```
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match &self.repr {
            Repr::Reboot => None,
            Repr::Rate(every) => {
                let period = i128::try_from(every.as_nanos()).ok()?;
                let ticks = after.as_nanosecond().div_euclid(period) + 1;
                Timestamp::from_nanosecond(ticks.checked_mul(period)?).ok()
            }
            Repr::Cron { cron, tz } => {
                // croner counts in whole seconds; search from the second that contains `after`.
                let mut second = after.as_second();
                if after.subsec_nanosecond() < 0 {
                    second -= 1;
                }
                let start = Timestamp::from_second(second).ok()?.to_zoned(tz.clone());
                cron.find_next_occurrence(&start, false)
                    .ok()
                    .map(|next| next.timestamp())
            }
        }
    }

    /// The next `n` fire times strictly after `from`, in order (fewer if the schedule runs out;
    /// none for `@reboot`).
    ///
    /// ```
    /// use jiff::Timestamp;
    /// use webstir_manifest::Schedule;
    ///
    /// let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    /// let times: Vec<String> = Schedule::parse("0 0 L * *")
    ///     .unwrap()
    ///     .upcoming(from, 2)
    ///     .iter()
    ///     .map(ToString::to_string)
    ///     .collect();
    /// assert_eq!(times, ["2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"]);
    /// ```
    pub fn upcoming(&self, from: Timestamp, n: usize) -> Vec<Timestamp> {
        std::iter::successors(self.next_after(from), |&prev| self.next_after(prev))
            .take(n)
            .collect()
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Looks up an IANA zone name; `None` if the database does not know it.
fn lookup_tz(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    TimeZone::get(name).ok()
}

/// Splits a leading `CRON_TZ=Zone ` or `TZ=Zone ` (keyword case-insensitive) off `expr`.
fn split_tz_prefix(expr: &str) -> (Option<&str>, &str) {
    for keyword in ["CRON_TZ=", "TZ="] {
        if let Some(head) = expr.get(..keyword.len())
            && head.eq_ignore_ascii_case(keyword)
        {
            let rest = &expr[keyword.len()..];
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            return (Some(&rest[..end]), rest[end..].trim_start());
        }
    }
    (None, expr)
}

/// Parses what follows the time-zone prefix. `expr` is the whole text, for messages.
fn parse_body(expr: &str, body: &str, tz: TimeZone) -> Result<Repr, ScheduleError> {
    if let Some(name) = body.strip_prefix('@') {
        let pattern = match name.to_ascii_lowercase().as_str() {
            "reboot" => return Ok(Repr::Reboot),
            "midnight" => "@daily",
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "hourly" => body,
            _ => return Err(ScheduleError::invalid(expr, MACROS_MESSAGE)),
        };
        return parse_cron(expr, pattern, tz);
    }

    if body
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("rate("))
    {
        return parse_rate(&body[5..])
            .map(Repr::Rate)
            .ok_or_else(|| ScheduleError::invalid(expr, RATE_MESSAGE));
    }

    let fields: Vec<&str> = body.split_whitespace().collect();
    if !(5..=7).contains(&fields.len()) {
        return Err(ScheduleError::invalid(expr, FIELDS_MESSAGE));
    }
    for field in &fields {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "*/,-?#".contains(c);
        if !field.chars().all(allowed) {
            return Err(ScheduleError::field(expr, field, None));
        }
    }
    check_letters(expr, &fields)?;
    parse_cron(expr, &fields.join(" "), tz)
}

/// Parses the inside of `rate(...)` (after `rate(`): `N unit)`.
fn parse_rate(rest: &str) -> Option<Duration> {
    let inner = rest.strip_suffix(')')?;
    let mut words = inner.split_whitespace();
    let (count, unit, None) = (words.next()?, words.next()?, words.next()) else {
        return None;
    };
    if !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = count.parse().ok()?;
    let unit_secs: u64 = match unit.to_ascii_lowercase().as_str() {
        "second" | "seconds" => 1,
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    let secs = count.checked_mul(unit_secs)?;
    // Keep the interval representable as jiff's signed nanoseconds.
    if count == 0 || i64::try_from(secs).is_err() {
        return None;
    }
    Some(Duration::from_secs(secs))
}

/// Which cron field a field is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    DayOfMonth,
    Month,
    DayOfWeek,
}

/// Checks the letters in each field before croner sees them.
///
/// croner replaces month and weekday names anywhere in the expression (so `MON` in the month field
/// would silently mean January), and it does not know `C`. This keeps names to their own field and
/// turns `C` into a clear error.
fn check_letters(expr: &str, fields: &[&str]) -> Result<(), ScheduleError> {
    let offset = usize::from(fields.len() >= 6);
    for (i, field) in fields.iter().enumerate() {
        let role = match i.checked_sub(offset) {
            Some(2) => Role::DayOfMonth,
            Some(3) => Role::Month,
            Some(4) => Role::DayOfWeek,
            _ => Role::Plain,
        };
        let upper = field.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            if !bytes[start].is_ascii_alphabetic() {
                start += 1;
                continue;
            }
            let end = bytes[start..]
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .map_or(bytes.len(), |n| start + n);
            let word = &upper[start..end];
            let before = start.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(end).copied();
            if !letters_ok(role, word, before, after) {
                let is_name = MONTHS.contains(&word) || WEEKDAYS.contains(&word);
                let why = if word.contains('C') && !is_name {
                    C_MESSAGE
                } else {
                    NAMES_MESSAGE
                };
                return Err(ScheduleError::field(expr, field, Some(why)));
            }
            start = end;
        }
    }
    Ok(())
}

/// Whether a run of letters `word` (with the bytes around it) may stand in a field of `role`.
fn letters_ok(role: Role, word: &str, before: Option<u8>, after: Option<u8>) -> bool {
    // A name must stand alone between separators: `JAN1` or `5#MON` would be misread.
    let name_bounded = matches!(before, None | Some(b',' | b'-'))
        && matches!(after, None | Some(b',' | b'-' | b'/' | b'#'));
    match role {
        Role::Plain => false,
        Role::DayOfMonth => matches!(word, "L" | "W" | "LW"),
        Role::Month => MONTHS.contains(&word) && name_bounded,
        Role::DayOfWeek => {
            // `5L` and `5#L` are the last Friday; a bare `L` is accepted by croner but never fires.
            if word == "L" {
                return matches!(before, Some(b'0'..=b'9' | b'#'));
            }
            let name = word.strip_suffix('L').filter(|n| WEEKDAYS.contains(n));
            (WEEKDAYS.contains(&word) || name.is_some()) && name_bounded
        }
    }
}

/// Parses a cron pattern (5–7 fields or a croner nickname) with croner.
fn parse_cron(expr: &str, pattern: &str, tz: TimeZone) -> Result<Repr, ScheduleError> {
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Optional)
        .build();
    match parser.parse(pattern) {
        Ok(cron) => Ok(Repr::Cron {
            cron: Box::new(cron),
            tz,
        }),
        Err(err) => Err(match culprit_field(&parser, pattern) {
            Some((name, field)) => ScheduleError::invalid(
                expr,
                format_args!("The {name} field '{field}' is invalid: {err}"),
            ),
            None => ScheduleError::invalid(expr, err),
        }),
    }
}

/// Finds the one field croner rejects on its own (the others replaced by `*`), with its name.
///
/// croner's messages ("Number out of bounds.") do not say which field is wrong; this only runs
/// after a failed parse.
fn culprit_field<'a>(parser: &CronParser, pattern: &'a str) -> Option<(&'static str, &'a str)> {
    let fields: Vec<&str> = pattern.split_whitespace().collect();
    let names: &[&str] = match fields.len() {
        5 => &["minute", "hour", "day-of-month", "month", "day-of-week"],
        6 => &[
            "second",
            "minute",
            "hour",
            "day-of-month",
            "month",
            "day-of-week",
        ],
        7 => &[
            "second",
            "minute",
            "hour",
            "day-of-month",
            "month",
            "day-of-week",
            "year",
        ],
        _ => return None,
    };
    (0..fields.len()).find_map(|i| {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| if j == i { fields[i] } else { "*" })
            .collect();
        parser
            .parse(&alone.join(" "))
            .is_err()
            .then_some((names[i], fields[i]))
    })
}
