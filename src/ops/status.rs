//! Reading what is live: the status operation behind `lunora status`.
//!
//! One reading gathers, concurrently, everything the deployed stacks name:
//! the flow (DescribeFlow, DescribeFlowSourceMetadata), each channel
//! (DescribeChannel; ListAlerts and, for the primary, the HLS playlist
//! check while it runs), the alarm states and, in one GetMetricData call,
//! every metric below. [`crate::health`] turns the observations into
//! verdicts; this module only reads and assembles.
//!
//! The metrics, each from AWS's documentation:
//! - MediaConnect, per source, dimensions `FlowARN` + `SourceARN`
//!   (https://docs.aws.amazon.com/mediaconnect/latest/ug/monitor-with-cloudwatch-metrics-source-health.html):
//!   `SourceConnected` (1 = connected; SRT and Zixi sources),
//!   `SourceBitRate` (bits/s), `SourceNotRecoveredPackets`,
//!   `SourceDisconnections`. Which source is in use: `SourceSelected`
//!   (1 = in use, 0 = standby) under `FAILOVER` mode, as AWS's CDK
//!   construct documents it
//!   (https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_aws-mediaconnect-alpha.IFlow.html),
//!   and `SourceMergeActive` under `MERGE` mode (same source-health page).
//!   The dimension keys `FlowARN`/`SourceARN` are the ones AWS's CDK and
//!   samples use; the user guide names them only by label.
//! - MediaLive, per channel, dimensions `ChannelId` + `Pipeline` = `0`
//!   (https://docs.aws.amazon.com/medialive/latest/ug/eml-metrics-global.html,
//!   .../eml-metrics-input-metrics.html, .../eml-metrics-output-metrics.html):
//!   `ActiveAlerts`, `InputLossSeconds`, `NetworkIn` (Mbit/s),
//!   `DroppedFrames`; with `OutputGroupName` as well: `ActiveOutputs`
//!   (0 = nothing written) and, for HTTP outputs only (the MediaPackage
//!   group; AWS publishes no HTTP error counts for RTMP),
//!   `Output4xxErrors` and `Output5xxErrors`.
//!
//! When the config has guards that stop channels (`auto_stop`,
//! `max_session_hours`, `schedule`), the reading also holds the newest
//! [`GUARD_STOPS`] stops the guards made ([`crate::ops::guard_records`]:
//! ListExecutions and DescribeExecution on the base stack's stop
//! sequence), and each destination that is not running says which guard
//! stopped it last. Without guards there is no such call.
//!
//! IAM for an operator running `status`: cloudformation:DescribeStacks,
//! cloudformation:ListStacks, mediaconnect:DescribeFlow,
//! mediaconnect:DescribeFlowSourceMetadata, medialive:DescribeChannel,
//! medialive:ListAlerts, mediapackage:ListOriginEndpoints,
//! cloudwatch:DescribeAlarms, cloudwatch:GetMetricData; with guards,
//! states:ListExecutions and states:DescribeExecution on the stop
//! sequence, and kms:Decrypt on the guard key (the execution input is
//! encrypted with it; see `templates/base.yaml.j2`).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::guard_records::{self, GuardStop};
use super::stacks::{LiveStacks, Stacks};
use crate::aws::media::{self, FlowInfo, MetricQuery};
use crate::aws::Aws;
use crate::config::model::DestinationKind;
use crate::config::{Deployment, ResolvedDestination, StackId};
use crate::health::{
    self, Alert, Assessment, Feed, HlsCheck, IngestAssessment, Reading, SourceRole, Verdict,
};

/// One source of the flow, as the encoder and the operator see it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceStatus {
    pub name: String,
    pub role: SourceRole,
    /// `srt://ip:port`.
    pub endpoint: Option<String>,
    /// The flow's preferred source (SourcePriority.PrimarySource).
    pub preferred: bool,
    /// `in-use`, `standby`, `down` or `unknown`.
    pub state: health::SourceState,
    pub connected: Option<bool>,
    pub bitrate_mbps: Option<f64>,
    pub not_recovered_packets: Option<f64>,
    pub disconnections: Option<f64>,
}

/// The flow resource.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowState {
    pub stack: String,
    pub name: Option<String>,
    pub arn: Option<String>,
    /// MediaConnect's status (`STANDBY`, `ACTIVE`, ...), `missing`, or
    /// `not-deployed`.
    pub state: String,
    /// `ENABLED`/`DISABLED`.
    pub failover: Option<String>,
    /// `FAILOVER`/`MERGE`.
    pub failover_mode: Option<String>,
    pub preferred_source: Option<String>,
}

/// The ingest: the flow, its sources and the verdict.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestStatus {
    pub verdict: Verdict,
    pub reason: String,
    pub since: Option<String>,
    /// `srt://ip:port` of the primary source: what the encoder calls.
    pub endpoint: Option<String>,
    pub backup_endpoint: Option<String>,
    /// SRT minimum latency of the primary source.
    pub latency_ms: Option<u32>,
    /// How the SRT stream is encrypted.
    pub encryption: String,
    pub flow: FlowState,
    pub active_source: Option<String>,
    /// `metric` (the documented in-use signal) or `inferred`.
    pub active_from: Option<String>,
    pub sources: Vec<SourceStatus>,
    /// What the encoder sends (DescribeFlowSourceMetadata).
    pub feed: Option<Feed>,
    /// Flow alarm name -> state.
    pub alarms: BTreeMap<String, String>,
}

/// One destination.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationStatus {
    pub id: String,
    pub stack: String,
    /// `deployed`, `not-deployed` (in the config only) or `not-in-config`.
    pub presence: String,
    pub platform: Option<String>,
    pub preset: Option<String>,
    /// `rtp-fec` or `mediaconnect`.
    pub input_mode: Option<String>,
    pub channel_id: Option<String>,
    /// MediaLive's state; `missing` when the stack names a channel that
    /// does not exist.
    pub channel_state: Option<String>,
    /// The flow output's `OutputStatus` (rtp-fec mode).
    pub output_status: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
    pub since: Option<String>,
    /// Where the channel sends: the RTMP(S) URL without stream key, or
    /// the MediaPackage channel.
    pub target: Option<String>,
    /// MediaLive `NetworkIn`, Mbit/s, newest minute.
    pub bitrate_mbps: Option<f64>,
    pub started_at: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// Alerts set now.
    pub alerts: Vec<Alert>,
    /// The HLS playlist check (the primary, while it runs).
    pub hls: Option<HlsCheck>,
    /// Alarm name -> state.
    pub alarms: BTreeMap<String, String>,
    /// While the channel is not running: the newest guard stop of this
    /// destination among `guard_stops`, as `stopped by guard: auto-stop
    /// (alarm NAME) at TIME`.
    pub last_guard_stop: Option<String>,
}

impl DestinationStatus {
    pub fn running(&self) -> bool {
        self.channel_state.as_deref() == Some("RUNNING")
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveCount {
    pub delivering: usize,
    pub running: usize,
    pub deployed: usize,
}

/// `status --check`'s answer (always computed).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The ingest delivers and every running destination delivers.
    pub healthy: bool,
    pub problems: Vec<String>,
}

/// What is live right now.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusReading {
    pub deployment: String,
    pub region: String,
    /// RFC 3339.
    pub read_at: String,
    /// `LIVE 2/5 · ingest primary OK 11.8 Mb/s · backup standby OK`,
    /// then the destinations failing and degraded, if any.
    pub summary: String,
    pub live: LiveCount,
    pub ingest: IngestStatus,
    pub destinations: Vec<DestinationStatus>,
    pub check: Check,
    /// The newest stops the guards made (config with guards only), newest
    /// first.
    pub guard_stops: Vec<GuardStop>,
    pub notes: Vec<String>,
}

/// How many guard stops a reading holds (one ListExecutions of that many,
/// and one DescribeExecution each).
pub const GUARD_STOPS: i32 = 5;

/// The alarm names lunora renders for a destination (see
/// `templates/destination.yaml.j2`).
pub fn destination_alarms(deployment: &Deployment, id: &str) -> [String; 3] {
    let p = deployment.prefix();
    [
        format!("{p}-{id}-input-loss"),
        format!("{p}-{id}-dropped-frames"),
        format!("{p}-{id}-active-alerts"),
    ]
}

/// The flow alarm names lunora renders (see `templates/flow.yaml.j2`).
pub fn flow_alarms(deployment: &Deployment) -> [String; 4] {
    let p = deployment.prefix();
    [
        format!("{p}-flow-primary-disconnected"),
        format!("{p}-flow-primary-no-bitrate"),
        format!("{p}-flow-failover-to-backup"),
        format!("{p}-flow-backup-down"),
    ]
}

/// The output group lunora renders for a destination kind.
fn output_group(kind: &DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Mediapackage => "mediapackage",
        DestinationKind::Rtmp => "rtmp",
    }
}

/// A channel's state, its alerts and the HLS check (while it runs).
type ChannelRead = (Option<String>, Option<Vec<Alert>>, Option<HlsCheck>);

enum Fetched {
    Flow(Option<FlowInfo>),
    Feed(Option<Feed>),
    Channel {
        id: String,
        state: Option<String>,
        alerts: Option<Vec<Alert>>,
        hls: Option<HlsCheck>,
    },
    Alarms(BTreeMap<String, String>),
    Metrics(BTreeMap<String, Reading>),
    GuardStops(Result<Vec<GuardStop>, String>),
}

fn metric(
    key: String,
    namespace: &str,
    name: &str,
    stat: &str,
    dims: &[(&str, &str)],
) -> MetricQuery {
    // Counts over a minute ("12 s of input loss in the last minute");
    // states over the last ten seconds, so a switch shows at once.
    let period = if stat == "Sum" || name == "ActiveOutputs" {
        60
    } else {
        10
    };
    MetricQuery {
        period,
        key,
        namespace: namespace.into(),
        metric: name.into(),
        dimensions: dims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        stat: stat.into(),
    }
}

/// The per-source metrics: (key suffix, metric, statistic).
const SOURCE_METRICS: [(&str, &str, &str); 6] = [
    ("connected", "SourceConnected", "Maximum"),
    ("bitrate", "SourceBitRate", "Average"),
    ("not_recovered", "SourceNotRecoveredPackets", "Sum"),
    ("disconnections", "SourceDisconnections", "Sum"),
    ("selected", "SourceSelected", "Maximum"),
    ("merge_active", "SourceMergeActive", "Maximum"),
];

/// The per-source metric queries, keyed `source:{role}:{suffix}`.
pub fn source_queries(flow_arn: &str, sources: &[(String, SourceRole)]) -> Vec<MetricQuery> {
    let mut queries = Vec::new();
    for (arn, role) in sources {
        for (suffix, name, stat) in SOURCE_METRICS {
            queries.push(metric(
                format!("source:{}:{suffix}", role.as_str()),
                "AWS/MediaConnect",
                name,
                stat,
                &[("FlowARN", flow_arn), ("SourceARN", arn)],
            ));
        }
    }
    queries
}

/// The key of the in-use signal for the flow's failover mode.
pub fn in_use_key(role: SourceRole, failover_mode: Option<&str>) -> String {
    let suffix = if failover_mode == Some("MERGE") {
        "merge_active"
    } else {
        "selected"
    };
    format!("source:{}:{suffix}", role.as_str())
}

/// One reading of everything `status` shows.
pub async fn read(aws: &Aws, deployment: &Deployment) -> anyhow::Result<StatusReading> {
    let live_stacks = LiveStacks::read(aws, deployment).await?;
    let stacks = Stacks::from_live(&live_stacks, deployment);
    let now = OffsetDateTime::now_utc();
    let flow_outputs = stacks.flow.clone().unwrap_or_default();
    let flow_arn = flow_outputs.get("FlowArn").cloned();
    let mut notes = Vec::new();

    let mut source_arns: Vec<(String, SourceRole)> = Vec::new();
    if let Some(a) = flow_outputs.get("SourceArn") {
        source_arns.push((a.clone(), SourceRole::Primary));
    }
    if let Some(a) = flow_outputs.get("BackupSourceArn") {
        source_arns.push((a.clone(), SourceRole::Backup));
    }

    let mut set: JoinSet<anyhow::Result<Fetched>> = JoinSet::new();
    let mut queries = Vec::new();
    let mut alarm_names: Vec<String> = Vec::new();
    if let Some(machine) = guard_records::stop_sequence_arn(&live_stacks, deployment) {
        let aws = aws.clone();
        // The record is a nicety beside the live state: a failure is a note.
        set.spawn(async move {
            Ok(Fetched::GuardStops(
                guard_records::read(&aws, &machine, GUARD_STOPS)
                    .await
                    .map_err(|e| format!("{e:#}")),
            ))
        });
    }
    if let Some(arn) = flow_arn.clone() {
        let aws1 = aws.clone();
        let arn1 = arn.clone();
        set.spawn(async move { Ok(Fetched::Flow(media::describe_flow(&aws1, &arn1).await?)) });
        let aws2 = aws.clone();
        let arn2 = arn.clone();
        // What the encoder sends is a nicety: on failure it is not shown.
        set.spawn(async move {
            Ok(Fetched::Feed(
                media::flow_feed(&aws2, &arn2).await.unwrap_or(None),
            ))
        });
        queries.extend(source_queries(&arn, &source_arns));
        alarm_names.extend(flow_alarms(deployment));
    }
    let kinds: BTreeMap<&str, &ResolvedDestination> = deployment
        .destinations
        .iter()
        .map(|d| (d.destination.id.as_str(), d))
        .collect();
    for (id, d) in &stacks.dests {
        alarm_names.extend(destination_alarms(deployment, id));
        let Some(channel) = d.outputs.get("ChannelId").cloned() else {
            continue;
        };
        let kind = kinds.get(id.as_str()).map(|r| &r.destination.kind);
        let base: [(&str, &str); 2] = [("ChannelId", channel.as_str()), ("Pipeline", "0")];
        for (suffix, name, stat) in [
            ("active_alerts", "ActiveAlerts", "Maximum"),
            ("input_loss", "InputLossSeconds", "Sum"),
            ("network_in", "NetworkIn", "Average"),
            ("dropped_frames", "DroppedFrames", "Sum"),
        ] {
            queries.push(metric(
                format!("channel:{id}:{suffix}"),
                "AWS/MediaLive",
                name,
                stat,
                &base,
            ));
        }
        if let Some(kind) = kind {
            let group = output_group(kind);
            let dims = [base[0], base[1], ("OutputGroupName", group)];
            queries.push(metric(
                format!("channel:{id}:active_outputs"),
                "AWS/MediaLive",
                "ActiveOutputs",
                "Minimum",
                &dims,
            ));
            if matches!(kind, DestinationKind::Mediapackage) {
                for (suffix, name) in [("4xx", "Output4xxErrors"), ("5xx", "Output5xxErrors")] {
                    queries.push(metric(
                        format!("channel:{id}:{suffix}"),
                        "AWS/MediaLive",
                        name,
                        "Sum",
                        &dims,
                    ));
                }
            }
        }
        let hls_channel = kinds
            .get(id.as_str())
            .and_then(|r| r.destination.mediapackage.as_ref())
            .map(|m| m.channel_id.clone());
        let aws = aws.clone();
        let id = id.clone();
        set.spawn(async move {
            let state = crate::aws::channel_state(&aws, &channel).await?;
            if state.as_deref() != Some("RUNNING") {
                return Ok(Fetched::Channel {
                    id,
                    state,
                    alerts: None,
                    hls: None,
                });
            }
            let alerts = media::channel_alerts(&aws, &channel);
            let hls = async {
                let mp = hls_channel?;
                Some(match media::hls_endpoint_url(&aws, &mp).await {
                    Ok(Some(url)) => crate::ops::playlist::check(&url, aws.timeouts.call).await,
                    Ok(None) => HlsCheck::Unreadable(format!(
                        "MediaPackage channel {mp} has no HLS endpoint"
                    )),
                    Err(e) => HlsCheck::Unreadable(format!("{e:#}")),
                })
            };
            let (alerts, hls) = tokio::join!(alerts, hls);
            Ok(Fetched::Channel {
                id,
                state,
                alerts: alerts.ok(),
                hls,
            })
        });
    }
    if !alarm_names.is_empty() {
        let aws = aws.clone();
        set.spawn(async move {
            // Alarm states are a nicety: on failure they are not shown.
            Ok(Fetched::Alarms(
                media::alarm_states(&aws, &alarm_names)
                    .await
                    .unwrap_or_default(),
            ))
        });
    }
    let metrics_failed = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    if !queries.is_empty() {
        let aws = aws.clone();
        let failed = metrics_failed.clone();
        set.spawn(async move {
            match media::latest_readings(&aws, &queries).await {
                Ok(m) => Ok(Fetched::Metrics(m)),
                Err(e) => {
                    if let Ok(mut f) = failed.lock() {
                        *f = Some(format!("{e:#}"));
                    }
                    Ok(Fetched::Metrics(BTreeMap::new()))
                }
            }
        });
    }
    let mut flow_info = None;
    let mut feed = None;
    let mut channels: BTreeMap<String, ChannelRead> = BTreeMap::new();
    let mut alarms = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    let mut guard_stops: Vec<GuardStop> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined?? {
            Fetched::Flow(f) => flow_info = f,
            Fetched::Feed(f) => feed = f,
            Fetched::Channel {
                id,
                state,
                alerts,
                hls,
            } => {
                channels.insert(id, (state, alerts, hls));
            }
            Fetched::Alarms(a) => alarms = a,
            Fetched::Metrics(m) => metrics = m,
            Fetched::GuardStops(Ok(g)) => guard_stops = g,
            Fetched::GuardStops(Err(e)) => notes.push(format!(
                "the guards' stop records could not be read: {e} (hint: `status` needs states:ListExecutions, states:DescribeExecution and kms:Decrypt on the guard key)"
            )),
        }
    }
    if let Ok(Some(e)) = metrics_failed.lock().map(|f| f.clone()) {
        notes.push(format!(
            "CloudWatch metrics could not be read, verdicts are unknown: {e}"
        ));
    }
    let reading = |key: &str| metrics.get(key).copied();

    // The ingest.
    let info = flow_info.as_ref();
    let failover_mode = info.and_then(|i| i.failover_mode.clone());
    let srt = |ip: Option<&String>, port: Option<&String>| match (ip, port) {
        (Some(ip), Some(port)) => Some(format!("srt://{ip}:{port}")),
        _ => None,
    };
    let mut source_obs = Vec::new();
    let mut endpoints = BTreeMap::new();
    for (arn, role) in &source_arns {
        let live = info.and_then(|i| i.source(arn));
        let name = live.map_or_else(|| role.as_str().to_owned(), |s| s.name.clone());
        let endpoint = match live.and_then(|s| s.ingest_ip.clone().zip(s.ingest_port)) {
            Some((ip, port)) => Some(format!("srt://{ip}:{port}")),
            None if *role == SourceRole::Primary => {
                srt(flow_outputs.get("IngestIp"), flow_outputs.get("IngestPort"))
            }
            None => srt(
                flow_outputs.get("BackupIngestIp"),
                flow_outputs.get("BackupIngestPort"),
            ),
        };
        endpoints.insert(name.clone(), endpoint);
        let r = role.as_str();
        source_obs.push(health::SourceObservation {
            name,
            role: *role,
            connected: reading(&format!("source:{r}:connected")),
            bitrate_mbps: reading(&format!("source:{r}:bitrate")).map(|x| Reading {
                value: x.value / 1_000_000.0,
                at: x.at,
            }),
            not_recovered_packets: reading(&format!("source:{r}:not_recovered")),
            disconnections: reading(&format!("source:{r}:disconnections")),
            in_use: reading(&in_use_key(*role, failover_mode.as_deref())),
        });
    }
    let encoder = &deployment.config.encoder;
    let codec = serde_json::to_value(encoder.codec)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let ingest_obs = health::IngestObservation {
        deployed: flow_arn.is_some(),
        flow_state: info.map(|i| i.status.clone()),
        preferred: info.and_then(|i| i.primary_source.clone()),
        sources: source_obs,
        feed_mismatch: feed
            .as_ref()
            .map(|f| health::feed_vs_config(f, &codec, encoder.height))
            .unwrap_or_default(),
    };
    let IngestAssessment {
        assessment,
        active_source,
        active_from,
        sources,
    } = health::ingest(&ingest_obs, now);
    let preferred = ingest_obs.preferred.clone();
    let sources: Vec<SourceStatus> = sources
        .into_iter()
        .map(|s| SourceStatus {
            endpoint: endpoints.get(&s.name).cloned().flatten(),
            preferred: preferred.as_deref() == Some(s.name.as_str()),
            name: s.name,
            role: s.role,
            state: s.state,
            connected: s.connected,
            bitrate_mbps: s.bitrate_mbps,
            not_recovered_packets: s.not_recovered_packets,
            disconnections: s.disconnections,
        })
        .collect();
    if flow_arn.is_none() {
        notes.push(format!(
            "the flow stack `{}` is not deployed (hint: `lunora deploy`)",
            stacks.flow_stack
        ));
    } else if info.is_none() {
        notes.push(format!(
            "the flow named by stack `{}` does not exist",
            stacks.flow_stack
        ));
    }
    let flow_alarm_states = flow_alarms(deployment)
        .into_iter()
        .filter_map(|n| alarms.get(&n).map(|s| (n, s.clone())))
        .collect();
    let ingest = IngestStatus {
        verdict: assessment.verdict,
        reason: assessment.reason,
        since: assessment.since,
        endpoint: sources
            .iter()
            .find(|s| s.role == SourceRole::Primary)
            .and_then(|s| s.endpoint.clone()),
        backup_endpoint: sources
            .iter()
            .find(|s| s.role == SourceRole::Backup)
            .and_then(|s| s.endpoint.clone()),
        latency_ms: Some(deployment.config.flow.source.min_latency_ms.unwrap_or(2000)),
        encryption: "AES (SRT passphrase from Secrets Manager)".into(),
        flow: FlowState {
            stack: stacks.flow_stack.clone(),
            name: info
                .map(|i| i.name.clone())
                .or_else(|| flow_outputs.get("FlowName").cloned()),
            arn: flow_arn.clone(),
            state: match (&flow_arn, info) {
                (None, _) => "not-deployed".into(),
                (Some(_), None) => "missing".into(),
                (Some(_), Some(i)) => i.status.clone(),
            },
            failover: info.and_then(|i| i.failover_state.clone()),
            failover_mode,
            preferred_source: preferred,
        },
        active_source,
        active_from: active_from.map(str::to_owned),
        sources,
        feed: feed.clone(),
        alarms: flow_alarm_states,
    };

    // The destinations.
    let store_started = started_times(aws, deployment, &stacks, &channels).await;
    let config_ids: BTreeSet<&str> = kinds.keys().copied().collect();
    let mut destinations = Vec::new();
    let mut row = |id: &str, in_config: Option<&ResolvedDestination>| {
        let deployed = stacks.dests.get(id);
        let stack = deployed.map_or_else(
            || deployment.stack_name(&StackId::Destination(id.to_owned())),
            |d| d.stack.clone(),
        );
        let outputs = deployed.map(|d| d.outputs.clone()).unwrap_or_default();
        let channel_id = outputs.get("ChannelId").cloned();
        let (state, alerts, hls) = channels.get(id).cloned().unwrap_or((None, None, None));
        let output_status = outputs
            .get("OutputArn")
            .and_then(|o| info?.output(o)?.status.clone());
        let started = store_started.get(id).copied();
        let key = |s: &str| reading(&format!("channel:{id}:{s}"));
        let errors = match (key("4xx"), key("5xx")) {
            (Some(a), Some(b)) => Some(Reading {
                value: a.value + b.value,
                at: a.at.max(b.at),
            }),
            (a, b) => a.or(b),
        };
        let target = in_config.and_then(|d| match &d.destination.mediapackage {
            Some(m) => Some(format!("MediaPackage channel {}", m.channel_id)),
            None => d.ingest_url.clone(),
        });
        let feed_mismatch = in_config.and_then(|d| {
            let top = d.preset.renditions.iter().max_by_key(|r| r.height)?;
            health::feed_vs_preset(
                feed.as_ref()?,
                &d.preset.id,
                top.framerate.fps(),
                top.height,
            )
        });
        let obs = health::DestinationObservation {
            deployed: deployed.is_some() && channel_id.is_some(),
            channel_id: channel_id.clone(),
            channel_state: state.clone(),
            output_enabled: output_status.as_deref().map(|s| s == "ENABLED"),
            alerts: alerts.clone(),
            input_loss_seconds: key("input_loss"),
            network_in_mbps: key("network_in"),
            dropped_frames: key("dropped_frames"),
            active_outputs: key("active_outputs"),
            output_errors: errors,
            target: target.clone(),
            started_at: started,
            hls: hls.clone(),
            feed_mismatch,
        };
        let a: Assessment = health::destination(&obs, now);
        let presence = match (in_config.is_some(), deployed.is_some()) {
            (true, true) => "deployed",
            (true, false) => "not-deployed",
            _ => "not-in-config",
        };
        let running = state.as_deref() == Some("RUNNING");
        let alarm_states = destination_alarms(deployment, id)
            .into_iter()
            .filter_map(|n| alarms.get(&n).map(|s| (n, s.clone())))
            .collect();
        destinations.push(DestinationStatus {
            id: id.to_owned(),
            stack,
            presence: presence.into(),
            platform: in_config.map(|d| d.platform.id.clone()),
            preset: in_config.map(|d| d.preset.id.clone()),
            input_mode: outputs.get("InputMode").cloned(),
            channel_state: channel_id
                .as_ref()
                .map(|_| state.clone().unwrap_or_else(|| "missing".into())),
            channel_id,
            output_status,
            verdict: a.verdict,
            reason: a.reason,
            since: a.since,
            target,
            bitrate_mbps: running
                .then(|| health::Reading::fresh_value(key("network_in"), now))
                .flatten(),
            started_at: running.then(|| started.map(health::rfc3339)).flatten(),
            uptime_seconds: running
                .then(|| started.map(|t| (now - t).whole_seconds().max(0).unsigned_abs()))
                .flatten(),
            alerts: alerts.unwrap_or_default(),
            hls,
            alarms: alarm_states,
            last_guard_stop: last_guard_stop(&guard_stops, id, state.as_deref()),
        });
    };
    for d in &deployment.destinations {
        row(&d.destination.id, Some(d));
    }
    for id in stacks.dests.keys() {
        if !config_ids.contains(id.as_str()) {
            row(id, None);
        }
    }
    for d in &destinations {
        match d.presence.as_str() {
            "not-deployed" => notes.push(format!(
                "`{}` is in the config but not deployed (hint: `lunora deploy`)",
                d.id
            )),
            "not-in-config" => notes.push(format!(
                "`{}` is deployed (`{}`) but no longer in the config; the next `lunora deploy` deletes it",
                d.id, d.stack
            )),
            _ => {}
        }
    }
    let ingest_assessment = Assessment {
        verdict: ingest.verdict,
        reason: ingest.reason.clone(),
        since: ingest.since.clone(),
    };
    let dest_assessments: Vec<(String, bool, Assessment)> = destinations
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                d.running(),
                Assessment {
                    verdict: d.verdict,
                    reason: d.reason.clone(),
                    since: d.since.clone(),
                },
            )
        })
        .collect();
    let problems = health::check(
        &ingest_assessment,
        dest_assessments
            .iter()
            .map(|(id, r, a)| (id.as_str(), *r, a)),
    );
    let live = LiveCount {
        delivering: destinations
            .iter()
            .filter(|d| d.verdict == Verdict::Delivering)
            .count(),
        running: destinations.iter().filter(|d| d.running()).count(),
        deployed: destinations
            .iter()
            .filter(|d| d.channel_id.is_some())
            .count(),
    };
    let mut summary = summary_line(&live, &ingest);
    for (word, verdict) in [
        ("FAILING", Verdict::Failing),
        ("DEGRADED", Verdict::Degraded),
    ] {
        let ids: Vec<&str> = destinations
            .iter()
            .filter(|d| d.verdict == verdict)
            .map(|d| d.id.as_str())
            .collect();
        if !ids.is_empty() {
            summary.push_str(&format!(" · {word} {}", ids.join(", ")));
        }
    }
    Ok(StatusReading {
        deployment: deployment.prefix(),
        region: deployment.config.region.clone(),
        read_at: health::rfc3339(now),
        summary,
        live,
        ingest,
        destinations,
        check: Check {
            healthy: problems.is_empty(),
            problems,
        },
        guard_stops,
        notes,
    })
}

/// The newest guard stop of `id` (`stops` is newest first), as a line,
/// unless the channel runs (or starts) again.
pub fn last_guard_stop(
    stops: &[GuardStop],
    id: &str,
    channel_state: Option<&str>,
) -> Option<String> {
    if matches!(channel_state, Some("RUNNING" | "STARTING")) {
        return None;
    }
    stops
        .iter()
        .find(|s| s.destination == id)
        .map(GuardStop::line)
}

/// When `lunora start` started each running channel, from the release
/// store (MediaLive reports no start time).
async fn started_times(
    aws: &Aws,
    deployment: &Deployment,
    stacks: &Stacks,
    channels: &BTreeMap<String, ChannelRead>,
) -> BTreeMap<String, OffsetDateTime> {
    let mut out = BTreeMap::new();
    let Ok(store) = crate::release::open_store(deployment, Some(aws)) else {
        return out;
    };
    for (id, (state, _, _)) in channels {
        if state.as_deref() != Some("RUNNING") {
            continue;
        }
        let Some(channel) = stacks
            .dests
            .get(id)
            .and_then(|d| d.outputs.get("ChannelId"))
        else {
            continue;
        };
        if let Ok(Some(started)) = store.started_at(id, channel).await {
            if let Ok(t) =
                OffsetDateTime::parse(&started, &time::format_description::well_known::Rfc3339)
            {
                out.insert(id.clone(), t);
            }
        }
    }
    out
}

/// `LIVE 2/5 · ingest primary OK 11.8 Mb/s · backup standby OK`.
pub fn summary_line(live: &LiveCount, ingest: &IngestStatus) -> String {
    use health::SourceState;
    let head = if live.delivering > 0 {
        "LIVE"
    } else {
        "OFF AIR"
    };
    let mut parts = vec![format!("{head} {}/{}", live.delivering, live.deployed)];
    let word = |s: &SourceStatus| match s.state {
        SourceState::InUse | SourceState::Standby if s.bitrate_mbps.is_some_and(|b| b <= 0.0) => {
            "NO DATA"
        }
        SourceState::InUse | SourceState::Standby => "OK",
        SourceState::Down => "DOWN",
        SourceState::Unknown => "?",
    };
    let rate = |s: &SourceStatus| {
        s.bitrate_mbps
            .map_or_else(String::new, |b| format!(" {b:.1} Mb/s"))
    };
    if ingest.flow.state != "ACTIVE" {
        parts.push(format!("ingest {}", ingest.flow.state.to_lowercase()));
    } else {
        match ingest
            .sources
            .iter()
            .find(|s| s.state == health::SourceState::InUse)
        {
            Some(s) => parts.push(format!("ingest {} {}{}", s.name, word(s), rate(s))),
            None => parts.push("ingest no source in use".into()),
        }
        for s in ingest
            .sources
            .iter()
            .filter(|s| s.state != health::SourceState::InUse)
        {
            let role = if s.role == SourceRole::Backup {
                "standby"
            } else {
                "not in use"
            };
            parts.push(format!("{} {role} {}", s.name, word(s)));
        }
    }
    parts.join(" · ")
}
