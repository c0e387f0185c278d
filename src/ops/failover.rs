//! The manual source switch: the operation behind `lunora failover --to
//! primary|backup` (and the HTTP server's), apart from how it is asked
//! for or shown.
//!
//! Sets the flow's `SourceFailoverConfig.SourcePriority.PrimarySource`
//! (UpdateFlow) to the named source, found by the source ARNs in the flow
//! stack's outputs and its name read back from DescribeFlow. Reads the
//! preferred (and, where CloudWatch has it, the selected) source before and
//! after. The flow then differs from its template (domain brief G10); the
//! report says so, and `plan` shows it; deploy and rollback keep it
//! unless `--restore-source`. Every switch (or no-op) is written to the
//! release store's audit trail with who asked ([`Actor`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::aws::media;
use crate::aws::Aws;
use crate::config::Deployment;
use crate::health::SourceRole;
use crate::ops::stacks::read_stacks;
pub use crate::release::Actor;
use crate::release::AuditRecord;

/// Which SRT source the flow should prefer (the CLI's `--to`, the
/// server's request body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceTarget {
    Primary,
    Backup,
}

/// The preferred and selected source at one moment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceChoice {
    /// SourcePriority.PrimarySource.
    pub preferred: Option<String>,
    /// The source in use per CloudWatch, when it has a recent datapoint.
    pub active: Option<String>,
}

/// What `failover` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailoverReport {
    pub flow_arn: String,
    /// `primary` or `backup`.
    pub to: String,
    /// The source's name on the flow.
    pub source: String,
    pub before: SourceChoice,
    pub after: SourceChoice,
    /// False when the source was already preferred.
    pub changed: bool,
    pub notes: Vec<String>,
}

/// The source in use, from the signal AWS documents for the flow's
/// failover mode (`SourceSelected` under FAILOVER, `SourceMergeActive`
/// under MERGE; see `crate::ops::status`), among (name, arn, role).
async fn active_source(
    aws: &Aws,
    flow_arn: &str,
    failover_mode: Option<&str>,
    sources: &[(String, String, SourceRole)],
) -> Option<String> {
    let arns: Vec<(String, SourceRole)> = sources.iter().map(|(_, a, r)| (a.clone(), *r)).collect();
    let queries = crate::ops::status::source_queries(flow_arn, &arns);
    let now = time::OffsetDateTime::now_utc();
    let values = media::latest_readings(aws, &queries).await.ok()?;
    sources
        .iter()
        .find(|(_, _, role)| {
            let key = crate::ops::status::in_use_key(*role, failover_mode);
            crate::health::Reading::fresh_value(values.get(&key).copied(), now)
                .is_some_and(|v| v >= 1.0)
        })
        .map(|(name, _, _)| name.clone())
}

/// Makes the flow prefer the `to` source; `by` is who asked, for the
/// audit trail.
pub async fn failover(
    aws: &Aws,
    deployment: &Deployment,
    to: SourceTarget,
    by: &Actor,
) -> anyhow::Result<FailoverReport> {
    let stacks = read_stacks(aws, deployment).await?;
    let flow_arn = stacks.flow_arn()?.to_owned();
    let outputs = stacks.flow.clone().unwrap_or_default();
    let Some(backup_arn) = outputs.get("BackupSourceArn").cloned() else {
        anyhow::bail!(
            "the flow has no backup source, so there is nothing to fail over to (hint: add `flow.backup` and `flow.failover` to the config and deploy)"
        );
    };
    let primary_arn = outputs.get("SourceArn").cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "the flow stack `{}` has no `SourceArn` output",
            stacks.flow_stack
        )
    })?;
    let info = media::describe_flow(aws, &flow_arn).await?.ok_or_else(|| {
        anyhow::anyhow!("the flow `{flow_arn}` named by the flow stack does not exist")
    })?;
    let name_of = |arn: &str, role: &str| {
        info.source(arn).map(|s| s.name.clone()).ok_or_else(|| {
            anyhow::anyhow!(
                "the flow has no {role} source `{arn}` (the flow stack's outputs name it)"
            )
        })
    };
    let primary = name_of(&primary_arn, "primary")?;
    let backup = name_of(&backup_arn, "backup")?;
    anyhow::ensure!(
        info.sources.len() >= 2,
        "the flow has no backup source, so there is nothing to fail over to"
    );
    let (target, word) = match to {
        SourceTarget::Primary => (primary.clone(), "primary"),
        SourceTarget::Backup => (backup.clone(), "backup"),
    };
    let pairs = vec![
        (primary, primary_arn, SourceRole::Primary),
        (backup, backup_arn, SourceRole::Backup),
    ];
    let mode = info.failover_mode.clone();
    let before = SourceChoice {
        preferred: info.primary_source.clone(),
        active: active_source(aws, &flow_arn, mode.as_deref(), &pairs).await,
    };
    let changed = before.preferred.as_deref() != Some(target.as_str());
    if changed {
        media::set_primary_source(aws, &flow_arn, &target).await?;
    }
    let after_info = media::describe_flow(aws, &flow_arn).await?;
    let after = SourceChoice {
        preferred: after_info.and_then(|i| i.primary_source),
        active: active_source(aws, &flow_arn, mode.as_deref(), &pairs).await,
    };
    let mut notes = Vec::new();
    let expected = deployment
        .config
        .flow
        .failover
        .as_ref()
        .and_then(|f| f.primary_source.clone())
        .or_else(|| deployment.config.flow.source.name.clone());
    if let Some(expected) = expected {
        if after.preferred.as_deref() != Some(expected.as_str()) {
            notes.push(format!(
                "the flow's SourcePriority now differs from the template; `lunora deploy` and `lunora rollback` keep this choice, and put back `primary_source` from the config (`{expected}`) only with `--restore-source`"
            ));
        } else if changed {
            notes.push(format!(
                "the flow's SourcePriority matches the template again (`{expected}`)"
            ));
        }
    }
    if after.active.is_none() {
        notes.push(
            "the source in use is n/a: CloudWatch has no datapoint of the last 3 minutes saying which source is in use (the flow may be in standby; a switch shows in CloudWatch within about a minute, then in `lunora status`)".into(),
        );
    }
    let mut record = AuditRecord::now("failover", *by);
    record.to = Some(word.into());
    record.source = Some(target.clone());
    record.changed = Some(changed);
    crate::ops::operate::audit(deployment, aws, &record, &mut notes).await;
    Ok(FailoverReport {
        flow_arn,
        to: word.into(),
        source: target,
        before,
        after,
        changed,
        notes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::SourceTarget;

    #[test]
    fn a_source_target_reads_and_writes_in_lowercase() {
        let backup: SourceTarget = serde_json::from_str("\"backup\"").unwrap();
        assert_eq!(backup, SourceTarget::Backup);
        assert_eq!(
            serde_json::to_string(&SourceTarget::Primary).unwrap(),
            "\"primary\""
        );
        assert!(serde_json::from_str::<SourceTarget>("\"Backup\"").is_err());
    }
}
