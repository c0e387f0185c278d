//! `lunora plan`: every stack, rendered, against what is deployed: which
//! stacks and resources change, the template diff, the risks and the
//! security table, as text, JSON (versioned) or markdown for a pull
//! request comment.
//!
//! With credentials (or `--endpoint-url`) the live stacks are read, all at
//! once, and a change set is made for each changed stack and deleted
//! again. Without, the plan compares with the latest release in the local
//! store and says so, so a plan works with no AWS account.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::aws::cfn::{self, StackInfo};
use crate::aws::{Aws, AwsSettings};
use crate::config::{Deployment, StackId};
use crate::ops::stacks::LiveStacks;
use crate::output::{Console, ExitStatus, Report};
use crate::plan::{
    self, Counts, DesiredStack, LiveStack, ResourceAction, Severity, StackAction, StackPlan,
};

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

/// What `lunora plan` prints.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct PlanReport {
    pub plan: Plan,
    #[serde(skip)]
    pub detailed_exitcode: bool,
    /// Colour the text (stdout is a terminal and colour is allowed).
    #[serde(skip)]
    pub color: bool,
    /// The text's width (`None`: `--wide`, every line in full).
    #[serde(skip)]
    pub width: Option<usize>,
}

/// `text` in an ANSI colour when `on`.
fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn sign_color(sign: &str) -> &'static str {
    match sign {
        "+" => "32",
        "-" => "31",
        " " => "0",
        "~" => "33",
        _ => "35",
    }
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

/// A refusal by a safety gate: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

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

/// Reads one stack as it is live: its template, parameters, outputs, a
/// change set preview when it differs, and its channel's state.
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

/// Builds the plan: against the live stacks when `online`, otherwise
/// against the latest release in the store. Preview change sets are
/// deleted.
pub async fn build(
    deployment: &Deployment,
    aws: &Aws,
    online: bool,
    console: &Console,
) -> anyhow::Result<(Plan, Vec<DesiredStack>)> {
    let (plan, desired, _) =
        build_with(deployment, aws, online, ChangeSets::Preview, console).await?;
    Ok((plan, desired))
}

/// [`build`], choosing what becomes of the change sets (a deploy keeps
/// them to execute them), and returning what the listing read of the live
/// stacks (empty offline), so that a deploy reads no stack again before
/// it changes it.
pub async fn build_with(
    deployment: &Deployment,
    aws: &Aws,
    online: bool,
    change_sets: ChangeSets,
    console: &Console,
) -> anyhow::Result<(Plan, Vec<DesiredStack>, LiveStacks)> {
    let desired = desired_stacks(deployment)?;
    let mut listed = LiveStacks::default();
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
        console.note(&format!(
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
    Ok((plan, desired, listed))
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

pub async fn run(
    config: &Path,
    detailed_exitcode: bool,
    out: Option<&PathBuf>,
    wide: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<PlanReport> {
    let deployment = super::load(config, console)?;
    let aws = super::aws_for(&deployment, settings, console).await?;
    let online = aws.has_credentials().await;
    // Offline only when nothing asked for AWS: a named profile that yields
    // no credentials is a mistake, not a reason to plan from the store.
    if let (false, Some((profile, from))) = (
        online,
        crate::aws::credentials::requested(settings.profile.as_deref()),
    ) {
        anyhow::bail!(
            "AWS profile `{profile}` (from {from}) gives no usable credentials, so lunora cannot plan against the live stacks (hint: `aws sso login --profile {profile}` or fix the profile; leave the profile unset to plan offline against the release store)"
        );
    }
    let (plan, desired) = build(&deployment, &aws, online, console).await?;
    if let Some(path) = out {
        let file = PlanFile {
            plan: crate::output::Envelope::new("plan", plan.clone()),
            desired,
        };
        let text = serde_json::to_string_pretty(&file)? + "\n";
        super::render::write_atomically(path, text.as_bytes())?;
        console.note(&format!(
            "plan saved to `{}`: `lunora deploy --plan {}` executes exactly this",
            path.display(),
            path.display()
        ));
    }
    Ok(PlanReport {
        plan,
        detailed_exitcode,
        color: console.color_stdout,
        width: crate::screen::width(wide, crate::screen::Stream::Stdout),
    })
}

fn action_word(a: StackAction) -> &'static str {
    match a {
        StackAction::Create => "create",
        StackAction::Update => "update",
        StackAction::NoChange => "no changes",
        StackAction::Delete => "delete",
    }
}

fn action_sign(a: StackAction) -> char {
    match a {
        StackAction::Create => '+',
        StackAction::Update => '~',
        StackAction::NoChange => ' ',
        StackAction::Delete => '-',
    }
}

fn resource_sign(a: ResourceAction) -> &'static str {
    match a {
        ResourceAction::Add => "+",
        ResourceAction::Modify => "~",
        ResourceAction::MayReplace => "~/+-",
        ResourceAction::Replace => "+-",
        ResourceAction::Remove => "-",
    }
}

fn resource_summary(s: &StackPlan) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &s.resources {
        let word = match r.action {
            ResourceAction::Add => "to add",
            ResourceAction::Modify => "to modify",
            ResourceAction::MayReplace => "may be replaced",
            ResourceAction::Replace => "to replace",
            ResourceAction::Remove => "to remove",
        };
        *by.entry(word).or_default() += 1;
    }
    by.iter()
        .map(|(w, n)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} to create, {} to update, {} to delete, {} unchanged (resources: {} to add, {} to modify, {} to replace, {} to remove)",
        c.create, c.update, c.delete, c.unchanged, c.add, c.modify, c.replace, c.remove
    )
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.draw(&mut text)?;
        f.write_str(&crate::screen::fit(&text, self.width))
    }
}

impl PlanReport {
    /// The plan as text, every line in full ([`fmt::Display`] fits it to
    /// the width).
    fn draw(&self, f: &mut String) -> fmt::Result {
        let p = &self.plan;
        writeln!(
            f,
            "lunora plan: `{}-{}` in {}, compared with {}",
            p.project, p.environment, p.region, p.compared_with
        )?;
        let mut stages: Vec<Option<&str>> = p.stages.iter().map(|s| Some(s.as_str())).collect();
        stages.push(None);
        for stage in stages {
            let stacks: Vec<&StackPlan> = p
                .stacks
                .iter()
                .filter(|s| s.stage.as_deref() == stage)
                .collect();
            if stacks.is_empty() {
                continue;
            }
            writeln!(f)?;
            match stage {
                Some(name) => writeln!(f, "stage `{name}`")?,
                None => writeln!(f, "not in the config any more")?,
            }
            for s in stacks {
                let summary = resource_summary(s);
                write!(
                    f,
                    "  {} `{}`: {}",
                    paint(
                        self.color,
                        sign_color(&action_sign(s.action).to_string()),
                        &action_sign(s.action).to_string()
                    ),
                    s.name,
                    action_word(s.action)
                )?;
                if !summary.is_empty() {
                    write!(f, " ({summary})")?;
                }
                writeln!(f)?;
                for note in &s.notes {
                    writeln!(f, "      note: {note}")?;
                }
                if s.action == StackAction::NoChange {
                    continue;
                }
                for r in &s.resources {
                    write!(
                        f,
                        "      {} {:<28} {}",
                        paint(
                            self.color,
                            sign_color(resource_sign(r.action)),
                            &format!("{:<4}", resource_sign(r.action))
                        ),
                        r.logical_id,
                        r.resource_type
                    )?;
                    if !r.properties.is_empty() {
                        write!(f, "  [{}]", r.properties.join(", "))?;
                    }
                    if !r.replacement_reasons.is_empty() {
                        write!(f, "  replaced because {}", r.replacement_reasons.join("; "))?;
                    }
                    writeln!(f)?;
                    // Scalar values before and after; the template diff
                    // below shows the rest.
                    for (path, change) in r
                        .property_changes
                        .iter()
                        .filter_map(|c| Some((&c.path, c.compact()?)))
                    {
                        writeln!(f, "             {path}: {change}")?;
                    }
                }
                if s.action == StackAction::Update {
                    for line in s.diff.lines() {
                        let code = match line.chars().next() {
                            Some('+') if !line.starts_with("+++") => "32",
                            Some('-') if !line.starts_with("---") => "31",
                            Some('@') => "36",
                            _ => "0",
                        };
                        writeln!(f, "      {}", paint(self.color && code != "0", code, line))?;
                    }
                }
            }
        }
        let security: Vec<(&str, &plan::SecurityChange)> = p
            .stacks
            .iter()
            .flat_map(|s| s.security.iter().map(move |c| (s.name.as_str(), c)))
            .collect();
        if !security.is_empty() {
            writeln!(f)?;
            writeln!(f, "security changes:")?;
            for (stack, c) in security {
                writeln!(
                    f,
                    "  {} {:<5} {}/{}: {}",
                    c.change, c.kind, stack, c.logical_id, c.detail
                )?;
            }
        }
        let risks = p.risks();
        if !risks.is_empty() {
            writeln!(f)?;
            writeln!(f, "risks:")?;
            for r in risks {
                let level = match r.severity {
                    Severity::Critical => paint(self.color, "1;31", "CRITICAL"),
                    Severity::Warning => paint(self.color, "33", "warning"),
                };
                writeln!(f, "  {level}: {}", r.message)?;
            }
            if p.risks().iter().any(|r| r.severity == Severity::Critical) {
                writeln!(f, "  deploy refuses the critical ones unless each is named with `--allow-replace` or `--restart-running`")?;
            }
        }
        if let Some(q) = &p.quotas {
            writeln!(f)?;
            writeln!(f, "MediaLive quotas in {} (account-wide):", q.region)?;
            write!(f, "{q}")?;
            if !q.exceeded().is_empty() {
                writeln!(f, "  deploy refuses this until the quota is raised")?;
            }
        }
        writeln!(f)?;
        if p.has_changes() {
            writeln!(f, "plan: {}", counts_line(&p.counts))
        } else {
            writeln!(f, "no changes: every stack matches the config")
        }
    }
}

impl Report for PlanReport {
    fn kind(&self) -> &'static str {
        "plan"
    }

    fn markdown(&self) -> String {
        let p = &self.plan;
        let mut out = String::new();
        let _ = writeln!(out, "<!-- lunora-plan:{}-{} -->", p.project, p.environment);
        let _ = writeln!(
            out,
            "### lunora plan: `{}-{}` ({})\n",
            p.project, p.environment, p.region
        );
        if p.has_changes() {
            let c = &p.counts;
            let _ = writeln!(
                out,
                "**{} to create · {} to update · {} to delete · {} unchanged** (resources: {} add, {} modify, {} replace, {} remove)\n",
                c.create, c.update, c.delete, c.unchanged, c.add, c.modify, c.replace, c.remove
            );
        } else {
            let _ = writeln!(out, "**No changes.** Every stack matches the config.\n");
        }
        let _ = writeln!(out, "Compared with {}.\n", p.compared_with);
        let risks = p.risks();
        let critical: Vec<_> = risks
            .iter()
            .filter(|r| r.severity == Severity::Critical)
            .collect();
        if !critical.is_empty() {
            let _ = writeln!(
                out,
                "> [!CAUTION]\n> Deploy refuses these unless each is named in an override:"
            );
            for r in critical {
                let _ = writeln!(out, "> - {}", r.message);
            }
            out.push('\n');
        }
        let warnings: Vec<_> = risks
            .iter()
            .filter(|r| r.severity == Severity::Warning)
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(out, "> [!WARNING]");
            for r in warnings {
                let _ = writeln!(out, "> - {}", r.message);
            }
            out.push('\n');
        }
        let security: Vec<_> = p
            .stacks
            .iter()
            .flat_map(|s| s.security.iter().map(move |c| (s, c)))
            .collect();
        if !security.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Security changes ({})</summary>\n",
                security.len()
            );
            let _ = writeln!(out, "| | kind | resource | change |\n|---|---|---|---|");
            for (s, c) in security {
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}`/`{}` | {} |",
                    c.change,
                    c.kind,
                    s.name,
                    c.logical_id,
                    c.detail.replace('|', "\\|")
                );
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        if let Some(q) = &p.quotas {
            if !q.exceeded().is_empty() {
                let _ = writeln!(out, "> [!CAUTION]\n> Deploy refuses this plan: a MediaLive quota would be exceeded.\n");
            }
            let _ = writeln!(
                out,
                "<details><summary>MediaLive quotas in {}</summary>\n\n{}\n</details>\n",
                q.region,
                q.markdown()
            );
        }
        for s in p.stacks.iter().filter(|s| s.changes()) {
            let summary = resource_summary(s);
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code>: {}{}</summary>\n",
                s.name,
                action_word(s.action),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(" ({summary})")
                }
            );
            if !s.resources.is_empty() {
                let _ = writeln!(
                    out,
                    "| action | logical id | type | details |\n|---|---|---|---|"
                );
                for r in &s.resources {
                    let mut details = r.properties.join(", ");
                    if !r.replacement_reasons.is_empty() {
                        details = format!("**replaced**: {}", r.replacement_reasons.join("; "));
                    }
                    for (path, change) in r
                        .property_changes
                        .iter()
                        .filter_map(|c| Some((&c.path, c.compact()?)))
                    {
                        details
                            .push_str(&format!("<br>`{path}`: `{}`", change.replace('|', "\\|")));
                    }
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | {} | {} |",
                        resource_sign(r.action),
                        r.logical_id,
                        r.resource_type,
                        details
                    );
                }
            }
            for note in &s.notes {
                let _ = writeln!(out, "\n_Note: {note}_");
            }
            if s.action == StackAction::Update && !s.diff.is_empty() {
                let _ = writeln!(out, "\n```diff\n{}```", s.diff);
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        out
    }

    fn status(&self) -> ExitStatus {
        if self.detailed_exitcode && self.plan.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        }
    }
}

/// The stacks of a deployment, by name, to stack ids.
pub fn stack_ids(deployment: &Deployment) -> BTreeMap<String, StackId> {
    deployment
        .stacks()
        .map(|id| (deployment.stack_name(id), id.clone()))
        .collect()
}
