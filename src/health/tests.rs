//! The verdict tables: every verdict, and the edge cases (no datapoints
//! yet after a start, a stopped channel, an alert that cleared, stale
//! datapoints).

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-02 20:30:00 UTC);

fn at(seconds_ago: i64) -> OffsetDateTime {
    NOW - Duration::seconds(seconds_ago)
}

fn reading(value: f64, seconds_ago: i64) -> Option<Reading> {
    Some(Reading {
        value,
        at: at(seconds_ago),
    })
}

/// A running channel that delivers: started 20 min ago, 6 Mb/s in, no
/// loss, no alerts.
fn running() -> DestinationObservation {
    DestinationObservation {
        deployed: true,
        channel_id: Some("1234567".into()),
        channel_state: Some("RUNNING".into()),
        output_enabled: Some(true),
        alerts: Some(Vec::new()),
        input_loss_seconds: reading(0.0, 60),
        network_in_mbps: reading(6.2, 60),
        dropped_frames: reading(0.0, 60),
        active_outputs: reading(1.0, 60),
        output_errors: reading(0.0, 60),
        target: Some("rtmps://live.twitch.tv/app".into()),
        started_at: Some(at(1200)),
        hls: None,
        feed_mismatch: None,
    }
}

fn refused() -> Alert {
    Alert {
        alert_type: "RTMP Connection Refused".into(),
        message: "RTMP connection refused by rtmp://live.twitch.tv".into(),
        set_at: Some("2026-12-02T20:14:05Z".into()),
    }
}

#[test]
fn destination_verdicts() {
    use Verdict::*;
    type Case = (
        &'static str,
        fn(&mut DestinationObservation),
        Verdict,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("healthy", |_| {}, Delivering, "receiving 6.2 Mb/s"),
        (
            "not deployed",
            |o| o.deployed = false,
            Unknown,
            "not deployed",
        ),
        (
            "channel missing",
            |o| o.channel_state = None,
            Failing,
            "does not exist",
        ),
        (
            "stopped",
            |o| o.channel_state = Some("IDLE".into()),
            Idle,
            "channel stopped",
        ),
        (
            "stopping",
            |o| o.channel_state = Some("STOPPING".into()),
            Idle,
            "stopping",
        ),
        (
            "starting",
            |o| o.channel_state = Some("STARTING".into()),
            Unknown,
            "starting",
        ),
        (
            "recovering",
            |o| o.channel_state = Some("RECOVERING".into()),
            Degraded,
            "recovering",
        ),
        (
            "update failed",
            |o| o.channel_state = Some("UPDATE_FAILED".into()),
            Failing,
            "UPDATE_FAILED",
        ),
        (
            "an alert",
            |o| o.alerts = Some(vec![refused()]),
            Failing,
            "RTMP connection refused by rtmp://live.twitch.tv",
        ),
        (
            "output disabled",
            |o| o.output_enabled = Some(false),
            Failing,
            "flow output is disabled",
        ),
        (
            "input lost",
            |o| o.input_loss_seconds = reading(60.0, 60),
            Failing,
            "input lost (60 s",
        ),
        (
            "no data in",
            |o| o.network_in_mbps = reading(0.0, 60),
            Failing,
            "NetworkIn 0",
        ),
        (
            "some input loss",
            |o| o.input_loss_seconds = reading(12.0, 60),
            Degraded,
            "input loss 12 s in the last minute",
        ),
        (
            "nothing written",
            |o| o.active_outputs = reading(0.0, 60),
            Failing,
            "no output written to rtmps://live.twitch.tv/app",
        ),
        (
            "output errors",
            |o| o.output_errors = reading(3.0, 60),
            Degraded,
            "3 output errors",
        ),
        (
            "dropped frames",
            |o| o.dropped_frames = reading(40.0, 60),
            Degraded,
            "40 dropped frames",
        ),
        (
            "feed mismatch",
            |o| o.feed_mismatch = Some("encoder sends 59.94 fps, preset p makes 60 fps".into()),
            Degraded,
            "59.94 fps",
        ),
        (
            "HLS stalled",
            |o| {
                o.hls = Some(HlsCheck::Stalled {
                    sequence: 41,
                    seconds: 7.0,
                })
            },
            Failing,
            "stuck at media sequence 41",
        ),
        (
            "HLS advancing",
            |o| o.hls = Some(HlsCheck::Advancing { from: 44, to: 45 }),
            Delivering,
            "HLS advancing",
        ),
        (
            "HLS unreadable",
            |o| o.hls = Some(HlsCheck::Unreadable("HTTP 404".into())),
            Degraded,
            "HTTP 404",
        ),
        (
            "just started, no datapoints yet",
            |o| {
                o.started_at = Some(at(40));
                o.input_loss_seconds = None;
                o.network_in_mbps = None;
                o.dropped_frames = None;
                o.output_errors = None;
                o.active_outputs = None;
            },
            Unknown,
            "started 40 s ago; no metrics yet",
        ),
        (
            "long running, no datapoints",
            |o| {
                o.network_in_mbps = None;
            },
            Unknown,
            "no CloudWatch datapoints",
        ),
        (
            "stale input loss is history",
            |o| o.input_loss_seconds = reading(60.0, 600),
            Delivering,
            "receiving",
        ),
        (
            "stale bitrate is no bitrate",
            |o| o.network_in_mbps = reading(6.0, 600),
            Unknown,
            "no CloudWatch datapoints",
        ),
        (
            "alerts unreadable: judged on metrics",
            |o| o.alerts = None,
            Delivering,
            "receiving",
        ),
        (
            "MediaConnect input: no flow output to check",
            |o| o.output_enabled = None,
            Delivering,
            "receiving",
        ),
    ];
    for (name, change, want, reason) in cases {
        let mut o = running();
        change(&mut o);
        let got = destination(&o, NOW);
        assert_eq!(got.verdict, want, "{name}: {got:?}");
        assert!(
            got.reason.contains(reason),
            "{name}: reason {:?} lacks {reason:?}",
            got.reason
        );
    }
}

#[test]
fn an_alert_that_cleared_is_gone_and_the_verdict_says_since_when() {
    let mut o = running();
    o.alerts = Some(vec![refused()]);
    let failing = destination(&o, NOW);
    assert_eq!(failing.since.as_deref(), Some("2026-12-02T20:14:05Z"));
    assert_eq!(
        failing.sentence(),
        "failing: RTMP connection refused by rtmp://live.twitch.tv (since 20:14:05)"
    );
    // ListAlerts with stateFilter=SET no longer returns a cleared alert.
    o.alerts = Some(Vec::new());
    let back = destination(&o, NOW);
    assert_eq!(back.verdict, Verdict::Delivering);
    assert_eq!(back.since.as_deref(), Some("2026-12-02T20:10:00Z"));
}

#[test]
fn several_alerts_name_the_oldest_and_count_the_rest() {
    let mut o = running();
    let mut newer = refused();
    newer.message = String::new();
    newer.alert_type = "Output Audio Missing".into();
    newer.set_at = Some("2026-12-02T20:20:00Z".into());
    o.alerts = Some(vec![newer, refused()]);
    let a = destination(&o, NOW);
    assert_eq!(
        a.reason,
        "RTMP connection refused by rtmp://live.twitch.tv (+1 more alerts)"
    );
}

fn source(name: &str, role: SourceRole, connected: f64, mbps: f64) -> SourceObservation {
    SourceObservation {
        name: name.into(),
        role,
        connected: reading(connected, 60),
        bitrate_mbps: reading(mbps, 60),
        not_recovered_packets: reading(0.0, 60),
        disconnections: reading(0.0, 60),
        in_use: None,
    }
}

fn flow() -> IngestObservation {
    IngestObservation {
        deployed: true,
        flow_state: Some("ACTIVE".into()),
        preferred: Some("primary".into()),
        sources: vec![
            source("primary", SourceRole::Primary, 1.0, 11.8),
            source("backup", SourceRole::Backup, 1.0, 11.7),
        ],
        feed_mismatch: Vec::new(),
    }
}

#[test]
fn ingest_verdicts() {
    use Verdict::*;
    type Case = (
        &'static str,
        fn(&mut IngestObservation),
        Verdict,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("healthy", |_| {}, Delivering, "primary 11.8 Mb/s"),
        (
            "not deployed",
            |o| o.deployed = false,
            Unknown,
            "not deployed",
        ),
        (
            "flow missing",
            |o| o.flow_state = None,
            Failing,
            "does not exist",
        ),
        (
            "standby",
            |o| o.flow_state = Some("STANDBY".into()),
            Idle,
            "standby",
        ),
        (
            "error",
            |o| o.flow_state = Some("ERROR".into()),
            Failing,
            "ERROR",
        ),
        (
            "starting",
            |o| o.flow_state = Some("STARTING".into()),
            Unknown,
            "STARTING",
        ),
        (
            "no datapoints",
            |o| {
                for s in &mut o.sources {
                    s.connected = None;
                }
            },
            Unknown,
            "no MediaConnect datapoints",
        ),
        (
            "nothing connected",
            |o| {
                for s in &mut o.sources {
                    s.connected = reading(0.0, 60);
                }
            },
            Failing,
            "no source connected",
        ),
        (
            "connected, no bitrate",
            |o| o.sources[0].bitrate_mbps = reading(0.0, 60),
            Failing,
            "sends nothing",
        ),
        (
            "backup down",
            |o| o.sources[1].connected = reading(0.0, 60),
            Degraded,
            "backup backup not connected: no failover",
        ),
        (
            "packets lost",
            |o| o.sources[0].not_recovered_packets = reading(17.0, 60),
            Degraded,
            "17 packets not recovered on primary",
        ),
        (
            "primary down, backup in use",
            |o| {
                o.sources[0].connected = reading(0.0, 60);
                o.sources[1].in_use = reading(1.0, 60);
            },
            Degraded,
            "on backup backup 11.7 Mb/s: primary not connected",
        ),
        (
            "primary down, no in-use metric: inferred backup",
            |o| o.sources[0].connected = reading(0.0, 60),
            Degraded,
            "on backup",
        ),
        (
            "feed mismatch",
            |o| {
                o.feed_mismatch =
                    vec!["encoder sends 1280x720, the config's encoder section says 1080p".into()]
            },
            Degraded,
            "1280x720",
        ),
        (
            "single source",
            |o| {
                o.sources.pop();
            },
            Delivering,
            "primary",
        ),
    ];
    for (name, change, want, reason) in cases {
        let mut o = flow();
        change(&mut o);
        let got = ingest(&o, NOW);
        assert_eq!(got.assessment.verdict, want, "{name}: {got:?}");
        assert!(
            got.assessment.reason.contains(reason),
            "{name}: reason {:?} lacks {reason:?}",
            got.assessment.reason
        );
    }
}

#[test]
fn the_active_source_comes_from_the_documented_metric_when_there_is_one() {
    let mut o = flow();
    o.sources[1].in_use = reading(1.0, 60);
    o.sources[0].in_use = reading(0.0, 60);
    let a = ingest(&o, NOW);
    assert_eq!(a.active_source.as_deref(), Some("backup"));
    assert_eq!(a.active_from, Some("metric"));
    assert_eq!(a.sources[0].state, SourceState::Standby);
    assert_eq!(a.sources[1].state, SourceState::InUse);

    let plain = ingest(&flow(), NOW);
    assert_eq!(plain.active_source.as_deref(), Some("primary"));
    assert_eq!(plain.active_from, Some("inferred"));
    // A flow in standby has no active source.
    let mut idle = flow();
    idle.flow_state = Some("STANDBY".into());
    assert_eq!(ingest(&idle, NOW).active_source, None);
}

#[test]
fn check_names_what_is_wrong() {
    let ok = Assessment::new(Verdict::Delivering, "primary 11.8 Mb/s", None);
    let bad = Assessment::new(Verdict::Failing, "RTMP connection refused", None);
    let idle = Assessment::new(Verdict::Idle, "channel stopped", None);
    assert!(check(&ok, [("youtube", true, &ok), ("linkedin", false, &idle)]).is_empty());
    assert_eq!(
        check(&ok, [("twitch", true, &bad)]),
        vec!["twitch failing: RTMP connection refused".to_owned()]
    );
    let standby = Assessment::new(Verdict::Idle, "flow in standby", None);
    assert_eq!(check(&standby, []).len(), 1);
}

#[test]
fn frame_rates_as_mediaconnect_writes_them() {
    assert_eq!(parse_fps("30"), Some(30.0));
    assert!((parse_fps("60000/1001").unwrap_or_default() - 59.94).abs() < 0.01);
    assert_eq!(parse_fps("29.97"), Some(29.97));
    assert_eq!(parse_fps("0"), None);
    assert_eq!(parse_fps("1/0"), None);
    assert_eq!(parse_fps("fast"), None);
    assert_eq!(fps_text(59.94006), "59.94");
    assert_eq!(fps_text(60.0), "60");
}

#[test]
fn feed_differences_are_said_in_words() {
    let feed = Feed {
        codec: Some("h264".into()),
        width: Some(1920),
        height: Some(1080),
        fps: parse_fps("60000/1001"),
    };
    assert!(feed_vs_config(&feed, "h264", 1080).is_empty());
    assert_eq!(
        feed_vs_preset(&feed, "twitch-1080p60", 60.0, 1080).as_deref(),
        Some("encoder sends 59.94 fps, preset twitch-1080p60 makes 60 fps")
    );
    let sixty = Feed {
        fps: Some(60.0),
        ..feed.clone()
    };
    assert_eq!(feed_vs_preset(&sixty, "p", 60.0, 1080), None);
    assert_eq!(
        feed_vs_preset(&sixty, "p", 30.0, 720),
        None,
        "halving is exact"
    );
    let small = Feed {
        codec: Some("AVC".into()),
        width: Some(1280),
        height: Some(720),
        fps: Some(30.0),
    };
    assert_eq!(
        feed_vs_config(&small, "h264", 1080),
        vec!["encoder sends 1280x720, the config's encoder section says 1080p".to_owned()]
    );
    assert_eq!(
        feed_vs_preset(&small, "youtube-1080p30", 30.0, 1080).as_deref(),
        Some("encoder sends 720p, preset youtube-1080p30 upscales to 1080p")
    );
    let hevc = Feed {
        codec: Some("hevc".into()),
        ..small
    };
    assert_eq!(feed_vs_config(&hevc, "h264", 720).len(), 1);
}
