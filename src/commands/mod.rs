//! One module per command. Each gathers its inputs, calls the core and
//! returns a report; none prints.

pub mod cost;
pub mod deploy;
pub mod failover;
pub mod man;
pub mod operate;
pub mod outputs;
pub mod plan;
pub mod presets;
pub mod releases;
pub mod render;
pub mod rollback;
pub mod schema;
pub mod serve;
pub mod status;
pub mod thumbnail;
pub mod validate;

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::config::{self, Deployment};
use crate::output::{Console, Report};

/// Text that is already formatted (completion scripts).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct RawText(pub String);

impl fmt::Display for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Report for RawText {
    fn kind(&self) -> &'static str {
        "completions"
    }

    /// A completion script, as it is.
    fn enveloped(&self) -> bool {
        false
    }

    fn markdown(&self) -> String {
        self.0.clone()
    }
}

/// The release store the config names (`state:`), S3 through `aws`.
pub fn open_store(
    deployment: &Deployment,
    aws: Option<&crate::aws::Aws>,
) -> anyhow::Result<crate::release::ReleaseStore> {
    crate::release::open_store(deployment, aws)
}

/// [`connect`] for the operating commands (status, start, stop,
/// failover, outputs), which need no caller identity.
pub(crate) async fn connect_operating(
    config: &Path,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws)> {
    let (deployment, aws, _) = connect(config, settings, console, command).await?;
    Ok((deployment, aws))
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

/// Takes the deploy lock (exit 3 when another run holds it).
pub async fn lock(
    store: &crate::release::ReleaseStore,
    caller: &crate::aws::Caller,
    command: &str,
    force_unlock: bool,
    console: &Console,
) -> anyhow::Result<crate::release::LockGuard> {
    if force_unlock {
        if let Some(previous) = store.force_unlock().await? {
            console.warn(&format!(
                "removed the deploy lock held by {} since {} (--force-unlock)",
                previous.holder, previous.started_at
            ));
        }
    }
    let info =
        crate::release::LockInfo::new(caller.arn.clone(), command, time::OffsetDateTime::now_utc());
    Ok(store.acquire(info).await?)
}

/// For the commands that change or read AWS: the validated config, the
/// clients (with the template bucket set) and the caller, after checking
/// that there are credentials and that they belong to the config's account.
pub(crate) async fn connect(
    config: &Path,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws, crate::aws::Caller)> {
    let deployment = load(config, console)?;
    connect_loaded(deployment, settings, console, command).await
}

/// [`connect_operating`] for the commands that take destination ids:
/// an unknown id fails before any AWS call.
pub(crate) async fn connect_for_destinations(
    config: &Path,
    ids: &[String],
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws)> {
    let deployment = load(config, console)?;
    deployment.check_destination_ids(ids)?;
    let (deployment, aws, _) = connect_loaded(deployment, settings, console, command).await?;
    Ok((deployment, aws))
}

/// [`connect`] with the config already loaded.
async fn connect_loaded(
    deployment: Deployment,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws, crate::aws::Caller)> {
    let aws = aws_for(&deployment, settings, console).await?;
    anyhow::ensure!(
        aws.has_credentials().await,
        "`lunora {command}` needs AWS credentials (none were found; set a profile with `--profile` or the AWS_* variables)"
    );
    let caller = plan::account_guard(&aws, &deployment).await?;
    Ok((deployment, aws, caller))
}

/// The clients for the config's Region, with the template bucket set;
/// warns about each Region setting lunora does not follow.
pub(crate) async fn aws_for(
    deployment: &Deployment,
    settings: &crate::aws::AwsSettings,
    console: &Console,
) -> anyhow::Result<crate::aws::Aws> {
    let region = &deployment.config.region;
    let mut aws = crate::aws::Aws::connect(settings, region).await?;
    aws.template_bucket = Some(template_bucket(deployment));
    // Notes from the AWS layer (e.g. a refused stack listing read stack
    // by stack instead) change no result: shown at -v only.
    let console = *console;
    if console.verbose > 0 {
        aws.notes = crate::aws::Notes::new(move |text| console.note(&text));
    }
    for w in crate::aws::credentials::region_warnings(region, settings.profile.as_deref()).await {
        console.warn(&w);
    }
    Ok(aws)
}

/// Loads and validates the config, printing its warnings on stderr.
pub fn load(path: &Path, console: &Console) -> anyhow::Result<Deployment> {
    let deployment = config::load(path)?;
    for w in &deployment.warnings {
        console.warn(w);
    }
    Ok(deployment)
}
