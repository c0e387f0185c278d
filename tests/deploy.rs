//! plan, deploy, rollback and releases end to end: the lunora binary
//! against the project's AWS emulator (moto_server with MediaConnect and
//! MediaLive CloudFormation support, tests/emulator/), through the real
//! aws-sdk clients. Each test gets its own emulator and directory.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[path = "common/emulator.rs"]
mod emulator;

#[path = "common/workspace.rs"]
mod workspace;

use std::process::Output;

use serde_json::Value;
use workspace::{example, root, Workspace as Env};

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

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    // No preview change set is left behind (the emulator also lists the
    // executed deploy change sets, which AWS removes itself).
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
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_destination_is_planned_and_deleted() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let without_custom = example().replace(
        "destinations: [youtube, twitch, linkedin, custom]",
        "destinations: [youtube, twitch, linkedin]",
    );
    let cut = without_custom.find("  - id: custom").unwrap();
    let end = without_custom[cut..].find("\nstages:").unwrap() + cut;
    let text = format!("{}{}", &without_custom[..cut], &without_custom[end + 1..]);
    std::fs::write(env.path("lunora.yaml"), text).unwrap();
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
    // The config changes after the plan: deploy --plan still executes the plan.
    env.override_preset(
        "youtube-1080p30",
        "bitrate_kbps: 6000",
        "bitrate_kbps: 7000",
    );
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
async fn a_failover_shows_in_the_plan_and_the_next_deploy_puts_the_config_back() {
    let env = Env::new(&example()).await;
    assert_eq!(code(&env.run(&["deploy", "--yes"])), Some(0));
    let out = env.run(&["failover", "--to", "backup"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let preferred = || async {
        let arn = env.stack_output("lunora-player-prod-flow", "FlowArn").await;
        let mc = aws_sdk_mediaconnect::Client::new(&env.emulator.sdk_config().await);
        let flow = mc.describe_flow().flow_arn(arn).send().await.unwrap();
        flow.flow()
            .and_then(|f| f.source_failover_config())
            .and_then(|c| c.source_priority())
            .and_then(|p| p.primary_source())
            .map(str::to_owned)
    };
    assert_eq!(preferred().await.as_deref(), Some("backup"));

    let out = env.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("deploy switches it back to `primary`"),
        "{}",
        stdout(&out)
    );

    let out = env.run(&["deploy", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(preferred().await.as_deref(), Some("primary"));
    assert_eq!(code(&env.run(&["plan", "--detailed-exitcode"])), Some(0));
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
