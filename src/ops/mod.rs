//! Operations: what lunora does against live AWS, apart from how it is
//! asked or shown. An operation takes the AWS clients and values and
//! returns values; it never prints and never prompts. The faces (the CLI
//! commands in [`crate::commands`]) parse input, call an operation and
//! present its report.
//!
//! This module holds what every face needs before an operation: the
//! clients for a deployment, the caller checked against its account, the
//! release store and its deploy lock. Warnings come back as values, for
//! the face to show.

pub mod cost_actual;
pub mod deploy;
pub mod destination;
pub mod failover;
pub mod guard_records;
pub mod operate;
pub mod plan;
pub mod playlist;
pub mod rollback;
pub mod session_limit;
pub mod stacks;
pub mod status;
pub mod thumbnail;

use std::path::Path;

use crate::aws::{Aws, AwsSettings, Caller};
use crate::config::Deployment;
use crate::release::{LockGuard, ReleaseStore};

/// A refusal by a safety gate (the wrong account, a held lock, a critical
/// risk not allowed, a stale saved plan, a quota): the CLI exits 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The release store the config names (`state:`), S3 through `aws`.
pub fn open_store(deployment: &Deployment, aws: Option<&Aws>) -> anyhow::Result<ReleaseStore> {
    crate::release::open_store(deployment, aws)
}

/// Where templates too big to pass inline go: the release store's bucket
/// when it is in S3, otherwise `lunora-templates-<account>-<region>`.
pub fn template_bucket(deployment: &Deployment) -> (String, String) {
    let dir = deployment.path.parent().unwrap_or(Path::new("."));
    if let Ok(crate::release::Location::S3 { bucket, prefix }) =
        crate::release::parse_location(deployment.config.state.as_deref(), dir)
    {
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        return (bucket, prefix);
    }
    (
        format!(
            "lunora-templates-{}-{}",
            deployment.config.account_id, deployment.config.region
        ),
        String::new(),
    )
}

/// Takes the deploy lock for `command` (refused, exit 3, when another run
/// holds it). With `force_unlock`, first removes the lock another run
/// left; the warning that says whose it was comes back with the guard.
pub async fn lock(
    store: &ReleaseStore,
    caller: &Caller,
    command: &str,
    force_unlock: bool,
) -> anyhow::Result<(LockGuard, Option<String>)> {
    let mut warning = None;
    if force_unlock {
        if let Some(previous) = store.force_unlock().await? {
            warning = Some(format!(
                "removed the deploy lock held by {} since {} (--force-unlock)",
                previous.holder, previous.started_at
            ));
        }
    }
    let info =
        crate::release::LockInfo::new(caller.arn.clone(), command, time::OffsetDateTime::now_utc());
    Ok((store.acquire(info).await?, warning))
}

/// The clients for the config's Region, with the template bucket set, and
/// a warning for each Region setting lunora does not follow.
pub async fn clients(
    deployment: &Deployment,
    settings: &AwsSettings,
) -> anyhow::Result<(Aws, Vec<String>)> {
    let region = &deployment.config.region;
    let mut aws = Aws::connect(settings, region).await?;
    aws.template_bucket = Some(template_bucket(deployment));
    let warnings =
        crate::aws::credentials::region_warnings(region, settings.profile.as_deref()).await;
    Ok((aws, warnings))
}

/// The caller, for `lunora <command>`, which changes or reads AWS: there
/// must be credentials, and they must belong to the config's account.
pub async fn caller(aws: &Aws, deployment: &Deployment, command: &str) -> anyhow::Result<Caller> {
    anyhow::ensure!(
        aws.has_credentials().await,
        "`lunora {command}` needs AWS credentials (none were found; set a profile with `--profile` or the AWS_* variables)"
    );
    plan::account_guard(aws, deployment).await
}

/// A deployment ready for an operation that changes or reads AWS.
#[derive(Debug)]
pub struct Connected {
    pub deployment: Deployment,
    pub aws: Aws,
    pub caller: Caller,
    /// The Region settings lunora does not follow (the config's own
    /// warnings are `deployment.warnings`).
    pub warnings: Vec<String>,
}

/// [`clients`] and [`caller`] in one, the warnings as a value, for a face
/// that shows them with the result (a server). The CLI calls the two in
/// turn, to print the warnings before a refusal.
pub async fn connect(
    deployment: Deployment,
    settings: &AwsSettings,
    command: &str,
) -> anyhow::Result<Connected> {
    let (aws, warnings) = clients(&deployment, settings).await?;
    let caller = caller(&aws, &deployment, command).await?;
    Ok(Connected {
        deployment,
        aws,
        caller,
        warnings,
    })
}
