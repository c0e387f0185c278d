//! The AWS boundary: every call lunora makes to AWS lives under this module.
//!
//! One [`Aws`] value holds the SDK configuration (standard credential
//! chain, `--profile`, `--endpoint-url`/`AWS_ENDPOINT_URL`, standard
//! retries with backoff, timeouts) and the service clients. Commands get
//! one and call the functions of the submodules; nothing else in lunora
//! imports an `aws_sdk_*` crate. SDK errors are turned into messages that
//! name the call, the stack and AWS's own code and message.
//!
//! Nothing waits forever: every call has connect, read, attempt and total
//! timeouts ([`Timeouts`], `--aws-timeout`), and every wait for a stack, a
//! change set, a channel or a flow has a deadline (`--wait-timeout`). Both
//! end in a [`TimedOut`] error that names what was waited for and how long.

pub mod cfn;
pub mod credentials;
pub mod media;
pub mod quota;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::ProvideCredentials;

/// How to reach AWS: from the global command-line options.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// `--aws-timeout`: the longest one AWS call may take, retries
    /// included (default [`Timeouts::DEFAULT_CALL`]).
    pub call_timeout: Option<Duration>,
    /// `--wait-timeout`: the longest lunora waits for a stack, change set,
    /// channel or flow to settle (default: each waiter's own).
    pub wait_timeout: Option<Duration>,
}

/// How long lunora gives AWS: per call and per wait.
///
/// Per call, through the SDK's `TimeoutConfig`
/// (https://docs.aws.amazon.com/sdk-for-rust/latest/dg/timeouts.html):
/// the operation timeout bounds a call with all its retries; each attempt,
/// and the wait for the first byte of an answer (read timeout), gets a
/// third of it; connecting gets at most 5 s. A server that accepts the
/// connection and never answers therefore costs one call timeout, and the
/// command exits 1 naming the call. The default of 60 s is far above what
/// CloudFormation and MediaLive take to answer (their slow parts,
/// computing a change set or a stack update, are polled, not waited on
/// within one call), and a third of it (20 s) leaves room for a large
/// DescribeStackEvents or DescribeChangeSet page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One call, retries included.
    pub call: Duration,
    /// Overrides every waiter's deadline when set.
    pub wait: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            call: Self::DEFAULT_CALL,
            wait: None,
        }
    }
}

impl Timeouts {
    /// The default limit of one AWS call, retries included.
    pub const DEFAULT_CALL: Duration = Duration::from_secs(60);
    /// The longest connection set-up.
    pub const MAX_CONNECT: Duration = Duration::from_secs(5);
    /// Default deadline of a stack operation (create, update, delete,
    /// rollback). CloudFormation sets none of its own for updates; a
    /// MediaLive channel or MediaConnect flow takes minutes, so an hour is
    /// a stuck stack, not a slow one.
    pub const STACK_WAIT: Duration = Duration::from_secs(60 * 60);
    /// Default deadline of a change set's computation.
    pub const CHANGE_SET_WAIT: Duration = Duration::from_secs(10 * 60);
    /// Default deadline of a channel or flow state change (a channel start
    /// may take several minutes on AWS).
    pub const MEDIA_WAIT: Duration = Duration::from_secs(15 * 60);

    /// From the command-line options.
    pub fn from_settings(settings: &AwsSettings) -> Self {
        Self {
            call: settings.call_timeout.unwrap_or(Self::DEFAULT_CALL),
            wait: settings.wait_timeout,
        }
    }

    /// The SDK's timeout configuration for these limits.
    pub fn sdk_config(&self) -> TimeoutConfig {
        let attempt = self.call / 3;
        TimeoutConfig::builder()
            .connect_timeout(attempt.min(Self::MAX_CONNECT))
            .read_timeout(attempt)
            .operation_attempt_timeout(attempt)
            .operation_timeout(self.call)
            .build()
    }

    /// The deadline of a waiter whose own default is `default`.
    pub fn wait(&self, default: Duration) -> Duration {
        self.wait.unwrap_or(default)
    }
}

/// An AWS call that got no answer in time, or a wait that passed its
/// deadline. `run_job` records a stack whose error chain holds one as
/// `interrupted`: lunora stopped waiting; AWS may still be working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: gave up after {} (hint: {hint})", human(*after))]
pub struct TimedOut {
    /// What was waited for, e.g. "`cloudformation:DescribeStacks` got no
    /// answer" or "stack `x` is still UPDATE_IN_PROGRESS".
    pub what: String,
    pub after: Duration,
    pub hint: &'static str,
}

impl TimedOut {
    /// A wait that passed its deadline.
    pub fn wait(what: impl Into<String>, after: Duration) -> Self {
        Self {
            what: what.into(),
            after,
            hint: "lunora stopped waiting, AWS may still finish it; `--wait-timeout SECS` sets how long lunora waits",
        }
    }

    /// The first `TimedOut` in an error's chain.
    pub fn find(err: &anyhow::Error) -> Option<&Self> {
        err.chain().find_map(|e| e.downcast_ref::<Self>())
    }
}

/// `90 ms`, `5 s`, `2.5 s`, `60 s`, `15 min`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms >= 120_000 && ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The call timeout of this process, for messages (`sdk_error` has no
/// access to the client's configuration).
static CALL_TIMEOUT_MS: AtomicU64 = AtomicU64::new(60_000);

fn call_timeout() -> Duration {
    Duration::from_millis(CALL_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Checks an endpoint URL (`--endpoint-url`, `AWS_ENDPOINT_URL`): an
/// absolute `http` or `https` URL with a host. The SDK panics on some
/// malformed ones (an empty string among them), so lunora checks first.
pub fn check_endpoint_url(url: &str) -> anyhow::Result<()> {
    let hint = "hint: give an absolute URL such as `http://127.0.0.1:5000`, or leave `--endpoint-url` and AWS_ENDPOINT_URL unset to use AWS";
    anyhow::ensure!(!url.trim().is_empty(), "`--endpoint-url` is empty ({hint})");
    let parsed = url::Url::parse(url)
        .map_err(|e| anyhow::anyhow!("`--endpoint-url {url}` is not a valid URL: {e} ({hint})"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|h| !h.is_empty()),
        "`--endpoint-url {url}` is not an http:// or https:// URL with a host ({hint})"
    );
    Ok(())
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
    pub mediapackage: aws_sdk_mediapackage::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub servicequotas: aws_sdk_servicequotas::Client,
    /// Step Functions: the guards' session limit executions.
    pub sfn: aws_sdk_sfn::Client,
    /// Set when talking to an endpoint override (an emulator).
    pub endpoint_url: Option<String>,
    /// Where templates over CloudFormation's inline limit are uploaded:
    /// bucket and key prefix.
    pub template_bucket: Option<(String, String)>,
    /// Change sets prepared for a deploy and not executed yet.
    pub pending_change_sets: cfn::PendingChangeSets,
    /// The call and wait limits.
    pub timeouts: Timeouts,
    /// Who the credentials belong to, once asked.
    caller: std::sync::Arc<tokio::sync::OnceCell<Caller>>,
    /// Where notes for the user go (the command decides how to show them).
    pub notes: Notes,
    /// Set once DescribeStacks without a stack name has been refused: the
    /// rest of the command reads stacks by name without asking again.
    stack_listing_refused: Arc<AtomicBool>,
}

/// A sink for what the AWS layer and the operations have to tell the
/// user on the side (never data): the command installs one that prints
/// through its console, tests one that records. Without one, notes are
/// dropped.
#[derive(Clone, Default)]
pub struct Notes(Option<Arc<NoteSink>>);

type NoteSink = dyn Fn(&str) + Send + Sync;

impl Notes {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(sink)))
    }

    pub fn note(&self, text: &str) {
        if let Some(sink) = &self.0 {
            sink(text);
        }
    }
}

impl std::fmt::Debug for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notes(sink)"
        } else {
            "Notes(none)"
        })
    }
}

impl Aws {
    /// Builds the clients for `region` (the deployment's Region; a
    /// `--region` that disagrees with it is an error, never a silent
    /// switch).
    pub async fn connect(settings: &AwsSettings, region: &str) -> anyhow::Result<Self> {
        if let Some(flag) = &settings.region {
            anyhow::ensure!(
                flag == region,
                "`--region {flag}` disagrees with the config's region `{region}` (hint: a deployment lives in one Region; `--region` only guards against the wrong config; change `region:` in the config to move it)"
            );
        }
        if let Some(url) = &settings.endpoint_url {
            check_endpoint_url(url)?;
        }
        credentials::check_profile(settings.profile.as_deref()).await?;
        let timeouts = Timeouts::from_settings(settings);
        let call_ms = u64::try_from(timeouts.call.as_millis()).unwrap_or(u64::MAX);
        CALL_TIMEOUT_MS.store(call_ms, Ordering::Relaxed);
        // The config's Region, always: an explicit Region comes before
        // AWS_REGION and the profile's `region` in the SDK's chain
        // (https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html).
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(timeouts.sdk_config());
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let mut aws = Self::from_sdk(sdk, settings.endpoint_url.clone());
        aws.timeouts = timeouts;
        Ok(aws)
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
            mediapackage: aws_sdk_mediapackage::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            servicequotas: aws_sdk_servicequotas::Client::new(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            sdk,
            endpoint_url,
            template_bucket: None,
            pending_change_sets: cfn::PendingChangeSets::default(),
            timeouts: Timeouts::default(),
            caller: std::sync::Arc::default(),
            notes: Notes::default(),
            stack_listing_refused: Arc::default(),
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
            mediapackage: aws_sdk_mediapackage::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            servicequotas: aws_sdk_servicequotas::Client::new(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            sdk,
            cloudformation,
            sts,
            s3,
            medialive,
            endpoint_url: Some("mock://".to_owned()),
            template_bucket: None,
            pending_change_sets: cfn::PendingChangeSets::default(),
            timeouts: Timeouts::default(),
            caller: std::sync::Arc::default(),
            notes: Notes::default(),
            stack_listing_refused: Arc::default(),
        }
    }

    /// True when credentials can be found, endpoint override or not (an
    /// emulator accepts any, but the SDK must still find some to sign
    /// with). Looks for at most a few seconds.
    pub async fn has_credentials(&self) -> bool {
        let Some(provider) = self.sdk.credentials_provider() else {
            return false;
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), provider.provide_credentials()).await,
            Ok(Ok(_))
        )
    }

    /// True once the stack listing (DescribeStacks without a stack name)
    /// has been refused with these clients.
    pub fn stack_listing_refused(&self) -> bool {
        self.stack_listing_refused.load(Ordering::Relaxed)
    }

    /// Records that the stack listing was refused; true the first time.
    pub fn refuse_stack_listing(&self) -> bool {
        !self.stack_listing_refused.swap(true, Ordering::Relaxed)
    }

    /// The caller's account id and ARN (STS GetCallerIdentity), asked once
    /// per set of clients: the credentials do not change within a command.
    pub async fn caller(&self) -> anyhow::Result<Caller> {
        self.caller
            .get_or_try_init(|| self.ask_caller())
            .await
            .cloned()
    }

    async fn ask_caller(&self) -> anyhow::Result<Caller> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", e))
            .with_context(|| {
                let at = match &self.endpoint_url {
                    Some(url) => format!("`{url}`"),
                    None => format!(
                        "AWS in `{}`",
                        self.sdk.region().map(ToString::to_string).unwrap_or_default()
                    ),
                };
                format!("AWS credentials were found, but asking {at} which account they belong to failed")
            })?;
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
        SdkError::TimeoutError(_) => TimedOut {
            what: format!("`{call}` got no answer from AWS"),
            after: call_timeout(),
            hint: "`--aws-timeout SECS` sets the limit of one AWS call, retries included",
        }
        .into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => TimedOut {
            what: format!("`{call}` got no answer from AWS (connecting or reading timed out)"),
            after: call_timeout(),
            hint: "`--aws-timeout SECS` sets the limit of one AWS call, retries included",
        }
        .into(),
        SdkError::DispatchFailure(_) => {
            anyhow::anyhow!(
                "{call} failed: AWS could not be reached ({})",
                DisplayChain(&err)
            )
        }
        _ => anyhow::anyhow!("{call} failed: {err}"),
    }
}

/// An error and its sources on one line: `a: b: c`.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
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

/// True when an error says IAM refused the call: CloudFormation answers
/// `AccessDenied` with a message saying the caller "is not authorized to
/// perform" the action
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>).
pub fn is_access_denied(code: Option<&str>, message: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("AccessDenied") || c == "UnauthorizedOperation")
        || message.is_some_and(|m| m.contains("not authorized to perform"))
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
