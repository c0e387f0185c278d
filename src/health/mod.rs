//! Health verdicts: is a destination really delivering, is the ingest
//! healthy? A channel in RUNNING is not a stream on YouTube.
//!
//! This module exists so that the answer is computed, in one place, from
//! what AWS reports, and can be tested with a table instead of an AWS
//! account. It is pure: observations (channel and flow state, MediaLive
//! alerts, CloudWatch readings with their timestamps, the HLS playlist
//! check) and the current time go in; a [`Verdict`] with its reason in
//! words and since when comes out. Reading the observations is the job of
//! the status operation; presenting them is the job of its faces.
//!
//! The signals, and the AWS pages that define them, are named where the
//! status operation reads them (`src/ops/status.rs`).

pub mod hls;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use hls::HlsCheck;

/// How old a CloudWatch datapoint may be and still describe "now".
/// MediaLive and MediaConnect publish one-minute datapoints that reach
/// CloudWatch a minute or two late; older readings describe the past.
pub const FRESH_SECONDS: i64 = 180;

/// After a channel or flow starts, how long an absence of datapoints is
/// expected rather than suspicious.
pub const START_GRACE_SECONDS: i64 = 180;

/// Input loss of at least this many seconds in one minute means the input
/// is gone, not flaky.
const INPUT_LOST_SECONDS: f64 = 55.0;

/// One verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Running and every signal says the stream gets through.
    Delivering,
    /// Running and getting through, with a problem a viewer may notice.
    Degraded,
    /// Running (or meant to run) and not getting through.
    Failing,
    /// Stopped: nothing is meant to flow.
    Idle,
    /// Not enough to say (not deployed, starting, no datapoints yet).
    Unknown,
}

impl Verdict {
    /// The word shown to the operator.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivering => "delivering",
            Self::Degraded => "degraded",
            Self::Failing => "failing",
            Self::Idle => "idle",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict with its reason in words and, when known, since when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub verdict: Verdict,
    pub reason: String,
    /// RFC 3339, UTC.
    pub since: Option<String>,
}

impl Assessment {
    fn new(verdict: Verdict, reason: impl Into<String>, since: Option<OffsetDateTime>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            since: since.map(rfc3339),
        }
    }

    /// `failing: RTMP connection refused (since 20:14:05)`.
    pub fn sentence(&self) -> String {
        match self.since.as_deref().and_then(clock) {
            Some(t) => format!("{}: {} (since {t})", self.verdict, self.reason),
            None => format!("{}: {}", self.verdict, self.reason),
        }
    }
}

/// `HH:MM:SS` of an RFC 3339 time.
pub fn clock(rfc: &str) -> Option<String> {
    let t = OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::UTC);
    Some(format!(
        "{:02}:{:02}:{:02}",
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The newest one-minute CloudWatch datapoint of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub value: f64,
    /// Start of the datapoint's period.
    pub at: OffsetDateTime,
}

impl Reading {
    /// The value, when the datapoint describes "now".
    pub fn fresh_value(reading: Option<Reading>, now: OffsetDateTime) -> Option<f64> {
        reading
            .filter(|r| (now - r.at).whole_seconds() <= FRESH_SECONDS)
            .map(|r| r.value)
    }
}

/// A MediaLive channel alert that is set (ListAlerts, state SET).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub alert_type: String,
    pub message: String,
    /// RFC 3339.
    pub set_at: Option<String>,
}

/// Everything known about one destination's channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DestinationObservation {
    /// The destination's stack is deployed.
    pub deployed: bool,
    /// The channel id the stack names, when deployed.
    pub channel_id: Option<String>,
    /// MediaLive's state; `None` when the named channel does not exist.
    pub channel_state: Option<String>,
    /// The flow output feeding the channel (rtp-fec inputs); `None` for
    /// MediaConnect inputs, which MediaLive manages.
    pub output_enabled: Option<bool>,
    /// Alerts in state SET; `None` when they could not be read.
    pub alerts: Option<Vec<Alert>>,
    /// `InputLossSeconds`, Sum over one minute.
    pub input_loss_seconds: Option<Reading>,
    /// `NetworkIn`, Mbit/s, Average over one minute.
    pub network_in_mbps: Option<Reading>,
    /// `DroppedFrames`, Sum over one minute.
    pub dropped_frames: Option<Reading>,
    /// `ActiveOutputs` of the channel's output group, Minimum over one
    /// minute (0 = no output written successfully).
    pub active_outputs: Option<Reading>,
    /// `Output4xxErrors` + `Output5xxErrors` (HTTP outputs only: the
    /// MediaPackage group), Sum over one minute.
    pub output_errors: Option<Reading>,
    /// Where the channel sends its output, for the reason text: the
    /// RTMP(S) URL without stream key, or the MediaPackage channel.
    pub target: Option<String>,
    /// When `lunora start` started the running channel.
    pub started_at: Option<OffsetDateTime>,
    /// The primary's HLS playlist check.
    pub hls: Option<HlsCheck>,
    /// What the encoder sends that this destination's preset does not
    /// expect, in words.
    pub feed_mismatch: Option<String>,
}

/// The verdict on one destination.
pub fn destination(o: &DestinationObservation, now: OffsetDateTime) -> Assessment {
    use Verdict::{Degraded, Delivering, Failing, Idle, Unknown};
    if !o.deployed {
        return Assessment::new(Unknown, "not deployed (hint: `lunora deploy`)", None);
    }
    let Some(state) = o.channel_state.as_deref() else {
        return Assessment::new(
            Failing,
            format!(
                "the stack names channel {}, which does not exist",
                o.channel_id.as_deref().unwrap_or("?")
            ),
            None,
        );
    };
    match state {
        "RUNNING" => {}
        "IDLE" => return Assessment::new(Idle, "channel stopped", None),
        "STOPPING" => return Assessment::new(Idle, "channel stopping", None),
        "STARTING" => return Assessment::new(Unknown, "channel starting", o.started_at),
        "RECOVERING" => {
            return Assessment::new(
                Degraded,
                "MediaLive is recovering the channel",
                o.started_at,
            )
        }
        "CREATE_FAILED" | "UPDATE_FAILED" => {
            return Assessment::new(Failing, format!("channel {state}"), None)
        }
        "DELETING" | "DELETED" => return Assessment::new(Idle, format!("channel {state}"), None),
        other => return Assessment::new(Unknown, format!("channel {other}"), None),
    }

    // Running: the strongest signal first.
    if let Some(alerts) = &o.alerts {
        if let Some(first) = alerts.iter().min_by(|a, b| a.set_at.cmp(&b.set_at)) {
            let mut reason = if first.message.trim().is_empty() {
                first.alert_type.clone()
            } else {
                first.message.trim().to_owned()
            };
            if alerts.len() > 1 {
                reason.push_str(&format!(" (+{} more alerts)", alerts.len() - 1));
            }
            return Assessment {
                verdict: Failing,
                reason,
                since: first.set_at.clone(),
            };
        }
    }
    if o.output_enabled == Some(false) {
        return Assessment::new(
            Failing,
            "its flow output is disabled: the channel receives nothing",
            None,
        );
    }
    if let Some(HlsCheck::Stalled { sequence, seconds }) = &o.hls {
        return Assessment::new(
            Failing,
            format!("HLS playlist stuck at media sequence {sequence} for {seconds:.1} s"),
            None,
        );
    }
    let loss = Reading::fresh_value(o.input_loss_seconds, now);
    if let Some(lost) = loss.filter(|l| *l >= INPUT_LOST_SECONDS) {
        return Assessment::new(
            Failing,
            format!("input lost ({lost:.0} s in the last minute)"),
            o.input_loss_seconds.map(|r| r.at),
        );
    }
    let network_in = Reading::fresh_value(o.network_in_mbps, now);
    if network_in.is_some_and(|n| n <= 0.0) {
        return Assessment::new(
            Failing,
            "no data reaching the channel (NetworkIn 0 Mb/s)",
            None,
        );
    }
    if Reading::fresh_value(o.active_outputs, now).is_some_and(|n| n < 1.0) {
        let to = o
            .target
            .as_deref()
            .map_or_else(String::new, |t| format!(" to {t}"));
        return Assessment::new(
            Failing,
            format!("no output written{to} in the last minute (ActiveOutputs 0)"),
            o.active_outputs.map(|r| r.at),
        );
    }
    if let Some(lost) = loss.filter(|l| *l > 0.0) {
        return Assessment::new(
            Degraded,
            format!("input loss {lost:.0} s in the last minute"),
            o.input_loss_seconds.map(|r| r.at),
        );
    }
    if let Some(errors) = Reading::fresh_value(o.output_errors, now).filter(|e| *e > 0.0) {
        return Assessment::new(
            Degraded,
            format!("{errors:.0} output errors in the last minute"),
            o.output_errors.map(|r| r.at),
        );
    }
    if let Some(dropped) = Reading::fresh_value(o.dropped_frames, now).filter(|d| *d > 0.0) {
        return Assessment::new(
            Degraded,
            format!("{dropped:.0} dropped frames in the last minute"),
            o.dropped_frames.map(|r| r.at),
        );
    }
    if let Some(HlsCheck::Unreadable(why)) = &o.hls {
        return Assessment::new(
            Degraded,
            format!("cannot check the HLS playlist: {why}"),
            None,
        );
    }
    if let Some(why) = &o.feed_mismatch {
        return Assessment::new(Degraded, why.clone(), o.started_at);
    }
    let Some(mbps) = network_in else {
        let running_for = o.started_at.map(|t| (now - t).whole_seconds());
        let reason = match running_for {
            Some(s) if s <= START_GRACE_SECONDS => {
                format!("started {s} s ago; no metrics yet")
            }
            _ => format!(
                "no CloudWatch datapoints in the last {} min",
                FRESH_SECONDS / 60
            ),
        };
        return Assessment::new(Unknown, reason, o.started_at);
    };
    let mut reason = format!("receiving {mbps:.1} Mb/s");
    if let Some(HlsCheck::Advancing { from, to }) = &o.hls {
        reason.push_str(&format!(", HLS advancing ({from} -> {to})"));
    }
    Assessment::new(Delivering, reason, o.started_at)
}

/// Primary or backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceRole {
    Primary,
    Backup,
}

impl SourceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Backup => "backup",
        }
    }
}

/// Everything known about one flow source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceObservation {
    pub name: String,
    pub role: SourceRole,
    /// `SourceConnected`, Minimum over one minute (1 = connected).
    pub connected: Option<Reading>,
    /// `SourceBitRate`, Mbit/s.
    pub bitrate_mbps: Option<Reading>,
    /// `SourceNotRecoveredPackets`, Sum over one minute.
    pub not_recovered_packets: Option<Reading>,
    /// `SourceDisconnections`, Sum over one minute.
    pub disconnections: Option<Reading>,
    /// The documented "this source is in use" signal under failover
    /// (1 = in use).
    pub in_use: Option<Reading>,
}

/// Everything known about the ingest (the flow and its sources).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestObservation {
    /// The flow stack is deployed.
    pub deployed: bool,
    /// MediaConnect's flow status; `None` when the named flow is missing.
    pub flow_state: Option<String>,
    /// The flow's preferred source name (failover priority).
    pub preferred: Option<String>,
    pub sources: Vec<SourceObservation>,
    /// What the encoder sends that the config's `encoder` section does not
    /// say, in words.
    pub feed_mismatch: Vec<String>,
}

/// How one source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceState {
    /// Connected and in use.
    InUse,
    /// Connected, not in use (ready for failover).
    Standby,
    /// Not connected.
    Down,
    /// No datapoints.
    Unknown,
}

/// One source's state, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceAssessment {
    pub name: String,
    pub role: SourceRole,
    pub state: SourceState,
    pub connected: Option<bool>,
    pub bitrate_mbps: Option<f64>,
    pub not_recovered_packets: Option<f64>,
    pub disconnections: Option<f64>,
}

/// The verdict on the ingest, with each source's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestAssessment {
    #[serde(flatten)]
    pub assessment: Assessment,
    /// The source in use, when it can be told.
    pub active_source: Option<String>,
    /// How `active_source` was told: `metric` (the documented in-use
    /// signal) or `inferred` (the preferred source, connected).
    pub active_from: Option<&'static str>,
    pub sources: Vec<SourceAssessment>,
}

/// The verdict on the ingest.
pub fn ingest(o: &IngestObservation, now: OffsetDateTime) -> IngestAssessment {
    use Verdict::{Degraded, Delivering, Failing, Idle, Unknown};
    let connected =
        |s: &SourceObservation| Reading::fresh_value(s.connected, now).map(|v| v >= 1.0);
    let in_use_metric =
        |s: &SourceObservation| Reading::fresh_value(s.in_use, now).map(|v| v >= 1.0);
    let (active, active_from) = match o.sources.iter().find(|s| in_use_metric(s) == Some(true)) {
        Some(s) => (Some(s), Some("metric")),
        None => {
            let preferred = o
                .sources
                .iter()
                .find(|s| Some(s.name.as_str()) == o.preferred.as_deref())
                .or_else(|| o.sources.first());
            match preferred.filter(|s| connected(s) == Some(true)) {
                Some(s) => (Some(s), Some("inferred")),
                None => match o.sources.iter().find(|s| connected(s) == Some(true)) {
                    Some(s) => (Some(s), Some("inferred")),
                    None => (None, None),
                },
            }
        }
    };
    let flow_active = o.flow_state.as_deref() == Some("ACTIVE");
    let sources: Vec<SourceAssessment> = o
        .sources
        .iter()
        .map(|s| {
            let c = connected(s);
            let state = match c {
                _ if !flow_active => SourceState::Unknown,
                Some(true) if active.is_some_and(|a| a.name == s.name) => SourceState::InUse,
                Some(true) => SourceState::Standby,
                Some(false) => SourceState::Down,
                None => SourceState::Unknown,
            };
            SourceAssessment {
                name: s.name.clone(),
                role: s.role,
                state,
                connected: c,
                bitrate_mbps: Reading::fresh_value(s.bitrate_mbps, now),
                not_recovered_packets: Reading::fresh_value(s.not_recovered_packets, now),
                disconnections: Reading::fresh_value(s.disconnections, now),
            }
        })
        .collect();
    let done = |assessment: Assessment, sources: Vec<SourceAssessment>| IngestAssessment {
        assessment,
        active_source: flow_active
            .then(|| active.map(|a| a.name.clone()))
            .flatten(),
        active_from: flow_active.then_some(active_from).flatten(),
        sources,
    };
    if !o.deployed {
        return done(
            Assessment::new(Unknown, "flow not deployed (hint: `lunora deploy`)", None),
            sources,
        );
    }
    let Some(state) = o.flow_state.as_deref() else {
        return done(
            Assessment::new(Failing, "the flow the stack names does not exist", None),
            sources,
        );
    };
    match state {
        "ACTIVE" => {}
        "STANDBY" => {
            return done(
                Assessment::new(Idle, "flow in standby (`lunora start` starts it)", None),
                sources,
            )
        }
        "ERROR" => {
            return done(
                Assessment::new(Failing, "flow in ERROR (see its alerts)", None),
                sources,
            )
        }
        other => {
            return done(
                Assessment::new(Unknown, format!("flow {other}"), None),
                sources,
            )
        }
    }
    if sources.iter().all(|s| s.connected.is_none()) {
        return done(
            Assessment::new(
                Unknown,
                format!(
                    "no MediaConnect datapoints in the last {} min",
                    FRESH_SECONDS / 60
                ),
                None,
            ),
            sources,
        );
    }
    let Some(active) = active else {
        return done(
            Assessment::new(
                Failing,
                "no source connected: the encoder is not sending",
                None,
            ),
            sources,
        );
    };
    let active_state = sources.iter().find(|s| s.name == active.name);
    let active_bitrate = active_state.and_then(|s| s.bitrate_mbps);
    if active_bitrate.is_some_and(|b| b <= 0.0) {
        return done(
            Assessment::new(
                Failing,
                format!("source {} is connected but sends nothing", active.name),
                None,
            ),
            sources,
        );
    }
    let rate = active_bitrate.map_or_else(String::new, |b| format!(" {b:.1} Mb/s"));
    if active.role == SourceRole::Backup {
        let primary = o.sources.iter().find(|s| s.role == SourceRole::Primary);
        let why = match primary.map(connected) {
            Some(Some(false)) => "primary not connected",
            Some(Some(true)) => "primary connected, not in use",
            _ => "primary state unknown",
        };
        return done(
            Assessment::new(
                Degraded,
                format!("on backup {}{rate}: {why}", active.name),
                active.in_use.map(|r| r.at),
            ),
            sources,
        );
    }
    if let Some(s) = sources
        .iter()
        .find(|s| s.not_recovered_packets.is_some_and(|p| p > 0.0))
    {
        return done(
            Assessment::new(
                Degraded,
                format!(
                    "{:.0} packets not recovered on {} in the last minute",
                    s.not_recovered_packets.unwrap_or_default(),
                    s.name
                ),
                None,
            ),
            sources,
        );
    }
    if let Some(b) = sources
        .iter()
        .find(|s| s.role == SourceRole::Backup && s.state == SourceState::Down)
    {
        return done(
            Assessment::new(
                Degraded,
                format!("backup {} not connected: no failover", b.name),
                None,
            ),
            sources,
        );
    }
    if let Some(m) = o.feed_mismatch.first() {
        return done(Assessment::new(Degraded, m.clone(), None), sources);
    }
    done(
        Assessment::new(Delivering, format!("{}{rate}", active.name), None),
        sources,
    )
}

/// Whether `status --check` passes, and if not, what is wrong.
pub fn check<'a>(
    ingest: &Assessment,
    destinations: impl IntoIterator<Item = (&'a str, bool, &'a Assessment)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if ingest.verdict != Verdict::Delivering {
        problems.push(format!("ingest {}", ingest.sentence()));
    }
    for (id, running, a) in destinations {
        if running && a.verdict != Verdict::Delivering {
            problems.push(format!("{id} {}", a.sentence()));
        }
    }
    problems
}

/// What the encoder really sends (DescribeFlowSourceMetadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Frames per second.
    pub fps: Option<f64>,
}

/// Frame rate text as MediaConnect reports it (`"30"`, `"29.97"`,
/// `"60000/1001"`) in frames per second.
pub fn parse_fps(text: &str) -> Option<f64> {
    let text = text.trim();
    let fps = match text.split_once('/') {
        Some((n, d)) => {
            let d: f64 = d.trim().parse().ok()?;
            (d > 0.0).then(|| n.trim().parse::<f64>().ok().map(|n| n / d))??
        }
        None => text.parse().ok()?,
    };
    (fps.is_finite() && fps > 0.0).then_some(fps)
}

/// Frames per second as people write them: `60`, `59.94`.
pub fn fps_text(fps: f64) -> String {
    if (fps - fps.round()).abs() < 0.005 {
        format!("{}", fps.round())
    } else {
        format!("{fps:.2}")
    }
}

/// Differences between the feed and the config's `encoder` section.
pub fn feed_vs_config(feed: &Feed, codec: &str, height: u32) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &feed.codec {
        let normal = |s: &str| s.to_ascii_lowercase().replace(['.', '-', ' '], "");
        let want = normal(codec);
        let got = normal(c);
        let same = got == want
            || (want == "h264" && got == "avc")
            || (want == "h265" && (got == "hevc"))
            || (want == "mpeg2" && got.starts_with("mpeg2"));
        if !same {
            out.push(format!(
                "encoder sends {c}, the config's encoder section says {codec}"
            ));
        }
    }
    if let Some(h) = feed.height {
        if h != height {
            let size = match feed.width {
                Some(w) => format!("{w}x{h}"),
                None => format!("{h} lines"),
            };
            out.push(format!(
                "encoder sends {size}, the config's encoder section says {height}p"
            ));
        }
    }
    out
}

/// A difference between the feed and one destination's preset: a frame
/// rate the preset does not produce from it without conversion, or a
/// smaller picture than the preset's largest rendition.
pub fn feed_vs_preset(feed: &Feed, preset: &str, fps: f64, height: u32) -> Option<String> {
    if let Some(got) = feed.fps {
        // 59.94 into 60, 29.97 into 30: off by 0.1%, which MediaLive
        // converts by dropping or repeating frames.
        if (got - fps).abs() > 0.01
            && (got * 2.0 - fps).abs() > 0.01
            && (got - fps * 2.0).abs() > 0.01
        {
            return Some(format!(
                "encoder sends {} fps, preset {preset} makes {} fps",
                fps_text(got),
                fps_text(fps)
            ));
        }
    }
    if let Some(h) = feed.height {
        if h < height {
            return Some(format!(
                "encoder sends {h}p, preset {preset} upscales to {height}p"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests;
