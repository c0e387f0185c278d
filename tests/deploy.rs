//! plan, deploy, rollback and releases end to end: the lunora binary
//! against the project's AWS emulator (moto_server with MediaConnect and
//! MediaLive CloudFormation support, tests/emulator/), through the real
//! aws-sdk clients. Each test gets its own emulator and directory.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::{columns, workspace};

use std::process::Output;

use serde_json::Value;
use workspace::{example, example_without_custom, root, Workspace as Env};

impl Env {
    /// One output value of a deployed stack.
    async fn stack_output(&self, stack: &str, key: &str) -> String {
        let out = self
            .cfn()
            .await
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        out.stacks()[0]
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("{stack} has no output {key}"))
            .to_owned()
    }

    async fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.emulator.sdk_config().await)
    }

    async fn template(&self, stack: &str) -> String {
        let body = self
            .cfn()
            .await
            .get_template()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let value: Value = serde_json::from_str(body.template_body().unwrap()).unwrap();
        lunora::render::canonical_json(&value)
    }

    async fn status(&self, stack: &str) -> Option<String> {
        match self
            .cfn()
            .await
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
        {
            Ok(out) => out.stacks()[0]
                .stack_status()
                .map(|s| s.as_str().to_owned()),
            Err(_) => None,
        }
    }

    /// A local preset replacing the built-in one with `id`.
    fn override_preset(&self, id: &str, from: &str, to: &str) {
        let built_in =
            std::fs::read_to_string(root().join("presets").join(format!("{id}.yaml"))).unwrap();
        assert!(built_in.contains(from));
        std::fs::create_dir_all(self.path("presets")).unwrap();
        std::fs::write(
            self.path("presets").join(format!("{id}.yaml")),
            built_in.replace(from, to),
        )
        .unwrap();
    }
}

impl Env {
    /// The release store's directory (the example's local store).
    fn releases_dir(&self) -> std::path::PathBuf {
        self.path(".lunora/lunora-player-prod/releases")
    }

    /// The release record files, in name (sequence) order.
    fn records(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.releases_dir())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// `releases --output json`: the listed releases.
    fn releases(&self) -> Vec<Value> {
        let out = self.run(&["--output", "json", "releases"]);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["releases"].as_array().unwrap().clone()
    }

    /// The source the flow prefers, read back with DescribeFlow.
    async fn preferred_source(&self) -> Option<String> {
        let arn = self.stack_output(FLOW, "FlowArn").await;
        let mc = aws_sdk_mediaconnect::Client::new(&self.emulator.sdk_config().await);
        let flow = mc.describe_flow().flow_arn(arn).send().await.unwrap();
        flow.flow()
            .and_then(|f| f.source_failover_config())
            .and_then(|c| c.source_priority())
            .and_then(|p| p.primary_source())
            .map(str::to_owned)
    }
}

const FLOW: &str = "lunora-player-prod-flow";
const TWITCH: &str = "lunora-player-prod-dest-twitch";

/// The example with the flow's failover recovery window changed: an
/// in-place update of the flow stack.
fn flow_changed() -> String {
    let text = example();
    assert!(text.contains("recovery_window_ms: 200"));
    text.replace("recovery_window_ms: 200", "recovery_window_ms: 300")
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout with its lines joined: a phrase that a screen wrapped at 80
/// columns (or its table spread over columns) reads as one line.
fn said(out: &Output) -> String {
    flat(&stdout(out))
}

/// `text` with every run of spaces and newlines as one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const STACKS: [&str; 7] = [
    "lunora-player-prod-base",
    "lunora-player-prod-flow",
    "lunora-player-prod-dest-primary",
    "lunora-player-prod-dest-youtube",
    "lunora-player-prod-dest-twitch",
    "lunora-player-prod-dest-linkedin",
    "lunora-player-prod-dest-custom",
];

#[tokio::test(flavor = "multi_thread")]
async fn deploy_plan_change_deploy_rollback_releases() {
    let env = Env::new(&example()).await;

    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0));
    // No change-set bookkeeping in the progress ("REVIEW_IN_PROGRESS User
    // Initiated" is the first event of every new stack).
    assert!(
        !stderr(&out).contains("REVIEW_IN_PROGRESS"),
        "{}",
        stderr(&out)
    );
    for stack in STACKS {
        assert_eq!(
            env.status(stack).await.as_deref(),
            Some("CREATE_COMPLETE"),
            "{stack}"
        );
        // What was deployed is exactly what `render` commits.
        let committed =
            std::fs::read_to_string(root().join("stacks").join(format!("{stack}.json"))).unwrap();
        assert_eq!(env.template(stack).await, committed, "{stack}");
    }
    let flow = env
        .cfn()
        .await
        .describe_stacks()
        .stack_name("lunora-player-prod-flow")
        .send()
        .await
        .unwrap();
    assert_eq!(flow.stacks()[0].enable_termination_protection(), Some(true));
    let policy = env
        .cfn()
        .await
        .get_stack_policy()
        .stack_name("lunora-player-prod-flow")
        .send()
        .await
        .unwrap();
    assert!(policy
        .stack_policy_body()
        .unwrap()
        .contains("Update:Replace"));

    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(0));
    assert!(stdout(&out).contains("no changes: every stack matches the config"));

    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    let out = env.run(&["--output", "json", "plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(2));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed: Vec<&str> = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] != "no-change")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["lunora-player-prod-dest-youtube"]);
    let youtube = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lunora-player-prod-dest-youtube")
        .unwrap();
    assert_eq!(youtube["resources"][0]["logical_id"], "Channel");
    assert_eq!(youtube["resources"][0]["action"], "modify");
    let diff = youtube["diff"].as_str().unwrap();
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && l.contains("\"Bitrate\": 7000000")),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('-') && l.contains("\"Bitrate\": 6000000")),
        "{diff}"
    );
    // No preview change set is left behind.
    let sets = env
        .cfn()
        .await
        .list_change_sets()
        .stack_name("lunora-player-prod-dest-youtube")
        .send()
        .await
        .unwrap();
    let left: Vec<_> = sets
        .summaries()
        .iter()
        .filter(|s| {
            s.change_set_name()
                .is_some_and(|n| n.starts_with("lunora-plan-"))
        })
        .collect();
    assert!(left.is_empty(), "plan left change sets: {left:?}");

    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0));
    assert!(env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("\"Bitrate\": 7000000"));

    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let committed =
        std::fs::read_to_string(root().join("stacks/lunora-player-prod-dest-youtube.json"))
            .unwrap();
    assert_eq!(
        env.template("lunora-player-prod-dest-youtube").await,
        committed,
        "rollback must restore the recorded template byte for byte"
    );

    let out = env.run(&["--output", "json", "releases"]);
    assert_eq!(code(&out), Some(0));
    let releases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = releases["releases"].as_array().unwrap();
    assert!(list.len() >= 3, "{list:?}");
    let last = list.last().unwrap();
    assert_eq!(last["status"], "ok");
    assert_eq!(last["type"], "rollback");
}

#[tokio::test(flavor = "multi_thread")]
async fn stages_deploy_in_order_and_a_later_stage_waits_for_earlier_ones() {
    let env = Env::new(&example()).await;
    let out = env.run(&["deploy", "--stage", "platforms", "--yes"]);
    assert_eq!(code(&out), Some(3));
    assert!(
        stderr(&out).contains("stage `platforms` needs stage `base` deployed first"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.status("lunora-player-prod-base").await,
        None,
        "a refused deploy changed something"
    );

    let out = env.run(&["deploy", "--stage", "base", "--yes"]);
    assert_eq!(code(&out), Some(0));
    assert_eq!(
        env.status("lunora-player-prod-base").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(
        env.status("lunora-player-prod-flow").await,
        None,
        "--stage base deployed more than base"
    );

    let out = env.run(&["deploy", "--stage", "no-such-stage", "--yes"]);
    assert_eq!(code(&out), Some(1));
    assert!(stderr(&out).contains("no stage is named `no-such-stage`"));
    let out = env.run(&["deploy", "--stage", "platfroms", "--yes"]);
    assert_eq!(code(&out), Some(1));
    assert!(stderr(&out).contains("did you mean `platforms`?"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_refuses_a_second_deploy() {
    let env = Env::new(&example()).await;
    let store = lunora::release::ReleaseStore::local(env.path(".lunora"), "lunora-player", "prod");
    let _held = store
        .acquire(lunora::release::LockInfo::new(
            "arn:aws:iam::123456789012:user/other-ci",
            "deploy",
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(3));
    assert!(stderr(&out).contains("other-ci"), "{}", stderr(&out));
    assert_eq!(env.status("lunora-player-prod-base").await, None);

    let out = env.run(&["deploy", "--yes", "--force-unlock"]);
    assert_eq!(code(&out), Some(0));
    assert!(stderr(&out)
        .contains("removed the deploy lock held by arn:aws:iam::123456789012:user/other-ci"));
    assert!(
        store.lock_holder().await.unwrap().is_none(),
        "deploy must release its lock"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_yes_and_without_a_terminal_nothing_is_deployed() {
    let env = Env::new(&example()).await;
    let out = env.run(&["deploy"]);
    assert_eq!(code(&out), Some(1));
    assert!(stderr(&out).contains("needs `--yes` when not run interactively"));
    assert_eq!(env.status("lunora-player-prod-base").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_release_store_can_live_in_s3() {
    let config = example().replace("alarms:", "state: s3://lunora-state/team\nalarms:");
    let env = Env::new(&config).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.emulator.sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("lunora-state")
        .send()
        .await
        .unwrap();
    let out = env.run(&["deploy", "--stage", "base", "--yes"]);
    assert_eq!(code(&out), Some(0));
    let objects = s3
        .list_objects_v2()
        .bucket("lunora-state")
        .prefix("team/lunora-player-prod/releases/")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1, "{objects:?}");
    assert!(
        !env.path(".lunora").exists(),
        "the local store was used instead of S3"
    );
    let out = env.run(&["releases"]);
    assert_eq!(code(&out), Some(0));
    assert!(stdout(&out).contains("deploy of base"));
}

/// A ladder of `n` renditions: big enough to push a template over the
/// 51,200-byte inline limit.
fn big_ladder(n: usize) -> String {
    let mut text =
        "id: hls-ladder\ndescription: a very tall ladder\nplatform: mediapackage\nrenditions:\n"
            .to_owned();
    for i in 0..n {
        let height = 360 + 2 * i;
        text.push_str(&format!(
            "  - name: r{i}\n    width: 640\n    height: {height}\n    framerate: 30\n    rate_control: CBR\n    bitrate_kbps: {}\n    profile: MAIN\n    level: H264_LEVEL_3_1\n    gop_seconds: 2\n",
            800 + i
        ));
    }
    text.push_str("audio:\n  profile: LC\n  coding_mode: CODING_MODE_2_0\n  sample_rate: 48000\n  bitrate_kbps: 128\n");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_over_the_inline_limit_go_through_s3() {
    let env = Env::new(&example()).await;
    std::fs::create_dir_all(env.path("presets")).unwrap();
    std::fs::write(env.path("presets/hls-ladder.yaml"), big_ladder(60)).unwrap();
    let out = env.run(&["render", "--out", "stacks"]);
    assert_eq!(code(&out), Some(0));
    let size = std::fs::metadata(env.path("stacks/lunora-player-prod-dest-primary.json"))
        .unwrap()
        .len();
    assert!(size > 51_200, "the test template is only {size} bytes");
    assert!(stdout(&out).contains("deploy uploads it to S3"));

    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        env.status("lunora-player-prod-dest-primary")
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.emulator.sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    let objects = s3
        .list_objects_v2()
        .bucket("lunora-templates-123456789012-us-east-1")
        .prefix("templates/lunora-player-prod-dest-primary/")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_channel_is_never_updated_silently() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let channel = env
        .stack_output("lunora-player-prod-dest-youtube", "ChannelId")
        .await;
    let medialive = aws_sdk_medialive::Client::new(&env.emulator.sdk_config().await);
    medialive
        .start_channel()
        .channel_id(&channel)
        .send()
        .await
        .unwrap();

    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    let out = env.run(&["plan"]);
    assert!(
        stdout(&out).contains("CRITICAL: the channel `Channel` is running"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(3));
    assert!(
        stderr(&out).contains("--restart-running"),
        "{}",
        stderr(&out)
    );
    assert!(!env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("7000000"));

    let out = env.run(&["deploy", "--yes", "--restart-running"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopping channel"),
        "the restart must be said"
    );
    assert!(env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("7000000"));
    let state = medialive
        .describe_channel()
        .channel_id(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(
        state.state().map(|s| s.as_str()),
        Some("RUNNING"),
        "the channel must be running again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_the_flow_is_refused_unless_named_and_a_failed_update_exits_4() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let moved = example().replace(
        "availability_zone: us-east-1a",
        "availability_zone: us-east-1b",
    );
    std::fs::write(env.path("lunora.yaml"), moved).unwrap();

    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stdout(&out).contains(
            "CRITICAL: the flow `Flow` would be replaced (AvailabilityZone is create-only)"
        ),
        "{}",
        stdout(&out)
    );

    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(3));
    assert!(
        stderr(&out).contains("--allow-replace Flow"),
        "{}",
        stderr(&out)
    );

    // Named: CloudFormation refuses to replace a flow whose ARN other
    // stacks import, and rolls the update back: exit 4, never success.
    let out = env.run(&["deploy", "--yes", "--allow-replace", "Flow"]);
    assert_eq!(code(&out), Some(4), "{}", stdout(&out));
    assert!(stdout(&out).contains("rolled-back"), "{}", stdout(&out));
    assert!(stdout(&out).contains("first failure"), "{}", stdout(&out));
    assert_eq!(
        env.status("lunora-player-prod-flow").await.as_deref(),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );
    // The failed run is a release too: it completed no stage, and records
    // the flow as it is again, at its previous template.
    let list = env.releases();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["outcome"], "failed");
    assert_eq!(list[1]["stages"], serde_json::json!([]));
    let names = env.records();
    let read = |name: &str| -> lunora::release::Release {
        serde_json::from_slice(&std::fs::read(env.releases_dir().join(name)).unwrap()).unwrap()
    };
    let (first, failed) = (read(&names[0]), read(&names[1]));
    assert_eq!(failed.stacks, first.stacks);
    assert!(stderr(&env.run(&["releases"])).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_destination_is_planned_and_deleted() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    std::fs::write(env.path("lunora.yaml"), example_without_custom()).unwrap();
    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stdout(&out).contains("- `lunora-player-prod-dest-custom`: delete"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.status("lunora-player-prod-dest-custom").await, None);
    assert_eq!(
        env.status("lunora-player-prod-dest-youtube")
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_with_json_output_streams_json_lines() {
    let env = Env::new(&example()).await;
    let out = env.run(&["--output", "json", "deploy", "--stage", "base", "--yes"]);
    assert_eq!(code(&out), Some(0));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["kind"] == "event" && l["status"] == "CREATE_COMPLETE"));
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "deploy");
    assert_eq!(last["stacks"][0]["result"], "deployed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_executed_exactly_and_refused_once_stale() {
    let env = Env::new(&example()).await;
    let out = env.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code(&out), Some(0));
    // The config changes after the plan: the plan no longer describes
    // what the config renders, so it is refused, naming the stack.
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    let out = env.run(&["deploy", "--plan", "plan.json", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "stack `lunora-player-prod-dest-youtube` in the plan file differs from what the config renders now"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.status("lunora-player-prod-base").await, None);
    // Back to the reviewed config: the saved plan runs, with its templates.
    std::fs::remove_dir_all(env.path("presets")).unwrap();
    let out = env.run(&["deploy", "--plan", "plan.json", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let committed =
        std::fs::read_to_string(root().join("stacks/lunora-player-prod-dest-youtube.json"))
            .unwrap();
    assert_eq!(
        env.template("lunora-player-prod-dest-youtube").await,
        committed,
        "deploy --plan must use the saved templates"
    );

    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    let out = env.run(&["plan", "--out", "plan2.json"]);
    assert_eq!(code(&out), Some(0));
    // The stack moves after the plan was saved.
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let out = env.run(&["deploy", "--plan", "plan2.json", "--yes"]);
    assert_eq!(code(&out), Some(3));
    assert!(
        stderr(&out).contains(
            "the saved plan is stale: lunora-player-prod-dest-youtube changed since it was made"
        ),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_file_edited_after_review_is_refused() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["plan", "--out", "plan.json"])), Some(0));
    let text = std::fs::read_to_string(env.path("plan.json")).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    // Redirect the Twitch stream to another RTMP server in the saved
    // template, as an attacker with write access to the file would.
    let desired = file["desired"].as_array_mut().unwrap();
    let twitch = desired
        .iter_mut()
        .find(|d| d["name"] == "lunora-player-prod-dest-twitch")
        .unwrap();
    let template = twitch["template"].as_str().unwrap().to_owned();
    assert!(template.contains("rtmp://"), "{template}");
    let tampered = template.replacen("rtmp://", "rtmp://evil.example.net/", 1);
    twitch["template"] = Value::String(tampered.clone());
    std::fs::write(env.path("plan.json"), file.to_string()).unwrap();
    let out = env.run(&["deploy", "--plan", "plan.json", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "the template of stack `lunora-player-prod-dest-twitch` in the plan file does not match the digest"
        ),
        "{}",
        stderr(&out)
    );

    // Recomputing the digest in the file does not help: the template is
    // not what the config renders.
    let sha = lunora::plan::sha256(&tampered);
    for p in file["plan"]["stacks"].as_array_mut().unwrap() {
        if p["name"] == "lunora-player-prod-dest-twitch" {
            p["template_sha256"] = Value::String(sha.clone());
        }
    }
    std::fs::write(env.path("plan.json"), file.to_string()).unwrap();
    let out = env.run(&["deploy", "--plan", "plan.json", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "stack `lunora-player-prod-dest-twitch` in the plan file differs from what the config renders now"
        ),
        "{}",
        stderr(&out)
    );
    for stack in STACKS {
        assert_eq!(env.status(stack).await, None, "{stack} must not exist");
    }
}

/// Change sets left on a stack (none should be, after any run).
async fn change_sets(env: &Env, stack: &str) -> Vec<String> {
    env.cfn()
        .await
        .list_change_sets()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .summaries()
        .iter()
        .filter_map(|s| s.change_set_name().map(str::to_owned))
        .collect()
}

/// The requests the emulator served since the last clear, by operation.
fn requests_by_operation(env: &Env) -> std::collections::BTreeMap<String, usize> {
    let mut by = std::collections::BTreeMap::new();
    for (_, operation) in env.emulator.requests() {
        *by.entry(operation).or_insert(0) += 1;
    }
    by
}

/// Asserts the exact request counts of a run, by operation: an operation
/// not named must not have been called at all.
fn assert_requests(what: &str, env: &Env, expected: &[(&str, usize)]) {
    let got = requests_by_operation(env);
    let want: std::collections::BTreeMap<String, usize> = expected
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| ((*op).to_owned(), *n))
        .collect();
    assert_eq!(
        got,
        want,
        "{what}: requests by operation ({} in all)",
        got.values().sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_reads_each_stack_once_and_nothing_it_does_not_need() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.emulator.clear_requests();
    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // The account guard; one DescribeStacks listing for every stack (and
    // the removed destinations' ones); per stack its template; the flow's
    // live source (failover drift). No channel state for stacks that do
    // not change, no quota count for a plan that adds nothing. Target
    // (issue 10): at most 1 + 2 x 7 stacks = 15.
    assert_requests(
        "no-change plan",
        &env,
        &[
            ("GetCallerIdentity", 1),
            ("DescribeStacks", 1),
            ("GetTemplate", 7),
            ("DescribeFlow", 1),
        ],
    );
    assert!(env.emulator.requests().len() <= 15);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_deploy_reads_each_stack_once_after_its_change() {
    let env = Env::new(&example()).await;
    env.emulator.clear_requests();
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // One listing before (nothing deployed yet), then per stack: its
    // change set made, read and executed, its events polled until the
    // stack's own event says it settled, and one DescribeStacks for its
    // state and outputs. The flow gets its protection; each new
    // destination's flow output is disabled; the quota preflight counts
    // the account once.
    assert_requests(
        "fresh deploy",
        &env,
        &[
            ("GetCallerIdentity", 1),
            ("DescribeStacks", 1 + 7),
            ("CreateChangeSet", 7),
            ("DescribeChangeSet", 7),
            ("ExecuteChangeSet", 7),
            ("DescribeStackEvents", 7),
            ("UpdateTerminationProtection", 1),
            ("SetStackPolicy", 1),
            ("UpdateFlowOutput", 5),
            ("ListChannels", 1),
            ("ListInputs", 1),
            ("ListInputSecurityGroups", 1),
            ("ListServiceQuotas", 1),
            ("ListAWSDefaultServiceQuotas", 1),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_stack_rollback_reads_each_stack_once() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.emulator.clear_requests();
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // No stack is stuck, so none is checked one by one: one listing, the
    // templates, the flow's live source, the one change set, its events
    // before and after, and the stack's state once it settled.
    assert_requests(
        "one-stack rollback",
        &env,
        &[
            ("GetCallerIdentity", 1),
            ("DescribeStacks", 1 + 1),
            ("GetTemplate", 7),
            ("DescribeFlow", 1),
            ("CreateChangeSet", 1),
            ("DescribeChangeSet", 1),
            ("ExecuteChangeSet", 1),
            ("DescribeStackEvents", 2),
            ("DescribeChannel", 1),
        ],
    );
    assert!(env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("6000000"));
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_executes_the_one_change_set_it_showed() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    env.emulator.clear_requests();
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // The plan is shown before anything runs, and the change set made for
    // it is the one executed: one change set for the one changed stack.
    assert!(
        stderr(&out).contains("~ `lunora-player-prod-dest-youtube`: update"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("executing the change set shown in the plan"),
        "{}",
        stderr(&out)
    );
    let requests = env.emulator.requests();
    let count = |op: &str| requests.iter().filter(|(_, o)| o == op).count();
    assert_eq!(count("CreateChangeSet"), 1, "{requests:?}");
    assert_eq!(count("ExecuteChangeSet"), 1, "{requests:?}");
    assert_eq!(count("DeleteChangeSet"), 0, "{requests:?}");
    // The account is asked once per run, not once per check.
    assert_eq!(count("GetCallerIdentity"), 1, "{requests:?}");
    // The stacks are listed once and the changed one read once more when
    // it settled; its events before the change and until it settled; only
    // its channel's state is read, and the flow's preferred source.
    assert_requests(
        "one-stack deploy",
        &env,
        &[
            ("GetCallerIdentity", 1),
            ("DescribeStacks", 2),
            ("GetTemplate", 7),
            ("DescribeFlow", 1),
            ("DescribeChannel", 1),
            ("CreateChangeSet", 1),
            ("DescribeChangeSet", 1),
            ("ExecuteChangeSet", 1),
            ("DescribeStackEvents", 2),
        ],
    );
    assert!(env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("7000000"));
    assert!(change_sets(&env, "lunora-player-prod-dest-youtube")
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_or_cancelled_deploy_leaves_no_change_set_behind() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    // Cancelled: no --yes without a terminal.
    let out = env.run(&["deploy"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(change_sets(&env, "lunora-player-prod-dest-youtube")
        .await
        .is_empty());
    // Refused by a gate: the channel is running.
    let channel = env
        .stack_output("lunora-player-prod-dest-youtube", "ChannelId")
        .await;
    aws_sdk_medialive::Client::new(&env.emulator.sdk_config().await)
        .start_channel()
        .channel_id(&channel)
        .send()
        .await
        .unwrap();
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(change_sets(&env, "lunora-player-prod-dest-youtube")
        .await
        .is_empty());
    // Another stage than the changed stack's: its change set is not run.
    let out = env.run(&["deploy", "--yes", "--stage", "base"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(change_sets(&env, "lunora-player-prod-dest-youtube")
        .await
        .is_empty());
    assert!(!env
        .template("lunora-player-prod-dest-youtube")
        .await
        .contains("7000000"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failover_is_kept_by_deploy_and_rollback_unless_restore_source() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let out = env.run(&["failover", "--to", "backup"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.preferred_source().await.as_deref(), Some("backup"));

    // The plan says what deploy will and will not touch; the drift alone
    // is no change.
    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    assert!(
        said(&out).contains(
            "the flow prefers `backup` (set by `lunora failover` or by hand), the config `primary`: deploy and rollback keep `backup` (pass --restore-source to switch back to `primary`)"
        ),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("no changes"), "{}", stdout(&out));
    assert_eq!(env.preferred_source().await.as_deref(), Some("backup"));

    // A flow stack update keeps the live choice too (the emulator's flow
    // update re-applies the template's priority: lunora puts it back).
    std::fs::write(env.config(), flow_changed()).unwrap();
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(env.template(FLOW).await.contains("\"RecoveryWindow\": 300"));
    assert_eq!(env.preferred_source().await.as_deref(), Some("backup"));

    // So does a rollback.
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        flat(&stderr(&out)).contains("deploy and rollback keep `backup`"),
        "{}",
        stderr(&out)
    );
    assert!(!env.template(FLOW).await.contains("\"RecoveryWindow\": 300"));
    assert_eq!(env.preferred_source().await.as_deref(), Some("backup"));

    // --restore-source puts the config's source back: rollback...
    let out = env.run(&["rollback", "--yes", "--restore-source"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.preferred_source().await.as_deref(), Some("primary"));

    // ...and deploy, even when nothing else changes.
    assert_eq!(code(&env.run(&["failover", "--to", "backup"])), Some(0));
    let out = env.run(&["plan"]);
    assert!(said(&out).contains("keep `backup`"), "{}", stdout(&out));
    let out = env.run(&["deploy", "--yes", "--restore-source"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.preferred_source().await.as_deref(), Some("primary"));
    assert_eq!(code(&env.run(&["plan", "--detailed-exitcode"])), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_deploy_run_is_one_release_and_a_rollback_undoes_all_of_it() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    assert_eq!(env.records().len(), 1, "the first deploy: one release");
    let (flow_before, twitch_before) = (env.template(FLOW).await, env.template(TWITCH).await);

    // One run that changes the flow and one destination.
    std::fs::write(env.config(), flow_changed()).unwrap();
    env.override_preset("twitch-1080p60", "bitrate_kbps: 6000", "bitrate_kbps: 5000");
    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_ne!(env.template(FLOW).await, flow_before);
    assert!(env.template(TWITCH).await.contains("5000000"));
    assert_eq!(
        env.records().len(),
        2,
        "one run, one release: {:?}",
        env.records()
    );
    let list = env.releases();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0]["stages"],
        serde_json::json!(["base", "flow", "primary", "platforms"])
    );
    assert_eq!(list[1]["outcome"], "completed");
    assert_eq!(list[1]["stages"], serde_json::json!(["flow", "platforms"]));
    assert_eq!(list[1]["schema"], 2);

    // A plain rollback returns every stack to before that run.
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        env.template(FLOW).await,
        flow_before,
        "the flow change stayed"
    );
    assert_eq!(env.template(TWITCH).await, twitch_before);
    let list = env.releases();
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["type"], "rollback");
    assert_eq!(list[2]["to"], list[0]["id"]);
    assert_eq!(list[2]["outcome"], "completed");
    // `--wide`: one line per release, under a header.
    let text = stdout(&env.run(&["releases", "--wide"]));
    assert!(text.starts_with("RELEASE "), "{text}");
    let second = text.lines().nth(2).unwrap();
    assert!(
        second.contains("deploy of flow, platforms") && second.contains(" completed "),
        "{text}"
    );
}

/// A record as the lunora before schema 2 wrote it, one per stage.
fn as_schema1(
    mut r: lunora::release::Release,
    sequence: u64,
    at: time::OffsetDateTime,
    stages: &[&str],
) -> lunora::release::Release {
    let at = at.replace_nanosecond(0).unwrap();
    r.schema = 1;
    r.outcome = None;
    r.sequence = sequence;
    r.kind = lunora::release::ReleaseKind::Deploy {
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
    };
    r.created_at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    r.id = lunora::release::release_id(sequence, at);
    r.digest = r.compute_digest();
    r.verify().unwrap();
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_written_stage_by_stage_still_rolls_back_the_whole_run() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let (flow_before, twitch_before) = (env.template(FLOW).await, env.template(TWITCH).await);
    std::fs::write(env.config(), flow_changed()).unwrap();
    env.override_preset("twitch-1080p60", "bitrate_kbps: 6000", "bitrate_kbps: 5000");
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let (flow_after, twitch_after) = (env.template(FLOW).await, env.template(TWITCH).await);

    // Rewrite the history as the lunora before schema 2 recorded these two
    // runs: one record for the first, and one per stage for the second
    // ("deploy of flow", then "deploy of flow, platforms").
    let dir = env.releases_dir();
    let read = |name: &str| -> lunora::release::Release {
        serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
    };
    let names = env.records();
    let (first, second) = (read(&names[0]), read(&names[1]));
    let now = time::OffsetDateTime::now_utc();
    let old1 = as_schema1(
        first.clone(),
        1,
        now - time::Duration::minutes(10),
        &["base", "flow", "primary", "platforms"],
    );
    let mut flow_stage = second.clone();
    for s in &mut flow_stage.stacks {
        if s.name == TWITCH {
            *s = first.stack(TWITCH).unwrap().clone();
        }
    }
    let old2 = as_schema1(flow_stage, 2, now - time::Duration::minutes(3), &["flow"]);
    let old3 = as_schema1(
        second,
        3,
        now - time::Duration::minutes(2),
        &["flow", "platforms"],
    );
    for name in &names {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    for r in [&old1, &old2, &old3] {
        std::fs::write(dir.join(format!("{}.json", r.id)), r.to_json()).unwrap();
    }

    let list = env.releases();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["id"], old3.id.as_str());
    assert_eq!(list[1]["records"], serde_json::json!([old2.id, old3.id]));

    // Both stages of the second run go back, not only the last one.
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("rollback to `{}`", old1.id)),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.template(FLOW).await,
        flow_before,
        "the flow change stayed"
    );
    assert_eq!(env.template(TWITCH).await, twitch_before);

    // `rollback --to` a schema 1 record still works.
    let out = env.run(&["rollback", "--yes", "--to", &old3.id]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.template(FLOW).await, flow_after);
    assert_eq!(env.template(TWITCH).await, twitch_after);
    let list = env.releases();
    assert_eq!(list.len(), 4);
    assert_eq!(list[3]["to"], old3.id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restart_running_stops_updates_and_starts_the_channel() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let channel = env.stack_output(TWITCH, "ChannelId").await;
    let medialive = aws_sdk_medialive::Client::new(&env.emulator.sdk_config().await);
    env.override_preset("twitch-1080p60", "bitrate_kbps: 6000", "bitrate_kbps: 5000");
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    medialive
        .start_channel()
        .channel_id(&channel)
        .send()
        .await
        .unwrap();

    // Refused without the flag: nothing changes.
    let out = env.run(&["rollback", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--restart-running"),
        "{}",
        stderr(&out)
    );
    assert!(env.template(TWITCH).await.contains("5000000"));

    let out = env.run(&["rollback", "--yes", "--restart-running"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopping channel"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("running again"), "{}", stdout(&out));
    let committed = std::fs::read_to_string(root().join(format!("stacks/{TWITCH}.json"))).unwrap();
    assert_eq!(env.template(TWITCH).await, committed);
    let described = medialive
        .describe_channel()
        .channel_id(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(described.state().map(|s| s.as_str()), Some("RUNNING"));
    let bitrate = described
        .encoder_settings()
        .and_then(|e| e.video_descriptions().first())
        .and_then(|v| v.codec_settings())
        .and_then(|c| c.h264_settings())
        .and_then(|h| h.bitrate());
    assert_eq!(bitrate, Some(6_000_000), "the channel was not updated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_release_store_refuses_before_anything_changes() {
    let env = Env::new(&example()).await;
    assert_eq!(
        code(&env.run(&["deploy", "--stage", "base", "--yes"])),
        Some(0)
    );
    let base = "lunora-player-prod-base";
    let before = env.template(base).await;
    // A change that a deploy of base would make.
    std::fs::write(
        env.config(),
        example().replace("streaming-ops@example.com", "oncall@example.com"),
    )
    .unwrap();
    let dir = env.releases_dir();
    let record = dir.join(&env.records()[0]);
    let good = std::fs::read(&record).unwrap();
    let flipped = {
        let mut b = good.clone();
        let at = b.windows(7).position(|w| w == b"\"stage\"").unwrap() + 12;
        b[at] ^= 0x01;
        b
    };
    let copy = dir.join("r000002-20261124T051000Z.json");
    let damage = |what: &str| match what {
        "truncated" => std::fs::write(&record, &good[..good.len() / 2]).unwrap(),
        "bit-flipped" => std::fs::write(&record, &flipped).unwrap(),
        "copied" => std::fs::write(&copy, &good).unwrap(),
        "stray file" => std::fs::write(dir.join("notes.txt"), b"hi").unwrap(),
        _ => {
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::write(&dir, b"not a directory").unwrap();
        }
    };
    for what in [
        "truncated",
        "bit-flipped",
        "copied",
        "stray file",
        "releases/ is a file",
    ] {
        damage(what);
        for args in [
            &["deploy", "--stage", "base", "--yes"][..],
            &["rollback", "--yes"][..],
        ] {
            env.emulator.clear_requests();
            let out = env.run(args);
            assert_eq!(code(&out), Some(1), "{what}: {args:?}");
            let err = stderr(&out);
            assert!(err.contains("is damaged"), "{what}: {err}");
            assert!(
                err.contains("`lunora releases` shows what is damaged"),
                "{what}: {err}"
            );
            assert_eq!(
                env.template(base).await,
                before,
                "{what}: {args:?} changed the stack"
            );
            assert_eq!(
                env.emulator.count("CreateChangeSet"),
                0,
                "{what}: a change set was made"
            );
        }
        // Repaired, the store works again.
        if dir.is_file() {
            std::fs::remove_file(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        std::fs::write(&record, &good).unwrap();
    }
    let out = env.run(&["deploy", "--stage", "base", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_ne!(env.template(base).await, before);
    assert_eq!(env.records().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_of_another_account_are_refused_before_any_change() {
    // The emulator's account is 123456789012; this config belongs to another.
    let env = Env::new(&example().replace("123456789012", "999999999999")).await;
    for args in [&["plan"][..], &["deploy", "--yes"][..]] {
        let out = env.run(args);
        assert_eq!(code(&out), Some(3), "{args:?}");
        assert!(
            stderr(&out).contains("the credentials belong to account 123456789012")
                && stderr(&out).contains("the config to account 999999999999"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(env.status("lunora-player-prod-base").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_or_oversized_plan_file_stops_at_the_limit() {
    let env = Env::new(&example()).await;
    let started = std::time::Instant::now();
    let out = env.run(&["deploy", "--plan", "/dev/zero", "--yes"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/dev/zero: the plan file is larger than lunora's limit of 64 MiB"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // A regular file one byte over the limit.
    let big = env.dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 64 * 1024 * 1024 + 1]).unwrap();
    let out = env.run(&["deploy", "--plan", big.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("big.json: the plan file is larger than lunora's limit of 64 MiB"),
        "{}",
        stderr(&out)
    );
    // Nothing was deployed, and the lock is free again.
    assert_eq!(env.status("lunora-player-prod-base").await, None);
    assert!(!env
        .dir
        .path()
        .join(".lunora/lunora-player-prod/lock.json")
        .exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_whose_wait_hits_its_deadline_is_recorded_as_interrupted_and_unlocks() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
    // The stack's update never settles: the wait gives up at its deadline.
    env.emulator.make_stuck("lunora-player-prod-dest-youtube");
    let started = std::time::Instant::now();
    let out = env.run(&["deploy", "--yes", "--wait-timeout", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the deadline must end the run"
    );
    let report = said(&out);
    assert!(
        report.contains("interrupted") && report.contains("lunora-player-prod-dest-youtube"),
        "{report}"
    );
    assert!(
        report.contains("stack `lunora-player-prod-dest-youtube` is still UPDATE_IN_PROGRESS"),
        "{report}"
    );
    // The run is one release, recorded as interrupted, and the lock is free.
    let list = env.releases();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["outcome"], "interrupted");
    assert!(!env
        .dir
        .path()
        .join(".lunora/lunora-player-prod/lock.json")
        .exists());
}

fn fits_80(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            columns(line) <= 80,
            "{what}: {} columns: {line:?}\n{text}",
            columns(line)
        );
    }
}

impl Env {
    /// The binary at `COLUMNS=80`.
    fn at_80(&self, args: &[&str]) -> Output {
        let out = self
            .lunora()
            .env("COLUMNS", "80")
            .args(args)
            .output()
            .unwrap();
        eprintln!(
            "$ COLUMNS=80 lunora {}\n-- exit {:?}\n{}{}",
            args.join(" "),
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        out
    }
}

/// Every screen an operator reads fits 80 columns (`COLUMNS=80`): the
/// plan shown before the deploy, the deploy's summary with the outputs
/// and the elapsed time, releases, status, a plan with a template diff,
/// and a failed deploy, whose cause comes last.
#[tokio::test(flavor = "multi_thread")]
async fn every_screen_fits_80_columns() {
    let env = Env::new(&example()).await;

    let out = env.at_80(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    fits_80("deploy", &summary);
    // The plan it executed was shown first, fitted too.
    let shown = stderr(&out);
    let plan_at = shown.find("lunora plan: ").expect("the plan is shown");
    let plan_end = plan_at + shown[plan_at..].find("\nplan: ").unwrap();
    fits_80("the plan deploy shows", &shown[plan_at..plan_end]);
    assert!(shown[plan_at..].contains("security changes:"), "{shown}");
    // The outputs, the SRT ingest first, as `lunora outputs` gives them.
    let env_lines = stdout(&env.run(&["outputs"]));
    let value = |key: &str| {
        env_lines
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {env_lines}"))
            .to_owned()
    };
    let ingest = summary
        .lines()
        .position(|l| l.starts_with("ingest  srt://"))
        .unwrap_or_else(|| panic!("no ingest line:\n{summary}"));
    assert_eq!(
        summary.lines().nth(ingest).unwrap(),
        format!("ingest  srt://{}", value("LUNORA_INGEST_ENDPOINT"))
    );
    assert!(
        summary.contains(&format!(
            "backup  srt://{}",
            value("LUNORA_BACKUP_INGEST_ENDPOINT")
        )),
        "{summary}"
    );
    let flat_summary = flat(&summary);
    for dest in ["primary", "youtube", "twitch", "linkedin", "custom"] {
        let key = dest.to_uppercase();
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("{dest} ")))
            .unwrap_or_else(|| panic!("no row for {dest}:\n{summary}"));
        assert!(
            row.contains(&value(&format!("LUNORA_{key}_CHANNEL_ID"))),
            "{row}"
        );
        assert!(
            row.contains(&value(&format!("LUNORA_{key}_INPUT_ID"))),
            "{row}"
        );
        // At 80 columns the flow output by its name (its ARN is longer
        // than the line); `lunora outputs` has the ARN.
        let arn = value(&format!("LUNORA_{key}_OUTPUT_ARN"));
        assert!(
            row.ends_with(&format!("  {}", arn.rsplit(':').next().unwrap())),
            "{row}"
        );
    }
    assert!(flat_summary.contains("ARNs: `lunora outputs`"), "{summary}");
    let last = summary.lines().last().unwrap();
    assert!(
        last.starts_with("deploy complete in ") && last.ends_with(" s"),
        "the run's time comes last: {last:?}"
    );
    assert!(flat_summary.contains("release r000001-"), "{summary}");
    let releases = env.at_80(&["releases"]);
    assert_eq!(code(&releases), Some(0));
    fits_80("releases", &stdout(&releases));
    assert!(
        stdout(&releases).starts_with("RELEASE "),
        "{}",
        stdout(&releases)
    );
    let wide = stdout(&env.at_80(&["releases", "--wide"]));
    assert!(wide.contains("arn:aws:"), "the full caller ARN: {wide}");
    assert!(wide.contains(" 7 stacks"), "{wide}");

    let status = env.at_80(&["status"]);
    assert_eq!(code(&status), Some(0), "{}", stderr(&status));
    fits_80("status", &stdout(&status));

    // A plan with a template diff and a resource change.
    std::fs::write(env.config(), flow_changed()).unwrap();
    let out = env.at_80(&["plan"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    fits_80("plan", &stdout(&out));
    assert!(said(&out).contains("~ `lunora-player-prod-flow`: update"));
    let wide = stdout(&env.at_80(&["plan", "--wide"]));
    assert!(
        wide.lines().any(|l| columns(l) > 80),
        "--wide keeps lines whole: {wide}"
    );
    // Deployed on a wide terminal: the ARNs in full.
    let out = env
        .lunora()
        .env("COLUMNS", "200")
        .args(["deploy", "--yes"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(
        summary.contains(&format!("flow    {}", value("LUNORA_FLOW_ARN"))),
        "{summary}"
    );
    let arn = value("LUNORA_TWITCH_OUTPUT_ARN");
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("twitch ") && l.ends_with(&arn)),
        "{summary}"
    );

    // A failed deploy: the verdict, the failing stack and the first
    // FAILED resource event's reason come last.
    let moved = example().replace(
        "availability_zone: us-east-1a",
        "availability_zone: us-east-1b",
    );
    std::fs::write(env.config(), moved).unwrap();
    let out = env.at_80(&["deploy", "--yes", "--allow-replace", "Flow"]);
    assert_eq!(code(&out), Some(4), "{}", stdout(&out));
    let report = stdout(&out);
    fits_80("a failed deploy", &report);
    let tail: Vec<&str> = report
        .lines()
        .skip_while(|l| !l.starts_with("deploy failed and was rolled back cleanly after "))
        .collect();
    assert!(!tail.is_empty(), "the verdict: {report}");
    let tail = flat(&tail.join("\n"));
    assert!(
        tail.contains("failing stack: lunora-player-prod-flow"),
        "{tail}"
    );
    assert!(tail.contains("first failure: "), "{tail}");
    assert!(
        !tail.contains("cancelled"),
        "the cause, not a cascade: {tail}"
    );
    assert!(
        report.find("rolled-back  lunora-player-prod-flow").unwrap()
            < report.find("deploy failed and was rolled back").unwrap(),
        "{report}"
    );
    // In colour, the verdict is red.
    let out = env
        .lunora()
        .env("COLUMNS", "80")
        .env_remove("NO_COLOR")
        .args([
            "--color",
            "always",
            "deploy",
            "--yes",
            "--allow-replace",
            "Flow",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stdout(&out));
    let report = stdout(&out);
    fits_80("a failed deploy in colour", &report);
    assert!(
        report.lines().last().unwrap().starts_with("\x1b[1;31m"),
        "{report:?}"
    );

    // A rollback shows what it will change, fitted, before it asks (here
    // it cannot ask: stdin is not a terminal).
    let first = env.releases()[0]["id"].as_str().unwrap().to_owned();
    let out = env.at_80(&["rollback", "--to", &first]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let plan_at = err
        .find("lunora plan: ")
        .expect("the rollback shows its plan");
    let plan_end = plan_at + err[plan_at..].find("\nplan: ").unwrap();
    fits_80("the plan rollback shows", &err[plan_at..plan_end]);
    assert!(
        flat(&err).contains(&format!(
            "roll back to `{first}` (1 stack: 1 to update)? needs `--yes`"
        )),
        "{err}"
    );
}
