//! `lunora status [--watch]`: what is live right now, for the operator
//! during an event.
//!
//! The flow (state, ingest endpoint, preferred and selected source, each
//! source's connection where CloudWatch has it), then one row per
//! destination (channel state, its flow output, alarm states, bitrate).
//! Every resource is found from the deployed stacks' outputs, never by
//! name. Destinations in the config but not deployed, and destination
//! stacks no longer in the config, are shown as such. All reads run
//! concurrently, in two rounds: the stacks, then everything they name.
//!
//! `--watch` redraws in place every few seconds until Ctrl-C; it needs a
//! terminal on stdout and text output, and refuses otherwise (a script
//! should run `lunora status --output json` in its own loop).
//!
//! This module also holds what the other operating commands share: the
//! credential and account checks, and reading the deployed stacks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::cfn;
use crate::aws::media::{self, FlowInfo, MetricQuery};
use crate::aws::{Aws, AwsSettings};
use crate::cli::OutputFormat;
use crate::config::{Deployment, StackId};
use crate::output::{Console, Report};

/// How often `--watch` refreshes.
const WATCH_INTERVAL: Duration = Duration::from_secs(3);

/// Loads the config, connects, requires credentials and the right account.
pub(crate) async fn connect(
    config: &Path,
    settings: &AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, Aws)> {
    let (deployment, aws, _) = super::connect(config, settings, console, command).await?;
    Ok((deployment, aws))
}

/// A deployed destination stack.
#[derive(Debug, Clone)]
pub(crate) struct DeployedDest {
    pub stack: String,
    pub outputs: BTreeMap<String, String>,
}

/// The deployed stacks of a deployment and their outputs.
#[derive(Debug, Clone)]
pub(crate) struct Stacks {
    pub flow_stack: String,
    /// The flow stack's outputs, when it is deployed.
    pub flow: Option<BTreeMap<String, String>>,
    /// Deployed destination stacks by destination id, in the config or not.
    pub dests: BTreeMap<String, DeployedDest>,
}

impl Stacks {
    /// The flow's ARN, or an error saying the flow stack is not deployed.
    pub fn flow_arn(&self) -> anyhow::Result<&str> {
        self.flow
            .as_ref()
            .and_then(|o| o.get("FlowArn"))
            .map(String::as_str)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the flow stack `{}` is not deployed (hint: `lunora deploy`)",
                    self.flow_stack
                )
            })
    }
}

async fn outputs_of(aws: &Aws, stack: &str) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    Ok(cfn::describe(aws, stack)
        .await?
        .filter(|i| i.is_deployed() && i.status != "ROLLBACK_COMPLETE")
        .map(|i| i.outputs))
}

enum Read {
    List(Vec<String>),
    Stack(String, Option<BTreeMap<String, String>>),
}

/// Reads the flow stack, every destination stack of the config and every
/// `{prefix}-dest-*` stack, concurrently.
pub(crate) async fn read_stacks(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Stacks> {
    let flow_stack = deployment.stack_name(&StackId::Flow);
    let dest_prefix = format!("{}-dest-", deployment.prefix());
    let mut set: JoinSet<anyhow::Result<Read>> = JoinSet::new();
    {
        let aws = aws.clone();
        let prefix = dest_prefix.clone();
        set.spawn(async move { Ok(Read::List(cfn::stacks_with_prefix(&aws, &prefix).await?)) });
    }
    let mut wanted: Vec<String> = vec![flow_stack.clone()];
    wanted.extend(
        deployment
            .destinations
            .iter()
            .map(|d| deployment.stack_name(&StackId::Destination(d.destination.id.clone()))),
    );
    for name in wanted.clone() {
        let aws = aws.clone();
        set.spawn(async move {
            let outputs = outputs_of(&aws, &name).await?;
            Ok(Read::Stack(name, outputs))
        });
    }
    let mut listed = Vec::new();
    let mut read: BTreeMap<String, Option<BTreeMap<String, String>>> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        match joined?? {
            Read::List(names) => listed = names,
            Read::Stack(name, outputs) => {
                read.insert(name, outputs);
            }
        }
    }
    // Destination stacks no longer in the config.
    for name in listed {
        if !read.contains_key(&name) {
            let aws = aws.clone();
            set.spawn(async move {
                let outputs = outputs_of(&aws, &name).await?;
                Ok(Read::Stack(name, outputs))
            });
        }
    }
    while let Some(joined) = set.join_next().await {
        if let Read::Stack(name, outputs) = joined?? {
            read.insert(name, outputs);
        }
    }
    let flow = read.remove(&flow_stack).flatten();
    let dests = read
        .into_iter()
        .filter_map(|(stack, outputs)| {
            let id = stack.strip_prefix(&dest_prefix)?.to_owned();
            Some((
                id,
                DeployedDest {
                    stack,
                    outputs: outputs?,
                },
            ))
        })
        .collect();
    Ok(Stacks {
        flow_stack,
        flow,
        dests,
    })
}

/// One source of the flow.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub name: String,
    /// `primary` or `backup` (from the flow stack's outputs).
    pub role: String,
    /// `ip:port`.
    pub ingest: Option<String>,
    /// The flow's preferred source (SourcePriority.PrimarySource).
    pub preferred: bool,
    /// CloudWatch `SourceSelected` (1 = the flow is using it); `None`
    /// without datapoints.
    pub selected: Option<bool>,
    /// CloudWatch `Connected` (1 = an SRT caller is connected); `None`
    /// without datapoints.
    pub connected: Option<bool>,
}

/// The flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowStatus {
    pub stack: String,
    pub name: Option<String>,
    pub arn: Option<String>,
    /// MediaConnect's status (`STANDBY`, `ACTIVE`, ...), or `not-deployed`.
    pub state: String,
    /// Primary ingest `ip:port`.
    pub ingest: Option<String>,
    pub backup_ingest: Option<String>,
    /// The failover state (`ENABLED`/`DISABLED`).
    pub failover: Option<String>,
    /// The preferred source's name.
    pub preferred_source: Option<String>,
    /// The source CloudWatch reports selected, when it has datapoints.
    pub active_source: Option<String>,
    pub sources: Vec<SourceStatus>,
}

/// One destination.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationStatus {
    pub id: String,
    pub stack: String,
    /// `deployed`, `not-deployed` (in the config only) or `not-in-config`
    /// (a deployed stack the config no longer has).
    pub presence: String,
    pub platform: Option<String>,
    pub preset: Option<String>,
    /// `rtp-fec` or `mediaconnect` (the stack's `InputMode` output).
    pub input_mode: Option<String>,
    pub channel_id: Option<String>,
    /// MediaLive's state (`IDLE`, `RUNNING`, ...); `missing` when the
    /// stack names a channel that does not exist.
    pub channel_state: Option<String>,
    /// The flow output's `OutputStatus` (rtp-fec mode).
    pub output_status: Option<String>,
    /// State of `{project}-{env}-{id}-input-loss`.
    pub input_loss_alarm: Option<String>,
    /// State of `{project}-{env}-{id}-dropped-frames`.
    pub dropped_frames_alarm: Option<String>,
    /// MediaLive `NetworkIn` (Mbit/s, pipeline 0), latest minute.
    pub bitrate_mbps: Option<f64>,
    /// When `lunora start` started the running channel (RFC 3339), from
    /// the release store: MediaLive itself reports no start time.
    pub started_at: Option<String>,
    /// Seconds since `started_at`.
    pub uptime_seconds: Option<u64>,
}

/// What `lunora status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub kind: &'static str,
    pub deployment: String,
    pub region: String,
    pub flow: FlowStatus,
    pub destinations: Vec<DestinationStatus>,
    pub notes: Vec<String>,
    /// Set when `--watch` already showed the report (nothing to print).
    #[serde(skip)]
    pub shown: bool,
}

fn or_na(v: Option<&str>) -> &str {
    v.unwrap_or("n/a")
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shown {
            return Ok(());
        }
        let fl = &self.flow;
        writeln!(f, "{} ({})", self.deployment, self.region)?;
        writeln!(f, "flow {}: {}", or_na(fl.name.as_deref()), fl.state)?;
        if fl.arn.is_some() {
            writeln!(f, "  ingest          {}", or_na(fl.ingest.as_deref()))?;
            if let Some(b) = &fl.backup_ingest {
                writeln!(f, "  backup ingest   {b}")?;
            }
            writeln!(
                f,
                "  preferred       {} (failover {})",
                or_na(fl.preferred_source.as_deref()),
                or_na(fl.failover.as_deref())
            )?;
            writeln!(
                f,
                "  active          {}",
                or_na(fl.active_source.as_deref())
            )?;
            for s in &fl.sources {
                let connected = match s.connected {
                    Some(true) => "connected",
                    Some(false) => "not connected",
                    None => "connection n/a",
                };
                writeln!(
                    f,
                    "  source {:<8} {:<8} {:<22} {connected}",
                    s.name,
                    s.role,
                    or_na(s.ingest.as_deref())
                )?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<12} {:<14} {:<13} {:<18} {:<8} {:<9} {:<10} {:<18} {:<18} BITRATE",
            "DESTINATION",
            "PRESENCE",
            "PLATFORM",
            "PRESET",
            "CHANNEL",
            "UPTIME",
            "OUTPUT",
            "INPUT-LOSS",
            "DROPPED-FRAMES",
        )?;
        for d in &self.destinations {
            let bitrate = d
                .bitrate_mbps
                .map_or_else(|| "n/a".to_owned(), |b| format!("{b:.1} Mbps"));
            let output = match d.input_mode.as_deref() {
                Some("mediaconnect") => "managed",
                _ => or_na(d.output_status.as_deref()),
            };
            let uptime = d.uptime_seconds.map_or_else(
                || "-".to_owned(),
                |s| format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
            );
            writeln!(
                f,
                "{:<12} {:<14} {:<13} {:<18} {:<8} {:<9} {:<10} {:<18} {:<18} {bitrate}",
                d.id,
                d.presence,
                or_na(d.platform.as_deref()),
                or_na(d.preset.as_deref()),
                or_na(d.channel_state.as_deref()),
                uptime,
                output,
                or_na(d.input_loss_alarm.as_deref()),
                or_na(d.dropped_frames_alarm.as_deref()),
            )?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

impl Report for StatusReport {}

/// A `--watch` frame: the report after a clear-screen sequence.
#[derive(Serialize)]
#[serde(transparent)]
struct Frame<'a>(&'a StatusReport);

impl fmt::Display for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = time::OffsetDateTime::now_utc();
        write!(f, "\x1b[H\x1b[2J")?;
        writeln!(
            f,
            "lunora status --watch  {:02}:{:02}:{:02} UTC, every {} s, Ctrl-C to stop\n",
            now.hour(),
            now.minute(),
            now.second(),
            WATCH_INTERVAL.as_secs()
        )?;
        write!(f, "{}", self.0)
    }
}

impl Report for Frame<'_> {}

pub async fn run(
    config: &Path,
    watch: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<StatusReport> {
    if watch && (console.format != OutputFormat::Text || !std::io::stdout().is_terminal()) {
        anyhow::bail!(
            "`--watch` redraws a terminal and needs text output on a terminal (hint: run `lunora status` once, or `lunora status --output json` in a loop of your own)"
        );
    }
    let (deployment, aws) = connect(config, settings, console, "status").await?;
    let mut report = snapshot(&aws, &deployment).await?;
    if !watch {
        return Ok(report);
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        console.emit(&Frame(&report))?;
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = tokio::time::sleep(WATCH_INTERVAL) => {}
        }
        report = tokio::select! {
            _ = &mut ctrl_c => break,
            next = refresh(&aws, &deployment) => match next {
                Ok(r) => r,
                Err(e) => {
                    let mut r = report.clone();
                    r.notes.push(format!("refresh failed, showing the previous reading: {e:#}"));
                    r
                }
            },
        };
    }
    report.shown = true;
    Ok(report)
}

/// One `--watch` reading, with a deadline over all its calls (each call
/// already has its own): a refresh that hangs shows the previous reading
/// with a note instead of freezing the screen.
async fn refresh(aws: &Aws, deployment: &Deployment) -> anyhow::Result<StatusReport> {
    let limit = aws.timeouts.wait(aws.timeouts.call);
    match tokio::time::timeout(limit, snapshot(aws, deployment)).await {
        Ok(r) => r,
        Err(_) => {
            Err(crate::aws::TimedOut::wait("the status reading is not complete", limit).into())
        }
    }
}

/// The alarm names of a destination.
fn alarm_names(deployment: &Deployment, id: &str) -> (String, String) {
    let p = deployment.prefix();
    (
        format!("{p}-{id}-input-loss"),
        format!("{p}-{id}-dropped-frames"),
    )
}

enum Fetched {
    Flow(Option<FlowInfo>),
    Channel(String, Option<String>),
    Alarms(BTreeMap<String, String>),
    Metrics(BTreeMap<String, f64>),
}

/// One reading of everything `status` shows.
pub async fn snapshot(aws: &Aws, deployment: &Deployment) -> anyhow::Result<StatusReport> {
    let stacks = read_stacks(aws, deployment).await?;
    let mut notes = Vec::new();
    let flow_outputs = stacks.flow.clone().unwrap_or_default();
    let flow_arn = flow_outputs.get("FlowArn").cloned();

    // Second round: everything the stacks name, concurrently.
    let mut set: JoinSet<anyhow::Result<Fetched>> = JoinSet::new();
    if let Some(arn) = flow_arn.clone() {
        let aws = aws.clone();
        set.spawn(async move { Ok(Fetched::Flow(media::describe_flow(&aws, &arn).await?)) });
    }
    let mut alarm_list = Vec::new();
    let mut queries = Vec::new();
    for (id, d) in &stacks.dests {
        let (loss, dropped) = alarm_names(deployment, id);
        alarm_list.push(loss);
        alarm_list.push(dropped);
        if let Some(channel) = d.outputs.get("ChannelId").cloned() {
            queries.push(MetricQuery {
                key: format!("bitrate:{id}"),
                namespace: "AWS/MediaLive".into(),
                metric: "NetworkIn".into(),
                dimensions: vec![
                    ("ChannelId".into(), channel.clone()),
                    ("Pipeline".into(), "0".into()),
                ],
                stat: "Average".into(),
            });
            let aws = aws.clone();
            set.spawn(async move {
                let state = crate::aws::channel_state(&aws, &channel).await?;
                Ok(Fetched::Channel(channel, state))
            });
        }
    }
    let mut source_roles: Vec<(String, &str)> = Vec::new();
    if let Some(a) = flow_outputs.get("SourceArn") {
        source_roles.push((a.clone(), "primary"));
    }
    if let Some(a) = flow_outputs.get("BackupSourceArn") {
        source_roles.push((a.clone(), "backup"));
    }
    for (arn, role) in &source_roles {
        for metric in ["SourceSelected", "Connected"] {
            queries.push(MetricQuery {
                key: format!("{metric}:{role}"),
                namespace: "AWS/MediaConnect".into(),
                metric: metric.into(),
                dimensions: vec![("SourceARN".into(), arn.clone())],
                stat: "Maximum".into(),
            });
        }
    }
    if !alarm_list.is_empty() {
        let aws = aws.clone();
        set.spawn(async move {
            // Alarm states are a nicety too: on failure the columns say n/a.
            Ok(Fetched::Alarms(
                media::alarm_states(&aws, &alarm_list)
                    .await
                    .unwrap_or_default(),
            ))
        });
    }
    if !queries.is_empty() {
        let aws = aws.clone();
        set.spawn(async move {
            // Metrics are a nicety: without them the columns say n/a.
            Ok(Fetched::Metrics(
                media::latest_metrics(&aws, &queries)
                    .await
                    .unwrap_or_default(),
            ))
        });
    }
    let mut flow_info = None;
    let mut channels: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut alarms = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        match joined?? {
            Fetched::Flow(f) => flow_info = f,
            Fetched::Channel(id, state) => {
                channels.insert(id, state);
            }
            Fetched::Alarms(a) => alarms = a,
            Fetched::Metrics(m) => metrics = m,
        }
    }

    let flag = |key: String| metrics.get(&key).map(|v| *v >= 1.0);
    let endpoint = |ip: Option<&String>, port: Option<&String>| match (ip, port) {
        (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
        _ => None,
    };
    let flow = match (&flow_arn, &flow_info) {
        (None, _) => {
            notes.push(format!(
                "the flow stack `{}` is not deployed (hint: `lunora deploy`)",
                stacks.flow_stack
            ));
            FlowStatus {
                stack: stacks.flow_stack.clone(),
                name: None,
                arn: None,
                state: "not-deployed".into(),
                ingest: None,
                backup_ingest: None,
                failover: None,
                preferred_source: None,
                active_source: None,
                sources: Vec::new(),
            }
        }
        (Some(arn), info) => {
            let sources: Vec<SourceStatus> = source_roles
                .iter()
                .map(|(source_arn, role)| {
                    let live = info.as_ref().and_then(|i| i.source(source_arn));
                    let name = live
                        .map(|s| s.name.clone())
                        .unwrap_or_else(|| (*role).to_owned());
                    let ingest = match live.and_then(|s| s.ingest_ip.clone().zip(s.ingest_port)) {
                        Some((ip, port)) => Some(format!("{ip}:{port}")),
                        None if *role == "primary" => {
                            endpoint(flow_outputs.get("IngestIp"), flow_outputs.get("IngestPort"))
                        }
                        None => endpoint(
                            flow_outputs.get("BackupIngestIp"),
                            flow_outputs.get("BackupIngestPort"),
                        ),
                    };
                    SourceStatus {
                        preferred: info.as_ref().and_then(|i| i.primary_source.as_deref())
                            == Some(name.as_str()),
                        name,
                        role: (*role).to_owned(),
                        ingest,
                        selected: flag(format!("SourceSelected:{role}")),
                        connected: flag(format!("Connected:{role}")),
                    }
                })
                .collect();
            if info.is_none() {
                notes.push(format!(
                    "the flow `{arn}` named by stack `{}` does not exist",
                    stacks.flow_stack
                ));
            }
            FlowStatus {
                stack: stacks.flow_stack.clone(),
                name: info
                    .as_ref()
                    .map(|i| i.name.clone())
                    .or_else(|| flow_outputs.get("FlowName").cloned()),
                arn: Some(arn.clone()),
                state: info
                    .as_ref()
                    .map_or_else(|| "missing".into(), |i| i.status.clone()),
                ingest: sources
                    .iter()
                    .find(|s| s.role == "primary")
                    .and_then(|s| s.ingest.clone()),
                backup_ingest: sources
                    .iter()
                    .find(|s| s.role == "backup")
                    .and_then(|s| s.ingest.clone()),
                failover: info.as_ref().and_then(|i| i.failover_state.clone()),
                preferred_source: info.as_ref().and_then(|i| i.primary_source.clone()),
                active_source: sources
                    .iter()
                    .find(|s| s.selected == Some(true))
                    .map(|s| s.name.clone()),
                sources,
            }
        }
    };

    let config_ids: BTreeSet<&str> = deployment
        .destinations
        .iter()
        .map(|d| d.destination.id.as_str())
        .collect();
    let mut destinations = Vec::new();
    let row = |id: &str, in_config: Option<&crate::config::ResolvedDestination>| {
        let (loss, dropped) = alarm_names(deployment, id);
        let deployed = stacks.dests.get(id);
        let stack = deployed.map_or_else(
            || deployment.stack_name(&StackId::Destination(id.to_owned())),
            |d| d.stack.clone(),
        );
        let outputs = deployed.map(|d| d.outputs.clone()).unwrap_or_default();
        let channel_id = outputs.get("ChannelId").cloned();
        let presence = match (in_config.is_some(), deployed.is_some()) {
            (true, true) => "deployed",
            (true, false) => "not-deployed",
            _ => "not-in-config",
        };
        DestinationStatus {
            id: id.to_owned(),
            stack,
            presence: presence.into(),
            platform: in_config.map(|d| d.platform.id.clone()),
            preset: in_config.map(|d| d.preset.id.clone()),
            input_mode: outputs.get("InputMode").cloned(),
            channel_state: channel_id.as_ref().map(|c| {
                channels
                    .get(c)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| "missing".into())
            }),
            channel_id,
            output_status: outputs
                .get("OutputArn")
                .and_then(|o| flow_info.as_ref()?.output(o)?.status.clone()),
            input_loss_alarm: deployed.and_then(|_| alarms.get(&loss).cloned()),
            dropped_frames_alarm: deployed.and_then(|_| alarms.get(&dropped).cloned()),
            bitrate_mbps: metrics.get(&format!("bitrate:{id}")).copied(),
            started_at: None,
            uptime_seconds: None,
        }
    };
    for d in &deployment.destinations {
        destinations.push(row(&d.destination.id, Some(d)));
    }
    for id in stacks.dests.keys() {
        if !config_ids.contains(id.as_str()) {
            destinations.push(row(id, None));
        }
    }
    if let Ok(store) = super::open_store(deployment, Some(aws)) {
        let now = time::OffsetDateTime::now_utc();
        for d in destinations.iter_mut() {
            let (Some(channel), Some("RUNNING")) = (&d.channel_id, d.channel_state.as_deref())
            else {
                continue;
            };
            if let Ok(Some(started)) = store.started_at(&d.id, channel).await {
                d.uptime_seconds = time::OffsetDateTime::parse(
                    &started,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()
                .map(|t| (now - t).whole_seconds().max(0).unsigned_abs());
                d.started_at = Some(started);
            }
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
    Ok(StatusReport {
        kind: "status",
        deployment: deployment.prefix(),
        region: deployment.config.region.clone(),
        flow,
        destinations,
        notes,
        shown: false,
    })
}
