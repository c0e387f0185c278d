//! `lunora rollback [--to RELEASE] [--stage S]`: redeploys a recorded
//! release, the exact templates and parameters it recorded (never a
//! re-render of today's config), in reverse stage order, through the same
//! gates and progress as deploy, and records the rollback as a release.
//!
//! Stacks stuck after a failed update are recovered first:
//! `UPDATE_ROLLBACK_FAILED` through ContinueUpdateRollback, `UPDATE_FAILED`
//! through RollbackStack. The plan of what it will do is printed before it
//! acts.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;

use super::deploy::{
    blocked, confirm, record, run_stage, verdict, DeployOptions, DeployReport, StackJob,
};
use super::plan::{Plan, PlanMode, PlanReport};
use crate::aws::{cfn, Aws, AwsSettings};
use crate::output::{Console, ExitStatus};
use crate::plan::{DesiredStack, StackAction};
use crate::progress::Progress;

pub async fn run(
    config: &Path,
    to: Option<&str>,
    options: &DeployOptions,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<DeployReport> {
    let (deployment, aws, caller) = super::connect(config, settings, console, "rollback").await?;
    let store = super::open_store(&deployment, Some(&aws))?;
    let lock = super::lock(&store, &caller, "rollback", options.force_unlock, console).await?;
    let result = rollback_locked(&deployment, &aws, &store, &caller, to, options, console).await;
    lock.release().await?;
    result
}

/// Recovers the stacks in `names` that a failed update left stuck:
/// `UPDATE_ROLLBACK_FAILED` through ContinueUpdateRollback,
/// `UPDATE_FAILED` through RollbackStack, then waits for each to settle.
/// Other stacks (and missing ones) are left alone. Returns one note per
/// recovered stack; a stack that does not end in `*_COMPLETE` is an error.
/// Public so that the scripted-AWS tests (`tests/mocks.rs`) can drive it.
pub async fn recover_stuck(
    aws: &Aws,
    names: &BTreeSet<String>,
    progress: &Progress,
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    for name in names {
        let Some(info) = cfn::describe(aws, name).await? else {
            continue;
        };
        let p = progress.stack(name);
        let mut seen = cfn::event_ids(aws, name).await?;
        match info.status.as_str() {
            "UPDATE_ROLLBACK_FAILED" => {
                p.step("stuck in UPDATE_ROLLBACK_FAILED: continuing the rollback");
                cfn::continue_update_rollback(aws, name, &[]).await?;
            }
            "UPDATE_FAILED" => {
                p.step("stuck in UPDATE_FAILED: rolling it back");
                cfn::rollback_stack(aws, name).await?;
            }
            _ => continue,
        }
        let mut delay = std::time::Duration::from_millis(150);
        let limit = aws.timeouts.wait(crate::aws::Timeouts::STACK_WAIT);
        let deadline = tokio::time::Instant::now() + limit;
        let status = loop {
            for e in cfn::new_events(aws, name, &mut seen)
                .await
                .unwrap_or_default()
            {
                p.event(
                    &e.logical_id,
                    &e.resource_type,
                    &e.status,
                    e.reason.as_deref(),
                );
            }
            let status = cfn::describe(aws, name)
                .await?
                .map(|i| i.status)
                .unwrap_or_default();
            if !status.ends_with("_IN_PROGRESS") {
                break status;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(crate::aws::TimedOut::wait(
                    format!(
                        "stack `{name}` is still {status} (recovering from {})",
                        info.status
                    ),
                    limit,
                )
                .into());
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(std::time::Duration::from_secs(3));
        };
        anyhow::ensure!(
            status.ends_with("_COMPLETE"),
            "stack `{name}` could not be recovered from {}: it ended in {status}",
            info.status
        );
        p.finish(true, &format!("recovered from {} to {status}", info.status));
        notes.push(format!(
            "recovered `{name}` from {} ({status})",
            info.status
        ));
    }
    Ok(notes)
}

#[allow(clippy::too_many_arguments)]
async fn rollback_locked(
    deployment: &crate::config::Deployment,
    aws: &Aws,
    store: &crate::release::ReleaseStore,
    caller: &crate::aws::Caller,
    to: Option<&str>,
    options: &DeployOptions,
    console: &Console,
) -> anyhow::Result<DeployReport> {
    let latest = store
        .latest()
        .await?
        .context("no release is recorded yet: there is nothing to roll back to")?;
    let target = match to {
        Some(id) => store.get(id).await?,
        None => store.previous(&latest.id).await?.with_context(|| {
            format!(
                "`{}` is the only release: there is no earlier one to roll back to",
                latest.id
            )
        })?,
    };
    let progress = Progress::new(console);
    let mut names: BTreeSet<String> = target.stacks.iter().map(|s| s.name.clone()).collect();
    names.extend(latest.stacks.iter().map(|s| s.name.clone()));
    let notes = recover_stuck(aws, &names, &progress).await?;
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
    let stacks = super::plan::live_plans(aws, deployment, &desired).await?;
    let mut stages: Vec<String> = Vec::new();
    for s in &target.stacks {
        if !stages.contains(&s.stage) {
            stages.push(s.stage.clone());
        }
    }
    let plan = Plan {
        schema: crate::plan::PLAN_SCHEMA.to_owned(),
        kind: "plan".to_owned(),
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
        stacks,
    };
    console.note(&format!(
        "rollback to `{}` (latest is `{}`):",
        target.id, latest.id
    ));
    console.note(&PlanReport {
        plan: plan.clone(),
        detailed_exitcode: false,
        color: console.color,
    });
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
        return Err(super::plan::Refused(format!(
            "rollback refused, nothing was changed:\n{}",
            refused.join("\n")
        ))
        .into());
    }
    let changing: Vec<&crate::plan::StackPlan> =
        in_scope.into_iter().filter(|p| p.changes()).collect();
    if changing.is_empty() {
        return Ok(DeployReport {
            kind: "rollback",
            stacks: Vec::new(),
            release: None,
            status: "no changes: the live stacks already match the release",
            notes,
            exit: ExitStatus::Success,
        });
    }
    if !confirm(
        &format!("roll back {} stack(s) to `{}`?", changing.len(), target.id),
        options.yes,
    )? {
        anyhow::bail!("rollback cancelled; nothing was changed");
    }
    let flow_name = deployment.stack_name(&crate::config::StackId::Flow);
    let job = |p: &crate::plan::StackPlan| StackJob {
        desired: desired
            .iter()
            .find(|d| d.name == p.name)
            .cloned()
            .unwrap_or_else(|| DesiredStack {
                name: p.name.clone(),
                stage: String::new(),
                template: String::new(),
                parameters: Default::default(),
            }),
        action: p.action,
        restart_channel: None,
        is_flow: p.name == flow_name,
        allow_replace: options.allow_replace.clone(),
        flow_stack: p
            .name
            .starts_with(&format!("{}-dest-", deployment.prefix()))
            .then(|| flow_name.clone()),
        restore_primary_source: p.restore_primary_source.clone(),
    };
    let mut all = Vec::new();
    // Destinations added after the release go first: they are downstream.
    let deletes: Vec<StackJob> = changing
        .iter()
        .filter(|p| p.action == StackAction::Delete)
        .map(|p| job(p))
        .collect();
    if !deletes.is_empty() {
        progress.note(&format!(
            "removing {} stack(s) the release does not have",
            deletes.len()
        ));
        all.extend(run_stage(aws, deletes, &progress).await);
    }
    let mut done = Vec::new();
    if verdict(&all).0 == ExitStatus::Success {
        for stage in &selected {
            let jobs: Vec<StackJob> = changing
                .iter()
                .filter(|p| {
                    p.stage.as_deref() == Some(stage.as_str()) && p.action != StackAction::Delete
                })
                .map(|p| job(p))
                .collect();
            if jobs.is_empty() {
                done.push(stage.clone());
                continue;
            }
            progress.note(&format!("stage `{stage}`: {} stack(s)", jobs.len()));
            let outcomes = run_stage(aws, jobs, &progress).await;
            let ok = verdict(&outcomes).0 == ExitStatus::Success;
            all.extend(outcomes);
            if !ok {
                break;
            }
            done.push(stage.clone());
        }
    }
    let (exit, word) = verdict(&all);
    let release = if exit == ExitStatus::Success {
        Some(
            record(
                store,
                deployment,
                caller,
                &plan,
                &desired,
                &done,
                Some(&target.id),
            )
            .await?,
        )
    } else {
        None
    };
    let status = if exit == ExitStatus::Success {
        "rollback complete"
    } else {
        word
    };
    Ok(DeployReport {
        kind: "rollback",
        stacks: all,
        release,
        status,
        notes,
        exit,
    })
}
