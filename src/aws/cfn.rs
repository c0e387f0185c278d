//! CloudFormation calls: read stacks and templates, preview changes through
//! change sets (always deleted afterwards, empty ones included).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudformation::types::{ChangeSetStatus, ChangeSetType, Parameter, StackStatus};

use super::{error_code, sdk_error, Aws};
use crate::plan::ChangeSetChange;

/// What DescribeStacks says about a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub name: String,
    pub stack_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// Last update time, or creation time for a stack never updated.
    pub last_updated: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

impl StackInfo {
    /// `REVIEW_IN_PROGRESS` stacks exist only as a pending change set:
    /// nothing is deployed.
    pub fn is_deployed(&self) -> bool {
        self.status != StackStatus::ReviewInProgress.as_str()
            && self.status != StackStatus::DeleteComplete.as_str()
    }
}

fn is_missing_stack(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("does not exist"))
}

/// DescribeStacks for one stack; `None` when it does not exist.
pub async fn describe(aws: &Aws, name: &str) -> anyhow::Result<Option<StackInfo>> {
    let result = aws
        .cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e)
            if error_code(&e) == Some("ValidationError")
                && is_missing_stack(
                    aws_sdk_cloudformation::error::ProvideErrorMetadata::message(&e),
                ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(sdk_error("cloudformation:DescribeStacks", e))
                .with_context(|| format!("cannot read stack `{name}`"))
        }
    };
    Ok(out.stacks().first().map(stack_info))
}

/// Every stack of the account in the Region (deleted ones excluded), from
/// DescribeStacks without a stack name, page by page: each stack's status,
/// parameters and outputs in one request per page, instead of one
/// DescribeStacks per stack plus a ListStacks to find the stacks lunora
/// does not know the name of. AWS documents that this form needs
/// `cloudformation:DescribeStacks` and `cloudformation:ListStacks`, on
/// every stack (`*`), and suggests a Deny on DescribeStacks with
/// `NotResource: arn:aws:cloudformation:*:*:stack/*/*` to refuse it:
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html>.
/// `None` when IAM refuses the listing (the caller then reads the stacks
/// by name, [`describe`] and [`stack_names`]).
pub async fn describe_all(aws: &Aws) -> anyhow::Result<Option<Vec<StackInfo>>> {
    let mut stacks = Vec::new();
    let mut pages = aws.cloudformation.describe_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e)
                if super::is_access_denied(
                    error_code(&e),
                    aws_sdk_cloudformation::error::ProvideErrorMetadata::message(&e),
                ) =>
            {
                return Ok(None)
            }
            Err(e) => {
                return Err(sdk_error("cloudformation:DescribeStacks", e))
                    .context("cannot list the stacks")
            }
        };
        stacks.extend(page.stacks().iter().map(stack_info));
    }
    // Deleted stacks are not listed by AWS; a stack id seen twice (pages
    // that moved under a concurrent change) is kept once.
    stacks.retain(|s| s.status != StackStatus::DeleteComplete.as_str());
    stacks.sort_by(|a, b| a.name.cmp(&b.name));
    stacks.dedup_by(|a, b| a.stack_id == b.stack_id);
    Ok(Some(stacks))
}

/// Names of the live (not deleted) stacks whose name starts with
/// `prefix`, from ListStacks, page by page
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStacks.html>;
/// it lists deleted stacks too, for 90 days). IAM action
/// `cloudformation:ListStacks`.
pub async fn stack_names(aws: &Aws, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = aws.cloudformation.list_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let denied = super::is_access_denied(
                    error_code(&e),
                    aws_sdk_cloudformation::error::ProvideErrorMetadata::message(&e),
                );
                let err = sdk_error("cloudformation:ListStacks", e);
                return Err(if denied {
                    anyhow::anyhow!("{err:#} (hint: allow cloudformation:ListStacks, or DescribeStacks without a stack name: lunora needs one of them to find the stacks the config no longer names)")
                } else {
                    err
                });
            }
        };
        for s in page.stack_summaries() {
            let deleted = s.stack_status() == Some(&StackStatus::DeleteComplete);
            if let Some(name) = s.stack_name().filter(|n| n.starts_with(prefix)) {
                if !deleted {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn stack_info(stack: &aws_sdk_cloudformation::types::Stack) -> StackInfo {
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| {
            Some((
                o.output_key()?.to_owned(),
                o.output_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let last_updated = stack
        .last_updated_time()
        .or(stack.creation_time())
        .map(ToString::to_string);
    StackInfo {
        name: stack.stack_name().unwrap_or_default().to_owned(),
        stack_id: stack.stack_id().unwrap_or_default().to_owned(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason().map(str::to_owned),
        last_updated,
        parameters,
        outputs,
    }
}

/// The deployed template, canonicalised the way lunora renders, so that
/// an unchanged stack compares equal byte for byte.
pub async fn template(aws: &Aws, name: &str) -> anyhow::Result<String> {
    let out = aws
        .cloudformation
        .get_template()
        .stack_name(name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:GetTemplate", e))
        .with_context(|| format!("cannot read the template of stack `{name}`"))?;
    let body = out.template_body().unwrap_or_default();
    Ok(match serde_json::from_str::<serde_json::Value>(body) {
        Ok(value) => crate::render::canonical_json(&value),
        Err(_) => body.to_owned(),
    })
}

fn parameters(p: &BTreeMap<String, String>) -> Vec<Parameter> {
    p.iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

/// A change set name unique to this run (CloudFormation names: letters,
/// digits, `-`, starting with a letter).
pub fn change_set_name(purpose: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("lunora-{purpose}-{nanos}")
}

/// Creates a change set and waits until CloudFormation has computed it.
/// Returns its ARN and its changes; a change set with no changes is
/// reported as an empty list (its FAILED status is not an error).
pub async fn create_change_set(
    aws: &Aws,
    stack: &str,
    template_body: &str,
    params: &BTreeMap<String, String>,
    kind: ChangeSetType,
    name: &str,
) -> anyhow::Result<(String, Vec<ChangeSetChange>)> {
    let request = aws
        .cloudformation
        .create_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .change_set_type(kind);
    let request = match template_url(aws, stack, template_body).await? {
        Some(url) => request.template_url(url),
        None => request.template_body(template_body),
    };
    let out = request
        .set_parameters(Some(parameters(params)))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .description("lunora")
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:CreateChangeSet", e))
        .with_context(|| format!("cannot create a change set for stack `{stack}`"))?;
    let arn = out.id().unwrap_or(name).to_owned();
    match wait_change_set(aws, stack, &arn).await {
        Ok(changes) => Ok((arn, changes)),
        Err(e) => {
            // A failed change set is deleted, so none piles up.
            let _ = delete_change_set(aws, stack, &arn).await;
            Err(e)
        }
    }
}

async fn wait_change_set(
    aws: &Aws,
    stack: &str,
    arn: &str,
) -> anyhow::Result<Vec<ChangeSetChange>> {
    let mut delay = Duration::from_millis(100);
    let limit = aws.timeouts.wait(super::Timeouts::CHANGE_SET_WAIT);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut changes = Vec::new();
        let mut status = None;
        let mut reason = None;
        let mut pages = aws
            .cloudformation
            .describe_change_set()
            .change_set_name(arn)
            .stack_name(stack)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("cloudformation:DescribeChangeSet", e))?;
            status = page.status().cloned();
            reason = page.status_reason().map(str::to_owned);
            for c in page.changes() {
                if let Some(rc) = c.resource_change() {
                    changes.push(ChangeSetChange {
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                        action: rc
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                    });
                }
            }
        }
        match status {
            Some(ChangeSetStatus::CreateComplete) => return Ok(changes),
            Some(ChangeSetStatus::Failed) => {
                let reason = reason.unwrap_or_default();
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    return Ok(Vec::new());
                }
                anyhow::bail!("the change set for stack `{stack}` failed: {reason}");
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            let status = status.map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned());
            return Err(super::TimedOut::wait(
                format!("the change set for stack `{stack}` is still {status}"),
                limit,
            )
            .into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Deletes a change set (plan never leaves one behind).
pub async fn delete_change_set(aws: &Aws, stack: &str, arn: &str) -> anyhow::Result<()> {
    aws.cloudformation
        .delete_change_set()
        .change_set_name(arn)
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:DeleteChangeSet", e))
        .with_context(|| format!("cannot delete the preview change set of stack `{stack}`"))?;
    Ok(())
}

/// What an update of a stack would change, from a change set made for the
/// purpose and deleted afterwards.
pub async fn preview_update(
    aws: &Aws,
    stack: &str,
    template_body: &str,
    params: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<ChangeSetChange>> {
    let name = change_set_name("plan");
    let result = create_change_set(
        aws,
        stack,
        template_body,
        params,
        ChangeSetType::Update,
        &name,
    )
    .await;
    // Delete it whatever happened, so that no change set piles up; the
    // name is unique, so deleting by name is safe even after a failure.
    let arn = result.as_ref().map(|(arn, _)| arn.clone()).unwrap_or(name);
    let deleted = delete_change_set(aws, stack, &arn).await;
    let (_, changes) = result?;
    deleted?;
    Ok(changes)
}

/// Change sets this process created to execute later (deploy, rollback)
/// and has not executed yet, by stack. Shared by every clone of an
/// [`Aws`]. Whatever ends a run (a refusal, a cancelled prompt, an earlier
/// stage that failed), [`discard_pending`] deletes what is left, so no
/// reviewed-but-unexecuted change set stays behind.
#[derive(Debug, Clone, Default)]
pub struct PendingChangeSets(std::sync::Arc<std::sync::Mutex<BTreeMap<String, String>>>);

impl PendingChangeSets {
    fn insert(&self, stack: &str, arn: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(stack.to_owned(), arn.to_owned());
        }
    }

    /// Takes the pending change set of `stack`, if it is still `arn`.
    fn take(&self, stack: &str, arn: &str) -> bool {
        self.0.lock().is_ok_and(|mut map| {
            if map.get(stack).is_some_and(|a| a == arn) {
                map.remove(stack);
                true
            } else {
                false
            }
        })
    }

    fn drain(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .map(|mut map| std::mem::take(&mut *map).into_iter().collect())
            .unwrap_or_default()
    }
}

/// Creates the change set a deploy will execute, and keeps it: the changes
/// shown before the deploy are the ones executed, with one change set per
/// changed stack. Returns `None` (and deletes it) when it has no changes.
/// The change set is registered as pending until [`execute_change_set`]
/// runs it or [`discard_pending`] deletes it.
pub async fn prepare_update(
    aws: &Aws,
    stack: &str,
    template_body: &str,
    params: &BTreeMap<String, String>,
) -> anyhow::Result<(Option<String>, Vec<ChangeSetChange>)> {
    let name = change_set_name("deploy");
    let (arn, changes) = create_change_set(
        aws,
        stack,
        template_body,
        params,
        ChangeSetType::Update,
        &name,
    )
    .await?;
    if changes.is_empty() {
        delete_change_set(aws, stack, &arn).await?;
        return Ok((None, changes));
    }
    aws.pending_change_sets.insert(stack, &arn);
    Ok((Some(arn), changes))
}

/// Deletes every change set prepared by [`prepare_update`] that was not
/// executed. Returns one message per change set that could not be deleted.
pub async fn discard_pending(aws: &Aws) -> Vec<String> {
    let mut failures = Vec::new();
    for (stack, arn) in aws.pending_change_sets.drain() {
        if let Err(e) = delete_change_set(aws, &stack, &arn).await {
            failures.push(format!("{e:#}"));
        }
    }
    failures
}

/// Starts executing a change set.
pub async fn execute_change_set(aws: &Aws, stack: &str, arn: &str) -> anyhow::Result<()> {
    aws.pending_change_sets.take(stack, arn);
    match aws
        .cloudformation
        .execute_change_set()
        .change_set_name(arn)
        .stack_name(stack)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // A retried call whose first attempt reached CloudFormation but
        // whose answer was lost: the change set is already executing or
        // executed, which is what was asked. (CloudFormation refuses a
        // second execution with InvalidChangeSetStatus, "cannot be
        // executed in its current ... status of [EXECUTE_...]".)
        Err(e) if already_executing(&e) => Ok(()),
        Err(e) => Err(sdk_error("cloudformation:ExecuteChangeSet", e))
            .with_context(|| format!("cannot execute the change set of stack `{stack}`")),
    }
}

/// True when ExecuteChangeSet was refused because the change set already
/// runs or ran.
fn already_executing<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    let aws_sdk_cloudformation::error::SdkError::ServiceError(s) = err else {
        return false;
    };
    let message = s.err().message().unwrap_or_default();
    matches!(
        s.err().code(),
        Some("InvalidChangeSetStatus" | "InvalidChangeSetStatusException" | "ValidationError")
    ) && (message.contains("[EXECUTE_IN_PROGRESS]") || message.contains("[EXECUTE_COMPLETE]"))
}

/// Starts deleting a stack.
pub async fn delete_stack(aws: &Aws, stack: &str) -> anyhow::Result<()> {
    aws.cloudformation
        .delete_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:DeleteStack", e))
        .with_context(|| format!("cannot delete stack `{stack}`"))?;
    Ok(())
}

/// One stack event.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct StackEvent {
    pub event_id: String,
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEvent {
    /// A failure that caused others, not one of the cancellations that
    /// follow it.
    pub fn is_causal_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
            && !self
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("cancelled") || r.contains("canceled"))
    }
}

/// Stack events newer than `seen` (ids already reported), oldest first.
pub async fn new_events(
    aws: &Aws,
    stack: &str,
    seen: &mut BTreeSet<String>,
) -> anyhow::Result<Vec<StackEvent>> {
    let out = aws
        .cloudformation
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:DescribeStackEvents", e))?;
    let mut events: Vec<StackEvent> = out
        .stack_events()
        .iter()
        .filter_map(|e| {
            let id = e.event_id()?.to_owned();
            if seen.contains(&id) {
                return None;
            }
            Some(StackEvent {
                event_id: id,
                timestamp: e.timestamp().map(ToString::to_string).unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
            })
        })
        .collect();
    events.reverse();
    for e in &events {
        seen.insert(e.event_id.clone());
    }
    Ok(events)
}

/// The ids of the events a stack has now (to report only later ones).
/// Only for a stack that exists (`stack`: its name, or its id).
pub async fn event_ids(aws: &Aws, stack: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut seen = BTreeSet::new();
    new_events(aws, stack, &mut seen).await?;
    Ok(seen)
}

/// Sets the stack policy.
pub async fn set_stack_policy(aws: &Aws, stack: &str, policy: &str) -> anyhow::Result<()> {
    aws.cloudformation
        .set_stack_policy()
        .stack_name(stack)
        .stack_policy_body(policy)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:SetStackPolicy", e))
        .with_context(|| format!("cannot set the stack policy of `{stack}`"))?;
    Ok(())
}

/// Turns termination protection on or off.
pub async fn set_termination_protection(aws: &Aws, stack: &str, on: bool) -> anyhow::Result<()> {
    aws.cloudformation
        .update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(on)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:UpdateTerminationProtection", e))
        .with_context(|| format!("cannot set termination protection on `{stack}`"))?;
    Ok(())
}

/// Recovers a stack stuck in `UPDATE_ROLLBACK_FAILED`.
pub async fn continue_update_rollback(
    aws: &Aws,
    stack: &str,
    skip: &[String],
) -> anyhow::Result<()> {
    aws.cloudformation
        .continue_update_rollback()
        .stack_name(stack)
        .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:ContinueUpdateRollback", e))
        .with_context(|| format!("cannot continue the rollback of `{stack}`"))?;
    Ok(())
}

/// Rolls back a stack left in `UPDATE_FAILED`.
pub async fn rollback_stack(aws: &Aws, stack: &str) -> anyhow::Result<()> {
    aws.cloudformation
        .rollback_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:RollbackStack", e))
        .with_context(|| format!("cannot roll back `{stack}`"))?;
    Ok(())
}

/// For a template over CloudFormation's 51,200-byte inline limit: uploads
/// it to the template bucket (content-addressed key) and returns its URL.
/// `None` for a template that fits inline.
pub async fn template_url(aws: &Aws, stack: &str, body: &str) -> anyhow::Result<Option<String>> {
    if body.len() <= crate::render::INLINE_TEMPLATE_LIMIT {
        return Ok(None);
    }
    let (bucket, prefix) = aws.template_bucket.clone().with_context(|| {
        format!("the template of `{stack}` is {} bytes, over CloudFormation's inline limit, and no template bucket is set", body.len())
    })?;
    let exists = aws.s3.head_bucket().bucket(&bucket).send().await.is_ok();
    if !exists {
        let region = aws
            .sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut create = aws.s3.create_bucket().bucket(&bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        region.as_str(),
                    ))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(|e| super::sdk_error("s3:CreateBucket", e))
            .with_context(|| format!("cannot create the template bucket `{bucket}`"))?;
    }
    let digest = crate::plan::sha256(body);
    let key = format!(
        "{prefix}templates/{stack}/{}.json",
        digest.trim_start_matches("sha256:")
    );
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.as_bytes().to_vec(),
        ))
        .content_type("application/json")
        .send()
        .await
        .map_err(|e| super::sdk_error("s3:PutObject", e))
        .with_context(|| {
            format!("cannot upload the template of `{stack}` to `s3://{bucket}/{key}`")
        })?;
    let region = aws
        .sdk
        .region()
        .map(ToString::to_string)
        .unwrap_or_else(|| "us-east-1".into());
    Ok(Some(format!(
        "https://s3.{region}.amazonaws.com/{bucket}/{key}"
    )))
}
