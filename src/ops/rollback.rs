//! Rollback: redeploys a recorded release, the exact templates and parameters it recorded (never a
//! re-render of today's config), in reverse stage order, through the same
//! gates and progress as deploy (`--restart-running` stops, updates and
//! starts a running channel exactly as deploy does; the flow keeps its
//! live preferred source unless `--restore-source`), and records the
//! rollback run as one release, whatever its outcome.
//!
//! Without `--to`, the target is the release before the latest run: every
//! stack goes back to where it was before it, even when that run was
//! recorded stage by stage (schema 1 records, see
//! [`crate::release::continues_run`]). The release store is checked before
//! anything changes.
//!
//! Stacks stuck after a failed update are recovered first:
//! `UPDATE_ROLLBACK_FAILED` through ContinueUpdateRollback, `UPDATE_FAILED`
//! through RollbackStack. The plan of what it will do is printed before it
//! acts.

//!
//! The face that runs a rollback shows the plan and makes the one
//! decision through [`Review`].

use std::collections::BTreeSet;

use anyhow::Context;
use tokio::task::JoinSet;

use super::deploy::{
    blocked, changes_line, flow_arn_after, job_for, record, run_outcome, run_stage, source_notes,
    verdict, wait_stack, DeployOptions, DeployReport, Review, RunLog, Settled, StackJob, Verdict,
};
use super::plan::{Plan, PlanMode};
use super::Refused;
use crate::aws::cfn::{self, StackInfo};
use crate::aws::Aws;
use crate::ops::stacks::LiveStacks;
use crate::plan::{DesiredStack, StackAction};
use crate::progress::Progress;

/// Recovers the stacks among `stacks` (as the listing read them) that a
/// failed update left stuck: `UPDATE_ROLLBACK_FAILED` through
/// ContinueUpdateRollback, `UPDATE_FAILED` through RollbackStack, all at
/// once, then waits for each to settle. Other stacks cost no request.
/// Returns one note per recovered stack and each recovered stack as read
/// once it settled; a stack that does not end in `*_COMPLETE` is an
/// error. Public so that the scripted-AWS tests (`tests/mocks.rs`) can
/// drive it.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html>
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html>
pub async fn recover_stuck(
    aws: &Aws,
    stacks: &[StackInfo],
    progress: &Progress,
) -> anyhow::Result<(Vec<String>, Vec<StackInfo>)> {
    let mut set = JoinSet::new();
    for info in stacks {
        if !matches!(
            info.status.as_str(),
            "UPDATE_ROLLBACK_FAILED" | "UPDATE_FAILED"
        ) {
            continue;
        }
        let (aws, info) = (aws.clone(), info.clone());
        let p = progress.stack(&info.name);
        set.spawn(async move {
            let name = info.name.clone();
            let result = recover_one(&aws, &info, &p).await;
            match &result {
                Ok((_, settled)) => p.finish(
                    true,
                    &format!("recovered from {} to {}", info.status, settled.status),
                ),
                Err(e) => p.finish(false, &format!("{e:#}")),
            }
            (name, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = set.join_next().await {
        done.push(joined.context("a stack recovery task failed")?);
    }
    done.sort_by(|a, b| a.0.cmp(&b.0));
    let mut notes = Vec::new();
    let mut recovered = Vec::new();
    for (_, result) in done {
        let (note, settled) = result?;
        notes.push(note);
        recovered.extend(settled.info);
    }
    Ok((notes, recovered))
}

/// Recovers one stuck stack and waits until it settles.
async fn recover_one(
    aws: &Aws,
    info: &StackInfo,
    p: &crate::progress::StackProgress,
) -> anyhow::Result<(String, Settled)> {
    let name = info.name.as_str();
    let mut seen = cfn::event_ids(aws, name).await?;
    if info.status == "UPDATE_ROLLBACK_FAILED" {
        p.step("stuck in UPDATE_ROLLBACK_FAILED: continuing the rollback");
        cfn::continue_update_rollback(aws, name, &[]).await?;
    } else {
        p.step("stuck in UPDATE_FAILED: rolling it back");
        cfn::rollback_stack(aws, name).await?;
    }
    let settled = wait_stack(aws, name, name, &mut seen, p)
        .await
        .with_context(|| format!("recovering `{name}` from {}", info.status))?;
    anyhow::ensure!(
        settled.status.ends_with("_COMPLETE"),
        "stack `{name}` could not be recovered from {}: it ended in {}",
        info.status,
        settled.status
    );
    let note = format!(
        "recovered `{name}` from {} ({})",
        info.status, settled.status
    );
    Ok((note, settled))
}

/// Rolls back to release `to` (default: the one before the latest run):
/// the stuck stacks recovered, the plan against the live stacks shown
/// through `review` before any gate, the gates, the question, then the
/// stacks the release does not have removed and its stages run in reverse
/// order, and the run recorded as one release. The caller holds the
/// deploy lock of `store` and discards the change sets the run did not
/// execute. `elapsed_seconds` is left to the caller.
#[allow(clippy::too_many_arguments)]
pub async fn rollback(
    deployment: &crate::config::Deployment,
    aws: &Aws,
    store: &crate::release::ReleaseStore,
    caller: &crate::aws::Caller,
    to: Option<&str>,
    options: &DeployOptions,
    review: &dyn Review,
) -> anyhow::Result<DeployReport> {
    // Before anything changes in AWS (stuck stacks are recovered first).
    store.check().await?;
    let history = store
        .latest_run()
        .await?
        .context("no release is recorded yet: there is nothing to roll back to")?;
    let latest = history.latest;
    let target = match to {
        Some(id) => store.get(id).await?,
        None => history.before.with_context(|| {
            if history.records.len() > 1 {
                format!(
                    "the records {} are one deploy run, the first in the store: there is no earlier release to roll back to",
                    history.records.join(", ")
                )
            } else {
                format!(
                    "`{}` is the only release: there is no earlier one to roll back to",
                    latest.id
                )
            }
        })?,
    };
    let progress = review.progress();
    let mut names: BTreeSet<String> = target.stacks.iter().map(|s| s.name.clone()).collect();
    names.extend(latest.stacks.iter().map(|s| s.name.clone()));
    // One listing of the live stacks; only the stuck ones are touched.
    let mut listed = LiveStacks::read(aws, deployment).await?;
    let check: Vec<StackInfo> = names
        .iter()
        .filter_map(|n| listed.get(n).cloned())
        .collect();
    let (mut notes, recovered) = recover_stuck(aws, &check, &progress).await?;
    for info in recovered {
        listed.insert(info);
    }
    let desired: Vec<DesiredStack> = target
        .stacks
        .iter()
        .map(|s| DesiredStack {
            name: s.name.clone(),
            stage: s.stage.clone(),
            template: s.template.clone(),
            parameters: s.parameters.clone(),
        })
        .collect();
    let mut stacks = super::plan::live_plans_with(
        aws,
        deployment,
        &desired,
        &listed,
        super::plan::ChangeSets::Keep,
    )
    .await?;
    for p in &mut stacks {
        super::plan::choose_source(p, options.restore_source);
    }
    let mut stages: Vec<String> = Vec::new();
    for s in &target.stacks {
        if !stages.contains(&s.stage) {
            stages.push(s.stage.clone());
        }
    }
    // A rollback can bring back destinations (channels, inputs) too: the
    // same preflight as deploy, and like plan's only when it adds some.
    let adds_media = {
        let changing: Vec<&crate::plan::StackPlan> =
            stacks.iter().filter(|s| s.changes()).collect();
        crate::plan::quota::additions(&changing, &desired)
            != crate::plan::quota::Additions::default()
    };
    let quotas = if adds_media {
        Some(super::plan::quota_check(aws, deployment, &stacks, &desired).await)
    } else {
        None
    };
    let plan = Plan {
        project: deployment.config.project.clone(),
        environment: deployment.config.environment.clone(),
        region: deployment.config.region.clone(),
        account_id: deployment.config.account_id.clone(),
        mode: PlanMode::Live,
        compared_with: format!(
            "release `{}` (rollback target) against the live stacks",
            target.id
        ),
        stages: stages.clone(),
        counts: crate::plan::counts(&stacks),
        quotas,
        stacks,
    };
    let latest_run = if history.records.len() > 1 && to.is_none() {
        format!(
            "the latest run, recorded stage by stage, is {}",
            history.records.join(", ")
        )
    } else {
        format!("latest is `{}`", latest.id)
    };
    let heading = format!("rollback to `{}` ({latest_run}):", target.id);
    notes.extend(source_notes(&plan));
    // What the rollback will change, in full, before any gate or question.
    review.show(Some(&heading), &plan, plan.has_changes());
    let selected: Vec<String> = match &options.stage {
        Some(s) => {
            anyhow::ensure!(
                stages.contains(s),
                "release `{}` has no stage `{s}` (it has {})",
                target.id,
                stages.join(", ")
            );
            vec![s.clone()]
        }
        None => stages.iter().rev().cloned().collect(),
    };
    let in_scope: Vec<&crate::plan::StackPlan> = plan
        .stacks
        .iter()
        .filter(|p| match &p.stage {
            Some(s) => selected.contains(s),
            None => options.stage.is_none(),
        })
        .collect();
    let refused = blocked(&in_scope, options);
    if !refused.is_empty() {
        return Err(Refused(format!(
            "rollback refused, nothing was changed:\n{}",
            refused.join("\n")
        ))
        .into());
    }
    super::plan::quota_gate(plan.quotas.as_ref(), &in_scope, &desired)?;
    let changing: Vec<&crate::plan::StackPlan> =
        in_scope.into_iter().filter(|p| p.changes()).collect();
    if changing.is_empty() {
        return Ok(DeployReport::unchanged(
            "rollback",
            "no changes: the live stacks already match the release",
            notes,
        ));
    }
    if !review.approve(&format!(
        "roll back to `{}` ({})?",
        target.id,
        changes_line(&changing)
    ))? {
        anyhow::bail!("rollback cancelled; nothing was changed");
    }
    // The jobs get what the listing read (the channel ids of running
    // channels to restart with `--restart-running` included), exactly as
    // deploy's.
    let job = |p: &crate::plan::StackPlan, flow_arn: Option<&String>| {
        job_for(
            p,
            desired.iter().find(|d| d.name == p.name),
            &listed,
            flow_arn,
            deployment,
            options,
        )
    };
    let mut run = RunLog::default();
    // Destinations added after the release go first: they are downstream.
    let deletes: Vec<StackJob> = changing
        .iter()
        .filter(|p| p.action == StackAction::Delete)
        .map(|p| job(p, None))
        .collect();
    if !deletes.is_empty() {
        progress.note(&format!(
            "removing {} stack(s) the release does not have",
            deletes.len()
        ));
        run.outcomes
            .extend(run_stage(aws, deletes, &progress).await);
    }
    if verdict(&run.outcomes).0 == Verdict::Complete {
        for stage in &selected {
            let flow_arn = flow_arn_after(&run.outcomes, &listed, deployment);
            let jobs: Vec<StackJob> = changing
                .iter()
                .filter(|p| {
                    p.stage.as_deref() == Some(stage.as_str()) && p.action != StackAction::Delete
                })
                .map(|p| job(p, flow_arn.as_ref()))
                .collect();
            if jobs.is_empty() {
                run.stages.push(stage.clone());
                continue;
            }
            progress.note(&format!("stage `{stage}`: {} stack(s)", jobs.len()));
            let outcomes = run_stage(aws, jobs, &progress).await;
            let ok = verdict(&outcomes).0 == Verdict::Complete;
            run.outcomes.extend(outcomes);
            if !ok {
                break;
            }
            run.stages.push(stage.clone());
        }
    }
    let (how, word) = verdict(&run.outcomes);
    // One release per rollback run, whatever its outcome.
    let release = Some(
        record(
            store,
            deployment,
            caller,
            &plan,
            &desired,
            &run,
            run_outcome(&run.outcomes, false),
            Some(&target.id),
        )
        .await?,
    );
    let status = if how == Verdict::Complete {
        "rollback complete"
    } else {
        word
    };
    Ok(DeployReport {
        stacks: run.outcomes,
        release,
        verdict: how,
        ..DeployReport::unchanged("rollback", status, notes)
    })
}
