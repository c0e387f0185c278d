#![allow(clippy::unwrap_used)]

use time::macros::datetime;

use super::*;
use crate::config::model::DestinationKind;
use crate::cost::{Channel, Codec, Feed, Output};

fn window(from: OffsetDateTime, to: OffsetDateTime) -> Window {
    Window {
        from,
        to,
        so_far: false,
    }
}

fn december() -> Window {
    window(
        datetime!(2026-12-01 00:00 UTC),
        datetime!(2027-01-01 00:00 UTC),
    )
}

fn ev(at: OffsetDateTime, dest: &str, mark: Mark) -> Event {
    Event {
        at,
        destination: dest.to_owned(),
        mark,
        recorder: Recorder::Lunora,
        by: "cli".to_owned(),
    }
}

fn guard_stop(at: OffsetDateTime, dest: &str) -> Event {
    Event {
        recorder: Recorder::Guard,
        by: "max-session-hours".to_owned(),
        ..ev(at, dest, Mark::Stop)
    }
}

/// One RTMP channel, one 720p30 output at 3 Mbit/s, from a 10 Mbit/s
/// 1080p H.264 feed over rtp-fec.
fn setup() -> Setup {
    Setup {
        input_mode: InputMode::RtpFec,
        feed: Feed {
            codec: Codec::Avc,
            height: 1080,
            mbps: 10.0,
        },
        channels: vec![Channel {
            id: "youtube".into(),
            kind: DestinationKind::Rtmp,
            outputs: vec![Output {
                name: "720p30".into(),
                height: 720,
                fps: 30.0,
                video_kbps: 3000,
                audio_kbps: 128,
            }],
        }],
        guard_key: false,
    }
}

#[test]
fn three_sessions_of_two_hours_are_six_hours_and_priced_from_the_rates() {
    let events = [
        ev(datetime!(2026-12-02 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-02 20:00 UTC), "youtube", Mark::Stop),
        ev(datetime!(2026-12-09 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-09 20:00 UTC), "youtube", Mark::Stop),
        ev(datetime!(2026-12-16 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-16 20:00 UTC), "youtube", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    assert_eq!(hours.destinations["youtube"], 6.0);
    assert_eq!(hours.flow_hours, 6.0);
    assert_eq!(hours.sessions.len(), 3);
    assert!(hours.notes.is_empty(), "{:?}", hours.notes);

    // The expected dollars, from the rates file itself.
    let rates = Rates::built_in().unwrap();
    let s = setup();
    let f = &rates.file;
    let factor = f.single_pipeline_factor.value;
    let input = rates.input(s.input_class()).unwrap().usd * factor;
    let output = rates.output(s.channels[0].outputs[0].class()).unwrap().usd * factor;
    let to_medialive = 10.0 * f.gb_per_mbps_hour * f.mediaconnect.transfer_to_medialive_gb.usd;
    let to_internet = 3.128 * f.gb_per_mbps_hour * f.medialive.internet_transfer_gb.usd;
    let per_hour = input + output + to_medialive + to_internet;
    let cents = |usd: f64| (usd * 100.0).round() / 100.0;
    let idle =
        (744.0 - 6.0) * (f.medialive.idle_channel_hour.usd + f.medialive.idle_push_input_hour.usd);

    let cost = price(&s, &rates, &hours).unwrap();
    let d = &cost.destinations[0];
    assert_eq!(d.hours, 6.0);
    assert_eq!(d.running_usd, cents(6.0 * per_hour));
    assert_eq!(d.idle_hours, 738.0);
    assert_eq!(d.idle_usd, cents(idle));
    assert_eq!(cost.flow.hours, 6.0);
    assert_eq!(cost.flow.usd, cents(6.0 * f.mediaconnect.flow_hour.usd));
    assert!(
        (cost.total_usd - (d.running_usd + d.idle_usd + cost.flow.usd)).abs() < 0.005,
        "{cost:?}"
    );
    assert!(cost.unpriced.is_empty());
}

#[test]
fn sessions_crossing_the_month_are_clipped_to_it() {
    let events = [
        // From November into December: 2 h in December.
        ev(datetime!(2026-11-30 23:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-01 02:00 UTC), "youtube", Mark::Stop),
        // From December into January: 1.5 h in December.
        ev(datetime!(2026-12-31 22:30 UTC), "twitch", Mark::Start),
        ev(datetime!(2027-01-01 03:00 UTC), "twitch", Mark::Stop),
        // All in November: not counted, not listed.
        ev(datetime!(2026-11-10 10:00 UTC), "twitch", Mark::Start),
        ev(datetime!(2026-11-10 12:00 UTC), "twitch", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    assert_eq!(hours.destinations["youtube"], 2.0);
    assert_eq!(hours.destinations["twitch"], 1.5);
    assert_eq!(hours.flow_hours, 3.5);
    assert_eq!(hours.sessions.len(), 2);
    assert_eq!(hours.sessions[0].started_at, "2026-11-30T23:00:00Z");
    assert_eq!(hours.sessions[0].hours, 2.0);
}

#[test]
fn an_open_session_counts_up_to_the_end_of_the_window_and_says_so() {
    let now = datetime!(2026-12-06 10:30 UTC);
    let w = Window {
        from: datetime!(2026-12-01 00:00 UTC),
        to: now,
        so_far: true,
    };
    let events = [ev(datetime!(2026-12-06 08:00 UTC), "youtube", Mark::Start)];
    let hours = count_hours(&events, &[], w);
    assert_eq!(hours.destinations["youtube"], 2.5);
    assert!(hours.sessions[0].open);
    assert_eq!(hours.sessions[0].ended_at, None);
}

#[test]
fn a_guard_stop_ends_a_session_started_by_lunora() {
    let events = [
        ev(datetime!(2026-12-03 18:00 UTC), "twitch", Mark::Start),
        guard_stop(datetime!(2026-12-04 00:00 UTC), "twitch"),
        // A guard stopping a destination that was not running: nothing.
        guard_stop(datetime!(2026-12-05 00:00 UTC), "twitch"),
        // lunora's own stop, later, of the already stopped channel.
        ev(datetime!(2026-12-05 09:00 UTC), "twitch", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    assert_eq!(hours.destinations["twitch"], 6.0);
    assert_eq!(hours.sessions.len(), 1);
    assert_eq!(
        hours.sessions[0].ended_by.as_deref(),
        Some("max-session-hours")
    );
    // The later lunora stop found no open session: a note.
    assert_eq!(hours.notes.len(), 1, "{:?}", hours.notes);
}

#[test]
fn overlapping_starts_keep_the_first_and_say_so() {
    let events = [
        ev(datetime!(2026-12-03 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-03 19:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-03 21:00 UTC), "youtube", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    assert_eq!(hours.destinations["youtube"], 3.0);
    assert_eq!(hours.sessions.len(), 1);
    assert_eq!(hours.notes.len(), 1);
    assert!(
        hours.notes[0].contains("started again"),
        "{:?}",
        hours.notes
    );
}

#[test]
fn a_stop_with_no_start_counts_nothing_and_is_noted() {
    let events = [ev(datetime!(2026-12-03 21:00 UTC), "youtube", Mark::Stop)];
    let hours = count_hours(&events, &[], december());
    assert!(hours.destinations.is_empty());
    assert!(hours.sessions.is_empty());
    assert!(
        hours.notes[0].contains("no recorded start"),
        "{:?}",
        hours.notes
    );
}

#[test]
fn the_flow_runs_while_any_destination_runs_and_while_held() {
    let events = [
        ev(datetime!(2026-12-03 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-03 19:00 UTC), "twitch", Mark::Start),
        ev(datetime!(2026-12-03 20:00 UTC), "youtube", Mark::Stop),
        ev(datetime!(2026-12-03 21:00 UTC), "twitch", Mark::Stop),
    ];
    // `stop --keep-flow` at 21:00, the flow stopped at 22:30.
    let flow = [
        (datetime!(2026-12-03 21:00 UTC), FlowMark::Held),
        (datetime!(2026-12-03 22:30 UTC), FlowMark::Stopped),
    ];
    let hours = count_hours(&events, &flow, december());
    assert_eq!(hours.destinations["youtube"], 2.0);
    assert_eq!(hours.destinations["twitch"], 2.0);
    assert_eq!(hours.flow_hours, 4.5);
}

#[test]
fn month_flags_parse_or_name_the_flag() {
    let now = datetime!(2026-12-06 10:30 UTC);
    let w = month_window(None, now).unwrap();
    assert_eq!(w.from, datetime!(2026-12-01 00:00 UTC));
    assert_eq!(w.to, now);
    assert!(w.so_far);
    let nov = month_window(Some("2026-11"), now).unwrap();
    assert_eq!(nov.to, datetime!(2026-12-01 00:00 UTC));
    assert!(!nov.so_far);
    let dec25 = month_window(Some("2025-12"), now).unwrap();
    assert_eq!(dec25.to, datetime!(2026-01-01 00:00 UTC));
    for bad in ["2026-13", "June", "2026-6", "2026-00", "26-11", ""] {
        let e = month_window(Some(bad), now).unwrap_err();
        assert!(e.starts_with("--month"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
    assert!(month_window(Some("2027-01"), now)
        .unwrap_err()
        .contains("has not begun"));
}

#[test]
fn already_stopped_and_already_running_bound_what_lunora_did_not_see() {
    let events = [
        // `stop --all` finds linkedin stopped: no session, nothing, no note.
        ev(
            datetime!(2026-12-02 10:00 UTC),
            "linkedin",
            Mark::AlreadyStopped,
        ),
        // youtube started, then stopped in the console, found stopped later.
        ev(datetime!(2026-12-03 18:00 UTC), "youtube", Mark::Start),
        ev(
            datetime!(2026-12-03 21:00 UTC),
            "youtube",
            Mark::AlreadyStopped,
        ),
        // twitch started in the console, found running, then stopped.
        ev(
            datetime!(2026-12-04 18:00 UTC),
            "twitch",
            Mark::AlreadyRunning,
        ),
        ev(datetime!(2026-12-04 19:30 UTC), "twitch", Mark::Stop),
        // Found running again while a session is open: nothing new.
        ev(datetime!(2026-12-05 18:00 UTC), "custom", Mark::Start),
        ev(
            datetime!(2026-12-05 18:30 UTC),
            "custom",
            Mark::AlreadyRunning,
        ),
        ev(datetime!(2026-12-05 19:00 UTC), "custom", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    assert_eq!(hours.destinations.get("linkedin"), None);
    assert_eq!(hours.destinations["youtube"], 3.0);
    assert_eq!(hours.destinations["twitch"], 1.5);
    assert_eq!(hours.destinations["custom"], 1.0);
    assert_eq!(hours.notes.len(), 2, "{:?}", hours.notes);
    assert!(hours.notes[0].contains("upper bound"), "{:?}", hours.notes);
    assert!(hours.notes[1].contains("lower bound"), "{:?}", hours.notes);
}

#[test]
fn the_guard_key_is_prorated_by_the_hours_of_the_month() {
    let rates = Rates::built_in().unwrap();
    let hours = count_hours(&[], &[], december());
    let mut s = setup();
    assert_eq!(price(&s, &rates, &hours).unwrap().guard_key, None);
    s.guard_key = true;
    let whole = price(&s, &rates, &hours).unwrap();
    let key = whole.guard_key.clone().unwrap();
    assert_eq!((key.hours, key.month_hours, key.usd), (744.0, 744.0, 1.0));
    // Half of December: half the month's dollar.
    let half = count_hours(
        &[],
        &[],
        window(
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2026-12-16 12:00 UTC),
        ),
    );
    let key = price(&s, &rates, &half).unwrap().guard_key.unwrap();
    assert_eq!((key.hours, key.usd), (372.0, 0.5));
    s.guard_key = false;
    let without = price(&s, &rates, &hours).unwrap();
    assert!((whole.total_usd - without.total_usd - 1.0).abs() < 0.005);
}

#[test]
fn medialive_bills_each_start_by_the_minute_and_ten_minutes_at_least() {
    let events = [
        // 4 minutes: billed 10.
        ev(datetime!(2026-12-02 18:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-02 18:04 UTC), "youtube", Mark::Stop),
        // 61 min 30 s: billed 62 min.
        ev(datetime!(2026-12-03 18:00:00 UTC), "youtube", Mark::Start),
        ev(datetime!(2026-12-03 19:01:30 UTC), "youtube", Mark::Stop),
        // Started in November, 5 minutes in December: its minimum was
        // billed in November, so 5 minutes here.
        ev(datetime!(2026-11-30 23:00 UTC), "twitch", Mark::Start),
        ev(datetime!(2026-12-01 00:05 UTC), "twitch", Mark::Stop),
    ];
    let hours = count_hours(&events, &[], december());
    let by_start = |at: &str| {
        hours
            .sessions
            .iter()
            .find(|s| s.started_at == at)
            .unwrap()
            .clone()
    };
    let short = by_start("2026-12-02T18:00:00Z");
    assert_eq!((short.hours, short.billed_hours), (0.07, 0.17));
    let long = by_start("2026-12-03T18:00:00Z");
    assert_eq!((long.hours, long.billed_hours), (1.03, 1.03));
    let carried = by_start("2026-11-30T23:00:00Z");
    assert_eq!((carried.hours, carried.billed_hours), (0.08, 0.08));
    // youtube: 4 min + 61.5 min recorded, 10 + 62 min billed.
    assert_eq!(hours.destinations["youtube"], 1.09);
    assert_eq!(hours.billed["youtube"], 1.2);
    assert_eq!(billed_seconds(240.0, true), 600.0);
    assert_eq!(billed_seconds(3690.0, true), 3720.0);
    assert_eq!(billed_seconds(300.0, false), 300.0);
    assert_eq!(billed_seconds(0.5, false), 60.0);

    // MediaLive charges are priced for the billed hours, data transfer and
    // idle for the recorded ones.
    let rates = Rates::built_in().unwrap();
    let s = setup();
    let f = &rates.file;
    let factor = f.single_pipeline_factor.value;
    let medialive = rates.input(s.input_class()).unwrap().usd * factor
        + rates.output(s.channels[0].outputs[0].class()).unwrap().usd * factor;
    let transfer = 10.0 * f.gb_per_mbps_hour * f.mediaconnect.transfer_to_medialive_gb.usd
        + 3.128 * f.gb_per_mbps_hour * f.medialive.internet_transfer_gb.usd;
    let cost = price(&s, &rates, &hours).unwrap();
    let d = &cost.destinations[0];
    assert_eq!((d.hours, d.billed_hours), (1.09, 1.2));
    let cents = |usd: f64| (usd * 100.0).round() / 100.0;
    assert_eq!(d.running_usd, cents(1.2 * medialive + 1.09 * transfer));
    assert_eq!(d.idle_hours, 744.0 - 1.09);
}
