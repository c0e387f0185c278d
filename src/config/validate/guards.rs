//! Checks of `guards:`: the cost guardrails that act in the account.
//!
//! The bounds are chosen so that every guard renders into something AWS
//! accepts and that still guards:
//! - `auto_stop.input_lost_minutes` 1-1440: the alarm evaluates one-minute
//!   periods, one per minute, and CloudWatch caps `EvaluationPeriods` x
//!   `Period` at one day for such alarms
//!   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html,
//!   `EvaluationPeriods`);
//! - `max_session_hours` 1-72: Step Functions standard executions may wait
//!   up to a year, so the upper bound is lunora's: beyond three days a
//!   forgotten channel costs more than a month of events, which is what
//!   the guard is for, and 360 is a likely "minutes written as hours";
//! - `budget.monthly_usd` more than 0 and at most 1,000,000 (a typo
//!   guard); 1-10 e-mail addresses, the AWS Budgets limit of e-mail
//!   subscribers per notification
//!   (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-limits.html);
//! - schedule time zones are IANA names, which EventBridge Scheduler's
//!   `ScheduleExpressionTimezone` takes
//!   (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html),
//!   checked against the tz database bundled with `jiff`.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::super::model::{Config, Guards, Window};
use super::{is_slug, Checker};
use crate::yaml;

/// Bounds of `auto_stop.input_lost_minutes`.
pub const INPUT_LOST_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;
/// Bounds of `max_session_hours`.
pub const MAX_SESSION_HOURS: std::ops::RangeInclusive<i64> = 1..=72;
/// Upper bound of `budget.monthly_usd`.
pub const MAX_BUDGET_USD: f64 = 1_000_000.0;
/// E-mail subscribers per AWS Budgets notification.
pub const MAX_BUDGET_EMAILS: usize = 10;
/// Window names go into schedule names (`{prefix}-{destination}-{window}-start`).
const WINDOW_NAME_LIMIT: usize = 24;

/// A window's times, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowTimes {
    /// One start and one stop, civil times in the schedule's zone.
    Once { start: DateTime, stop: DateTime },
    /// Every listed day, from `start` to `stop` on that day.
    Weekly { start: Time, stop: Time },
}

impl WindowTimes {
    /// The EventBridge Scheduler expressions that start and stop the
    /// window: `at(yyyy-mm-ddThh:mm:ss)` for a one-off, and
    /// `cron(minutes hours day-of-month month day-of-week year)` for a
    /// weekly window
    /// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
    pub fn expressions(&self, window: &Window) -> (String, String) {
        match self {
            Self::Once { start, stop } => (at(*start), at(*stop)),
            Self::Weekly { start, stop } => {
                let days: Vec<&str> = window.days.iter().map(|d| d.cron()).collect();
                let days = days.join(",");
                (cron(*start, &days), cron(*stop, &days))
            }
        }
    }

    /// How long one occurrence of the window lasts, in hours.
    pub fn hours(&self) -> f64 {
        let seconds = match self {
            Self::Once { start, stop } => start.duration_until(*stop).as_secs_f64(),
            Self::Weekly { start, stop } => start.duration_until(*stop).as_secs_f64(),
        };
        seconds / 3600.0
    }
}

fn at(t: DateTime) -> String {
    format!("at({})", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

fn cron(t: Time, days: &str) -> String {
    format!("cron({} {} ? * {days} *)", t.minute(), t.hour())
}

/// Parses a window's times (`None` when they do not parse).
pub fn window_times(w: &Window) -> Option<WindowTimes> {
    if w.days.is_empty() {
        Some(WindowTimes::Once {
            start: w.start.parse().ok()?,
            stop: w.stop.parse().ok()?,
        })
    } else {
        Some(WindowTimes::Weekly {
            start: w.start.parse().ok()?,
            stop: w.stop.parse().ok()?,
        })
    }
}

pub(super) fn check_guards(c: &mut Checker<'_>, config: &Config, now: Timestamp) {
    let Some(g) = &config.guards else {
        return;
    };
    check_numbers(c, g);
    if let Some(b) = &g.budget {
        if !(b.monthly_usd > 0.0 && b.monthly_usd <= MAX_BUDGET_USD) {
            c.error(
                "guards.budget.monthly_usd",
                format!("{} USD is not a monthly budget", b.monthly_usd),
                "use the month's limit in US dollars, more than 0, e.g. 400",
            );
        }
        if b.emails.is_empty() || b.emails.len() > MAX_BUDGET_EMAILS {
            c.error(
                "guards.budget.emails",
                format!(
                    "{} e-mail addresses; an AWS Budgets alert takes 1 to {MAX_BUDGET_EMAILS}",
                    b.emails.len()
                ),
                "list who is told when spend passes the budget, e.g. `[ops@example.com]`",
            );
        }
        for (i, email) in b.emails.iter().enumerate() {
            if !super::is_email(email) {
                c.error(
                    &format!("guards.budget.emails[{i}]"),
                    format!("`{email}` is not an e-mail address"),
                    "write it as `name@example.com`",
                );
            }
        }
    }
    if let Some(s) = &g.schedule {
        check_schedule(c, config, s, now);
    }
}

fn check_numbers(c: &mut Checker<'_>, g: &Guards) {
    if let Some(a) = &g.auto_stop {
        let m = a.input_lost_minutes;
        if !INPUT_LOST_MINUTES.contains(&m) {
            c.error(
                "guards.auto_stop.input_lost_minutes",
                format!("{m} minutes is outside 1-1440 (CloudWatch evaluates at most one day)"),
                "use the minutes of lost input that end a session, e.g. 15",
            );
        }
    }
    if let Some(h) = g.max_session_hours {
        if !MAX_SESSION_HOURS.contains(&h) {
            c.error(
                "guards.max_session_hours",
                format!("{h} hours is outside 1-72"),
                "use the longest session you stream, in hours, e.g. 6",
            );
        }
    }
}

fn check_schedule(
    c: &mut Checker<'_>,
    config: &Config,
    s: &super::super::model::Schedule,
    now: Timestamp,
) {
    // jiff looks names up ignoring case; Scheduler is given the name as
    // written, so it must be the database's own spelling.
    let zone = match TimeZone::get(&s.time_zone) {
        Ok(z) if z.iana_name() == Some(s.time_zone.as_str()) => Some(z),
        _ => {
            let hint = match suggest_zone(&s.time_zone) {
                Some(best) => {
                    format!("did you mean `{best}`? EventBridge Scheduler takes IANA names")
                }
                None => "use an IANA time zone name, e.g. `Europe/Berlin` or `America/New_York`"
                    .to_owned(),
            };
            c.error(
                "guards.schedule.time_zone",
                format!("`{}` is not an IANA time zone", s.time_zone),
                hint,
            );
            None
        }
    };
    if s.windows.is_empty() {
        c.error(
            "guards.schedule.windows",
            "the schedule has no windows",
            "add a window, or remove `guards.schedule`",
        );
    }
    let known: Vec<&str> = config.destinations.iter().map(|d| d.id.as_str()).collect();
    let mut names = BTreeSet::new();
    let mut parsed: Vec<Option<WindowTimes>> = Vec::new();
    for (i, w) in s.windows.iter().enumerate() {
        let field = |f: &str| format!("guards.schedule.windows[{i}].{f}");
        if !is_slug(&w.name, WINDOW_NAME_LIMIT) {
            c.error(
                &field("name"),
                format!("`{}` is not a valid window name", w.name),
                "use 1-24 lowercase letters, digits and single `-`, e.g. `sunday-service`",
            );
        } else if !names.insert(w.name.as_str()) {
            c.error(
                &field("name"),
                format!("window name `{}` is used twice", w.name),
                "give every window its own name",
            );
        }
        if w.destinations.is_empty() {
            c.error(
                &field("destinations"),
                "the window covers no destination",
                format!(
                    "list the destination ids it starts, e.g. `[{}]`",
                    known.join(", ")
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (j, id) in w.destinations.iter().enumerate() {
            let f = format!("guards.schedule.windows[{i}].destinations[{j}]");
            if !known.contains(&id.as_str()) {
                let hint = match yaml::closest(id, &known) {
                    Some(best) => format!(
                        "did you mean `{best}`? the config defines {}",
                        known.join(", ")
                    ),
                    None => format!("the config defines {}", known.join(", ")),
                };
                c.error(&f, format!("unknown destination `{id}`"), hint);
            } else if !seen.insert(id.as_str()) {
                c.error(
                    &f,
                    format!("`{id}` is listed twice"),
                    "list each destination once",
                );
            }
        }
        let mut days = BTreeSet::new();
        for (j, d) in w.days.iter().enumerate() {
            if !days.insert(*d) {
                c.error(
                    &format!("guards.schedule.windows[{i}].days[{j}]"),
                    format!("`{}` is listed twice", d.cron().to_ascii_lowercase()),
                    "list each day once",
                );
            }
        }
        parsed.push(check_window_times(c, i, w, zone.as_ref(), now));
    }
    check_overlaps(c, s, &parsed);
}

fn check_window_times(
    c: &mut Checker<'_>,
    i: usize,
    w: &Window,
    zone: Option<&TimeZone>,
    now: Timestamp,
) -> Option<WindowTimes> {
    let field = |f: &str| format!("guards.schedule.windows[{i}].{f}");
    if w.days.is_empty() {
        let parse = |c: &mut Checker<'_>, f: &str, text: &str| {
            parsed::<DateTime>(
                c,
                &field(f),
                text.contains('T').then_some(text),
                format!("`{text}` is not a date and time"),
                "write a one-off window's times as `2027-03-14T18:30`, or add `days:` for a weekly window (`18:30`)",
            )
        };
        let start = parse(c, "start", &w.start);
        let stop = parse(c, "stop", &w.stop);
        let (start, stop) = (start?, stop?);
        if stop <= start {
            c.error(
                &field("stop"),
                format!(
                    "the window stops ({}) before it starts ({})",
                    w.stop, w.start
                ),
                "set `stop` later than `start`",
            );
            return None;
        }
        if let Some(zone) = zone {
            let starts = zone.to_timestamp(start);
            if starts.is_ok_and(|t| t <= now) {
                c.error(
                    &field("start"),
                    format!(
                        "the window starts in the past ({} {})",
                        w.start,
                        zone.iana_name().unwrap_or("")
                    ),
                    "move it to a future date, or remove the window",
                );
                return None;
            }
        }
        Some(WindowTimes::Once { start, stop })
    } else {
        let parse = |c: &mut Checker<'_>, f: &str, text: &str| {
            parsed::<Time>(
                c,
                &field(f),
                Some(text),
                format!("`{text}` is not a time of day"),
                "write a weekly window's times as `18:30`; a one-off window has no `days:`",
            )
        };
        let start = parse(c, "start", &w.start);
        let stop = parse(c, "stop", &w.stop);
        let (start, stop) = (start?, stop?);
        if stop <= start {
            c.error(
                &field("stop"),
                format!("the window stops ({}) before it starts ({})", w.stop, w.start),
                "a weekly window starts and stops on the same day; split one that crosses midnight in two",
            );
            return None;
        }
        Some(WindowTimes::Weekly { start, stop })
    }
}

/// The civil intervals a window covers on `date` (a one-off only on the
/// days it spans).
fn on_day(w: &Window, t: &WindowTimes, date: Date) -> Option<(DateTime, DateTime)> {
    match t {
        WindowTimes::Once { start, stop } => {
            let day_start = date.to_datetime(Time::midnight());
            let day_end = date.tomorrow().ok()?.to_datetime(Time::midnight());
            (*start < day_end && *stop > day_start).then_some((*start, *stop))
        }
        WindowTimes::Weekly { start, stop } => {
            let weekday = date.weekday().to_monday_zero_offset();
            let listed = w.days.iter().any(|d| *d as i8 == weekday);
            listed.then(|| (date.to_datetime(*start), date.to_datetime(*stop)))
        }
    }
}

/// Days to compare two windows on: a one-off's days, or a whole week when
/// both are weekly.
fn days_to_compare(a: &WindowTimes, b: &WindowTimes) -> Vec<Date> {
    let once = [a, b].into_iter().find_map(|t| match t {
        WindowTimes::Once { start, stop } => Some((start.date(), stop.date())),
        WindowTimes::Weekly { .. } => None,
    });
    let (first, last) = once.unwrap_or_else(|| {
        let monday = Date::constant(2024, 1, 1);
        (monday, Date::constant(2024, 1, 7))
    });
    let mut out = Vec::new();
    let mut d = first;
    // A one-off window longer than this is no event window; the bound
    // keeps the comparison cheap whatever the input.
    while d <= last && out.len() < 400 {
        out.push(d);
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

fn check_overlaps(
    c: &mut Checker<'_>,
    s: &super::super::model::Schedule,
    parsed: &[Option<WindowTimes>],
) {
    for (i, (a, ta)) in s.windows.iter().zip(parsed).enumerate() {
        let Some(ta) = ta else { continue };
        for (j, (b, tb)) in s.windows.iter().zip(parsed).enumerate().skip(i + 1) {
            let Some(tb) = tb else { continue };
            let Some(shared) = a.destinations.iter().find(|d| b.destinations.contains(d)) else {
                continue;
            };
            let overlap = days_to_compare(ta, tb).into_iter().any(|day| {
                match (on_day(a, ta, day), on_day(b, tb, day)) {
                    (Some((s1, e1)), Some((s2, e2))) => s1 < e2 && s2 < e1,
                    _ => false,
                }
            });
            if overlap {
                c.error(
                    &format!("guards.schedule.windows[{j}]"),
                    format!(
                        "window `{}` overlaps window `{}` for destination `{shared}`",
                        b.name, a.name
                    ),
                    "one window's stop would end the other's event: merge them, or move one",
                );
            }
        }
    }
}

/// The known IANA name closest to `name`, ignoring case.
fn suggest_zone(name: &str) -> Option<String> {
    let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    if let Some(exact) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Some(exact.clone());
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    yaml::closest(name, &refs).map(str::to_owned)
}

/// `text` parsed as a `T`, or an error at `field` (`None` text: refused
/// before parsing).
fn parsed<T: std::str::FromStr>(
    c: &mut Checker<'_>,
    field: &str,
    text: Option<&str>,
    message: String,
    hint: &str,
) -> Option<T> {
    let t = text.and_then(|t| t.parse::<T>().ok());
    if t.is_none() {
        c.error(field, message, hint);
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use crate::presets::Library;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/guards/lunora.yaml");

    fn errors(text: &str, now: &str) -> Vec<String> {
        let now: jiff::Timestamp = now.parse().unwrap();
        match crate::config::from_text_at(
            Path::new("lunora.yaml"),
            text,
            &Library::built_in().unwrap(),
            now,
        ) {
            Ok(_) => Vec::new(),
            Err(d) => {
                d.0.iter()
                    .map(|d| format!("{}: {}", d.field, d.message))
                    .collect()
            }
        }
    }

    #[test]
    fn the_fixture_is_valid_until_its_one_off_window_starts() {
        assert!(errors(FIXTURE, "2026-12-06T00:00:00Z").is_empty());
        // 18:30 in Berlin on 14 March 2099 is 17:30 UTC (CET, +01:00).
        assert!(errors(FIXTURE, "2099-03-14T17:29:00Z").is_empty());
        let late = errors(FIXTURE, "2099-03-14T17:30:00Z");
        assert_eq!(late.len(), 1, "{late:?}");
        assert!(late[0].contains("starts in the past"), "{late:?}");
    }

    #[test]
    fn a_one_off_window_on_a_listed_day_overlaps_a_weekly_one() {
        // 15 March 2099 is a Sunday: the weekly service runs 09:30-12:30.
        let text = FIXTURE
            .replace("start: 2099-03-14T18:30", "start: 2099-03-15T12:00")
            .replace("stop: 2099-03-14T23:00", "stop: 2099-03-15T14:00");
        let e = errors(&text, "2026-12-06T00:00:00Z");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("window `gala` overlaps window `sunday-service`"),
            "{e:?}"
        );
        // Back to back is no overlap.
        let text = text.replace("start: 2099-03-15T12:00", "start: 2099-03-15T12:30");
        assert!(errors(&text, "2026-12-06T00:00:00Z").is_empty());
        // The same window on a Monday is none either.
        let text = text
            .replace("2099-03-15T12:30", "2099-03-16T11:00")
            .replace("2099-03-15T14:00", "2099-03-16T12:00");
        assert!(errors(&text, "2026-12-06T00:00:00Z").is_empty());
    }

    #[test]
    fn windows_become_scheduler_expressions() {
        use crate::config::model::{Weekday, Window};
        let w = Window {
            name: "w".into(),
            destinations: vec!["youtube".into()],
            days: vec![Weekday::Mon, Weekday::Wed],
            start: "18:05".into(),
            stop: "21:00".into(),
        };
        let t = super::window_times(&w).unwrap();
        assert_eq!(
            t.expressions(&w),
            (
                "cron(5 18 ? * MON,WED *)".to_owned(),
                "cron(0 21 ? * MON,WED *)".to_owned()
            )
        );
        assert!((t.hours() - 2.9166).abs() < 0.001);
        let once = Window {
            days: Vec::new(),
            start: "2099-01-01T23:00".into(),
            stop: "2099-01-02T01:30".into(),
            ..w
        };
        let t = super::window_times(&once).unwrap();
        assert_eq!(t.expressions(&once).0, "at(2099-01-01T23:00:00)".to_owned());
        assert!((t.hours() - 2.5).abs() < 1e-9);
    }
}
