//! Deploy: the plan, executed stage by stage through change sets, behind
//! the safety gates, with progress, recording one release per run (at its
//! end, whether it completed, failed or was interrupted). The stack engine
//! here (a job per stack, a stage of jobs at once, the release of a run)
//! is shared with [`crate::ops::rollback`].
//!
//! The release store is checked before anything changes in AWS: a damaged
//! store refuses the run. A flow that prefers another source than the
//! config (after `lunora failover`) keeps that choice unless
//! `restore_source` is set.
//!
//! Gates ([`Refused`], nothing changed): the wrong account; another deploy
//! holding the lock; a replacement of the flow, a flow source or anything
//! MediaPackage unless named in `allow_replace`; an update of a running
//! channel unless `restart_running` (then the channel is stopped, the
//! stack updated and the channel started again, and the outcome says so);
//! a saved plan whose stacks moved since. A failed stack stops the run at
//! its stage; one that CloudFormation rolled back cleanly is
//! [`Verdict::RolledBack`], never a success.
//!
//! The face that runs a deploy shows the plan and makes the one decision,
//! go ahead or not, through [`Review`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudformation::types::ChangeSetType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::plan::{Plan, PlanFile};
use super::Refused;
use crate::aws::cfn::{self, StackEvent, StackInfo};
use crate::aws::{Aws, TimedOut};
use crate::config::Deployment;
use crate::ops::stacks::{DeployedIds, LiveStacks};
use crate::plan::{DesiredStack, RiskKind, Severity, StackAction, StackPlan};
use crate::progress::{Progress, StackProgress};
use crate::release::RunOutcome;

/// The face's part in a deploy or rollback run: what it shows of the
/// plan before the run goes ahead, the one decision (go ahead?), and
/// where the run's progress goes. The CLI shows the plan on stderr and
/// asks on the terminal (or takes `--yes`); a face with no one to ask
/// approves what it was told to run. `Sync`, so that an operation can run
/// on a task of its own (a server's).
pub trait Review: Sync {
    /// The plan the run is about to execute, after `heading` (what the
    /// run is, when it says), before any question: `question_follows`
    /// when [`Review::approve`] is asked next if no gate refuses.
    fn show(&self, heading: Option<&str>, plan: &Plan, question_follows: bool);

    /// Whether to go ahead with what `question` says (`deploy 3 stacks:
    /// 3 to create?`). `false` cancels the run; nothing was changed.
    fn approve(&self, question: &str) -> anyhow::Result<bool>;

    /// The progress of the run, asked for when it starts to change stacks
    /// (a rollback: when it starts to recover them).
    fn progress(&self) -> Progress;
}

/// Options of `deploy` (and, for the shared parts, `rollback`).
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub stage: Option<String>,
    pub plan_file: Option<PathBuf>,
    pub allow_replace: Vec<String>,
    pub restart_running: bool,
    pub force_unlock: bool,
    /// Switch a flow that prefers another source than the config (after
    /// `lunora failover`) back to the config's `primary_source`; without
    /// it, deploy and rollback keep the live choice.
    pub restore_source: bool,
}

/// How one stack went.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackOutcome {
    pub stack: String,
    pub stage: Option<String>,
    pub action: StackAction,
    /// `deployed`, `unchanged`, `deleted`, `failed`, `rolled-back`,
    /// `skipped`, `interrupted` (an AWS call or a wait timed out).
    pub result: String,
    /// The first causal failure event, when it failed.
    pub cause: Option<StackEvent>,
    pub message: Option<String>,
    /// The stack as read once it settled (a later stage needs the flow's
    /// ARN, the summary the outputs); `None` when it was not read.
    #[serde(skip)]
    pub settled: Option<StackInfo>,
}

impl StackOutcome {
    /// The stack's outputs as read once it settled.
    pub fn outputs(&self) -> Option<&BTreeMap<String, String>> {
        self.settled.as_ref().map(|i| &i.outputs)
    }
}

/// What `deploy` (or `rollback`) did.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployReport {
    /// `deploy` or `rollback`.
    #[serde(skip)]
    pub kind: &'static str,
    pub stacks: Vec<StackOutcome>,
    pub release: Option<String>,
    pub status: String,
    pub notes: Vec<String>,
    /// After a deploy that changed stacks and succeeded: the ids an
    /// operator needs, as `lunora outputs` gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<DeployedIds>,
    /// The whole run, plan and confirmation included, in seconds.
    pub elapsed_seconds: f64,
    /// How the run went, from its stacks' outcomes (the CLI's exit code).
    #[serde(skip)]
    pub verdict: Verdict,
}

impl DeployReport {
    /// A run that changed nothing.
    pub fn unchanged(kind: &'static str, status: &str, notes: Vec<String>) -> Self {
        Self {
            kind,
            stacks: Vec::new(),
            release: None,
            status: status.to_owned(),
            notes,
            outputs: None,
            elapsed_seconds: 0.0,
            verdict: Verdict::Complete,
        }
    }

    /// Sets what only the end of the run knows: its duration, from
    /// `started` (the face's start, the plan and the question included).
    pub fn finish(&mut self, started: std::time::Instant) {
        self.elapsed_seconds = started.elapsed().as_secs_f64();
    }
}

/// `7 stacks: 3 to create, 4 to update`.
pub fn changes_line(changing: &[&StackPlan]) -> String {
    let count = |a: StackAction| changing.iter().filter(|p| p.action == a).count();
    let parts: Vec<String> = [
        (StackAction::Create, "to create"),
        (StackAction::Update, "to update"),
        (StackAction::Delete, "to delete"),
    ]
    .into_iter()
    .filter(|(a, _)| count(*a) > 0)
    .map(|(a, w)| format!("{} {w}", count(a)))
    .collect();
    format!(
        "{}: {}",
        crate::progress::count(changing.len(), "stack"),
        parts.join(", ")
    )
}

/// The critical risks of the stacks in scope that the options do not
/// allow: a deploy refuses them.
pub fn blocked(plans: &[&StackPlan], options: &DeployOptions) -> Vec<String> {
    let mut out = Vec::new();
    for p in plans {
        for r in p.risks.iter().filter(|r| r.severity == Severity::Critical) {
            let allowed = match r.kind {
                RiskKind::RunningChannel => options.restart_running,
                _ => r
                    .logical_id
                    .as_ref()
                    .is_some_and(|id| options.allow_replace.iter().any(|a| a == id)),
            };
            if !allowed {
                let hint = match r.kind {
                    RiskKind::RunningChannel => "--restart-running".to_owned(),
                    _ => format!("--allow-replace {}", r.logical_id.as_deref().unwrap_or("?")),
                };
                out.push(format!("{} (allow with `{hint}`)", r.message));
            }
        }
    }
    out
}

/// The stack policy of the flow stack: no replacement of the flow or its
/// sources, ever, through an update.
pub const FLOW_STACK_POLICY: &str = r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"},{"Effect":"Deny","Action":["Update:Replace","Update:Delete"],"Principal":"*","Resource":["LogicalResourceId/Flow","LogicalResourceId/BackupSource"]}]}"#;

/// The stack policy that lets an explicitly allowed replacement through.
fn flow_policy_allowing(ids: &[String]) -> String {
    let protected: Vec<String> = ["Flow", "BackupSource"]
        .iter()
        .filter(|id| !ids.iter().any(|a| a == *id))
        .map(|id| format!("\"LogicalResourceId/{id}\""))
        .collect();
    if protected.is_empty() {
        return r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}"#.to_owned();
    }
    format!(
        r#"{{"Statement":[{{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}},{{"Effect":"Deny","Action":["Update:Replace","Update:Delete"],"Principal":"*","Resource":[{}]}}]}}"#,
        protected.join(",")
    )
}

/// One stack to bring to a template.
#[derive(Debug, Clone)]
pub struct StackJob {
    pub desired: DesiredStack,
    pub action: StackAction,
    /// Stop this channel before the update and start it after.
    pub restart_channel: Option<String>,
    pub is_flow: bool,
    pub allow_replace: Vec<String>,
    /// The stack as the plan's DescribeStacks listing read it (`None`: it
    /// does not exist): its status decides what the job does, without
    /// reading it again.
    pub live: Option<StackInfo>,
    /// For a destination stack: the flow's ARN. A new destination's flow
    /// output is disabled right after creation, so no data flows (and
    /// bills) to a channel that is not running; `lunora start` enables it.
    pub flow_arn: Option<String>,
    /// For the flow stack after `lunora failover`: the source the flow
    /// must prefer once the stack is updated. The config's `primary_source`
    /// with `--restore-source`; otherwise the live choice, which lunora
    /// puts back should the update have reset it.
    pub restore_primary_source: Option<String>,
    /// The change set the plan made and showed for this stack: executed
    /// as it is, never made again (`None`: one is made at execution, for a
    /// new stack or when the plan could not make one).
    pub change_set: Option<String>,
}

const TERMINAL_OK: [&str; 3] = ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"];
const ROLLED_BACK: [&str; 2] = ["ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"];

async fn wait_channel(aws: &Aws, channel: &str, want: &str) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    let limit = aws.timeouts.wait(crate::aws::Timeouts::MEDIA_WAIT);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let state = crate::aws::channel_state(aws, channel).await?;
        if state.as_deref() == Some(want) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut::wait(
                format!(
                    "channel `{channel}` did not reach {want} (it is {})",
                    state.as_deref().unwrap_or("gone")
                ),
                limit,
            )
            .into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// How a stack settled: its final status, the first causal failure, and
/// the stack as DescribeStacks read it then (`None` once deleted).
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub status: String,
    pub cause: Option<StackEvent>,
    pub info: Option<StackInfo>,
}

/// How many polls of the events may go by without the stack's own event
/// saying it settled before DescribeStacks is asked anyway.
const STATUS_EVERY: u32 = 10;

/// Waits for a stack to leave `*_IN_PROGRESS`, reporting its events.
///
/// The events drive the wait: CloudFormation writes an event for the stack
/// itself (its logical id is the stack's name) at every status change, and
/// DescribeStackEvents is polled for the progress lines anyway, so no
/// DescribeStacks is needed per poll
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html>).
/// Once the stack's latest own event is final, one DescribeStacks confirms
/// the status and reads the outputs the stack settled with. When the events
/// cannot be read, or say nothing final for [`STATUS_EVERY`] polls,
/// DescribeStacks is asked instead: a missed event costs time, never a
/// hang (the wait's deadline still holds). `target` is the stack's name
/// or, for a stack being deleted, its id (AWS answers for a deleted stack
/// by id only).
pub(crate) async fn wait_stack(
    aws: &Aws,
    stack: &str,
    target: &str,
    seen: &mut BTreeSet<String>,
    progress: &StackProgress,
) -> anyhow::Result<Settled> {
    let mut delay = Duration::from_millis(150);
    // The first resource that failed for its own reason; failing that, the
    // stack's own reason for rolling back (an export in use, a hook).
    let mut cause: Option<StackEvent> = None;
    let mut stack_cause: Option<StackEvent> = None;
    // The stack's status as its latest own event says.
    let mut status = String::from("IN_PROGRESS");
    let limit = aws.timeouts.wait(crate::aws::Timeouts::STACK_WAIT);
    let deadline = tokio::time::Instant::now() + limit;
    let mut polls: u32 = 0;
    loop {
        polls += 1;
        let events = cfn::new_events(aws, target, seen).await;
        let events_read = events.is_ok();
        for e in events.unwrap_or_default() {
            progress.event(
                &e.logical_id,
                &e.resource_type,
                &e.status,
                e.reason.as_deref(),
            );
            if e.logical_id == stack {
                let rolling_back =
                    e.status.contains("ROLLBACK_IN_PROGRESS") || e.status.ends_with("_FAILED");
                status.clone_from(&e.status);
                if stack_cause.is_none() && rolling_back && e.reason.is_some() {
                    stack_cause = Some(e);
                }
            } else if cause.is_none() && e.is_causal_failure() {
                cause = Some(e);
            }
        }
        let late = tokio::time::Instant::now() >= deadline;
        if !status.ends_with("_IN_PROGRESS") || !events_read || polls % STATUS_EVERY == 0 || late {
            let info = cfn::describe(aws, target).await?;
            let now = info
                .as_ref()
                .map_or("DELETE_COMPLETE", |i| i.status.as_str())
                .to_owned();
            if !now.ends_with("_IN_PROGRESS") {
                return Ok(Settled {
                    status: now,
                    cause: cause.or(stack_cause),
                    info: info.filter(|i| i.status != "DELETE_COMPLETE"),
                });
            }
            // A final event that DescribeStacks does not show yet is asked
            // about again at the next poll.
            if status.ends_with("_IN_PROGRESS") || late {
                status = now;
            }
        }
        if late {
            return Err(TimedOut::wait(format!("stack `{stack}` is still {status}"), limit).into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(3));
    }
}

fn outcome(
    job: &StackJob,
    result: &str,
    cause: Option<StackEvent>,
    message: Option<String>,
) -> StackOutcome {
    StackOutcome {
        stack: job.desired.name.clone(),
        stage: Some(job.desired.stage.clone()),
        action: job.action,
        result: result.to_owned(),
        cause,
        message,
        settled: None,
    }
}

/// Brings one stack to its desired template through a change set.
pub async fn run_job(aws: Aws, job: StackJob, progress: StackProgress) -> StackOutcome {
    match run_job_inner(&aws, &job, &progress).await {
        Ok(o) => {
            progress.finish(
                o.result != "failed" && o.result != "rolled-back",
                o.message.as_deref().unwrap_or(&o.result),
            );
            o
        }
        Err(e) => {
            let message = format!("{e:#}");
            progress.finish(false, &message);
            // A call or wait that timed out: lunora stopped, AWS may not have.
            let result = if TimedOut::find(&e).is_some() {
                "interrupted"
            } else {
                "failed"
            };
            outcome(&job, result, None, Some(message))
        }
    }
}

/// Deletes a stack and waits until it is gone, reading its events by its
/// id (`live`, as listed), which AWS answers for a deleted stack too.
async fn delete_and_wait(
    aws: &Aws,
    name: &str,
    live: Option<&StackInfo>,
    progress: &StackProgress,
) -> anyhow::Result<Settled> {
    let target = live
        .map(|i| i.stack_id.as_str())
        .filter(|id| !id.is_empty())
        .unwrap_or(name);
    let mut seen = if live.is_some() {
        cfn::event_ids(aws, target).await?
    } else {
        BTreeSet::new()
    };
    cfn::delete_stack(aws, name).await?;
    wait_stack(aws, name, target, &mut seen, progress).await
}

async fn run_job_inner(
    aws: &Aws,
    job: &StackJob,
    progress: &StackProgress,
) -> anyhow::Result<StackOutcome> {
    let name = &job.desired.name;
    if job.action == StackAction::Delete {
        progress.step("deleting");
        let Settled { status, cause, .. } =
            delete_and_wait(aws, name, job.live.as_ref(), progress).await?;
        return Ok(if status == "DELETE_COMPLETE" {
            outcome(job, "deleted", None, Some("stack deleted".into()))
        } else {
            outcome(
                job,
                "failed",
                cause,
                Some(format!("delete ended in {status}")),
            )
        });
    }
    let mut existing = job.live.clone();
    if let Some(info) = &existing {
        if info.status.ends_with("_IN_PROGRESS") && info.status != "REVIEW_IN_PROGRESS" {
            anyhow::bail!("the stack is busy ({}); wait for it to finish", info.status);
        }
        if info.status == "UPDATE_ROLLBACK_FAILED" || info.status == "UPDATE_FAILED" {
            anyhow::bail!(
                "the stack is stuck in {}; `lunora rollback` recovers it",
                info.status
            );
        }
        if info.status == "ROLLBACK_COMPLETE"
            || info.status == "REVIEW_IN_PROGRESS"
            || info.status == "ROLLBACK_FAILED"
        {
            progress.step(&format!(
                "deleting the failed stack ({}) before creating it again",
                info.status
            ));
            let Settled { status, cause, .. } =
                delete_and_wait(aws, name, Some(info), progress).await?;
            if status != "DELETE_COMPLETE" {
                return Ok(outcome(
                    job,
                    "failed",
                    cause,
                    Some(format!("could not delete the failed stack: {status}")),
                ));
            }
            existing = None;
        }
    }
    if let Some(channel) = &job.restart_channel {
        progress.step(&format!(
            "stopping channel {channel} (MediaLive edits need an idle channel)"
        ));
        aws.medialive
            .stop_channel()
            .channel_id(channel)
            .send()
            .await
            .map_err(|e| crate::aws::sdk_error("medialive:StopChannel", e))?;
        wait_channel(aws, channel, "IDLE").await?;
        // Whatever happens to the update, the channel goes back on air:
        // a failed change set or a rolled-back update leaves the old
        // settings, which the channel ran with before.
        let result = update_stack(aws, job, progress, existing.is_some()).await;
        let restarted = start_channel(aws, channel, progress).await;
        return match (result, restarted) {
            (Ok(mut o), Ok(())) => {
                o.message = Some(format!(
                    "{}; channel {channel} stopped for the update and running again",
                    o.message.unwrap_or_default()
                ));
                Ok(o)
            }
            (Ok(mut o), Err(e)) => {
                o.result = "failed".into();
                o.message = Some(format!(
                    "{}; channel {channel} was stopped for the update and did NOT start again: {e:#}",
                    o.message.unwrap_or_default()
                ));
                Ok(o)
            }
            (Err(e), Ok(())) => Err(e.context(format!(
                "the update failed; channel {channel} was stopped for it and is running again"
            ))),
            (Err(e), Err(start)) => Err(e.context(format!(
                "the update failed, and channel {channel}, stopped for it, did NOT start again: {start:#}"
            ))),
        };
    }
    let outcome = update_stack(aws, job, progress, existing.is_some()).await?;
    if let Some(source) = &job.restore_primary_source {
        if outcome.result == "deployed" || outcome.result == "unchanged" {
            return set_flow_source(aws, job, source, outcome, progress).await;
        }
    }
    Ok(outcome)
}

/// After the flow stack's update: makes the flow prefer `source`, the
/// config's (`--restore-source`) or the live choice kept from before the
/// update. A stack update may have reset the priority to the template's:
/// the emulator's flow handler re-applies `SourceFailoverConfig` on every
/// update, and whether AWS's does is UNVERIFIED, so lunora reads it back
/// (DescribeFlow) and sets it (UpdateFlow `SourceFailoverConfig.SourcePriority`)
/// only when it differs.
/// <https://docs.aws.amazon.com/mediaconnect/latest/api/API_DescribeFlow.html>
/// <https://docs.aws.amazon.com/mediaconnect/latest/api/API_UpdateFlow.html>
async fn set_flow_source(
    aws: &Aws,
    job: &StackJob,
    source: &str,
    mut outcome: StackOutcome,
    progress: &StackProgress,
) -> anyhow::Result<StackOutcome> {
    // The flow's ARN as the stack settled, or as listed when the update
    // changed nothing.
    let flow = outcome
        .outputs()
        .or(job.live.as_ref().map(|i| &i.outputs))
        .and_then(|o| o.get("FlowArn"))
        .cloned();
    let Some(flow) = flow else {
        return Ok(outcome);
    };
    let restoring = super::plan::preferred_source(&job.desired.template).as_deref() == Some(source);
    let live = crate::aws::media::describe_flow(aws, &flow)
        .await?
        .and_then(|f| f.primary_source);
    if live.as_deref() != Some(source) {
        progress.step(&format!("making the flow prefer source `{source}`"));
        crate::aws::media::set_primary_source(aws, &flow, source).await?;
        outcome.result = "deployed".into();
    }
    let said = if restoring {
        format!("the flow prefers `{source}` again, as the config says")
    } else {
        format!("the flow keeps preferring `{source}` (set by failover; `--restore-source` switches back)")
    };
    outcome.message = Some(match outcome.message.take() {
        Some(m) if outcome.result != "unchanged" => format!("{m}; {said}"),
        _ => said,
    });
    Ok(outcome)
}

/// The change set part of a job: create, execute, wait.
async fn update_stack(
    aws: &Aws,
    job: &StackJob,
    progress: &StackProgress,
    exists: bool,
) -> anyhow::Result<StackOutcome> {
    let name = &job.desired.name;
    if job.is_flow && exists {
        // Let an explicitly allowed replacement through the stack policy.
        cfn::set_stack_policy(aws, name, &flow_policy_allowing(&job.allow_replace)).await?;
    }
    let kind = if exists {
        ChangeSetType::Update
    } else {
        ChangeSetType::Create
    };
    // The events it has now, to report only the ones this update adds (a
    // new stack has none).
    let mut seen = if exists {
        cfn::event_ids(aws, name).await?
    } else {
        BTreeSet::new()
    };
    let arn = match (&job.change_set, &kind) {
        (Some(reviewed), ChangeSetType::Update) => {
            progress.step("executing the change set shown in the plan");
            reviewed.clone()
        }
        _ => {
            progress.step("creating change set");
            let change_set_name = cfn::change_set_name("deploy");
            let (arn, changes) = cfn::create_change_set(
                aws,
                name,
                &job.desired.template,
                &job.desired.parameters,
                kind.clone(),
                &change_set_name,
            )
            .await?;
            if changes.is_empty() && kind == ChangeSetType::Update {
                cfn::delete_change_set(aws, name, &arn).await?;
                return Ok(outcome(job, "unchanged", None, Some("no changes".into())));
            }
            progress.step(&format!(
                "executing change set ({})",
                crate::progress::count(changes.len(), "change")
            ));
            arn
        }
    };
    cfn::execute_change_set(aws, name, &arn).await?;
    let Settled {
        status,
        cause,
        info,
    } = wait_stack(aws, name, name, &mut seen, progress).await?;
    let outputs = info.as_ref().map(|i| &i.outputs);
    let mut result = if TERMINAL_OK.contains(&status.as_str()) {
        if job.is_flow {
            cfn::set_termination_protection(aws, name, true).await?;
            cfn::set_stack_policy(aws, name, FLOW_STACK_POLICY).await?;
        }
        if let (ChangeSetType::Create, Some(flow)) = (&kind, &job.flow_arn) {
            let output = outputs.and_then(|o| o.get("OutputArn"));
            disable_new_output(aws, flow, output, progress).await?;
        }
        outcome(job, "deployed", None, Some(status.clone()))
    } else if ROLLED_BACK.contains(&status.as_str()) {
        outcome(
            job,
            "rolled-back",
            cause,
            Some(format!("failed and rolled back cleanly ({status})")),
        )
    } else {
        outcome(job, "failed", cause, Some(format!("ended in {status}")))
    };
    result.settled = info;
    Ok(result)
}

/// Disables the flow output of a destination stack just created (rtp-fec
/// mode; MEDIACONNECT inputs have no output in the stack).
async fn disable_new_output(
    aws: &Aws,
    flow: &str,
    output: Option<&String>,
    progress: &StackProgress,
) -> anyhow::Result<()> {
    if let Some(output) = output {
        progress.step("disabling the new flow output until `lunora start`");
        crate::aws::media::set_output_enabled(aws, flow, output, false).await?;
    }
    Ok(())
}

async fn start_channel(aws: &Aws, channel: &str, progress: &StackProgress) -> anyhow::Result<()> {
    progress.step(&format!("starting channel {channel} again"));
    aws.medialive
        .start_channel()
        .channel_id(channel)
        .send()
        .await
        .map_err(|e| crate::aws::sdk_error("medialive:StartChannel", e))?;
    wait_channel(aws, channel, "RUNNING").await
}

/// Runs the jobs of one stage in parallel.
pub async fn run_stage(aws: &Aws, jobs: Vec<StackJob>, progress: &Progress) -> Vec<StackOutcome> {
    let mut set = JoinSet::new();
    for (i, job) in jobs.into_iter().enumerate() {
        let p = progress.stack(&job.desired.name);
        let aws = aws.clone();
        set.spawn(async move { (i, run_job(aws, job, p).await) });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => out.push(r),
            Err(e) => out.push((
                usize::MAX,
                StackOutcome {
                    stack: "?".into(),
                    stage: None,
                    action: StackAction::Update,
                    result: "failed".into(),
                    cause: None,
                    message: Some(format!("internal error: {e}")),
                    settled: None,
                },
            )),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

/// How a run went, from its stacks' outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Every stack deployed, unchanged or deleted (or none ran).
    #[default]
    Complete,
    /// Every stack that failed was rolled back cleanly by CloudFormation.
    RolledBack,
    /// A stack failed otherwise, or a call or wait timed out.
    Failed,
}

/// The verdict and its word for a set of outcomes.
pub fn verdict(outcomes: &[StackOutcome]) -> (Verdict, &'static str) {
    let failed: Vec<&StackOutcome> = outcomes
        .iter()
        .filter(|o| matches!(o.result.as_str(), "failed" | "rolled-back" | "interrupted"))
        .collect();
    if failed.is_empty() {
        (Verdict::Complete, "deploy complete")
    } else if failed.iter().all(|o| o.result == "rolled-back") {
        (
            Verdict::RolledBack,
            "deploy failed and was rolled back cleanly",
        )
    } else {
        (Verdict::Failed, "deploy failed")
    }
}

/// How a run ended, from its stacks' outcomes: `interrupted` when the
/// stage loop was aborted by an error or a wait hit its deadline (a stack
/// whose result is `interrupted`), `failed` when a stack failed or rolled
/// back, else `completed`.
pub fn run_outcome(outcomes: &[StackOutcome], aborted: bool) -> RunOutcome {
    if aborted || outcomes.iter().any(|o| o.result == "interrupted") {
        RunOutcome::Interrupted
    } else if outcomes
        .iter()
        .any(|o| o.result == "failed" || o.result == "rolled-back")
    {
        RunOutcome::Failed
    } else {
        RunOutcome::Completed
    }
}

/// What a deploy or rollback run did so far: each stack's outcome and the
/// stages it completed. Recorded as one release at the end of the run.
#[derive(Debug, Default)]
pub struct RunLog {
    pub outcomes: Vec<StackOutcome>,
    pub stages: Vec<String>,
}

/// The source the flow stack's job makes the flow prefer after its update:
/// the config's with `--restore-source`, otherwise the live one kept.
pub(crate) fn flow_source(p: &StackPlan) -> Option<String> {
    p.restore_primary_source
        .clone()
        .or_else(|| p.source_drift.as_ref().map(|d| d.live.clone()))
}

/// The channel id of a destination stack that must restart, if any, from
/// the outputs the listing read.
pub(crate) fn restart_channel(
    p: &StackPlan,
    listed: &LiveStacks,
    options: &DeployOptions,
) -> Option<String> {
    let running = p.risks.iter().any(|r| r.kind == RiskKind::RunningChannel);
    (running && options.restart_running)
        .then(|| {
            listed
                .get(&p.name)
                .and_then(|i| i.outputs.get("ChannelId"))
                .cloned()
        })
        .flatten()
}

/// A job for a stack of the plan: its desired template, what the listing
/// read of it, and the options that apply to it.
pub(crate) fn job_for(
    p: &StackPlan,
    desired: Option<&DesiredStack>,
    listed: &LiveStacks,
    flow_arn: Option<&String>,
    deployment: &Deployment,
    options: &DeployOptions,
) -> StackJob {
    let flow_name = deployment.stack_name(&crate::config::StackId::Flow);
    let dest_prefix = format!("{}-dest-", deployment.prefix());
    StackJob {
        desired: desired.cloned().unwrap_or_else(|| DesiredStack {
            name: p.name.clone(),
            stage: String::new(),
            template: String::new(),
            parameters: BTreeMap::new(),
        }),
        action: p.action,
        restart_channel: restart_channel(p, listed, options),
        is_flow: p.name == flow_name,
        allow_replace: options.allow_replace.clone(),
        live: listed.get(&p.name).cloned(),
        flow_arn: p
            .name
            .starts_with(&dest_prefix)
            .then(|| flow_arn.cloned())
            .flatten(),
        restore_primary_source: flow_source(p),
        change_set: p.change_set_id.clone(),
    }
}

/// The flow's ARN: as the flow stack settled in this run, else as listed.
pub(crate) fn flow_arn_after(
    outcomes: &[StackOutcome],
    listed: &LiveStacks,
    deployment: &Deployment,
) -> Option<String> {
    let flow_name = deployment.stack_name(&crate::config::StackId::Flow);
    outcomes
        .iter()
        .rev()
        .filter(|o| o.stack == flow_name)
        .find_map(|o| o.outputs()?.get("FlowArn").cloned())
        .or_else(|| {
            listed
                .get(&flow_name)
                .and_then(|i| i.outputs.get("FlowArn").cloned())
        })
}

/// `git rev-parse HEAD` in the config's directory, if it is a repository.
pub fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// sha256 of the config text and every preset it uses.
pub fn config_digest(deployment: &Deployment) -> String {
    let mut text = std::fs::read_to_string(&deployment.path).unwrap_or_default();
    for d in &deployment.destinations {
        text.push_str(&serde_json::to_string(&d.preset).unwrap_or_default());
        text.push_str(&serde_json::to_string(&d.platform).unwrap_or_default());
    }
    crate::plan::sha256(&text)
}

/// After a deploy that changed stacks: the ids an operator needs, as
/// `lunora outputs` gives them, from the listing this run read and each
/// changed stack as it settled, so they cost no request. None before the
/// flow is deployed (a `--stage base` run).
fn deployed_ids(
    listed: &LiveStacks,
    outcomes: &[StackOutcome],
    deployment: &Deployment,
) -> Option<DeployedIds> {
    let mut live = listed.clone();
    for o in outcomes {
        match (&o.settled, o.result.as_str()) {
            (_, "deleted") => live.remove(&o.stack),
            (Some(info), _) => live.insert(info.clone()),
            _ => {}
        }
    }
    let stacks = crate::ops::stacks::Stacks::from_live(&live, deployment);
    stacks.ids(deployment).ok()
}

/// Deploys the config: the plan built against the live stacks (or the
/// saved plan in `options.plan_file`, verified), the gates, the plan shown
/// and approved through `review`, then the stages, and one release
/// recorded for the run. The caller holds the deploy lock of `store`, and
/// discards the change sets the run did not execute
/// ([`discard_unexecuted`]) whatever its end. `elapsed_seconds` is left to
/// the caller ([`DeployReport::finish`]).
pub async fn deploy(
    deployment: &Deployment,
    aws: &Aws,
    store: &crate::release::ReleaseStore,
    caller: &crate::aws::Caller,
    options: &DeployOptions,
    review: &dyn Review,
) -> anyhow::Result<DeployReport> {
    // A saved plan is read first: a file that cannot be a plan stops the
    // run before any AWS call.
    let saved: Option<PlanFile> = match &options.plan_file {
        Some(path) => {
            let file: PlanFile = serde_json::from_str(&crate::fsread::read_plan_file(path)?)
                .with_context(|| format!("`{}` is not a lunora plan file (hint: run `lunora plan --out` again with this lunora)", path.display()))?;
            let expected = crate::output::schema_id("plan");
            anyhow::ensure!(
                file.plan.schema == expected,
                "`{}` is a `{}` document, not a `{expected}` plan (hint: run `lunora plan --out` again with this lunora)",
                path.display(),
                file.plan.schema
            );
            Some(file)
        }
        None => None,
    };
    // Before anything changes in AWS (the change sets the plan makes
    // included): a damaged store would leave a live change recorded in no
    // release.
    store.check().await?;
    let super::plan::Built {
        mut plan,
        desired,
        listed,
        ..
    } = super::plan::build_with(deployment, aws, true, super::plan::ChangeSets::Keep).await?;
    if let (Some(path), Some(saved)) = (&options.plan_file, &saved) {
        // Only what was reviewed is deployed: the file must be intact and
        // be what the config renders now, and the live stacks must not
        // have moved. Then the plan made now (with the change sets it
        // keeps, and the flow's source as it is now) is the saved one, and
        // it is what runs.
        crate::plan::saved::verify(&saved.plan.report.stacks, &saved.desired, &desired).map_err(|e| {
            Refused(format!(
                "the saved plan `{}` is refused, nothing was changed: {e} (hint: run `lunora plan --out {}` again and review it)",
                path.display(),
                path.display()
            ))
        })?;
        check_saved_plan(&saved.plan.report, &plan)?;
    }
    for p in &mut plan.stacks {
        super::plan::choose_source(p, options.restore_source);
    }
    let stage_names: Vec<&str> = deployment.stages.iter().map(|s| s.name.as_str()).collect();
    let selected: Vec<&str> = match &options.stage {
        Some(s) => {
            let Some(pos) = stage_names.iter().position(|n| n == s) else {
                let guess = crate::yaml::closest(s, &stage_names)
                    .map(|best| format!("did you mean `{best}`? "))
                    .unwrap_or_default();
                anyhow::bail!(
                    "no stage is named `{s}` (hint: {guess}stages are {})",
                    stage_names.join(", ")
                );
            };
            for earlier in &stage_names[..pos] {
                let undeployed: Vec<&str> = plan
                    .stacks
                    .iter()
                    .filter(|p| {
                        p.stage.as_deref() == Some(*earlier) && p.action == StackAction::Create
                    })
                    .map(|p| p.name.as_str())
                    .collect();
                if !undeployed.is_empty() {
                    return Err(Refused(format!(
                        "stage `{s}` needs stage `{earlier}` deployed first; not deployed: {} (hint: `lunora deploy --stage {earlier}`)",
                        undeployed.join(", ")
                    ))
                    .into());
                }
            }
            vec![stage_names[pos]]
        }
        None => stage_names.clone(),
    };
    let in_scope: Vec<&StackPlan> = plan
        .stacks
        .iter()
        .filter(|p| match &p.stage {
            Some(s) => selected.contains(&s.as_str()),
            None => options.stage.is_none(),
        })
        .collect();
    let blocked = blocked(&in_scope, options);
    if !blocked.is_empty() {
        return Err(Refused(format!(
            "deploy refused, nothing was changed:\n{}",
            blocked.join("\n")
        ))
        .into());
    }
    super::plan::quota_gate(plan.quotas.as_ref(), &in_scope, &desired)?;
    let changing: Vec<&StackPlan> = in_scope.iter().copied().filter(|p| p.changes()).collect();
    if changing.is_empty() {
        return Ok(DeployReport::unchanged(
            "deploy",
            "no changes: every stack matches the config",
            source_notes(&plan),
        ));
    }
    // Show what will run, in full, before asking: for an update, the
    // change set made above is the one executed.
    review.show(None, &plan, true);
    if !review.approve(&format!("deploy {}?", changes_line(&changing)))? {
        anyhow::bail!("deploy cancelled; nothing was changed");
    }
    let progress = review.progress();
    let mut run = RunLog::default();
    let result = deploy_stages(
        deployment, aws, options, &desired, &listed, &changing, &selected, &progress, &mut run,
    )
    .await;
    let aborted = result.is_err();
    // One release per run, whatever its end, once anything was attempted.
    let release = if run.outcomes.is_empty() {
        None
    } else {
        let outcome = run_outcome(&run.outcomes, aborted);
        Some(
            record(
                store, deployment, caller, &plan, &desired, &run, outcome, None,
            )
            .await?,
        )
    };
    if let Err(e) = result {
        return Err(match release {
            Some(id) => e.context(format!(
                "the deploy was interrupted; release `{id}` records what it changed"
            )),
            None => e,
        });
    }
    let (how, word) = verdict(&run.outcomes);
    let outputs = (how == Verdict::Complete)
        .then(|| deployed_ids(&listed, &run.outcomes, deployment))
        .flatten();
    Ok(DeployReport {
        stacks: run.outcomes,
        release,
        verdict: how,
        outputs,
        ..DeployReport::unchanged("deploy", word, source_notes(&plan))
    })
}

/// What deploy does (or not) to a flow's preferred source set by
/// `lunora failover`, from the plan's risks.
pub(crate) fn source_notes(plan: &Plan) -> Vec<String> {
    plan.stacks
        .iter()
        .flat_map(|p| &p.risks)
        .filter(|r| r.kind == RiskKind::FailoverDrift)
        .map(|r| r.message.clone())
        .collect()
}

/// The stages of a deploy, then the removal of destinations no longer in
/// the config, logging every outcome and completed stage in `run`.
#[allow(clippy::too_many_arguments)]
async fn deploy_stages(
    deployment: &Deployment,
    aws: &Aws,
    options: &DeployOptions,
    desired: &[DesiredStack],
    listed: &LiveStacks,
    changing: &[&StackPlan],
    selected: &[&str],
    progress: &Progress,
    run: &mut RunLog,
) -> anyhow::Result<()> {
    let desired_by_name: BTreeMap<&str, &DesiredStack> =
        desired.iter().map(|d| (d.name.as_str(), d)).collect();
    for stage in selected {
        // A destination created in this stage needs the flow's ARN, which
        // an earlier stage may just have created.
        let flow_arn = flow_arn_after(&run.outcomes, listed, deployment);
        let jobs: Vec<StackJob> = changing
            .iter()
            .filter(|p| p.stage.as_deref() == Some(*stage))
            .filter_map(|p| {
                let d = desired_by_name.get(p.name.as_str())?;
                Some(job_for(
                    p,
                    Some(d),
                    listed,
                    flow_arn.as_ref(),
                    deployment,
                    options,
                ))
            })
            .collect();
        if jobs.is_empty() {
            continue;
        }
        progress.note(&format!("stage `{stage}`: {} stack(s)", jobs.len()));
        let outcomes = run_stage(aws, jobs, progress).await;
        let (status, _) = verdict(&outcomes);
        run.outcomes.extend(outcomes);
        if status != Verdict::Complete {
            return Ok(());
        }
        run.stages.push((*stage).to_owned());
    }
    if options.stage.is_some() {
        return Ok(());
    }
    let deletes: Vec<StackJob> = changing
        .iter()
        .filter(|p| p.action == StackAction::Delete)
        .map(|p| job_for(p, None, listed, None, deployment, options))
        .collect();
    if !deletes.is_empty() {
        progress.note(&format!(
            "removing {} destination stack(s) no longer in the config",
            deletes.len()
        ));
        run.outcomes.extend(run_stage(aws, deletes, progress).await);
    }
    Ok(())
}

/// Deletes the change sets a plan prepared and the run did not execute
/// (a refusal, a cancelled question, a stage never reached). Returns a
/// warning for each that could not be deleted.
pub async fn discard_unexecuted(aws: &Aws) -> Vec<String> {
    cfn::discard_pending(aws)
        .await
        .into_iter()
        .map(|failure| format!("an unexecuted change set is left behind: {failure}"))
        .collect()
}

/// A saved plan must still describe the live stacks.
fn check_saved_plan(saved: &Plan, now: &Plan) -> anyhow::Result<()> {
    let now_by: BTreeMap<&str, &StackPlan> =
        now.stacks.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut moved = Vec::new();
    for s in &saved.stacks {
        match now_by.get(s.name.as_str()) {
            Some(n)
                if n.live_stack_id == s.live_stack_id
                    && n.live_last_updated == s.live_last_updated
                    && n.live_template_sha256 == s.live_template_sha256 => {}
            _ => moved.push(s.name.clone()),
        }
    }
    if !moved.is_empty() {
        return Err(Refused(format!(
            "the saved plan is stale: {} changed since it was made (hint: run `lunora plan --out` again)",
            moved.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// Appends the one release of a run: the state of every stack after it.
/// A stack the run deployed (or found unchanged) is recorded with its new
/// template. A stack it did not reach, or that failed, is recorded as the
/// previous release had it: a stack that failed and rolled back is back at
/// that template, and for one that failed otherwise it is the last state
/// known good, the one to roll back to. A stack the run deleted is gone;
/// one it was to delete but did not stays as the previous release had it.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    store: &crate::release::ReleaseStore,
    deployment: &Deployment,
    caller: &crate::aws::Caller,
    plan: &Plan,
    desired: &[DesiredStack],
    run: &RunLog,
    outcome: RunOutcome,
    rollback_to: Option<&str>,
) -> anyhow::Result<String> {
    let previous = store.latest().await?;
    let result: BTreeMap<&str, &str> = run
        .outcomes
        .iter()
        .map(|o| (o.stack.as_str(), o.result.as_str()))
        .collect();
    let unchanged: BTreeSet<&str> = plan
        .stacks
        .iter()
        .filter(|p| p.action == StackAction::NoChange)
        .map(|p| p.name.as_str())
        .collect();
    let before = |name: &str| previous.as_ref().and_then(|r| r.stack(name)).cloned();
    let mut stacks = Vec::new();
    for d in desired {
        let now = unchanged.contains(d.name.as_str())
            || matches!(
                result.get(d.name.as_str()),
                Some(&"deployed" | &"unchanged")
            );
        if now {
            stacks.push(crate::release::RecordedStack::new(
                &d.name,
                &d.stage,
                &d.template,
                d.parameters.clone(),
            ));
        } else if let Some(prev) = before(&d.name) {
            stacks.push(prev);
        }
    }
    for p in plan
        .stacks
        .iter()
        .filter(|p| p.action == StackAction::Delete)
    {
        if result.get(p.name.as_str()) != Some(&"deleted") {
            if let Some(prev) = before(&p.name) {
                if !stacks.iter().any(|s| s.name == prev.name) {
                    stacks.push(prev);
                }
            }
        }
    }
    let stages = run.stages.clone();
    let kind = match rollback_to {
        Some(to) => crate::release::ReleaseKind::Rollback {
            to: to.to_owned(),
            stages,
        },
        None => crate::release::ReleaseKind::Deploy { stages },
    };
    let release = crate::release::Release::new(
        crate::release::NewRelease {
            sequence: store.next_sequence().await?,
            kind,
            outcome,
            caller_arn: caller.arn.clone(),
            account_id: caller.account_id.clone(),
            region: deployment.config.region.clone(),
            project: deployment.config.project.clone(),
            environment: deployment.config.environment.clone(),
            git_commit: git_commit(deployment.path.parent().unwrap_or(Path::new("."))),
            config_digest: config_digest(deployment),
            stacks,
        },
        time::OffsetDateTime::now_utc(),
    )?;
    store.append(&release).await?;
    Ok(release.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the operations' futures are `Send`: a server
    /// face runs them on tasks of their own.
    #[allow(dead_code)]
    fn the_operations_can_run_on_a_task(
        deployment: &Deployment,
        aws: &Aws,
        store: &crate::release::ReleaseStore,
        caller: &crate::aws::Caller,
        options: &DeployOptions,
        review: &dyn Review,
    ) {
        fn send<T: Send>(_: &T) {}
        send(&deploy(deployment, aws, store, caller, options, review));
        send(&crate::ops::rollback::rollback(
            deployment, aws, store, caller, None, options, review,
        ));
        send(&crate::ops::plan::build(deployment, aws, true));
    }

    fn done(result: &str) -> StackOutcome {
        StackOutcome {
            stack: "s".into(),
            stage: Some("flow".into()),
            action: StackAction::Update,
            result: result.into(),
            cause: None,
            message: None,
            settled: None,
        }
    }

    #[test]
    fn a_run_is_completed_failed_or_interrupted() {
        let ok = [done("deployed"), done("unchanged"), done("deleted")];
        assert_eq!(run_outcome(&ok, false), RunOutcome::Completed);
        assert_eq!(run_outcome(&ok, true), RunOutcome::Interrupted);
        for failed in ["failed", "rolled-back"] {
            assert_eq!(
                run_outcome(&[done("deployed"), done(failed)], false),
                RunOutcome::Failed
            );
        }
        // A wait that hit its deadline outweighs a failure.
        let cut = [done("failed"), done("interrupted")];
        assert_eq!(run_outcome(&cut, false), RunOutcome::Interrupted);
        assert_eq!(verdict(&cut).0, Verdict::Failed);
        assert_eq!(verdict(&[done("interrupted")]).0, Verdict::Failed);
    }
}
