//! The typed model of `lunora.yaml`.
//!
//! Every struct denies unknown fields, so a misspelt key is an error with a
//! suggestion rather than a silently ignored setting. The JSON Schema that
//! editors use (`lunora schema`, `schema/lunora.schema.json`) is generated
//! from these types, so the doc comments here are what users see in their
//! editor.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A lunora deployment: one SRT ingest flow and its destinations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Project name, used in every stack and resource name
    /// (lowercase letters, digits and `-`).
    pub project: String,
    /// Environment name, e.g. `prod` or `staging`.
    pub environment: String,
    /// AWS Region of every resource, e.g. `us-east-1`.
    pub region: String,
    /// The 12-digit AWS account the stacks belong to; deploys refuse any
    /// other account.
    pub account_id: String,
    /// How each MediaLive channel takes the flow: `rtp-fec` (a flow output
    /// per destination, switchable, the default) or `mediaconnect`
    /// (a MediaLive input of type MEDIACONNECT, no public endpoint).
    #[serde(default)]
    pub input_mode: InputMode,
    /// What the encoder sends; sets every channel's input specification.
    pub encoder: EncoderFeed,
    /// The MediaConnect flow that receives the encoder's SRT stream.
    pub flow: FlowConfig,
    /// One MediaLive channel per destination.
    pub destinations: Vec<Destination>,
    /// Deployment stages, in order. Defaults to
    /// `base -> flow -> primary -> platforms`.
    #[serde(default)]
    pub stages: Option<Vec<Stage>>,
    /// Extra directories of preset and platform files, relative to this
    /// file. `presets/` next to this file is always read when it exists.
    #[serde(default)]
    pub presets_dirs: Vec<PathBuf>,
    /// Where release history and the deploy lock live: a directory
    /// (relative to this file; default `.lunora`) or `s3://bucket/prefix`
    /// for teams and CI.
    #[serde(default)]
    pub state: Option<String>,
    /// Where alarms are sent.
    #[serde(default)]
    pub alarms: Alarms,
    /// Extra tags for every resource (lunora adds `project`,
    /// `environment`, `destination` and `managed-by`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Cost guardrails that act in the account, without the CLI: stop an
    /// idle channel, bound a session, follow event windows, alert on
    /// spend. Off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guards: Option<Guards>,
}

/// Cost guardrails, deployed as Step Functions state machines, CloudWatch
/// alarms, EventBridge rules, EventBridge Scheduler schedules and an AWS
/// Budget. Each part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// Stop a destination whose channel has lost its input for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_stop: Option<AutoStop>,
    /// Stop a destination that has run this many hours since `lunora
    /// start` (1-72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_hours: Option<i64>,
    /// Event windows: destinations started and stopped at set times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// An AWS Budget on the project's spend, with e-mail alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

impl Guards {
    /// Whether a guard acts on channels (`auto_stop`, `max_session_hours`
    /// or `schedule`): the base stack then holds the stop sequence and the
    /// KMS key `GuardKey`. A budget alone only alerts.
    pub fn acts(&self) -> bool {
        self.auto_stop.is_some() || self.max_session_hours.is_some() || self.schedule.is_some()
    }
}

/// Stop a destination when its input is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoStop {
    /// Minutes of lost input (MediaLive `InputLossSeconds`) after which the
    /// destination is stopped the way `lunora stop` stops it (1-1440).
    pub input_lost_minutes: i64,
}

/// Event windows, all in one time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The IANA time zone of every window, e.g. `Europe/Berlin` or
    /// `America/New_York` (EventBridge Scheduler follows its daylight
    /// saving time).
    pub time_zone: String,
    /// The windows.
    pub windows: Vec<Window>,
}

/// One event window: a one-off (`start` and `stop` are dates and times,
/// `2027-03-14T18:30`) or weekly (`days` set; `start` and `stop` are
/// times of day, `18:30`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Short name (lowercase letters, digits, `-`), used in schedule names.
    pub name: String,
    /// The destination ids the window starts and stops.
    pub destinations: Vec<String>,
    /// Weekly windows: the days, e.g. `[sun]` or `[mon, wed, fri]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Weekday>,
    /// Start: `YYYY-MM-DDTHH:MM` (one-off) or `HH:MM` (weekly).
    pub start: String,
    /// Stop: `YYYY-MM-DDTHH:MM` (one-off) or `HH:MM` (weekly, the same day).
    pub stop: String,
}

/// A day of the week.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// The day as EventBridge Scheduler's cron day-of-week field spells it
    /// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based).
    pub fn cron(self) -> &'static str {
        match self {
            Self::Mon => "MON",
            Self::Tue => "TUE",
            Self::Wed => "WED",
            Self::Thu => "THU",
            Self::Fri => "FRI",
            Self::Sat => "SAT",
            Self::Sun => "SUN",
        }
    }
}

/// A monthly AWS Budget on the spend tagged with this project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The monthly budget in US dollars (more than 0).
    pub monthly_usd: f64,
    /// E-mail addresses alerted when actual spend passes 80 % and 100 %,
    /// and when forecast spend passes 100 % (1-10 addresses).
    pub emails: Vec<String>,
}

/// How the MediaLive channels take their input from the flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InputMode {
    /// An `rtp-fec` flow output per destination into an RTP_PUSH input.
    #[default]
    RtpFec,
    /// A MediaLive input of type MEDIACONNECT (MediaLive manages the output).
    Mediaconnect,
}

impl InputMode {
    /// The spelling used in `lunora.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RtpFec => "rtp-fec",
            Self::Mediaconnect => "mediaconnect",
        }
    }
}

/// The encoder's feed into the flow (a Videon Edge node, for example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncoderFeed {
    /// Video codec of the feed.
    pub codec: FeedCodec,
    /// Frame height of the feed in pixels (e.g. 1080).
    pub height: u32,
    /// Peak bitrate of the feed in Mbit/s.
    pub bitrate_mbps: f64,
}

/// Video codec of the encoder's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedCodec {
    H264,
    H265,
    Mpeg2,
}

/// The MediaConnect flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// The Availability Zone the flow is pinned to, e.g. `us-east-1a`.
    /// Changing it replaces the flow (new ingest IP).
    pub availability_zone: String,
    /// The primary SRT listener source.
    pub source: SrtSource,
    /// An optional backup SRT listener source, on its own port.
    #[serde(default)]
    pub backup: Option<SrtSource>,
    /// Failover between source and backup (used only with a backup).
    #[serde(default)]
    pub failover: Option<Failover>,
    /// Allow `0.0.0.0/0` as an ingest CIDR. Off by default: ingest should
    /// be restricted to the encoder's address.
    #[serde(default)]
    pub allow_any_source: bool,
}

/// An SRT listener source of the flow (the encoder is the SRT caller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SrtSource {
    /// Source name; changing the primary source's name replaces the flow.
    #[serde(default)]
    pub name: Option<String>,
    /// Listener port (1024-65535, not 2077 or 2088). Default 9998 for the
    /// source; a backup must name its own port.
    #[serde(default)]
    pub port: Option<u32>,
    /// The encoder's public address range, e.g. `203.0.113.10/32`.
    pub allowed_cidr: String,
    /// SRT minimum latency in milliseconds (default 2000).
    #[serde(default)]
    pub min_latency_ms: Option<u32>,
    /// ARN of the Secrets Manager secret holding the SRT passphrase. The
    /// passphrase itself never appears in lunora's files.
    pub passphrase_secret_arn: String,
    /// Free text shown in the console.
    #[serde(default)]
    pub description: Option<String>,
}

/// Source failover settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    /// `failover` switches between sources; `merge` merges identical
    /// streams (SMPTE 2022-7).
    #[serde(default)]
    pub mode: FailoverMode,
    /// How long MediaConnect waits before switching back, in milliseconds
    /// (100-15000, default 200).
    #[serde(default)]
    pub recovery_window_ms: Option<u32>,
    /// The preferred source's name (default: the primary source).
    #[serde(default)]
    pub primary_source: Option<String>,
}

/// Failover mode of the flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailoverMode {
    #[default]
    Failover,
    Merge,
}

/// What kind of destination a channel feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// The existing MediaPackage channel behind the HLS player.
    Mediapackage,
    /// An RTMP(S) push to a platform or server.
    Rtmp,
}

/// One destination: one MediaLive channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Short id (lowercase letters, digits, `-`), used in stack and
    /// resource names and on the command line (`lunora start youtube`).
    pub id: String,
    /// `mediapackage` (the primary) or `rtmp`.
    pub kind: DestinationKind,
    /// The platform whose limits apply (`youtube`, `twitch`, `linkedin`,
    /// `facebook`, `custom` or a platform file of your own). Required for
    /// `rtmp`; `mediapackage` destinations use the `mediapackage` platform.
    #[serde(default)]
    pub platform: Option<String>,
    /// The encoder preset id (`lunora presets list`).
    pub preset: String,
    /// RTMP(S) ingest URL without the stream key; defaults to the
    /// platform's ingest URL when it has one.
    #[serde(default)]
    pub ingest_url: Option<String>,
    /// The stream key, as a Secrets Manager reference. Never the key itself.
    #[serde(default)]
    pub stream_key: Option<SecretRef>,
    /// Credentials for an RTMP server that wants a user name and password.
    #[serde(default)]
    pub auth: Option<RtmpAuth>,
    /// The existing MediaPackage channel (for `mediapackage`).
    #[serde(default)]
    pub mediapackage: Option<MediaPackageRef>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A reference to a Secrets Manager secret: either the secret's ARN (the
/// whole secret string is used), or the ARN and a JSON key inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretRef {
    /// The secret's ARN.
    Arn(String),
    /// The secret's ARN and the JSON key of the value.
    Key(SecretKeyRef),
}

/// A JSON key inside a Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The secret's ARN.
    pub secret_arn: String,
    /// The key inside the secret's JSON string.
    #[serde(default)]
    pub json_key: Option<String>,
}

impl SecretRef {
    /// The ARN this reference names (or the raw text, when it is not one).
    pub fn arn(&self) -> &str {
        match self {
            Self::Arn(arn) => arn,
            Self::Key(k) => &k.secret_arn,
        }
    }

    /// The JSON key, if any.
    pub fn json_key(&self) -> Option<&str> {
        match self {
            Self::Arn(_) => None,
            Self::Key(k) => k.json_key.as_deref(),
        }
    }
}

/// User name and password for an authenticated RTMP server. The password
/// is the *name* of an SSM Parameter Store parameter that MediaLive reads
/// at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RtmpAuth {
    /// RTMP user name.
    pub username: String,
    /// Name of the SSM parameter holding the password (e.g.
    /// `/lunora/custom-rtmp-password`).
    pub password_parameter: String,
}

/// The existing MediaPackage (v1) channel the primary feeds. It is
/// referenced, never created, so the HLS player URL never changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaPackageRef {
    /// The MediaPackage channel id.
    pub channel_id: String,
    /// The channel's ARN, to scope MediaLive's permission to exactly this
    /// channel. Without it the permission covers the account's channels.
    #[serde(default)]
    pub channel_arn: Option<String>,
}

/// A deployment stage: stacks deployed together, in parallel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stage name, used by `lunora deploy --stage`.
    pub name: String,
    /// Shared stacks in this stage: `base` and/or `flow`.
    #[serde(default)]
    pub stacks: Vec<String>,
    /// Destination ids whose stacks deploy in this stage.
    #[serde(default)]
    pub destinations: Vec<String>,
}

/// Alarm notification settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    /// E-mail addresses subscribed to the alarm topic.
    #[serde(default)]
    pub emails: Vec<String>,
}
