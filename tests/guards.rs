//! The guards run: the fixture with every guard is deployed on the
//! project's emulator (which executes Step Functions state machines,
//! `aws-sdk` tasks included, against its own MediaLive and MediaConnect),
//! and the stop and start sequences are started the way their triggers
//! start them: with the input the deployed EventBridge rule or Scheduler
//! schedule would send, read back from the emulator. Nothing fires by
//! itself there (no metrics, no clock), so the test plays the trigger.
//! `lunora start` arms the session limit and `lunora stop` cancels it.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeMap;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

use crate::common::workspace::{root, Workspace};

const PREFIX: &str = "lunora-player-prod";

struct Env {
    ws: Workspace,
    conf: aws_config::SdkConfig,
}

impl Env {
    async fn deployed() -> Self {
        let config =
            std::fs::read_to_string(root().join("tests/fixtures/guards/lunora.yaml")).unwrap();
        let ws = Workspace::new(&config).await;
        let out = ws.run(&["deploy", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "deploy failed");
        let conf = ws.emulator.sdk_config().await;
        Self { ws, conf }
    }

    fn lunora(&self, args: &[&str]) {
        let out = self.ws.run(args);
        assert_eq!(out.status.code(), Some(0), "lunora {args:?} failed");
    }

    async fn outputs(&self, stack: &str) -> BTreeMap<String, String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.conf);
        let out = cfn
            .describe_stacks()
            .stack_name(format!("{PREFIX}-{stack}"))
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

    fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.conf)
    }

    /// Flow status, and destination id -> (channel state, output status).
    async fn state(&self) -> (String, BTreeMap<String, (String, String)>) {
        let mc = aws_sdk_mediaconnect::Client::new(&self.conf);
        let ml = aws_sdk_medialive::Client::new(&self.conf);
        let flow_arn = self.outputs("flow").await["FlowArn"].clone();
        let flow = mc
            .describe_flow()
            .flow_arn(&flow_arn)
            .send()
            .await
            .unwrap()
            .flow()
            .unwrap()
            .clone();
        let mut dests = BTreeMap::new();
        for id in ["primary", "youtube", "twitch"] {
            let o = self.outputs(&format!("dest-{id}")).await;
            let channel = ml
                .describe_channel()
                .channel_id(&o["ChannelId"])
                .send()
                .await
                .unwrap();
            let output = flow
                .outputs()
                .iter()
                .find(|x| x.output_arn() == Some(o["OutputArn"].as_str()))
                .unwrap();
            dests.insert(
                id.to_owned(),
                (
                    channel.state().unwrap().as_str().to_owned(),
                    output.output_status().unwrap().as_str().to_owned(),
                ),
            );
        }
        (flow.status().unwrap().as_str().to_owned(), dests)
    }

    /// Starts `machine` with `input` and waits (with a deadline) for it to
    /// succeed; returns the execution ARN.
    async fn run(&self, machine: &str, name: &str, input: &Value) -> String {
        crate::common::sfn::run_machine(&self.sfn(), machine, name, input).await
    }

    /// What the auto-stop rule of `dest` would send the stop sequence when
    /// `alarm` goes to ALARM at `time`: its target's input transformer
    /// applied to a "CloudWatch Alarm State Change" event. EventBridge puts
    /// a string value in quotes where the template has `<var>` bare
    /// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
    async fn alarm_fires(&self, dest: &str, time: &str) -> (String, Value) {
        let eb = aws_sdk_eventbridge::Client::new(&self.conf);
        let rule = format!("{PREFIX}-{dest}-guard-auto-stop");
        let targets = eb.list_targets_by_rule().rule(&rule).send().await.unwrap();
        let target = &targets.targets()[0];
        let transformer = target.input_transformer().unwrap();
        let paths = transformer.input_paths_map().unwrap();
        assert_eq!(paths["alarm"], "$.detail.alarmName");
        assert_eq!(paths["time"], "$.time");
        let alarm = format!("{PREFIX}-{dest}-guard-input-lost");
        let input = transformer
            .input_template()
            .replace("<alarm>", &serde_json::to_string(&alarm).unwrap())
            .replace("<time>", &serde_json::to_string(time).unwrap());
        (
            target.arn().to_owned(),
            serde_json::from_str(&input).unwrap(),
        )
    }

    /// What the schedule `name` would send: its target and its input with
    /// Scheduler's context attributes filled in
    /// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
    async fn schedule_fires(&self, name: &str, time: &str) -> (String, Value) {
        let scheduler = aws_sdk_scheduler::Client::new(&self.conf);
        let s = scheduler.get_schedule().name(name).send().await.unwrap();
        let target = s.target().unwrap();
        let input = target
            .input()
            .unwrap()
            .replace("<aws.scheduler.schedule-arn>", s.arn().unwrap())
            .replace("<aws.scheduler.scheduled-time>", time);
        (
            target.arn().to_owned(),
            serde_json::from_str(&input).unwrap(),
        )
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

/// Auto-stop: twitch's alarm fires and only twitch stops (channel IDLE,
/// output DISABLED), youtube and the flow keep running; then youtube's,
/// and the flow stops too. The execution records what fired and when.
#[tokio::test(flavor = "multi_thread")]
async fn auto_stop_stops_one_destination_and_the_flow_with_the_last() {
    let env = Env::deployed().await;
    env.lunora(&["start", "youtube", "twitch"]);
    let (flow, dests) = env.state().await;
    assert_eq!(flow, "ACTIVE");
    assert_eq!(dests["twitch"], pair("RUNNING", "ENABLED"));
    let stop_machine = env.outputs("base").await["StopSequenceArn"].clone();
    // Deployed encrypted with the guard key (the emulator stores the
    // configuration; it encrypts nothing and checks no key policy).
    let base = env.outputs("base").await;
    let described = env
        .sfn()
        .describe_state_machine()
        .state_machine_arn(&stop_machine)
        .send()
        .await
        .unwrap();
    let enc = described.encryption_configuration().unwrap();
    assert_eq!(enc.r#type().as_str(), "CUSTOMER_MANAGED_KMS_KEY");
    assert_eq!(enc.kms_key_id(), Some(base["GuardKeyArn"].as_str()));
    assert!(described
        .logging_configuration()
        .is_none_or(|l| !l.include_execution_data()));

    let (target, input) = env.alarm_fires("twitch", "2026-12-06T03:00:00Z").await;
    assert_eq!(target, stop_machine);
    assert_eq!(input["destination"], "twitch");
    assert_eq!(input["trigger"]["kind"], "auto-stop");
    let twitch = env.run(&target, "twitch-input-lost", &input).await;
    let (flow, dests) = env.state().await;
    assert_eq!(dests["twitch"], pair("IDLE", "DISABLED"));
    assert_eq!(dests["youtube"], pair("RUNNING", "ENABLED"));
    assert_eq!(dests["primary"], pair("IDLE", "DISABLED"));
    assert_eq!(flow, "ACTIVE", "youtube still needs the flow");

    // The record: the execution's input names the alarm and the time.
    let d = env
        .sfn()
        .describe_execution()
        .execution_arn(&twitch)
        .send()
        .await
        .unwrap();
    let recorded: Value = serde_json::from_str(d.input().unwrap()).unwrap();
    assert_eq!(
        recorded["trigger"]["source"],
        format!("{PREFIX}-twitch-guard-input-lost")
    );
    assert_eq!(recorded["trigger"]["time"], "2026-12-06T03:00:00Z");

    let (target, input) = env.alarm_fires("youtube", "2026-12-06T03:05:00Z").await;
    env.run(&target, "youtube-input-lost", &input).await;
    let (flow, dests) = env.state().await;
    assert_eq!(dests["youtube"], pair("IDLE", "DISABLED"));
    assert_eq!(dests["twitch"], pair("IDLE", "DISABLED"));
    assert_eq!(flow, "STANDBY", "no channel left running: the flow stops");

    // Firing again for a stopped destination changes nothing and succeeds.
    env.run(&target, "youtube-input-lost-again", &input).await;
    assert_eq!(env.state().await.0, "STANDBY");

    // The records, as lunora reads them back.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let settings = lunora::aws::AwsSettings {
        endpoint_url: Some(env.ws.emulator.endpoint_url().to_owned()),
        ..lunora::aws::AwsSettings::default()
    };
    let aws = lunora::aws::Aws::connect(&settings, "us-east-1")
        .await
        .unwrap();
    let mut stops = lunora::ops::guard_records::read(&aws, &stop_machine, 50)
        .await
        .unwrap();
    stops.sort_by(|a, b| a.execution.cmp(&b.execution));
    let seen: Vec<(&str, &str, &str, Option<&str>, &str)> = stops
        .iter()
        .map(|s| {
            (
                s.execution.as_str(),
                s.destination.as_str(),
                s.kind.as_str(),
                s.fired_at.as_deref(),
                s.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "twitch-input-lost",
                "twitch",
                "auto-stop",
                Some("2026-12-06T03:00:00Z"),
                "SUCCEEDED"
            ),
            (
                "youtube-input-lost",
                "youtube",
                "auto-stop",
                Some("2026-12-06T03:05:00Z"),
                "SUCCEEDED"
            ),
            (
                "youtube-input-lost-again",
                "youtube",
                "auto-stop",
                Some("2026-12-06T03:05:00Z"),
                "SUCCEEDED"
            ),
        ]
    );
    assert_eq!(
        stops[0].source.as_deref(),
        Some("lunora-player-prod-twitch-guard-input-lost")
    );
    assert!(stops
        .iter()
        .all(|s| s.started_at.is_some() && s.stopped_at.is_some()));

    // `status` shows them: the newest first in `guard_stops`, and on each
    // stopped destination the guard that stopped it last.
    let out = env.ws.run(&["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "status failed");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = status["guard_stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["execution"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "youtube-input-lost-again",
            "youtube-input-lost",
            "twitch-input-lost"
        ]
    );
    let last = |id: &str| {
        status["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap()["last_guard_stop"]
            .clone()
    };
    assert_eq!(
        last("twitch"),
        "stopped by guard: auto-stop (alarm lunora-player-prod-twitch-guard-input-lost) at 2026-12-06 03:00:00 UTC"
    );
    assert_eq!(
        last("youtube"),
        "stopped by guard: auto-stop (alarm lunora-player-prod-youtube-guard-input-lost) at 2026-12-06 03:05:00 UTC"
    );
    assert_eq!(last("primary"), Value::Null, "no guard stopped primary");
    // `releases` lists them after the releases, newest first.
    let out = env.ws.run(&["releases", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "releases failed");
    let releases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = releases["guard_stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["execution"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed[..3],
        [
            "youtube-input-lost-again",
            "youtube-input-lost",
            "twitch-input-lost"
        ]
    );
    let out = env.ws.run(&["releases", "--wide"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("guard stops (newest first):"), "{text}");
    assert!(text.contains("twitch  stopped by guard: auto-stop (alarm lunora-player-prod-twitch-guard-input-lost)"), "{text}");
    let text = env.ws.run(&["status", "--wide"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(
        "stopped by guard: auto-stop (alarm lunora-player-prod-twitch-guard-input-lost)"
    ));
}

/// A schedule window from start to stop: the start sequence starts the
/// flow, enables twitch's output and starts its channel; the stop sequence
/// undoes it and stops the idle flow.
#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_window_starts_and_stops_its_destination() {
    let env = Env::deployed().await;
    let (flow, dests) = env.state().await;
    assert_eq!(flow, "STANDBY");
    assert_eq!(dests["twitch"], pair("IDLE", "DISABLED"));
    let base = env.outputs("base").await;

    let (target, input) = env
        .schedule_fires(
            &format!("{PREFIX}-twitch-gala-start"),
            "2099-03-14T17:30:00Z",
        )
        .await;
    assert_eq!(target, base["StartSequenceArn"]);
    assert_eq!(input["trigger"]["kind"], "schedule-start");
    assert_eq!(input["trigger"]["window"], "gala");
    env.run(&target, "gala-start-twitch", &input).await;
    let (flow, dests) = env.state().await;
    assert_eq!(flow, "ACTIVE");
    assert_eq!(dests["twitch"], pair("RUNNING", "ENABLED"));
    assert_eq!(dests["youtube"], pair("IDLE", "DISABLED"));

    let (target, input) = env
        .schedule_fires(
            &format!("{PREFIX}-twitch-gala-stop"),
            "2099-03-14T22:00:00Z",
        )
        .await;
    assert_eq!(target, base["StopSequenceArn"]);
    assert_eq!(input["trigger"]["kind"], "schedule-stop");
    env.run(&target, "gala-stop-twitch", &input).await;
    let (flow, dests) = env.state().await;
    assert_eq!(dests["twitch"], pair("IDLE", "DISABLED"));
    assert_eq!(flow, "STANDBY");
}

/// `lunora start` starts one session-limit execution per started
/// destination, `lunora stop` cancels the stopped destination's only.
#[tokio::test(flavor = "multi_thread")]
async fn start_arms_the_session_limit_and_stop_cancels_it() {
    let env = Env::deployed().await;
    let base = env.outputs("base").await;
    let machine = base["SessionLimitArn"].clone();
    let sfn = env.sfn();
    let running = || async {
        let out = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .status_filter(ExecutionStatus::Running)
            .send()
            .await
            .unwrap();
        out.executions()
            .iter()
            .map(|e| (e.name().to_owned(), e.execution_arn().to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    assert!(running().await.is_empty());

    env.lunora(&["start", "youtube", "twitch"]);
    let armed = running().await;
    let names: Vec<&String> = armed.keys().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("twitch-2"), "{names:?}");
    assert!(names[1].starts_with("youtube-2"), "{names:?}");
    // Its input is the stop sequence's: the destination's ids.
    let d = sfn
        .describe_execution()
        .execution_arn(&armed[names[0]])
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(d.input().unwrap()).unwrap();
    let twitch = env.outputs("dest-twitch").await;
    assert_eq!(input["destination"], "twitch");
    assert_eq!(input["channel_id"], twitch["ChannelId"]);
    assert_eq!(input["output_arn"], twitch["OutputArn"]);
    assert_eq!(input["flow_arn"], env.outputs("flow").await["FlowArn"]);

    env.lunora(&["stop", "twitch"]);
    let left = running().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left.keys().all(|n| n.starts_with("youtube-")), "{left:?}");
    let d = sfn
        .describe_execution()
        .execution_arn(&armed[names[0]])
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Aborted);

    // Starting youtube again (already running) arms nothing new; stopping
    // it cancels its limit.
    env.lunora(&["start", "youtube"]);
    assert_eq!(running().await, left);
    env.lunora(&["stop", "youtube"]);
    assert!(running().await.is_empty());
}
