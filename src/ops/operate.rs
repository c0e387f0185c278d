//! Switching destinations on and off during an event without touching
//! the others: the operations behind `lunora start` and `lunora stop` (and
//! the HTTP server's start and stop), apart from how they are asked for
//! or shown.
//!
//! Start: the flow first (StartFlow when in STANDBY, wait ACTIVE), then
//! per destination, in parallel: enable its flow output (rtp-fec mode),
//! StartChannel, wait RUNNING. Stop: per destination, in parallel:
//! StopChannel, wait IDLE, disable its flow output (a stopped channel's
//! output keeps sending and billing, domain brief G5); then stop the flow
//! when no channel of the deployment is left running, unless `keep_flow`.
//! Both are idempotent and say so. Unknown destination ids are refused
//! before anything is touched ([`UnknownDestinations`], inside the
//! `anyhow::Error`); a destination that fails is reported with
//! MediaLive's reason ([`OperateReport::failed`]) while the others go
//! ahead. Every start and stop is written to the release store: the
//! session of each started channel (for `status` uptime) and one audit
//! record, with who acted ([`Actor`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::aws::media;
use crate::aws::Aws;
use crate::config::Deployment;
pub use crate::config::UnknownDestinations;
use crate::ops::stacks::{read_stacks, Stacks};
use crate::progress::{Progress, StackProgress};
pub use crate::release::Actor;
use crate::release::AuditRecord;

/// What happened to one destination.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationOutcome {
    pub id: String,
    pub channel_id: Option<String>,
    /// `started`, `already-running`, `stopped`, `already-stopped`, `failed`.
    pub result: String,
    /// The flow output: `enabled`, `disabled`, `already-enabled`,
    /// `already-disabled`, `managed` (mediaconnect mode), or none.
    pub output: Option<String>,
    pub message: String,
}

/// What happened to the flow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowOutcome {
    pub arn: String,
    pub before: String,
    pub after: String,
    /// `started`, `already-active`, `stopped`, `already-standby`,
    /// `kept` (--keep-flow), `in-use` (other channels still run), `left`
    /// (a destination failed to stop).
    pub action: String,
    pub message: String,
}

/// Which operation a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Start,
    Stop,
}

impl Action {
    /// `start` or `stop`: the report's kind and the audit record's action.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
        }
    }
}

/// What `start` or `stop` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperateReport {
    /// Start or stop (the document's kind, not a field of it).
    #[serde(skip)]
    pub action: Action,
    pub flow: Option<FlowOutcome>,
    pub destinations: Vec<DestinationOutcome>,
    pub notes: Vec<String>,
}

impl OperateReport {
    /// True when a destination failed, or the flow could not be settled
    /// after a stop: the operation did not do all it was asked (the CLI
    /// exits 1).
    pub fn failed(&self) -> bool {
        self.destinations.iter().any(|d| d.result == "failed")
            || self.flow.as_ref().is_some_and(|f| f.action == "failed")
    }
}

/// A destination to act on, from its stack's outputs.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    channel_id: String,
    output_arn: Option<String>,
    mediaconnect: bool,
}

/// Resolves the ids (or every destination) against the config and the
/// deployed stacks; refuses unknown or undeployed ids, touching nothing.
fn targets(
    deployment: &Deployment,
    stacks: &Stacks,
    ids: &[String],
    all: bool,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Target>> {
    let known = deployment.destination_ids();
    anyhow::ensure!(
        all || !ids.is_empty(),
        "name the destinations (known: {}) or pass `--all`",
        known.join(", ")
    );
    deployment.check_destination_ids(ids)?;
    let wanted: Vec<&str> = if all {
        known.clone()
    } else {
        let mut w: Vec<&str> = Vec::new();
        for id in ids {
            if !w.contains(&id.as_str()) {
                w.push(id);
            }
        }
        w
    };
    let mut out = Vec::new();
    let mut undeployed = Vec::new();
    for id in wanted {
        match stacks.dests.get(id).and_then(|d| {
            let channel = d.outputs.get("ChannelId")?;
            Some((d, channel))
        }) {
            Some((d, channel)) => out.push(Target {
                id: id.to_owned(),
                channel_id: channel.clone(),
                output_arn: d.outputs.get("OutputArn").cloned(),
                mediaconnect: d.outputs.get("InputMode").map(String::as_str)
                    == Some("mediaconnect"),
            }),
            None => undeployed.push(id),
        }
    }
    if !undeployed.is_empty() {
        if all {
            notes.push(format!(
                "not deployed, skipped: {} (hint: `lunora deploy`)",
                undeployed.join(", ")
            ));
        } else {
            anyhow::bail!(
                "not deployed: {} (hint: `lunora deploy`); nothing was changed",
                undeployed.join(", ")
            );
        }
    }
    Ok(out)
}

/// Runs one destination's job per target in parallel, in target order.
async fn each<F, Fut>(
    aws: &Aws,
    targets: Vec<Target>,
    progress: &Progress,
    job: F,
) -> Vec<DestinationOutcome>
where
    F: Fn(Aws, Target, StackProgress) -> Fut,
    Fut: std::future::Future<Output = DestinationOutcome> + Send + 'static,
{
    let mut set = JoinSet::new();
    let ids: Vec<(String, String)> = targets
        .iter()
        .map(|t| (t.id.clone(), t.channel_id.clone()))
        .collect();
    for (i, t) in targets.into_iter().enumerate() {
        let p = progress.stack(&t.id);
        let fut = job(aws.clone(), t, p);
        set.spawn(async move { (i, fut.await) });
    }
    let mut out: Vec<(usize, DestinationOutcome)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(r) = joined {
            out.push(r);
        }
    }
    // A panicked task still gets a row.
    for (i, (id, channel)) in ids.into_iter().enumerate() {
        if !out.iter().any(|(j, _)| *j == i) {
            out.push((
                i,
                DestinationOutcome {
                    id,
                    channel_id: Some(channel),
                    result: "failed".into(),
                    output: None,
                    message: "internal error".into(),
                },
            ));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

/// Sets the target's flow output; returns its word for the report.
async fn switch_output(
    aws: &Aws,
    flow_arn: &str,
    t: &Target,
    enabled: bool,
    current: Option<&str>,
) -> anyhow::Result<Option<String>> {
    if t.mediaconnect {
        return Ok(Some("managed".into()));
    }
    let Some(output) = &t.output_arn else {
        return Ok(None);
    };
    let want = if enabled { "ENABLED" } else { "DISABLED" };
    let word = if enabled { "enabled" } else { "disabled" };
    if current == Some(want) {
        return Ok(Some(format!("already-{word}")));
    }
    media::set_output_enabled(aws, flow_arn, output, enabled).await?;
    Ok(Some(word.into()))
}

/// Brings the flow to ACTIVE; returns what was done.
async fn ensure_flow_active(aws: &Aws, flow_arn: &str) -> anyhow::Result<FlowOutcome> {
    let before = media::describe_flow(aws, flow_arn)
        .await?
        .map(|f| f.status)
        .ok_or_else(|| {
            anyhow::anyhow!("the flow `{flow_arn}` named by the flow stack does not exist")
        })?;
    let outcome = |action: &str, message: &str| FlowOutcome {
        arn: flow_arn.to_owned(),
        before: before.clone(),
        after: "ACTIVE".into(),
        action: action.into(),
        message: message.into(),
    };
    match before.as_str() {
        "ACTIVE" => Ok(outcome("already-active", "already ACTIVE")),
        "STARTING" | "UPDATING" => {
            media::wait_flow(aws, flow_arn, "ACTIVE").await?;
            Ok(outcome("already-active", "was starting; now ACTIVE"))
        }
        "STANDBY" | "STOPPING" => {
            if before == "STOPPING" {
                media::wait_flow(aws, flow_arn, "STANDBY").await?;
            }
            media::start_flow(aws, flow_arn).await?;
            media::wait_flow(aws, flow_arn, "ACTIVE").await?;
            Ok(outcome("started", &format!("started ({before} -> ACTIVE)")))
        }
        other => anyhow::bail!(
            "the flow is {other} and cannot be started by lunora; nothing else was changed"
        ),
    }
}

/// Starts the flow (when needed) and then the destinations `ids` (or
/// every deployed one with `all`) in parallel; `by` is who asked, for the
/// release store's records.
pub async fn start(
    aws: &Aws,
    deployment: &Deployment,
    ids: &[String],
    all: bool,
    by: &Actor,
    progress: &Progress,
) -> anyhow::Result<OperateReport> {
    let stacks = read_stacks(aws, deployment).await?;
    let mut notes = Vec::new();
    let targets = targets(deployment, &stacks, ids, all, &mut notes)?;
    let flow_arn = stacks.flow_arn()?.to_owned();
    let flow_line = progress.stack("flow");
    flow_line.step("checking the flow");
    let flow = match ensure_flow_active(aws, &flow_arn).await {
        Ok(f) => {
            flow_line.finish(true, &f.message);
            f
        }
        Err(e) => {
            flow_line.finish(false, &format!("{e:#}"));
            let mut record = AuditRecord::now(Action::Start.as_str(), *by);
            record.flow = Some("failed".into());
            audit(deployment, aws, &record, &mut Vec::new()).await;
            return Err(e.context("the flow could not be made ACTIVE; no channel was started"));
        }
    };
    let outputs: BTreeMap<String, Option<String>> = media::describe_flow(aws, &flow_arn)
        .await?
        .map(|f| f.outputs.into_iter().map(|o| (o.arn, o.status)).collect())
        .unwrap_or_default();
    let outcomes = each(aws, targets, progress, |aws, t, p| {
        let flow_arn = flow_arn.clone();
        let current = t
            .output_arn
            .as_ref()
            .and_then(|o| outputs.get(o).cloned().flatten());
        async move {
            let r = start_one(&aws, &flow_arn, &t, current.as_deref(), &p).await;
            finish(t, r, &p)
        }
    })
    .await;
    record_sessions(deployment, aws, &outcomes, by, &mut notes).await;
    let report = OperateReport {
        action: Action::Start,
        flow: Some(flow),
        destinations: outcomes,
        notes,
    };
    Ok(audited(deployment, aws, report, by).await)
}

type Done = (String, Option<String>, String);

/// Records in the release store when (and by whom) channels were
/// started, and forgets stopped ones, so that `status` can show uptime.
/// A store that cannot be written is a note, never a failure of the start
/// or stop itself.
async fn record_sessions(
    deployment: &Deployment,
    aws: &Aws,
    outcomes: &[DestinationOutcome],
    by: &Actor,
    notes: &mut Vec<String>,
) {
    let store = match crate::release::open_store(deployment, Some(aws)) {
        Ok(store) => store,
        Err(e) => {
            notes.push(format!("start times not recorded: {e:#}"));
            return;
        }
    };
    for o in outcomes {
        let result = match (o.result.as_str(), &o.channel_id) {
            ("started", Some(channel)) => {
                store
                    .record_start(&o.id, channel, time::OffsetDateTime::now_utc(), *by)
                    .await
            }
            ("stopped" | "already-stopped", _) => store.clear_start(&o.id).await,
            _ => Ok(()),
        };
        if let Err(e) = result {
            notes.push(format!("start time of `{}` not recorded: {e}", o.id));
        }
    }
}

/// `report`, after its audit record is written (a note when it cannot
/// be).
async fn audited(
    deployment: &Deployment,
    aws: &Aws,
    mut report: OperateReport,
    by: &Actor,
) -> OperateReport {
    let mut record = AuditRecord::now(report.action.as_str(), *by);
    record.destinations = report
        .destinations
        .iter()
        .map(|d| (d.id.clone(), d.result.clone()))
        .collect();
    record.flow = report.flow.as_ref().map(|f| f.action.clone());
    audit(deployment, aws, &record, &mut report.notes).await;
    report
}

/// Appends `record` to the release store's audit trail; a store that
/// cannot be written is a note, never a failure of the action itself.
pub(crate) async fn audit(
    deployment: &Deployment,
    aws: &Aws,
    record: &AuditRecord,
    notes: &mut Vec<String>,
) {
    let written = match crate::release::open_store(deployment, Some(aws)) {
        Ok(store) => store
            .append_audit(record)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        notes.push(format!(
            "the {} was not written to the audit trail: {e:#}",
            record.action
        ));
    }
}

fn finish(t: Target, r: anyhow::Result<Done>, p: &StackProgress) -> DestinationOutcome {
    match r {
        Ok((result, output, message)) => {
            p.finish(true, &message);
            DestinationOutcome {
                id: t.id,
                channel_id: Some(t.channel_id),
                result,
                output,
                message,
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            p.finish(false, &message);
            DestinationOutcome {
                id: t.id,
                channel_id: Some(t.channel_id),
                result: "failed".into(),
                output: None,
                message,
            }
        }
    }
}

/// The channel's MediaLive state; an error when it does not exist.
async fn existing_channel_state(aws: &Aws, channel_id: &str) -> anyhow::Result<String> {
    crate::aws::channel_state(aws, channel_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("channel `{channel_id}` does not exist"))
}

async fn start_one(
    aws: &Aws,
    flow_arn: &str,
    t: &Target,
    current_output: Option<&str>,
    p: &StackProgress,
) -> anyhow::Result<Done> {
    let state = existing_channel_state(aws, &t.channel_id).await?;
    if matches!(state.as_str(), "DELETING" | "DELETED" | "CREATE_FAILED") {
        anyhow::bail!(
            "channel `{}` is {state}, it does not exist any more: it was deleted outside lunora, so its stack has drifted (hint: delete the destination's stack in CloudFormation, then `lunora deploy` recreates it)",
            t.channel_id
        );
    }
    p.step("enabling the flow output");
    let output = switch_output(aws, flow_arn, t, true, current_output).await?;
    let out_note = match output.as_deref() {
        Some("enabled") => ", flow output enabled",
        _ => "",
    };
    match state.as_str() {
        "RUNNING" => Ok((
            "already-running".into(),
            output.clone(),
            format!(
                "channel {} already RUNNING, nothing to do{out_note}",
                t.channel_id
            ),
        )),
        "STARTING" | "RECOVERING" => {
            p.step(&format!("channel is {state}, waiting for RUNNING"));
            media::wait_channel(aws, &t.channel_id, "RUNNING").await?;
            Ok((
                "already-running".into(),
                output.clone(),
                format!(
                    "channel {} was {state}, now RUNNING{out_note}",
                    t.channel_id
                ),
            ))
        }
        _ => {
            if state == "STOPPING" {
                p.step("channel is STOPPING, waiting for IDLE");
                media::wait_channel(aws, &t.channel_id, "IDLE").await?;
            }
            p.step(&format!("starting channel {}", t.channel_id));
            media::start_channel(aws, &t.channel_id).await?;
            p.step("waiting for RUNNING");
            media::wait_channel(aws, &t.channel_id, "RUNNING").await?;
            Ok((
                "started".into(),
                output.clone(),
                format!("channel {} RUNNING{out_note}", t.channel_id),
            ))
        }
    }
}

async fn stop_one(
    aws: &Aws,
    flow_arn: Option<&str>,
    t: &Target,
    current_output: Option<&str>,
    p: &StackProgress,
) -> anyhow::Result<Done> {
    let state = existing_channel_state(aws, &t.channel_id).await?;
    let already = state == "IDLE";
    if !already {
        if state != "STOPPING" {
            p.step(&format!("stopping channel {}", t.channel_id));
            media::stop_channel(aws, &t.channel_id).await?;
        }
        p.step("waiting for IDLE");
        media::wait_channel(aws, &t.channel_id, "IDLE").await?;
    }
    let output = match flow_arn {
        Some(flow) => {
            p.step("disabling the flow output");
            switch_output(aws, flow, t, false, current_output).await?
        }
        None => None,
    };
    let out_note = match output.as_deref() {
        Some("disabled") => ", flow output disabled",
        _ => "",
    };
    Ok(if already {
        (
            "already-stopped".into(),
            output.clone(),
            format!(
                "channel {} already IDLE, nothing to do{out_note}",
                t.channel_id
            ),
        )
    } else {
        (
            "stopped".into(),
            output.clone(),
            format!("channel {} IDLE{out_note}", t.channel_id),
        )
    })
}

/// Stops the destinations `ids` (or every deployed one with `all`) in
/// parallel, then the flow when no channel of the deployment is left
/// running, unless `keep_flow`; `by` is who asked, for the release
/// store's records.
pub async fn stop(
    aws: &Aws,
    deployment: &Deployment,
    ids: &[String],
    all: bool,
    keep_flow: bool,
    by: &Actor,
    progress: &Progress,
) -> anyhow::Result<OperateReport> {
    let stacks = read_stacks(aws, deployment).await?;
    let mut notes = Vec::new();
    let targets = targets(deployment, &stacks, ids, all, &mut notes)?;
    let flow_arn = stacks.flow.as_ref().and_then(|o| o.get("FlowArn")).cloned();
    let flow_info = match &flow_arn {
        Some(arn) => media::describe_flow(aws, arn).await?,
        None => None,
    };
    if flow_arn.is_none() {
        notes.push(format!(
            "the flow stack `{}` is not deployed: no flow output to disable",
            stacks.flow_stack
        ));
    }
    let outputs: BTreeMap<String, Option<String>> = flow_info
        .as_ref()
        .map(|f| {
            f.outputs
                .iter()
                .map(|o| (o.arn.clone(), o.status.clone()))
                .collect()
        })
        .unwrap_or_default();
    let live_flow = flow_info.as_ref().map(|f| f.arn.clone());
    let stopped: Vec<String> = targets.iter().map(|t| t.channel_id.clone()).collect();
    let outcomes = each(aws, targets, progress, |aws, t, p| {
        let flow_arn = live_flow.clone();
        let current = t
            .output_arn
            .as_ref()
            .and_then(|o| outputs.get(o).cloned().flatten());
        async move {
            let r = stop_one(&aws, flow_arn.as_deref(), &t, current.as_deref(), &p).await;
            finish(t, r, &p)
        }
    })
    .await;
    record_sessions(deployment, aws, &outcomes, by, &mut notes).await;
    let flow = match flow_info {
        None => None,
        Some(info) => {
            let line = progress.stack("flow");
            let f = settle_flow(aws, &stacks, &info, &stopped, &outcomes, keep_flow, &line).await;
            match f {
                Ok(f) => {
                    line.finish(true, &f.message);
                    Some(f)
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    line.finish(false, &message);
                    Some(FlowOutcome {
                        arn: info.arn.clone(),
                        before: info.status.clone(),
                        after: info.status.clone(),
                        action: "failed".into(),
                        message,
                    })
                }
            }
        }
    };
    let report = OperateReport {
        action: Action::Stop,
        flow,
        destinations: outcomes,
        notes,
    };
    Ok(audited(deployment, aws, report, by).await)
}

/// After stopping: stops the flow when no channel of the deployment runs.
async fn settle_flow(
    aws: &Aws,
    stacks: &Stacks,
    info: &media::FlowInfo,
    stopped: &[String],
    outcomes: &[DestinationOutcome],
    keep_flow: bool,
    line: &StackProgress,
) -> anyhow::Result<FlowOutcome> {
    let outcome = |action: &str, after: &str, message: String| FlowOutcome {
        arn: info.arn.clone(),
        before: info.status.clone(),
        after: after.to_owned(),
        action: action.to_owned(),
        message,
    };
    if keep_flow {
        return Ok(outcome(
            "kept",
            &info.status,
            format!("left {} (--keep-flow)", info.status),
        ));
    }
    if outcomes.iter().any(|o| o.result == "failed") {
        return Ok(outcome(
            "left",
            &info.status,
            format!("left {}: a destination failed to stop", info.status),
        ));
    }
    // Every other channel of the deployment, in the config or not.
    line.step("checking the other channels");
    let mut set = JoinSet::new();
    for (id, d) in &stacks.dests {
        let Some(channel) = d.outputs.get("ChannelId").cloned() else {
            continue;
        };
        if stopped.contains(&channel) {
            continue;
        }
        let aws = aws.clone();
        let id = id.clone();
        set.spawn(async move { (id, crate::aws::channel_state(&aws, &channel).await) });
    }
    let mut running = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (id, state) = joined?;
        match state? {
            Some(s) if s != "IDLE" => running.push(format!("{id} ({s})")),
            _ => {}
        }
    }
    running.sort();
    if !running.is_empty() {
        return Ok(outcome(
            "in-use",
            &info.status,
            format!("left {}: still feeding {}", info.status, running.join(", ")),
        ));
    }
    match info.status.as_str() {
        "STANDBY" => Ok(outcome(
            "already-standby",
            "STANDBY",
            "already STANDBY".into(),
        )),
        "ACTIVE" | "STARTING" | "UPDATING" | "STOPPING" => {
            if info.status != "STOPPING" {
                if info.status != "ACTIVE" {
                    media::wait_flow(aws, &info.arn, "ACTIVE").await?;
                }
                line.step("stopping the flow (no channel is running)");
                media::stop_flow(aws, &info.arn).await?;
            }
            media::wait_flow(aws, &info.arn, "STANDBY").await?;
            Ok(outcome(
                "stopped",
                "STANDBY",
                format!(
                    "stopped ({} -> STANDBY): no channel is running",
                    info.status
                ),
            ))
        }
        other => anyhow::bail!("the flow is {other}; lunora left it as it is"),
    }
}
