//! The AWS boundary: every call lunora makes to AWS lives under this module.
//!
//! One [`Aws`] value holds the SDK configuration (standard credential and
//! region chain, `--profile`, `--endpoint-url`/`AWS_ENDPOINT_URL`, standard
//! retries with backoff) and the service clients. Commands get one and call
//! the functions of the submodules; nothing else in lunora imports an
//! `aws_sdk_*` crate. SDK errors are turned into messages that name the
//! call, the stack and AWS's own code and message.

pub mod cfn;
pub mod media;
pub mod quota;

use std::time::Duration;

use anyhow::Context;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::ProvideCredentials;

/// How to reach AWS: from the global command-line options.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The SDK configuration and the clients lunora uses.
#[derive(Debug, Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub medialive: aws_sdk_medialive::Client,
    pub mediaconnect: aws_sdk_mediaconnect::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub servicequotas: aws_sdk_servicequotas::Client,
    /// Set when talking to an endpoint override (an emulator).
    pub endpoint_url: Option<String>,
    /// Where templates over CloudFormation's inline limit are uploaded:
    /// bucket and key prefix.
    pub template_bucket: Option<(String, String)>,
    /// Change sets prepared for a deploy and not executed yet.
    pub pending_change_sets: cfn::PendingChangeSets,
}

impl Aws {
    /// Builds the clients for `region` (the deployment's Region; a
    /// `--region` that disagrees with it is an error, never a silent
    /// switch).
    pub async fn connect(settings: &AwsSettings, region: &str) -> anyhow::Result<Self> {
        if let Some(flag) = &settings.region {
            anyhow::ensure!(
                flag == region,
                "`--region {flag}` disagrees with the config's region `{region}` (hint: a deployment lives in one Region; change `region:` in the config)"
            );
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(200)),
            );
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        Ok(Self::from_sdk(sdk, settings.endpoint_url.clone()))
    }

    /// Clients from an existing SDK configuration (tests use this with
    /// scripted responses).
    pub fn from_sdk(sdk: SdkConfig, endpoint_url: Option<String>) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
            // Emulators serve buckets by path, not by host name.
            .force_path_style(endpoint_url.is_some())
            .build();
        Self {
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            medialive: aws_sdk_medialive::Client::new(&sdk),
            mediaconnect: aws_sdk_mediaconnect::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            servicequotas: aws_sdk_servicequotas::Client::new(&sdk),
            sdk,
            endpoint_url,
            template_bucket: None,
            pending_change_sets: cfn::PendingChangeSets::default(),
        }
    }

    /// Clients given one by one (tests script each service's responses).
    pub fn from_clients(
        sdk: SdkConfig,
        cloudformation: aws_sdk_cloudformation::Client,
        sts: aws_sdk_sts::Client,
        s3: aws_sdk_s3::Client,
        medialive: aws_sdk_medialive::Client,
    ) -> Self {
        Self {
            mediaconnect: aws_sdk_mediaconnect::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            servicequotas: aws_sdk_servicequotas::Client::new(&sdk),
            sdk,
            cloudformation,
            sts,
            s3,
            medialive,
            endpoint_url: Some("mock://".to_owned()),
            template_bucket: None,
            pending_change_sets: cfn::PendingChangeSets::default(),
        }
    }

    /// True when credentials can be found (or an endpoint override is set,
    /// where an emulator accepts any). Looks for at most a few seconds.
    pub async fn has_credentials(&self) -> bool {
        if self.endpoint_url.is_some() {
            return true;
        }
        let Some(provider) = self.sdk.credentials_provider() else {
            return false;
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), provider.provide_credentials()).await,
            Ok(Ok(_))
        )
    }

    /// The caller's account id and ARN (STS GetCallerIdentity).
    pub async fn caller(&self) -> anyhow::Result<Caller> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", e))
            .context("cannot tell which AWS account the credentials belong to")?;
        Ok(Caller {
            account_id: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
        })
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caller {
    pub account_id: String,
    pub arn: String,
}

/// AWS's code and message of an SDK error, as one line naming the call.
pub fn sdk_error<E, R>(
    call: &str,
    err: aws_sdk_cloudformation::error::SdkError<E, R>,
) -> anyhow::Error
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_cloudformation::error::SdkError;
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            anyhow::anyhow!(
                "{call} failed: {}: {}",
                e.code().unwrap_or("error"),
                e.message().unwrap_or("no message")
            )
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            anyhow::anyhow!("{call} failed: AWS could not be reached ({err})")
        }
        _ => anyhow::anyhow!("{call} failed: {err}"),
    }
}

/// The code of a service error, if it is one.
pub fn error_code<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    match err {
        aws_sdk_cloudformation::error::SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// A MediaLive channel's state (`IDLE`, `RUNNING`, ...); `None` when the
/// channel does not exist.
pub async fn channel_state(aws: &Aws, channel_id: &str) -> anyhow::Result<Option<String>> {
    match aws
        .medialive
        .describe_channel()
        .channel_id(channel_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.state().map(|s| s.as_str().to_owned())),
        Err(e) if error_code(&e) == Some("NotFoundException") => Ok(None),
        Err(e) => Err(sdk_error("medialive:DescribeChannel", e))
            .with_context(|| format!("cannot read the state of channel `{channel_id}`")),
    }
}
