//! The MediaLive quota preflight end to end: the lunora binary against the
//! project's AWS emulator (MediaLive List* calls, Service Quotas for
//! MediaLive from tests/emulator/lunora_moto), through the real aws-sdk
//! clients. The example deploys 5 channels, 5 RTP push inputs and 1 input
//! security group, exactly MediaLive's default quotas.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::workspace;

use serde_json::Value;
use workspace::{example, example_without_custom, Workspace as Env};

const STACKS: [&str; 7] = [
    "lunora-player-prod-base",
    "lunora-player-prod-flow",
    "lunora-player-prod-dest-primary",
    "lunora-player-prod-dest-youtube",
    "lunora-player-prod-dest-twitch",
    "lunora-player-prod-dest-linkedin",
    "lunora-player-prod-dest-custom",
];

/// A channel someone else made in the account (not lunora's).
async fn existing_channel(env: &Env) {
    let medialive = aws_sdk_medialive::Client::new(&env.emulator.sdk_config().await);
    medialive
        .create_channel()
        .name("someone-elses-channel")
        .channel_class(aws_sdk_medialive::types::ChannelClass::SinglePipeline)
        .role_arn("arn:aws:iam::123456789012:role/other")
        .send()
        .await
        .unwrap();
}

async fn stack_exists(env: &Env, name: &str) -> bool {
    aws_sdk_cloudformation::Client::new(&env.emulator.sdk_config().await)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .is_ok()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A screen's text with its lines joined: a phrase that wrapped at 80
/// columns reads as one line.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_over_the_channel_quota_is_refused_until_the_quota_is_raised() {
    let env = Env::new(&example()).await;
    existing_channel(&env).await;

    // plan shows the check: 1 channel in use + 5 to add = 6 of 5.
    let out = env.run(&["plan"]);
    assert_eq!(out.status.code(), Some(0));
    let plan = flat(&text(&out.stdout));
    assert!(plan.contains("MediaLive quotas in us-east-1"), "{plan}");
    assert!(
        plan.contains("channels: 1 in use + 5 to add = 6 of 5 (Service Quotas (AWS default)): EXCEEDS the quota"),
        "{plan}"
    );
    assert!(
        plan.contains("push inputs: 0 in use + 5 to add = 5 of 5"),
        "{plan}"
    );
    assert!(
        plan.contains("input security groups: 0 in use + 1 to add = 1 of 5"),
        "{plan}"
    );
    assert!(
        plan.contains("deploy refuses this until the quota is raised"),
        "{plan}"
    );

    let out = env.run(&["--output", "json", "plan"]);
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let channels = &json["quotas"]["checks"][0];
    assert_eq!(channels["kind"], "channels");
    assert_eq!(channels["in_use"], 1);
    assert_eq!(channels["to_add"], 5);
    assert_eq!(channels["quota"], 5);
    assert_eq!(channels["source"], "service-quotas-default");
    assert_eq!(channels["exceeded"], true);

    let out = env.run(&["--output", "markdown", "plan"]);
    let markdown = text(&out.stdout);
    assert!(
        markdown.contains("MediaLive quotas in us-east-1"),
        "{markdown}"
    );
    assert!(markdown.contains("| Channels | 1 | 5 | 5 |"), "{markdown}");

    // deploy refuses with exit 3, naming the numbers and the quota to raise,
    // and changes nothing.
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("MediaLive quota \"Channels\""), "{err}");
    assert!(err.contains("1 in use + 5 to add = 6 of 5"), "{err}");
    assert!(err.contains("L-D1AFAF75"), "{err}");
    assert!(
        err.contains("servicequotas/home/services/medialive/quotas/L-D1AFAF75"),
        "{err}"
    );
    assert!(err.contains("to at least 6"), "{err}");
    for stack in STACKS {
        assert!(!stack_exists(&env, stack).await, "{stack} was created");
    }

    // A raised quota (Service Quotas' applied value) lets it through.
    aws_sdk_servicequotas::Client::new(&env.emulator.sdk_config().await)
        .request_service_quota_increase()
        .service_code("medialive")
        .quota_code("L-D1AFAF75")
        .desired_value(6.0)
        .send()
        .await
        .unwrap();
    let out = env.run(&["plan"]);
    let plan = flat(&text(&out.stdout));
    assert!(
        plan.contains(
            "channels: 1 in use + 5 to add = 6 of 6 (Service Quotas (applied to the account))"
        ),
        "{plan}"
    );
    assert!(!plan.contains("EXCEEDS"), "{plan}");
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    for stack in STACKS {
        assert!(stack_exists(&env, stack).await, "{stack} was not created");
    }

    // Deployed, the same config adds nothing: a plan that adds no MediaLive
    // resource cannot exceed a quota and does not count the account.
    env.emulator.clear_requests();
    let out = env.run(&["plan"]);
    assert_eq!(out.status.code(), Some(0));
    let plan = flat(&text(&out.stdout));
    assert!(!plan.contains("MediaLive quotas"), "{plan}");
    for call in ["ListChannels", "ListInputs", "ListServiceQuotas"] {
        assert_eq!(env.emulator.count(call), 0, "{call}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_within_the_quotas_passes_the_check() {
    let env = Env::new(&example()).await;
    let out = env.run(&["plan"]);
    let plan = flat(&text(&out.stdout));
    assert!(
        plan.contains("channels: 0 in use + 5 to add = 5 of 5"),
        "{plan}"
    );
    let out = env.run(&["deploy", "--yes", "--stage", "base"]);
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_answer_from_service_quotas_the_documented_defaults_are_used_and_marked() {
    // Nothing listens on port 9 of the loopback: every Service Quotas call
    // fails to connect.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .empty_test_environment()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let aws = lunora::aws::Aws::from_sdk(sdk, Some("http://127.0.0.1:9".to_owned()));
    let (quotas, notes) = lunora::aws::quota::quotas(&aws).await;
    assert_eq!(quotas.len(), 3);
    for q in &quotas {
        assert_eq!(q.value, 5, "{q:?}");
        assert_eq!(
            q.source,
            lunora::plan::quota::QuotaSource::DocumentedDefault,
            "{q:?}"
        );
    }
    let all = notes.join("\n");
    assert!(
        all.contains("servicequotas:ListServiceQuotas failed"),
        "{all}"
    );
    assert!(
        all.contains("using MediaLive's documented defaults"),
        "{all}"
    );
    let report = lunora::plan::quota::QuotaReport::new(
        "us-east-1",
        lunora::plan::quota::Usage::default(),
        quotas,
        lunora::plan::quota::Additions::default(),
        notes,
    );
    let shown = report.to_string();
    assert!(
        shown.contains("of 5 (documented default (https://docs.aws.amazon.com/medialive/latest/ug/limits.html))"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_that_adds_channels_stops_when_the_account_cannot_be_counted() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .empty_test_environment()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let aws = lunora::aws::Aws::from_sdk(sdk, Some("http://127.0.0.1:9".to_owned()));
    let desired = lunora::plan::DesiredStack {
        name: "x-dest-a".into(),
        stage: "platforms".into(),
        template: r#"{"Resources":{"Channel":{"Type":"AWS::MediaLive::Channel","Properties":{}}}}"#
            .into(),
        parameters: Default::default(),
    };
    let stack = lunora::plan::plan_stack(&desired, None);
    let desired = [desired];
    let report = lunora::aws::quota::check(&aws, "us-east-1", &[&stack], &desired).await;
    let error = report.error.clone().unwrap();
    assert!(error.contains("medialive:ListChannels failed"), "{error}");
    assert!(report.to_string().contains("not checked"), "{report}");

    let gate = lunora::ops::plan::quota_gate(Some(&report), &[&stack], &desired);
    let message = format!("{:#}", gate.unwrap_err());
    assert!(
        message.contains("could not run, nothing was changed"),
        "{message}"
    );
    assert!(message.contains("medialive:ListChannels"), "{message}");
    // A run that adds no MediaLive resource is not held up.
    let unchanged = lunora::plan::StackPlan {
        resources: Vec::new(),
        ..stack.clone()
    };
    assert!(lunora::ops::plan::quota_gate(Some(&report), &[&unchanged], &desired).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_brings_back_a_destination_checks_the_quotas_too() {
    let env = Env::new(&example()).await;
    assert_eq!(env.run(&["deploy", "--yes"]).status.code(), Some(0));
    // The next run removes `custom`: 4 channels are left.
    std::fs::write(env.config(), example_without_custom()).unwrap();
    assert_eq!(env.run(&["deploy", "--yes"]).status.code(), Some(0));
    assert!(!stack_exists(&env, "lunora-player-prod-dest-custom").await);
    // Someone else takes the fifth channel meanwhile.
    existing_channel(&env).await;

    // Rolling back would create `custom` again: 5 in use + 1 = 6 of 5.
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("channels"), "{err}");
    assert!(err.contains("quota"), "{err}");
    assert!(!stack_exists(&env, "lunora-player-prod-dest-custom").await);
}
