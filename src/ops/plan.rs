//! The plan: every stack, rendered, against what is deployed, as the
//! `lunora.plan/v1` document. Read from the live stacks (all at once, with
//! a change set for each changed stack, deleted again or kept for the
//! deploy to execute) or, with no credentials, from the latest release in
//! the store. `lunora plan` shows it; deploy and rollback build it, gate
//! it and execute it ([`crate::ops::deploy`], [`crate::ops::rollback`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::Refused;
use crate::aws::cfn::{self, StackInfo};
use crate::aws::Aws;
use crate::config::{Deployment, StackId};
use crate::ops::stacks::LiveStacks;
use crate::plan::{self, Counts, DesiredStack, LiveStack, StackAction, StackPlan};

/// Where the live side of the plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    /// Read from CloudFormation.
    Live,
    /// Read from the release store (no credentials).
    Offline,
}

/// The plan document (`--output json`, `lunora.plan/v1` with the
/// envelope of [`crate::output::Envelope`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub project: String,
    pub environment: String,
    pub region: String,
    pub account_id: String,
    pub mode: PlanMode,
    /// What the rendered stacks were compared with, in words.
    pub compared_with: String,
    pub stages: Vec<String>,
    pub stacks: Vec<StackPlan>,
    pub counts: Counts,
    /// The MediaLive quota preflight (live plans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<plan::quota::QuotaReport>,
}

impl Plan {
    /// True when a deploy would change anything.
    pub fn has_changes(&self) -> bool {
        self.stacks.iter().any(StackPlan::changes)
    }

    /// Every risk, most severe first.
    pub fn risks(&self) -> Vec<&plan::Risk> {
        let mut risks: Vec<&plan::Risk> = self.stacks.iter().flat_map(|s| s.risks.iter()).collect();
        risks.sort_by_key(|r| std::cmp::Reverse(r.severity));
        risks
    }
}

/// A saved plan (`--out`): the plan, as the `lunora.plan/v1` document
/// `--output json` prints, and the exact templates it was made from, so
/// that `deploy --plan` executes exactly that.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    pub plan: crate::output::Envelope<Plan>,
    pub desired: Vec<DesiredStack>,
}
/// The desired stacks, in stage order.
pub fn desired_stacks(deployment: &Deployment) -> anyhow::Result<Vec<DesiredStack>> {
    Ok(crate::render::render(deployment)?
        .into_iter()
        .map(|s| DesiredStack {
            name: s.name,
            stage: s.stage,
            template: s.template,
            parameters: BTreeMap::new(),
        })
        .collect())
}

/// Checks that the credentials belong to the config's account.
pub async fn account_guard(
    aws: &Aws,
    deployment: &Deployment,
) -> anyhow::Result<crate::aws::Caller> {
    let caller = aws.caller().await?;
    if caller.account_id != deployment.config.account_id {
        return Err(Refused(format!(
            "the credentials belong to account {} ({}), the config to account {} (hint: use the profile of account {})",
            caller.account_id, caller.arn, deployment.config.account_id, deployment.config.account_id
        ))
        .into());
    }
    Ok(caller)
}

/// The source a flow template prefers (with a backup source).
pub(crate) fn preferred_source(template: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(template).ok()?;
    value
        .pointer("/Resources/Flow/Properties/SourceFailoverConfig/SourcePriority/PrimarySource")?
        .as_str()
        .map(str::to_owned)
}

/// What was read of one live stack: the stack, notes, and for the flow,
/// the source it prefers when that is not its template's.
type LiveRead = (Option<LiveStack>, Vec<String>, Option<plan::SourceDrift>);

/// The flow's preferred source, when someone chose another one than its
/// deployed template (`lunora failover`, or by hand) and the config does
/// not name that one either. DescribeFlow:
/// <https://docs.aws.amazon.com/mediaconnect/latest/api/API_DescribeFlow.html>
async fn source_drift(
    aws: &Aws,
    flow_arn: &str,
    live_template: &str,
    desired_template: &str,
) -> Option<plan::SourceDrift> {
    let wanted = preferred_source(desired_template)?;
    let live = crate::aws::media::describe_flow(aws, flow_arn)
        .await
        .ok()??
        .primary_source?;
    let deployed = preferred_source(live_template);
    (live != wanted && deployed.as_deref() != Some(live.as_str())).then_some(plan::SourceDrift {
        live,
        config: wanted,
    })
}

/// What deploy and rollback do to a flow that prefers another source than
/// the config (`p.source_drift`): keep the live choice, or with `restore`
/// (`--restore-source`) put the config's back. The plan says which, as a
/// warning; the flow stack changes only when its template does or when the
/// source is restored.
pub fn choose_source(p: &mut StackPlan, restore: bool) {
    p.risks.retain(|r| r.kind != plan::RiskKind::FailoverDrift);
    p.restore_primary_source = None;
    let Some(drift) = p.source_drift.clone() else {
        return;
    };
    let (live, config) = (&drift.live, &drift.config);
    let message = if restore {
        if p.action == StackAction::NoChange {
            p.action = StackAction::Update;
        }
        p.restore_primary_source = Some(config.clone());
        format!("the flow prefers `{live}` (set by `lunora failover` or by hand), the config `{config}`: --restore-source switches it back to `{config}`")
    } else {
        format!("the flow prefers `{live}` (set by `lunora failover` or by hand), the config `{config}`: deploy and rollback keep `{live}` (pass --restore-source to switch back to `{config}`)")
    };
    p.risks.push(plan::Risk {
        severity: plan::Severity::Warning,
        kind: plan::RiskKind::FailoverDrift,
        stack: p.name.clone(),
        logical_id: Some("Flow".to_owned()),
        message,
    });
}

/// What becomes of the change set made for a changed stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSets {
    /// Deleted as soon as it has been read (`plan`).
    Preview,
    /// Kept for the deploy to execute exactly what it showed; deploy and
    /// rollback delete the ones they do not execute.
    Keep,
}

/// Reads one stack as it is live, from what the listing said of it
/// (`info`): its template, a change set preview when it differs, and the
/// state of its channel when it changes.
async fn read_live(
    aws: Aws,
    desired: DesiredStack,
    info: Option<StackInfo>,
    change_sets: ChangeSets,
) -> anyhow::Result<LiveRead> {
    let mut notes = Vec::new();
    let Some(info) = info else {
        return Ok((None, notes, None));
    };
    if !info.is_deployed() || info.status == "ROLLBACK_COMPLETE" {
        notes.push(format!(
            "the stack exists in {} with nothing deployed; deploy deletes it and creates it again",
            info.status
        ));
        return Ok((None, notes, None));
    }
    let template = cfn::template(&aws, &desired.name).await?;
    let mut live = LiveStack {
        name: desired.name.clone(),
        status: Some(info.status.clone()),
        template,
        parameters: info.parameters.clone(),
        stack_id: Some(info.stack_id.clone()),
        last_updated: info.last_updated.clone(),
        outputs: info.outputs.clone(),
        change_set: None,
        change_set_id: None,
        running_channels: BTreeSet::new(),
    };
    if live.template != desired.template || live.parameters != desired.parameters {
        let made = match change_sets {
            ChangeSets::Preview => {
                cfn::preview_update(&aws, &desired.name, &desired.template, &desired.parameters)
                    .await
                    .map(|changes| (None, changes))
            }
            ChangeSets::Keep => {
                cfn::prepare_update(&aws, &desired.name, &desired.template, &desired.parameters)
                    .await
            }
        };
        match made {
            Ok((id, changes)) => {
                live.change_set = Some(changes);
                live.change_set_id = id;
            }
            Err(e) => notes.push(format!(
                "no change set could be made ({e:#}); the resource list comes from the templates"
            )),
        }
    }
    if let Some(flow_arn) = info.outputs.get("FlowArn") {
        if let Some(drift) = source_drift(&aws, flow_arn, &live.template, &desired.template).await {
            return Ok((Some(live), notes, Some(drift)));
        }
    }
    // A running channel matters only to a change (MediaLive updates idle
    // channels only); an unchanged stack costs no DescribeChannel.
    let changes = live.template != desired.template || live.parameters != desired.parameters;
    if let Some(channel_id) = info.outputs.get("ChannelId").filter(|_| changes) {
        let state = crate::aws::channel_state(&aws, channel_id).await?;
        if state
            .as_deref()
            .is_some_and(|s| s != "IDLE" && s != "CREATING" && s != "DELETED")
        {
            live.running_channels.insert("Channel".to_owned());
            notes.push(format!("its channel is {}", state.unwrap_or_default()));
        }
    }
    Ok((Some(live), notes, None))
}

/// The live side, from one DescribeStacks listing of the deployment's
/// stacks (`listed`): the templates of the deployed stacks read all at
/// once, the change sets of changed stacks kept or deleted, and a plan to
/// delete every destination stack the config no longer has.
pub(crate) async fn live_plans_with(
    aws: &Aws,
    deployment: &Deployment,
    desired: &[DesiredStack],
    listed: &LiveStacks,
    change_sets: ChangeSets,
) -> anyhow::Result<Vec<StackPlan>> {
    let mut tasks = JoinSet::new();
    for (i, d) in desired.iter().enumerate() {
        let (aws, d) = (aws.clone(), d.clone());
        let info = listed.get(&d.name).cloned();
        tasks.spawn(async move { (i, read_live(aws, d, info, change_sets).await) });
    }
    // Destination stacks no longer in the config, with their templates
    // (for the plan's diff) and channel states (a running channel is a
    // risk), read concurrently with the others.
    let orphan_prefix = format!("{}-dest-", deployment.prefix());
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    let mut orphans = JoinSet::new();
    for info in listed
        .with_prefix(&orphan_prefix)
        .filter(|i| !wanted.contains(i.name.as_str()))
    {
        let (aws, info) = (aws.clone(), info.clone());
        orphans.spawn(async move { orphan_plan(&aws, info).await });
    }
    let mut results: Vec<Option<LiveRead>> = vec![None; desired.len()];
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.context("a stack read task failed")?;
        results[i] =
            Some(result.with_context(|| format!("cannot plan stack `{}`", desired[i].name))?);
    }
    let mut plans = Vec::new();
    for (d, result) in desired.iter().zip(results) {
        let (live, notes, drift) = result.unwrap_or_default();
        let mut p = plan::plan_stack(d, live.as_ref());
        p.notes = notes;
        p.source_drift = drift;
        // What a plain deploy does; deploy and rollback choose again with
        // their `--restore-source`.
        choose_source(&mut p, false);
        plans.push(p);
    }
    let mut deletes = Vec::new();
    while let Some(joined) = orphans.join_next().await {
        deletes.push(joined.context("a stack read task failed")??);
    }
    deletes.sort_by(|a: &StackPlan, b: &StackPlan| a.name.cmp(&b.name));
    plans.extend(deletes);
    Ok(plans)
}

/// The plan to delete a destination stack the config no longer has.
async fn orphan_plan(aws: &Aws, info: StackInfo) -> anyhow::Result<StackPlan> {
    let template = cfn::template(aws, &info.name).await?;
    let mut running_channels = BTreeSet::new();
    if let Some(channel_id) = info.outputs.get("ChannelId") {
        if crate::aws::channel_state(aws, channel_id)
            .await?
            .is_some_and(|s| s != "IDLE")
        {
            running_channels.insert("Channel".to_owned());
        }
    }
    Ok(plan::plan_delete(&LiveStack {
        name: info.name,
        status: Some(info.status),
        template,
        parameters: info.parameters,
        stack_id: Some(info.stack_id),
        last_updated: info.last_updated,
        outputs: info.outputs,
        change_set: None,
        change_set_id: None,
        running_channels,
    }))
}

/// The live side from the latest recorded release (no AWS access).
fn offline_plans(recorded: &[LiveStack], desired: &[DesiredStack]) -> Vec<StackPlan> {
    let by_name: BTreeMap<&str, &LiveStack> =
        recorded.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut plans: Vec<StackPlan> = desired
        .iter()
        .map(|d| plan::plan_stack(d, by_name.get(d.name.as_str()).copied()))
        .collect();
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    for s in recorded {
        if !wanted.contains(s.name.as_str()) {
            plans.push(plan::plan_delete(s));
        }
    }
    plans
}

/// A plan as built, with what it was built from: the desired stacks, what
/// the listing read of the live stacks (empty offline), so that a deploy
/// reads no stack again before it changes it, and the notes for whoever
/// asked (where an offline plan looked instead of AWS).
#[derive(Debug)]
pub struct Built {
    pub plan: Plan,
    pub desired: Vec<DesiredStack>,
    pub listed: LiveStacks,
    pub notes: Vec<String>,
}

/// Builds the plan: against the live stacks when `online`, otherwise
/// against the latest release in the store. Preview change sets are
/// deleted.
pub async fn build(deployment: &Deployment, aws: &Aws, online: bool) -> anyhow::Result<Built> {
    build_with(deployment, aws, online, ChangeSets::Preview).await
}

/// [`build`], choosing what becomes of the change sets (a deploy keeps
/// them to execute them).
pub async fn build_with(
    deployment: &Deployment,
    aws: &Aws,
    online: bool,
    change_sets: ChangeSets,
) -> anyhow::Result<Built> {
    let desired = desired_stacks(deployment)?;
    let mut listed = LiveStacks::default();
    let mut notes = Vec::new();
    let (mode, compared_with, stacks) = if online {
        account_guard(aws, deployment).await?;
        listed = LiveStacks::read(aws, deployment).await?;
        let stacks = live_plans_with(aws, deployment, &desired, &listed, change_sets).await?;
        let endpoint = aws
            .endpoint_url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default();
        (
            PlanMode::Live,
            format!(
                "the live stacks in account {}{endpoint}",
                deployment.config.account_id
            ),
            stacks,
        )
    } else {
        let store = super::open_store(deployment, None)?;
        notes.push(format!(
            "no AWS credentials found: planning against the release store `{}` instead of the live stacks",
            store.location()
        ));
        let (recorded, what) = match store.latest().await? {
            Some(release) => {
                let stacks = release
                    .stacks
                    .iter()
                    .map(|s| LiveStack {
                        name: s.name.clone(),
                        template: s.template.clone(),
                        parameters: s.parameters.clone(),
                        ..LiveStack::default()
                    })
                    .collect();
                (
                    stacks,
                    format!(
                        "release `{}` in the release store (offline: no AWS credentials)",
                        release.id
                    ),
                )
            }
            None => (
                Vec::new(),
                "an empty release store (offline: no AWS credentials; everything is new)"
                    .to_owned(),
            ),
        };
        (PlanMode::Offline, what, offline_plans(&recorded, &desired))
    };
    let counts = plan::counts(&stacks);
    // The account is counted only when the plan adds MediaLive channels,
    // inputs or input security groups: a plan that adds none cannot
    // exceed a quota, and costs no five extra requests.
    let adds_media = {
        let changing: Vec<&StackPlan> = stacks.iter().filter(|s| s.changes()).collect();
        plan::quota::additions(&changing, &desired) != plan::quota::Additions::default()
    };
    let quotas = match mode {
        PlanMode::Live if adds_media => Some(quota_check(aws, deployment, &stacks, &desired).await),
        PlanMode::Live | PlanMode::Offline => None,
    };
    let plan = Plan {
        project: deployment.config.project.clone(),
        environment: deployment.config.environment.clone(),
        region: deployment.config.region.clone(),
        account_id: deployment.config.account_id.clone(),
        mode,
        compared_with,
        stages: deployment.stages.iter().map(|s| s.name.clone()).collect(),
        stacks,
        counts,
        quotas,
    };
    Ok(Built {
        plan,
        desired,
        listed,
        notes,
    })
}

/// The MediaLive quota preflight for the stacks a deploy would change.
pub async fn quota_check(
    aws: &Aws,
    deployment: &Deployment,
    stacks: &[StackPlan],
    desired: &[DesiredStack],
) -> plan::quota::QuotaReport {
    let changing: Vec<&StackPlan> = stacks.iter().filter(|s| s.changes()).collect();
    crate::aws::quota::check(aws, &deployment.config.region, &changing, desired).await
}

/// The deploy gate of the quota preflight, for the stacks in scope:
/// refused (exit 3) when a quota would be exceeded; an error (exit 1) when
/// the account could not be counted and the run adds MediaLive resources.
pub fn quota_gate(
    report: Option<&plan::quota::QuotaReport>,
    in_scope: &[&StackPlan],
    desired: &[DesiredStack],
) -> anyhow::Result<()> {
    let Some(report) = report else {
        return Ok(());
    };
    let changing: Vec<&StackPlan> = in_scope.iter().copied().filter(|s| s.changes()).collect();
    let additions = plan::quota::additions(&changing, desired);
    if let Some(e) = &report.error {
        anyhow::ensure!(
            additions == plan::quota::Additions::default(),
            "the MediaLive quota check could not run, nothing was changed: {e} (hint: the deploy needs medialive:ListChannels, medialive:ListInputs and medialive:ListInputSecurityGroups; see the README's IAM section)"
        );
        return Ok(());
    }
    match report.with_additions(additions).refusal() {
        Some(message) => Err(Refused(message).into()),
        None => Ok(()),
    }
}

/// The stacks of a deployment, by name, to stack ids.
pub fn stack_ids(deployment: &Deployment) -> BTreeMap<String, StackId> {
    deployment
        .stacks()
        .map(|id| (deployment.stack_name(id), id.clone()))
        .collect()
}
