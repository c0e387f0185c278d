//! What a month really cost: the hours every destination and the flow
//! ran, from the starts and stops lunora and its guards recorded, priced
//! with the same rates as the estimate.
//!
//! Why it exists: `lunora cost` estimates a month from an assumed number
//! of streaming hours; `lunora cost --actual` answers "what did we run?".
//! This part is pure: dated start and stop events in, sessions, hours and
//! dollars out. Reading the release store's audit trail and the guards'
//! Step Functions executions is the operation's job (`ops::cost_actual`).
//!
//! The rules: a start opens a destination's session and the next stop
//! closes it. A start while a session is open (a stop made outside
//! lunora's records in between) keeps the earlier start: the hours are an
//! upper bound, and a note says so. A stop lunora recorded with no start
//! before it (a channel started in the console) counts nothing and is
//! noted. A session still open counts up to the end of the window (now,
//! for the current month). Sessions are clipped to the window. The flow
//! is ACTIVE while any destination runs (it is started with the first and
//! stopped with the last), and also after a `stop --keep-flow` until it
//! is stopped.
//!
//! MediaLive bills running inputs and outputs on demand by the minute: "The
//! duration of each running resource will be rounded up to the nearest
//! minute, above a 10-minute minimum"
//! (<https://aws.amazon.com/medialive/pricing/>). So each session's billed
//! time is its recorded time rounded up to the minute and at least 10
//! minutes when it started in the window (a session carried over from the
//! month before paid its minimum then); the hours shown stay the recorded
//! ones, and the billed hours are priced.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use super::{from_cents, one_hour_of, to_cents, Category, CostError, Rates, Setup};
use crate::config::model::InputMode;

/// Who recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Recorder {
    /// `lunora start` / `stop` or the HTTP server (the audit trail).
    Lunora,
    /// A guard's stop sequence (auto-stop, session limit, schedule stop).
    Guard,
    /// The schedule's start sequence.
    Schedule,
}

/// A start or a stop, or a channel found running or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Start,
    Stop,
    /// `start` found it running: a session opened outside lunora's
    /// records is counted from here (a lower bound); nothing when one is
    /// open.
    AlreadyRunning,
    /// `stop` found it stopped: an open session was ended outside
    /// lunora's records and is counted up to here (an upper bound);
    /// nothing when none is open.
    AlreadyStopped,
}

/// One recorded start or stop of a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: OffsetDateTime,
    pub destination: String,
    pub mark: Mark,
    pub recorder: Recorder,
    /// Who or what, in words (`cli`, `http from ...`, `auto-stop (alarm X)`).
    pub by: String,
}

/// What the flow was told, apart from following the destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowMark {
    /// Left ACTIVE with no destination running (`stop --keep-flow`, or a
    /// destination that failed to stop).
    Held,
    /// Stopped (STANDBY).
    Stopped,
}

/// The month (or part of it) the hours are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: OffsetDateTime,
    /// The end of the month, or now for the current month.
    pub to: OffsetDateTime,
    /// True when `to` is now: the month is not over.
    pub so_far: bool,
}

/// `--month YYYY-MM`: the month's window in UTC, up to `now` at most.
/// `None` means the current month.
pub fn month_window(month: Option<&str>, now: OffsetDateTime) -> Result<Window, String> {
    let now = now.to_offset(UtcOffset::UTC);
    let (year, m) = match month {
        None => (now.year(), now.month()),
        Some(text) => parse_month(text)?,
    };
    let start = |y: i32, m: Month| {
        Date::from_calendar_date(y, m, 1)
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
            .map_err(|e| format!("--month `{y}-{:02}`: {e}", u8::from(m)))
    };
    let from = start(year, m)?;
    let end = match m {
        Month::December => start(year + 1, Month::January)?,
        _ => start(year, m.next())?,
    };
    if from > now {
        return Err(format!(
            "--month {year}-{:02} has not begun yet (hint: the current month is {}-{:02})",
            u8::from(m),
            now.year(),
            u8::from(now.month())
        ));
    }
    Ok(Window {
        from,
        to: end.min(now),
        so_far: now < end,
    })
}

fn parse_month(text: &str) -> Result<(i32, Month), String> {
    let bad = || format!("--month `{text}` is not a month (hint: YYYY-MM, e.g. 2026-11)");
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let month = Month::try_from(month).map_err(|_| bad())?;
    if year < 2000 {
        return Err(bad());
    }
    Ok((year, month))
}

/// RFC 3339, UTC, second precision.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One session of a destination, as counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualSession {
    pub destination: String,
    /// RFC 3339 UTC (may be before the month: the hours are clipped).
    pub started_at: String,
    pub started_by: String,
    /// `None`: still running (no stop recorded).
    pub ended_at: Option<String>,
    pub ended_by: Option<String>,
    /// Hours within the month, as recorded.
    pub hours: f64,
    /// Hours MediaLive bills for it: rounded up to the minute, at least 10
    /// minutes per start (see the module docs).
    pub billed_hours: f64,
    /// True when no stop is recorded: counted up to the window's end
    /// (now, for the current month).
    pub open: bool,
}

/// Hours per destination and of the flow in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    pub window: Window,
    pub sessions: Vec<ActualSession>,
    /// Destination -> hours in the window (two decimals).
    pub destinations: BTreeMap<String, f64>,
    /// Destination -> billed hours (two decimals): each session rounded up
    /// to the minute, at least 10 minutes per start in the window.
    pub billed: BTreeMap<String, f64>,
    pub flow_hours: f64,
    /// Overlapping starts, stops with no start.
    pub notes: Vec<String>,
}

/// Hours to two decimals.
fn hours_of(seconds: f64) -> f64 {
    (seconds / 36.0).round() / 100.0
}

/// MediaLive's minimum per start, in seconds: 10 minutes
/// (<https://aws.amazon.com/medialive/pricing/>).
pub const MEDIALIVE_MINIMUM_SECONDS: f64 = 600.0;

/// The seconds MediaLive bills for `seconds` of running: rounded up to the
/// minute, and at least [`MEDIALIVE_MINIMUM_SECONDS`] when the start is
/// counted (`started_in_window`).
pub fn billed_seconds(seconds: f64, started_in_window: bool) -> f64 {
    let minutes = (seconds / 60.0).ceil() * 60.0;
    if started_in_window {
        minutes.max(MEDIALIVE_MINIMUM_SECONDS)
    } else {
        minutes
    }
}

/// Pairs the starts and stops of every destination into sessions and
/// counts their hours in `window`; the flow runs while any destination
/// runs, and while `flow` holds it.
pub fn count_hours(events: &[Event], flow: &[(OffsetDateTime, FlowMark)], window: Window) -> Hours {
    let mut sorted: Vec<&Event> = events.iter().collect();
    // Stops before starts at the same instant: a restart is two sessions.
    sorted.sort_by_key(|e| (e.at, matches!(e.mark, Mark::Start | Mark::AlreadyRunning)));
    let clip = |start: OffsetDateTime, end: OffsetDateTime| {
        let (s, e) = (start.max(window.from), end.min(window.to));
        (e > s).then_some((s, e))
    };
    let mut open: BTreeMap<&str, &Event> = BTreeMap::new();
    let mut notes = Vec::new();
    let mut sessions = Vec::new();
    let mut intervals: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
    let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
    let mut billed: BTreeMap<String, f64> = BTreeMap::new();
    let mut close = |start: &Event, end: Option<&Event>| {
        let end_at = end.map_or(window.to, |e| e.at);
        let clipped = clip(start.at, end_at);
        if let Some((s, e)) = clipped {
            intervals.push((s, e));
            *seconds.entry(start.destination.clone()).or_default() += (e - s).as_seconds_f64();
        }
        let secs = clipped.map_or(0.0, |(s, e)| (e - s).as_seconds_f64());
        let started_in_window = (window.from..=window.to).contains(&start.at);
        let billed_secs = if clipped.is_some() || started_in_window {
            billed_seconds(secs, started_in_window)
        } else {
            0.0
        };
        if billed_secs > 0.0 {
            *billed.entry(start.destination.clone()).or_default() += billed_secs;
        }
        if clipped.is_some() || (end.is_none() && start.at <= window.to) {
            sessions.push(ActualSession {
                destination: start.destination.clone(),
                started_at: rfc3339(start.at),
                started_by: start.by.clone(),
                ended_at: end.map(|e| rfc3339(e.at)),
                ended_by: end.map(|e| e.by.clone()),
                hours: hours_of(secs),
                billed_hours: hours_of(billed_secs),
                open: end.is_none(),
            });
        }
    };
    for e in sorted {
        match e.mark {
            Mark::Start => {
                if let Some(first) = open.get(e.destination.as_str()) {
                    if (window.from..=window.to).contains(&e.at) {
                        notes.push(format!(
                            "{} was started again at {} ({}) while its session from {} was open: stopped outside lunora's records in between? counted from the first start (an upper bound)",
                            e.destination,
                            rfc3339(e.at),
                            e.by,
                            rfc3339(first.at)
                        ));
                    }
                } else {
                    open.insert(&e.destination, e);
                }
            }
            Mark::AlreadyRunning => {
                if !open.contains_key(e.destination.as_str()) {
                    if (window.from..=window.to).contains(&e.at) {
                        notes.push(format!(
                            "{} was found already running at {} ({}) with no recorded start: started outside lunora's records, counted from then (a lower bound)",
                            e.destination,
                            rfc3339(e.at),
                            e.by
                        ));
                    }
                    open.insert(&e.destination, e);
                }
            }
            Mark::AlreadyStopped => {
                if let Some(start) = open.remove(e.destination.as_str()) {
                    if (window.from..=window.to).contains(&e.at) {
                        notes.push(format!(
                            "{} was found already stopped at {} ({}): stopped outside lunora's records after its start at {}, counted up to then (an upper bound)",
                            e.destination,
                            rfc3339(e.at),
                            e.by,
                            rfc3339(start.at)
                        ));
                    }
                    close(start, Some(e));
                }
            }
            Mark::Stop => match open.remove(e.destination.as_str()) {
                Some(start) => close(start, Some(e)),
                None => {
                    if e.recorder == Recorder::Lunora && (window.from..=window.to).contains(&e.at) {
                        notes.push(format!(
                            "{} was stopped at {} ({}) with no recorded start (started outside lunora, or by a schedule that is not counted): its hours before that are not counted",
                            e.destination,
                            rfc3339(e.at),
                            e.by
                        ));
                    }
                }
            },
        }
    }
    for start in open.into_values() {
        close(start, None);
    }
    // The flow: held ACTIVE from a Held mark to the next Stopped mark.
    let mut marks: Vec<&(OffsetDateTime, FlowMark)> = flow.iter().collect();
    marks.sort_by_key(|(at, _)| *at);
    let mut held: Option<OffsetDateTime> = None;
    for (at, mark) in marks {
        match (mark, held) {
            (FlowMark::Held, None) => held = Some(*at),
            (FlowMark::Stopped, Some(since)) => {
                intervals.extend(clip(since, *at));
                held = None;
            }
            _ => {}
        }
    }
    if let Some(since) = held {
        intervals.extend(clip(since, window.to));
    }
    sessions.sort_by(|a, b| (&a.started_at, &a.destination).cmp(&(&b.started_at, &b.destination)));
    Hours {
        window,
        sessions,
        destinations: seconds.into_iter().map(|(d, s)| (d, hours_of(s))).collect(),
        billed: billed.into_iter().map(|(d, s)| (d, hours_of(s))).collect(),
        flow_hours: hours_of(union_seconds(intervals)),
        notes,
    }
}

/// The length of the union of intervals, in seconds.
fn union_seconds(mut intervals: Vec<(OffsetDateTime, OffsetDateTime)>) -> f64 {
    intervals.sort();
    let mut total = 0.0;
    let mut current: Option<(OffsetDateTime, OffsetDateTime)> = None;
    for (s, e) in intervals {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += (ce - cs).as_seconds_f64();
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = current {
        total += (ce - cs).as_seconds_f64();
    }
    total
}

/// What one destination's hours cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationCost {
    pub destination: String,
    /// Hours its channel ran in the window, as recorded.
    pub hours: f64,
    /// Hours MediaLive bills: each session rounded up to the minute, at
    /// least 10 minutes per start. Priced.
    pub billed_hours: f64,
    /// Dollars per running hour: its MediaLive input and outputs and the
    /// data it moves (the estimate's rates, the flow apart).
    pub usd_per_hour: f64,
    pub running_usd: f64,
    /// Hours its channel and input sat stopped in the window.
    pub idle_hours: f64,
    pub idle_usd: f64,
    pub total_usd: f64,
}

/// What the flow's ACTIVE hours cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowCost {
    pub hours: f64,
    pub usd_per_hour: f64,
    pub usd: f64,
}

/// The priced hours.
/// The guards' KMS key (`GuardKey`) over the window: $1 a month prorated
/// hourly (<https://aws.amazon.com/kms/pricing/>), counted for every hour
/// of the window out of the hours of its calendar month (a key created or
/// deleted during the month costs less; requests are not priced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardKeyCost {
    /// Hours of the window.
    pub hours: f64,
    /// Hours of the calendar month.
    pub month_hours: f64,
    pub usd_per_month: f64,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualCost {
    pub destinations: Vec<DestinationCost>,
    pub flow: FlowCost,
    /// The guards' KMS key, when the config's guards create it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_key: Option<GuardKeyCost>,
    pub total_usd: f64,
    /// Destinations with recorded hours that the config no longer has:
    /// their hours are shown but not priced.
    pub unpriced: Vec<String>,
}

/// Dollars per running hour of one channel in `categories`: those items of
/// a one-hour estimate of it, unrounded. Its MediaLive input and outputs
/// (billed by the minute with a minimum) and the data it moves (by the GB)
/// are priced apart.
pub fn usd_per_hour_of(
    setup: &Setup,
    rates: &Rates,
    id: &str,
    categories: &[Category],
) -> Result<f64, CostError> {
    Ok(one_hour_of(setup, rates, id)?
        .items
        .iter()
        .filter(|i| categories.contains(&i.category))
        .map(|i| i.quantity * i.rate_usd)
        .sum())
}

/// Dollars per hour a stopped channel and its input cost.
pub fn idle_usd_per_hour(setup: &Setup, rates: &Rates) -> f64 {
    let m = &rates.file.medialive;
    m.idle_channel_hour.usd
        + match setup.input_mode {
            InputMode::RtpFec => m.idle_push_input_hour.usd,
            InputMode::Mediaconnect => m.idle_mediaconnect_input_hour.usd,
        }
}

/// Prices `hours` with the estimate's rates: each destination's running
/// and idle hours, and the flow's ACTIVE hours.
pub fn price(setup: &Setup, rates: &Rates, hours: &Hours) -> Result<ActualCost, CostError> {
    let elapsed = hours_of((hours.window.to - hours.window.from).as_seconds_f64());
    let idle_rate = idle_usd_per_hour(setup, rates);
    let mut destinations = Vec::new();
    let mut total: i64 = 0;
    for c in &setup.channels {
        let h = hours.destinations.get(&c.id).copied().unwrap_or(0.0);
        let billed = hours.billed.get(&c.id).copied().unwrap_or(h);
        let medialive = usd_per_hour_of(
            setup,
            rates,
            &c.id,
            &[Category::MedialiveInput, Category::MedialiveOutput],
        )?;
        let transfer = usd_per_hour_of(setup, rates, &c.id, &[Category::DataTransfer])?;
        let per_hour = medialive + transfer;
        let what = format!("{}'s hours", c.id);
        let running = to_cents(medialive * billed + transfer * h, &what)?;
        let idle_hours = (elapsed - h).max(0.0);
        let idle = to_cents(idle_rate * idle_hours, &what)?;
        total += running + idle;
        destinations.push(DestinationCost {
            destination: c.id.clone(),
            hours: h,
            billed_hours: billed,
            usd_per_hour: (per_hour * 10_000.0).round() / 10_000.0,
            running_usd: from_cents(running),
            idle_hours: (idle_hours * 100.0).round() / 100.0,
            idle_usd: from_cents(idle),
            total_usd: from_cents(running + idle),
        });
    }
    let flow_rate = rates.file.mediaconnect.flow_hour.usd;
    let flow = to_cents(flow_rate * hours.flow_hours, "the flow's hours")?;
    total += flow;
    let guard_key = if setup.guard_key {
        let month_hours =
            f64::from(hours.window.from.month().length(hours.window.from.year())) * 24.0;
        let rate = rates.file.kms.key_month.usd;
        let usd = to_cents(rate * elapsed / month_hours, "the guard key")?;
        total += usd;
        Some(GuardKeyCost {
            hours: elapsed,
            month_hours,
            usd_per_month: rate,
            usd: from_cents(usd),
        })
    } else {
        None
    };
    Ok(ActualCost {
        guard_key,
        destinations,
        flow: FlowCost {
            hours: hours.flow_hours,
            usd_per_hour: flow_rate,
            usd: from_cents(flow),
        },
        total_usd: from_cents(total),
        unpriced: hours
            .destinations
            .keys()
            .filter(|d| !setup.channels.iter().any(|c| &c.id == *d))
            .cloned()
            .collect(),
    })
}

#[cfg(test)]
mod tests;
