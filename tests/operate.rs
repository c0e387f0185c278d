//! status, start, stop, failover and outputs end to end against the
//! project's AWS emulator (tests/emulator/): the example is deployed with
//! the lunora binary, then the operating commands run through the library
//! (`lunora::commands::{status,operate,failover,outputs}`) and their
//! effects are read back with the SDK. Each test gets its own emulator.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::workspace;

use std::collections::BTreeMap;

use lunora::aws::AwsSettings;
use lunora::cli::{ColorChoice, FailoverTarget, OutputFormat, OutputsFormat};
use lunora::ops::failover::SourceTarget;
use lunora::ops::operate::{self, Actor, UnknownDestinations};
use lunora::output::{Console, ExitStatus, Report};
use lunora::progress::{Progress, ProgressEvent};
use serde::Deserialize;
use workspace::{example, Workspace};

const PREFIX: &str = "lunora-player-prod";
const DESTS: [&str; 5] = ["primary", "youtube", "twitch", "linkedin", "custom"];

fn console() -> Console {
    Console::new(OutputFormat::Text, ColorChoice::Never, true, 0)
}

/// A workspace with the example deployed.
struct Env(Workspace);

impl std::ops::Deref for Env {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.0
    }
}

impl Env {
    /// A fresh emulator with the example's secrets and the example deployed.
    async fn deployed() -> Self {
        // The library's SDK clients take credentials from the environment.
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
        let env = Self(Workspace::new(&example()).await);
        let out = env.run(&["deploy", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "deploy failed");
        env
    }

    fn settings(&self) -> AwsSettings {
        AwsSettings {
            profile: None,
            region: None,
            endpoint_url: Some(self.emulator.endpoint_url().to_owned()),
            ..AwsSettings::default()
        }
    }

    async fn outputs(&self, stack: &str) -> BTreeMap<String, String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.emulator.sdk_config().await);
        let out = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        out.stacks()[0]
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap().to_owned(),
                    o.output_value().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn flow_arn(&self) -> String {
        self.outputs(&format!("{PREFIX}-flow")).await["FlowArn"].clone()
    }

    async fn describe_flow(&self) -> aws_sdk_mediaconnect::types::Flow {
        let mc = aws_sdk_mediaconnect::Client::new(&self.emulator.sdk_config().await);
        mc.describe_flow()
            .flow_arn(self.flow_arn().await)
            .send()
            .await
            .unwrap()
            .flow()
            .unwrap()
            .clone()
    }

    async fn flow_status(&self) -> String {
        self.describe_flow()
            .await
            .status()
            .unwrap()
            .as_str()
            .to_owned()
    }

    /// Destination id -> flow output status.
    async fn output_statuses(&self) -> BTreeMap<String, String> {
        let flow = self.describe_flow().await;
        let mut out = BTreeMap::new();
        for id in DESTS {
            let arn = self.outputs(&format!("{PREFIX}-dest-{id}")).await["OutputArn"].clone();
            let o = flow
                .outputs()
                .iter()
                .find(|o| o.output_arn() == Some(arn.as_str()))
                .unwrap();
            out.insert(
                id.to_owned(),
                o.output_status().unwrap().as_str().to_owned(),
            );
        }
        out
    }

    /// Destination id -> channel state (as DescribeChannel reports it now).
    async fn channel_states(&self) -> BTreeMap<String, String> {
        let ml = aws_sdk_medialive::Client::new(&self.emulator.sdk_config().await);
        let mut out = BTreeMap::new();
        for id in DESTS {
            let channel = self.outputs(&format!("{PREFIX}-dest-{id}")).await["ChannelId"].clone();
            let d = ml
                .describe_channel()
                .channel_id(channel)
                .send()
                .await
                .unwrap();
            out.insert(id.to_owned(), d.state().unwrap().as_str().to_owned());
        }
        out
    }

    /// The config and the clients, as a face other than the CLI has them.
    async fn engine(&self) -> (lunora::config::Deployment, lunora::aws::Aws) {
        let deployment = lunora::config::load(&self.config()).unwrap();
        let aws = lunora::aws::Aws::connect(&self.settings(), "us-east-1")
            .await
            .unwrap();
        (deployment, aws)
    }

    /// The release store's audit trail.
    async fn audit_log(&self) -> Vec<lunora::release::AuditRecord> {
        let (deployment, aws) = self.engine().await;
        let store = lunora::release::open_store(&deployment, Some(&aws)).unwrap();
        store.audit_log().await.unwrap()
    }

    async fn start(&self, ids: &[&str]) -> lunora::commands::operate::OperateReport {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        lunora::commands::operate::start(&self.config(), &ids, false, &self.settings(), &console())
            .await
            .unwrap()
    }

    async fn stop(
        &self,
        ids: &[&str],
        keep_flow: bool,
    ) -> lunora::commands::operate::OperateReport {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        lunora::commands::operate::stop(
            &self.config(),
            &ids,
            false,
            keep_flow,
            &self.settings(),
            &console(),
        )
        .await
        .unwrap()
    }
}

fn states(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_and_stop_touch_only_the_named_destinations() {
    let env = Env::deployed().await;
    assert_eq!(env.flow_status().await, "STANDBY");
    // A deploy leaves every new destination's flow output disabled: no
    // data flows (or bills) to a channel that is not running.
    let all_disabled = states(&DESTS.map(|d| (d, "DISABLED")));
    assert_eq!(env.output_statuses().await, all_disabled);

    // Unknown id: refused, names the known ones, nothing touched.
    let err = lunora::commands::operate::start(
        &env.config(),
        &["youtube".to_owned(), "tiktok".to_owned()],
        false,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("`tiktok`"), "{message}");
    assert!(
        message.contains("primary, youtube, twitch, linkedin, custom"),
        "{message}"
    );
    // A face can tell it from other failures (the server answers 404).
    let unknown = err.downcast_ref::<UnknownDestinations>().unwrap();
    assert_eq!(unknown.unknown, ["tiktok"]);
    assert_eq!(env.flow_status().await, "STANDBY");

    // Start youtube: the flow starts, youtube runs, the others stay IDLE
    // and their outputs are untouched.
    let report = env.start(&["youtube"]).await;
    assert_eq!(report.status(), ExitStatus::Success, "{report}");
    assert_eq!(report.flow.as_ref().unwrap().action, "started");
    assert_eq!(report.destinations.len(), 1);
    assert_eq!(report.destinations[0].result, "started");
    assert_eq!(report.destinations[0].output.as_deref(), Some("enabled"));
    assert_eq!(env.flow_status().await, "ACTIVE");
    assert_eq!(
        env.channel_states().await,
        states(&[
            ("primary", "IDLE"),
            ("youtube", "RUNNING"),
            ("twitch", "IDLE"),
            ("linkedin", "IDLE"),
            ("custom", "IDLE"),
        ])
    );
    assert_eq!(
        env.output_statuses().await,
        states(&[
            ("primary", "DISABLED"),
            ("youtube", "ENABLED"),
            ("twitch", "DISABLED"),
            ("linkedin", "DISABLED"),
            ("custom", "DISABLED"),
        ]),
        "starting youtube must not touch the other outputs"
    );

    // Starting it again is a no-op that says so.
    let report = env.start(&["youtube"]).await;
    assert_eq!(report.flow.as_ref().unwrap().action, "already-active");
    assert_eq!(report.destinations[0].result, "already-running");
    assert!(report.to_string().contains("already RUNNING"), "{report}");

    // Two more in parallel.
    let report = env.start(&["twitch", "primary"]).await;
    assert_eq!(report.status(), ExitStatus::Success, "{report}");
    let results: Vec<(&str, &str)> = report
        .destinations
        .iter()
        .map(|d| (d.id.as_str(), d.result.as_str()))
        .collect();
    assert_eq!(results, [("twitch", "started"), ("primary", "started")]);

    // Stop youtube: its channel idles, its output is disabled, the flow
    // keeps feeding the others.
    let report = env.stop(&["youtube"], false).await;
    assert_eq!(report.status(), ExitStatus::Success, "{report}");
    assert_eq!(report.destinations[0].result, "stopped");
    assert_eq!(report.destinations[0].output.as_deref(), Some("disabled"));
    assert_eq!(report.flow.as_ref().unwrap().action, "in-use");
    assert_eq!(env.flow_status().await, "ACTIVE");
    assert_eq!(
        env.output_statuses().await,
        states(&[
            ("primary", "ENABLED"),
            ("youtube", "DISABLED"),
            ("twitch", "ENABLED"),
            ("linkedin", "DISABLED"),
            ("custom", "DISABLED"),
        ])
    );
    assert_eq!(
        env.channel_states().await,
        states(&[
            ("primary", "RUNNING"),
            ("youtube", "IDLE"),
            ("twitch", "RUNNING"),
            ("linkedin", "IDLE"),
            ("custom", "IDLE"),
        ])
    );

    // Stopping it again is a no-op that says so.
    let report = env.stop(&["youtube"], false).await;
    assert_eq!(report.destinations[0].result, "already-stopped");
    assert_eq!(
        report.destinations[0].output.as_deref(),
        Some("already-disabled")
    );
    assert!(report.to_string().contains("already IDLE"), "{report}");

    // Starting youtube again enables its output.
    let report = env.start(&["youtube"]).await;
    assert_eq!(report.destinations[0].output.as_deref(), Some("enabled"));
    assert_eq!(
        env.output_statuses().await,
        states(&[
            ("primary", "ENABLED"),
            ("youtube", "ENABLED"),
            ("twitch", "ENABLED"),
            ("linkedin", "DISABLED"),
            ("custom", "DISABLED"),
        ])
    );

    // --keep-flow: the last channels stop, the flow stays ACTIVE.
    let report = env.stop(&["youtube", "twitch", "primary"], true).await;
    assert_eq!(report.status(), ExitStatus::Success, "{report}");
    assert_eq!(report.flow.as_ref().unwrap().action, "kept");
    assert_eq!(env.flow_status().await, "ACTIVE");

    // Without --keep-flow, stopping (already stopped) destinations with
    // nothing left running stops the flow.
    let report = env.stop(&["twitch"], false).await;
    assert_eq!(report.destinations[0].result, "already-stopped");
    assert_eq!(report.flow.as_ref().unwrap().action, "stopped");
    assert_eq!(env.flow_status().await, "STANDBY");
    assert!(env.channel_states().await.values().all(|s| s == "IDLE"));

    // Start one, stop that last one: the flow stops too.
    env.start(&["custom"]).await;
    assert_eq!(env.flow_status().await, "ACTIVE");
    let report = env.stop(&["custom"], false).await;
    assert_eq!(report.flow.as_ref().unwrap().action, "stopped", "{report}");
    assert_eq!(env.flow_status().await, "STANDBY");
    let out = env.output_statuses().await;
    assert_eq!(out["custom"], "DISABLED");

    // Every start and stop above is in the audit trail, by the CLI (the
    // refused one touched nothing and is not).
    let log = env.audit_log().await;
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["start", "start", "start", "stop", "stop", "start", "stop", "stop", "start", "stop"]
    );
    assert!(log.iter().all(|r| r.by == Actor::Cli), "{log:?}");
    assert_eq!(log[2].destinations["primary"], "started");
    assert_eq!(log[2].destinations["twitch"], "started");
    assert_eq!(log[9].flow.as_deref(), Some("stopped"));

    // The operation itself, as the HTTP server calls it: the client's
    // address lands in the session and the audit trail, the progress in
    // the channel, and nothing is printed.
    let (deployment, aws) = env.engine().await;
    let browser = Actor::Http {
        client: "198.51.100.4:61000".parse().unwrap(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let progress = Progress::to_channel(tx);
    let err = operate::start(
        &aws,
        &deployment,
        &["linkdin".to_owned()],
        false,
        &browser,
        &progress,
    )
    .await
    .unwrap_err();
    let unknown = err.downcast_ref::<UnknownDestinations>().unwrap();
    assert_eq!(unknown.unknown, ["linkdin"]);
    assert!(err.to_string().contains("did you mean `linkedin`"), "{err}");
    let ids = ["linkedin".to_owned()];
    let report = operate::start(&aws, &deployment, &ids, false, &browser, &progress)
        .await
        .unwrap();
    assert!(!report.failed(), "{report}");
    assert_eq!(report.destinations[0].result, "started");
    drop(progress);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push((e.kind, e.stack));
    }
    assert!(
        events.contains(&("done".into(), "flow".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&("done".into(), "linkedin".into())),
        "{events:?}"
    );
    let store = lunora::release::open_store(&deployment, Some(&aws)).unwrap();
    let channel = report.destinations[0].channel_id.clone().unwrap();
    let session = store.session("linkedin", &channel).await.unwrap().unwrap();
    assert_eq!(session.started_by, Some(browser));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let report = operate::stop(
        &aws,
        &deployment,
        &ids,
        false,
        false,
        &browser,
        &Progress::to_channel(tx),
    )
    .await
    .unwrap();
    assert!(!report.failed(), "{report}");
    assert_eq!(report.flow.as_ref().unwrap().action, "stopped");
    assert_eq!(store.session("linkedin", &channel).await.unwrap(), None);
    let log = env.audit_log().await;
    assert_eq!(log.len(), 12);
    for (record, action) in log[10..].iter().zip(["start", "stop"]) {
        assert_eq!(record.action, action);
        assert_eq!(record.by, browser);
        assert_eq!(record.destinations.keys().collect::<Vec<_>>(), ["linkedin"]);
    }
}

/// Mirrors the status JSON; unknown fields fail the test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StatusJson {
    schema: String,
    kind: String,
    lunora_version: String,
    generated_at: String,
    deployment: String,
    region: String,
    read_at: String,
    summary: String,
    live: LiveJson,
    ingest: IngestJson,
    destinations: Vec<DestJson>,
    check: CheckJson,
    guard_stops: Vec<serde_json::Value>,
    notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LiveJson {
    delivering: usize,
    running: usize,
    deployed: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CheckJson {
    healthy: bool,
    problems: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct IngestJson {
    verdict: String,
    reason: String,
    since: Option<String>,
    endpoint: Option<String>,
    backup_endpoint: Option<String>,
    latency_ms: Option<u32>,
    encryption: String,
    flow: FlowJson,
    active_source: Option<String>,
    active_from: Option<String>,
    sources: Vec<SourceJson>,
    feed: Option<serde_json::Value>,
    alarms: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlowJson {
    stack: String,
    name: Option<String>,
    arn: Option<String>,
    state: String,
    failover: Option<String>,
    failover_mode: Option<String>,
    preferred_source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SourceJson {
    name: String,
    role: String,
    endpoint: Option<String>,
    preferred: bool,
    state: String,
    connected: Option<bool>,
    bitrate_mbps: Option<f64>,
    not_recovered_packets: Option<f64>,
    disconnections: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DestJson {
    id: String,
    stack: String,
    presence: String,
    platform: Option<String>,
    preset: Option<String>,
    input_mode: Option<String>,
    channel_id: Option<String>,
    channel_state: Option<String>,
    output_status: Option<String>,
    verdict: String,
    reason: String,
    since: Option<String>,
    target: Option<String>,
    bitrate_mbps: Option<f64>,
    started_at: Option<String>,
    uptime_seconds: Option<u64>,
    alerts: Vec<AlertJson>,
    hls: Option<serde_json::Value>,
    alarms: BTreeMap<String, String>,
    last_guard_stop: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AlertJson {
    alert_type: String,
    message: String,
    set_at: Option<String>,
}

async fn status(env: &Env) -> StatusJson {
    let report = lunora::commands::status::run(
        &env.config(),
        lunora::commands::status::StatusOptions::default(),
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    eprintln!("{report}");
    let json: serde_json::Value =
        serde_json::from_str(&lunora::output::json_document(&report, false).unwrap()).unwrap();
    let _: lunora::commands::status::StatusReport =
        crate::common::contract::check(json.clone(), "status");
    serde_json::from_value(json).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_failover_and_outputs_read_the_stacks() {
    let env = Env::deployed().await;
    let flow_out = env.outputs(&format!("{PREFIX}-flow")).await;
    env.start(&["twitch"]).await;

    let s = status(&env).await;
    // No guards in this config: no guard stops read, none shown.
    assert!(s.guard_stops.is_empty());
    assert!(s.destinations.iter().all(|d| d.last_guard_stop.is_none()));
    assert_eq!(s.kind, "status");
    assert_eq!(s.deployment, PREFIX);
    assert_eq!(s.ingest.flow.state, "ACTIVE");
    assert_eq!(
        s.ingest.flow.arn.as_deref(),
        Some(flow_out["FlowArn"].as_str())
    );
    assert_eq!(
        s.ingest.endpoint,
        Some(format!(
            "srt://{}:{}",
            flow_out["IngestIp"], flow_out["IngestPort"]
        ))
    );
    assert_eq!(
        s.ingest.backup_endpoint,
        Some(format!(
            "srt://{}:{}",
            flow_out["BackupIngestIp"], flow_out["BackupIngestPort"]
        ))
    );
    assert_eq!(s.ingest.flow.preferred_source.as_deref(), Some("primary"));
    assert_eq!(s.ingest.flow.failover_mode.as_deref(), Some("FAILOVER"));
    assert_eq!(s.ingest.latency_ms, Some(2000));
    assert_eq!(s.ingest.sources.len(), 2);
    assert!(s.ingest.sources[0].preferred);
    // No datapoints were put: the ingest cannot be judged yet.
    assert_eq!(s.ingest.verdict, "unknown", "{}", s.ingest.reason);
    let ids: Vec<&str> = s.destinations.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, DESTS);
    let twitch = s.destinations.iter().find(|d| d.id == "twitch").unwrap();
    assert_eq!(twitch.presence, "deployed");
    assert_eq!(twitch.platform.as_deref(), Some("twitch"));
    assert_eq!(twitch.preset.as_deref(), Some("twitch-1080p60"));
    assert_eq!(twitch.channel_state.as_deref(), Some("RUNNING"));
    assert_eq!(twitch.output_status.as_deref(), Some("ENABLED"));
    assert_eq!(twitch.input_mode.as_deref(), Some("rtp-fec"));
    // No datapoints yet after the start: unknown, not delivering.
    assert_eq!(twitch.bitrate_mbps, None);
    assert_eq!(twitch.verdict, "unknown", "{}", twitch.reason);
    assert!(
        twitch.reason.contains("no metrics yet"),
        "{}",
        twitch.reason
    );
    // Uptime comes from the start time `lunora start` recorded.
    assert!(twitch.started_at.is_some(), "no start time recorded");
    assert!(
        twitch.uptime_seconds.is_some_and(|s| s < 600),
        "{:?}",
        twitch.uptime_seconds
    );
    let youtube = s.destinations.iter().find(|d| d.id == "youtube").unwrap();
    assert_eq!(youtube.channel_state.as_deref(), Some("IDLE"));
    assert_eq!(youtube.uptime_seconds, None);
    assert_eq!(youtube.verdict, "idle");
    assert!(!s.check.healthy);

    // Failover flips the source priority (read back with DescribeFlow).
    let report = lunora::commands::failover::run(
        &env.config(),
        FailoverTarget::Backup,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    assert!(report.changed);
    assert_eq!(report.before.preferred.as_deref(), Some("primary"));
    assert_eq!(report.after.preferred.as_deref(), Some("backup"));
    assert!(
        report.to_string().contains("differs from the template"),
        "{report}"
    );
    let priority = |f: aws_sdk_mediaconnect::types::Flow| {
        f.source_failover_config()
            .unwrap()
            .source_priority()
            .unwrap()
            .primary_source()
            .unwrap()
            .to_owned()
    };
    assert_eq!(priority(env.describe_flow().await), "backup");
    let aws = lunora::aws::Aws::connect(&env.settings(), "us-east-1")
        .await
        .unwrap();
    let drift = lunora::aws::media::flow_drift(&aws, &flow_out["FlowArn"], "primary").await;
    assert!(drift.unwrap().contains("`backup`"));
    let report = lunora::commands::failover::run(
        &env.config(),
        FailoverTarget::Backup,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    assert!(!report.changed, "{report}");
    lunora::commands::failover::run(
        &env.config(),
        FailoverTarget::Primary,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    assert_eq!(priority(env.describe_flow().await), "primary");
    assert_eq!(
        lunora::aws::media::flow_drift(&aws, &flow_out["FlowArn"], "primary").await,
        None
    );
    // Each failover is in the audit trail, with who asked.
    let (deployment, _) = env.engine().await;
    let browser = Actor::Http {
        client: "[2001:db8::7]:443".parse().unwrap(),
    };
    let report =
        lunora::ops::failover::failover(&aws, &deployment, SourceTarget::Primary, &browser)
            .await
            .unwrap();
    assert!(!report.changed, "{report}");
    let log = env.audit_log().await;
    let failovers: Vec<(Option<&str>, Option<bool>, Actor)> = log
        .iter()
        .filter(|r| r.action == "failover")
        .map(|r| (r.to.as_deref(), r.changed, r.by))
        .collect();
    assert_eq!(
        failovers,
        [
            (Some("backup"), Some(true), Actor::Cli),
            (Some("backup"), Some(false), Actor::Cli),
            (Some("primary"), Some(true), Actor::Cli),
            (Some("primary"), Some(false), browser),
        ]
    );
    assert_eq!(log[0].action, "start");
    assert_eq!(log[0].destinations["twitch"], "started");
    assert_eq!(log.last().unwrap().source.as_deref(), Some("primary"));

    // outputs: env lines and JSON carry the stacks' values.
    let report = lunora::commands::outputs::run(
        &env.config(),
        OutputsFormat::Env,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
    assert!(lines.contains(&format!("LUNORA_FLOW_ARN={}", flow_out["FlowArn"]).as_str()));
    assert!(lines.contains(
        &format!(
            "LUNORA_INGEST_ENDPOINT={}:{}",
            flow_out["IngestIp"], flow_out["IngestPort"]
        )
        .as_str()
    ));
    assert!(lines.contains(
        &format!(
            "LUNORA_BACKUP_INGEST_ENDPOINT={}:{}",
            flow_out["BackupIngestIp"], flow_out["BackupIngestPort"]
        )
        .as_str()
    ));
    for id in DESTS {
        let o = env.outputs(&format!("{PREFIX}-dest-{id}")).await;
        let key = id.to_uppercase();
        for (suffix, output) in [
            ("CHANNEL_ID", "ChannelId"),
            ("INPUT_ID", "InputId"),
            ("OUTPUT_ARN", "OutputArn"),
        ] {
            let line = format!("LUNORA_{key}_{suffix}={}", o[output]);
            assert!(lines.contains(&line.as_str()), "{line} missing:\n{text}");
        }
    }
    assert_eq!(lines.len(), 3 + 3 * DESTS.len());
    let report = lunora::commands::outputs::run(
        &env.config(),
        OutputsFormat::Json,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&report.to_string()).unwrap();
    let _: lunora::commands::outputs::OutputsReport =
        crate::common::contract::check(json.clone(), "outputs");
    assert_eq!(json["kind"], "outputs");
    assert_eq!(json["flow_arn"], flow_out["FlowArn"].as_str());
    let custom = env.outputs(&format!("{PREFIX}-dest-custom")).await;
    assert_eq!(
        json["destinations"]["custom"]["channel_id"],
        custom["ChannelId"].as_str()
    );
    assert_eq!(
        json["destinations"]["custom"]["output_arn"],
        custom["OutputArn"].as_str()
    );

    // A destination removed from the config but still deployed shows as
    // such; the config's own destinations are unaffected.
    let trimmed = example()
        .replace(
            "platforms\n    destinations: [youtube, twitch, linkedin, custom]",
            "platforms\n    destinations: [youtube, twitch, linkedin]",
        )
        .replace(
            "  - id: custom\n    kind: rtmp\n    platform: custom\n    preset: generic-720p30\n    ingest_url: rtmp://stream.example.com/live\n    stream_key:\n      secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw\n      json_key: custom\n",
            "",
        );
    assert!(!trimmed.contains("id: custom"));
    std::fs::write(env.config(), trimmed).unwrap();
    let s = status(&env).await;
    let custom_row = s.destinations.iter().find(|d| d.id == "custom").unwrap();
    assert_eq!(custom_row.presence, "not-in-config");
    assert_eq!(custom_row.platform, None);
    assert_eq!(custom_row.channel_state.as_deref(), Some("IDLE"));
    assert!(s
        .notes
        .iter()
        .any(|n| n.contains("no longer in the config")));
    // And a config destination that is not deployed.
    let mut extra = example();
    extra = extra.replace(
        "platforms\n    destinations: [youtube, twitch, linkedin, custom]",
        "platforms\n    destinations: [youtube, twitch, linkedin, custom, backup2]",
    );
    extra = extra.replace(
        "\nstages:",
        "  - id: backup2\n    kind: rtmp\n    platform: custom\n    preset: generic-720p30\n    ingest_url: rtmp://stream2.example.com/live\n    stream_key:\n      secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw\n      json_key: custom\n\nstages:",
    );
    std::fs::write(env.config(), extra).unwrap();
    let s = status(&env).await;
    let row = s.destinations.iter().find(|d| d.id == "backup2").unwrap();
    assert_eq!(row.presence, "not-deployed");
    assert_eq!(row.channel_state, None);
    // start of an undeployed destination is refused, nothing touched.
    let err = lunora::commands::operate::start(
        &env.config(),
        &["backup2".to_owned()],
        false,
        &env.settings(),
        &console(),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not deployed: backup2"),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_cannot_start_fails_alone_with_its_reason() {
    let env = Env::deployed().await;
    // Break twitch behind lunora's back: its channel is deleted. (The
    // emulator cannot make StartChannel itself fail.)
    let twitch = env.outputs(&format!("{PREFIX}-dest-twitch")).await["ChannelId"].clone();
    let ml = aws_sdk_medialive::Client::new(&env.emulator.sdk_config().await);
    ml.delete_channel()
        .channel_id(&twitch)
        .send()
        .await
        .unwrap();

    let report = env.start(&["youtube", "twitch"]).await;
    assert_eq!(report.status(), ExitStatus::Failure, "{report}");
    let by_id: BTreeMap<&str, &str> = report
        .destinations
        .iter()
        .map(|d| (d.id.as_str(), d.result.as_str()))
        .collect();
    assert_eq!(by_id["youtube"], "started", "{report}");
    assert_eq!(by_id["twitch"], "failed", "{report}");
    let twitch_line = report
        .destinations
        .iter()
        .find(|d| d.id == "twitch")
        .unwrap();
    assert!(
        twitch_line.message.contains("does not exist"),
        "{}",
        twitch_line.message
    );
    let youtube = env.outputs(&format!("{PREFIX}-dest-youtube")).await["ChannelId"].clone();
    let state = ml
        .describe_channel()
        .channel_id(youtube)
        .send()
        .await
        .unwrap();
    assert_eq!(state.state().map(|s| s.as_str()), Some("RUNNING"));
}

/// `status --watch` on a terminal (a pty from `script`) redraws until
/// Ctrl-C (SIGINT) and then exits 0; without a terminal it refuses.
#[tokio::test(flavor = "multi_thread")]
async fn status_watch_runs_on_a_terminal_until_ctrl_c() {
    let env = Env::deployed().await;
    let bin = assert_cmd::cargo::cargo_bin("lunora");
    // One frame at the start, one when the terminal is resized (SIGWINCH
    // after 2 s), none from the 60 s interval; Ctrl-C (SIGINT) after 4 s.
    let inner = format!(
        "(sleep 2; pkill -WINCH -f 'endpoint-url {url} .*status --watch') & AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing NO_COLOR=1 timeout --preserve-status -s INT 4 {} --endpoint-url {url} -c {} status --watch --interval 60",
        bin.display(),
        env.config().display(),
        url = env.emulator.endpoint_url(),
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs the command on a pty");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}:\n{text}",
        out.status.code()
    );
    assert!(text.contains("Ctrl-C to stop"), "{text}");
    assert!(text.contains("youtube"), "{text}");
    assert_eq!(
        text.matches("Ctrl-C to stop").count(),
        2,
        "one frame at the start and one on resize: {text}"
    );
    // The alternate screen is entered first and left last.
    let enter = text
        .find("\x1b[?1049h")
        .expect("enters the alternate screen");
    let leave = text
        .rfind("\x1b[?1049l")
        .expect("leaves the alternate screen");
    assert!(enter < text.find("Ctrl-C to stop").unwrap() && leave > text.rfind("youtube").unwrap());

    let out = env.run(&["status", "--watch"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--watch without a terminal must refuse"
    );
}

/// One datapoint: metric name, dimensions, value.
type Point<'a> = (&'a str, Vec<(&'a str, String)>, f64);

/// Puts one datapoint per (metric, dimensions, value), timestamped
/// `seconds_ago`, as MediaLive and MediaConnect would publish them.
async fn put_metrics(env: &Env, namespace: &str, points: &[Point<'_>], seconds_ago: u64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let cw = aws_sdk_cloudwatch::Client::new(&env.emulator.sdk_config().await);
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
    let data: Vec<MetricDatum> = points
        .iter()
        .map(|(name, dims, value)| {
            let mut d = MetricDatum::builder()
                .metric_name(*name)
                .value(*value)
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(at));
            for (k, v) in dims {
                d = d.dimensions(Dimension::builder().name(*k).value(v).build());
            }
            d.build()
        })
        .collect();
    cw.put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();
}

/// A healthy running channel's metrics.
async fn channel_is_healthy(env: &Env, channel: &str, group: &str) {
    let base = || {
        vec![
            ("ChannelId", channel.to_owned()),
            ("Pipeline", "0".to_owned()),
        ]
    };
    let mut group_dims = base();
    group_dims.push(("OutputGroupName", group.to_owned()));
    put_metrics(
        env,
        "AWS/MediaLive",
        &[
            ("NetworkIn", base(), 6.2),
            ("InputLossSeconds", base(), 0.0),
            ("DroppedFrames", base(), 0.0),
            ("ActiveAlerts", base(), 0.0),
            ("ActiveOutputs", group_dims, 1.0),
        ],
        5,
    )
    .await;
}

/// Both flow sources connected; `selected` is the one in use.
async fn sources_are_healthy(env: &Env, selected: &str, seconds_ago: u64) {
    let flow = env.outputs(&format!("{PREFIX}-flow")).await;
    for (role, arn) in [
        ("primary", flow["SourceArn"].clone()),
        ("backup", flow["BackupSourceArn"].clone()),
    ] {
        let dims = || {
            vec![
                ("FlowARN", flow["FlowArn"].clone()),
                ("SourceARN", arn.clone()),
            ]
        };
        let connected = if role == "primary" && selected == "backup" {
            0.0
        } else {
            1.0
        };
        put_metrics(
            env,
            "AWS/MediaConnect",
            &[
                ("SourceConnected", dims(), connected),
                ("SourceBitRate", dims(), 11_800_000.0 * connected),
                ("SourceNotRecoveredPackets", dims(), 0.0),
                ("SourceDisconnections", dims(), 0.0),
                (
                    "SourceSelected",
                    dims(),
                    if role == selected { 1.0 } else { 0.0 },
                ),
            ],
            seconds_ago,
        )
        .await;
    }
}

/// The scenario of a live event: youtube healthy, twitch refused by the
/// platform, then the alert clears; the primary's HLS playlist advances,
/// then freezes; the encoder's primary drops and the flow fails over.
/// Everything is read by `status` through the real SDK from the emulator.
#[tokio::test(flavor = "multi_thread")]
async fn status_tells_delivering_from_failing_and_check_exits_1_naming_it() {
    let env = Env::deployed().await;
    // The existing MediaPackage channel the primary feeds, with its HLS
    // endpoint (the emulator serves the playlist and advances it).
    let mp = aws_sdk_mediapackage::Client::new(&env.emulator.sdk_config().await);
    mp.create_channel()
        .id("lunora-player-prod-channel")
        .send()
        .await
        .unwrap();
    let endpoint = mp
        .create_origin_endpoint()
        .channel_id("lunora-player-prod-channel")
        .id("player-hls")
        .hls_package(aws_sdk_mediapackage::types::HlsPackage::builder().build())
        .send()
        .await
        .unwrap();
    assert!(endpoint.url().is_some());

    env.start(&["youtube", "twitch"]).await;
    let channel = |id: &str| {
        let id = id.to_owned();
        let env = &env;
        async move { env.outputs(&format!("{PREFIX}-dest-{id}")).await["ChannelId"].clone() }
    };
    let youtube = channel("youtube").await;
    let twitch = channel("twitch").await;
    sources_are_healthy(&env, "primary", 30).await;
    channel_is_healthy(&env, &youtube, "rtmp").await;
    channel_is_healthy(&env, &twitch, "rtmp").await;
    let alert = env.emulator.control_with(
        "POST",
        &format!("/lunora-api/medialive/alerts/{twitch}"),
        r#"{"alertType": "RTMP Connection Refused", "message": "RTMP connection refused by rtmps://live.twitch.tv/app", "pipelineId": "0"}"#,
    );
    assert!(alert.contains("\"id\""), "{alert}");

    let s = status(&env).await;
    let dest = |s: &StatusJson, id: &str| {
        s.destinations
            .iter()
            .find(|d| d.id == id)
            .map(|d| (d.verdict.clone(), d.reason.clone(), d.since.clone()))
            .unwrap()
    };
    assert_eq!(s.ingest.verdict, "delivering", "{}", s.ingest.reason);
    assert_eq!(s.ingest.active_source.as_deref(), Some("primary"));
    assert_eq!(s.ingest.active_from.as_deref(), Some("metric"));
    let (verdict, reason, _) = dest(&s, "youtube");
    assert_eq!(verdict, "delivering", "{reason}");
    let (verdict, reason, since) = dest(&s, "twitch");
    assert_eq!(verdict, "failing");
    assert_eq!(
        reason,
        "RTMP connection refused by rtmps://live.twitch.tv/app"
    );
    assert!(since.is_some(), "the verdict says since when");
    assert!(
        s.summary == "LIVE 1/5 · ingest primary OK 11.8 Mb/s · backup standby OK · FAILING twitch",
        "{}",
        s.summary
    );
    assert!(!s.check.healthy);
    assert_eq!(s.check.problems.len(), 1, "{:?}", s.check.problems);
    assert!(s.check.problems[0].starts_with("twitch failing: RTMP connection refused"));

    // `status --check` exits 1 and names twitch; the table fits 80 columns.
    let out = env
        .lunora()
        .env("COLUMNS", "80")
        .args(["status", "--check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("check: NOT healthy"), "{text}");
    assert!(
        text.contains("twitch failing: RTMP connection refused"),
        "{text}"
    );
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
    assert!(
        text.lines().nth(1).unwrap().starts_with("LIVE 1/5"),
        "{text}"
    );

    // The alert clears: twitch delivers, and the check passes.
    env.emulator.control_with(
        "DELETE",
        &format!("/lunora-api/medialive/alerts/{twitch}"),
        "",
    );
    let s = status(&env).await;
    let (verdict, reason, _) = dest(&s, "twitch");
    assert_eq!(verdict, "delivering", "{reason}");
    assert!(s.check.healthy, "{:?}", s.check.problems);
    let out = env.run(&["status", "--check", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["destinations"][2]["verdict"], "delivering");

    // The primary: its HLS playlist advances, then freezes.
    env.start(&["primary"]).await;
    let primary = channel("primary").await;
    channel_is_healthy(&env, &primary, "mediapackage").await;
    let s = status(&env).await;
    let (verdict, reason, _) = dest(&s, "primary");
    assert_eq!(verdict, "delivering", "{reason}");
    assert!(reason.contains("HLS advancing"), "{reason}");
    env.emulator
        .control_with("POST", "/lunora-api/hls/player-hls", r#"{"frozen": true}"#);
    let s = status(&env).await;
    let (verdict, reason, _) = dest(&s, "primary");
    assert_eq!(verdict, "failing", "{reason}");
    assert!(reason.contains("HLS playlist stuck"), "{reason}");

    // The encoder's primary drops and the flow fails over: the backup is
    // in use, read from `SourceSelected`.
    sources_are_healthy(&env, "backup", 2).await;
    let s = status(&env).await;
    assert_eq!(s.ingest.active_source.as_deref(), Some("backup"));
    assert_eq!(s.ingest.active_from.as_deref(), Some("metric"));
    assert_eq!(s.ingest.verdict, "degraded", "{}", s.ingest.reason);
    assert!(
        s.ingest.reason.contains("on backup backup"),
        "{}",
        s.ingest.reason
    );
    assert!(s.summary.contains("ingest backup OK"), "{}", s.summary);
    assert!(
        s.summary.contains("primary not in use DOWN"),
        "{}",
        s.summary
    );
}

/// What the encoder sends that the presets do not expect is said.
#[tokio::test(flavor = "multi_thread")]
async fn status_says_when_the_encoder_sends_another_frame_rate() {
    let env = Env::deployed().await;
    env.start(&["twitch"]).await;
    let flow = env.flow_arn().await;
    env.emulator.control_with(
        "POST",
        "/lunora-api/mediaconnect/source-metadata",
        &format!(
            r#"{{"flowArn": "{flow}", "video": {{"codec": "h264", "width": 1920, "height": 1080, "frameRate": "60000/1001"}}}}"#
        ),
    );
    let twitch = env.outputs(&format!("{PREFIX}-dest-twitch")).await["ChannelId"].clone();
    sources_are_healthy(&env, "primary", 5).await;
    channel_is_healthy(&env, &twitch, "rtmp").await;
    let s = status(&env).await;
    let d = s.destinations.iter().find(|d| d.id == "twitch").unwrap();
    assert_eq!(d.verdict, "degraded", "{}", d.reason);
    assert_eq!(
        d.reason,
        "encoder sends 59.94 fps, preset twitch-1080p60 makes 60 fps"
    );
    let feed = s.ingest.feed.unwrap();
    assert_eq!(feed["height"], 1080);
}

/// `thumbnail` saves a running channel's JPEG and the flow source's, and
/// says plainly why it cannot (a stopped channel, the other source).
#[tokio::test(flavor = "multi_thread")]
async fn thumbnail_saves_the_latest_picture_or_says_why_not() {
    let env = Env::deployed().await;
    env.start(&["youtube"]).await;
    let out = env.run(&["thumbnail", "youtube", "-o", "yt.jpg"]);
    assert_eq!(out.status.code(), Some(0));
    let jpeg = std::fs::read(env.path("yt.jpg")).unwrap();
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "not a JPEG");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("saved the thumbnail of youtube to yt.jpg")
    );

    let out = env.run(&["thumbnail", "linkedin"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only while a channel runs"), "{err}");
    assert!(err.contains("lunora start linkedin"), "{err}");
    assert!(!env.path("linkedin-thumbnail.jpg").exists());

    sources_are_healthy(&env, "primary", 5).await;
    let out = env.run(&["thumbnail", "--source", "primary"]);
    assert_eq!(out.status.code(), Some(0));
    let jpeg = std::fs::read(env.path("primary-source-thumbnail.jpg")).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let out = env.run(&["thumbnail", "--source", "backup"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("uses source `primary` now"), "{err}");
}
