//! The commands' contracts: stdout for data, JSON shapes, exit codes, and
//! the commands that are not built yet saying so.

use serde_json::Value;

use super::util::{lunora, offline, root};
use crate::common::columns;

fn stdout_json(args: &[&str]) -> Value {
    let out = lunora().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn validate_summarises_the_example() {
    lunora()
        .args(["-c", "examples/lunora.yaml", "validate"])
        .assert()
        .success()
        .stdout(predicates::str::contains("`examples/lunora.yaml` is valid: lunora-player-prod in us-east-1, 5 destinations, 7 stacks in 4 stages"));
    let v = stdout_json(&["-c", "examples/lunora.yaml", "--output", "json", "validate"]);
    assert_eq!(v["kind"], "validate");
    assert_eq!(v["valid"], true);
    assert_eq!(v["destinations"].as_array().unwrap().len(), 5);
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["base", "flow", "primary", "platforms"]);
}

#[test]
fn default_stages_are_base_flow_primary_platforms() {
    let v = stdout_json(&[
        "-c",
        "tests/fixtures/mediaconnect/lunora.yaml",
        "--output",
        "json",
        "validate",
    ]);
    let stages: Vec<(String, Vec<String>)> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["stacks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        stages[0],
        ("base".to_owned(), vec!["acme-live-staging-base".to_owned()])
    );
    assert_eq!(
        stages[1],
        ("flow".to_owned(), vec!["acme-live-staging-flow".to_owned()])
    );
    assert_eq!(
        stages[2],
        (
            "primary".to_owned(),
            vec!["acme-live-staging-dest-hls".to_owned()]
        )
    );
    assert_eq!(stages[3].0, "platforms");
    assert_eq!(stages[3].1.len(), 2);
}

#[test]
fn presets_list_shows_the_collection_and_local_files() {
    let v = stdout_json(&[
        "--output",
        "json",
        "-c",
        "tests/fixtures/custom-platform/lunora.yaml",
        "presets",
        "list",
    ]);
    let ids: Vec<&str> = v["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for id in [
        "youtube-1080p30",
        "twitch-720p30",
        "hls-ladder",
        "kick-1080p60",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let kick = v["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "kick-1080p60")
        .unwrap();
    assert_eq!(kick["origin"]["kind"], "file");
    let platforms: Vec<&str> = v["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(platforms.contains(&"kick"));
    // Without a config file, the built-in collection.
    lunora()
        .args(["-c", "does-not-exist.yaml", "presets", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("youtube-1080p60"));
}

#[test]
fn presets_show_prints_settings_limits_and_sources() {
    lunora()
        .args(["presets", "show", "twitch-1080p60"])
        .assert()
        .success()
        .stdout(predicates::str::contains("1920x1080@60 CBR 6000 kbit/s"))
        .stdout(predicates::str::contains("UNVERIFIED"))
        .stdout(predicates::str::contains("follows MediaLive's rules"));
    let v = stdout_json(&["--output", "json", "presets", "show", "hls-ladder"]);
    assert_eq!(v["preset"]["renditions"].as_array().unwrap().len(), 4);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    lunora()
        .args(["presets", "show", "youtube-1080p90"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "unknown preset `youtube-1080p90` (hint: did you mean `youtube-1080p30`?",
        ));
}

#[test]
fn the_committed_schemas_are_current() {
    for (kind, file) in [
        ("config", "lunora.schema.json"),
        ("preset", "preset.schema.json"),
        ("platform", "platform.schema.json"),
    ] {
        let out = lunora().args(["schema", kind]).output().unwrap();
        assert!(out.status.success());
        let committed = std::fs::read_to_string(root().join("schema").join(file)).unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            committed,
            "schema/{file} is stale: run `cargo run -- schema {kind} > schema/{file}`"
        );
    }
}

#[test]
fn the_schema_describes_the_config_fields() {
    let v = stdout_json(&["schema"]);
    let props = v["properties"].as_object().unwrap();
    for field in [
        "project",
        "environment",
        "region",
        "account_id",
        "input_mode",
        "encoder",
        "flow",
        "destinations",
        "stages",
    ] {
        assert!(props.contains_key(field), "schema lacks `{field}`");
    }
    assert_eq!(v["additionalProperties"], false);
}

#[test]
fn operating_commands_without_credentials_say_so() {
    for cmd in [
        vec!["status"],
        vec!["outputs"],
        vec!["start", "youtube"],
        vec!["stop", "youtube"],
        vec!["failover", "--to", "backup"],
    ] {
        let out = offline()
            .args(["-c", "examples/lunora.yaml"])
            .args(&cmd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        assert!(out.stdout.is_empty(), "{cmd:?}: stdout must stay empty");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("credentials"), "{cmd:?}: {stderr}");
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        lunora()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicates::str::contains("lunora"));
    }
}

#[test]
fn usage_errors_exit_1() {
    lunora().arg("frobnicate").assert().code(1);
    lunora()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicates::str::contains("Exit codes"));
}

#[test]
fn a_local_preset_replaces_the_built_in_one_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    std::fs::write(dir.path().join("lunora.yaml"), example).unwrap();
    std::fs::create_dir_all(dir.path().join("presets")).unwrap();
    let built_in = std::fs::read_to_string(root().join("presets/youtube-1080p30.yaml")).unwrap();
    let tuned = built_in
        .replace("bitrate_kbps: 6000", "bitrate_kbps: 7000")
        .replace(
            "YouTube 1080p30, 6 Mbit/s",
            "Team-tuned YouTube 1080p30, 7 Mbit/s",
        );
    std::fs::write(dir.path().join("presets/youtube-1080p30.yaml"), tuned).unwrap();
    let config = dir.path().join("lunora.yaml");
    let out = lunora()
        .arg("-c")
        .arg(&config)
        .args(["--output", "json", "presets", "show", "youtube-1080p30"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["preset"]["renditions"][0]["bitrate_kbps"], 7000);
    assert_eq!(v["origin"]["kind"], "file");
    let render = dir.path().join("stacks");
    lunora()
        .arg("-c")
        .arg(&config)
        .args(["render", "--out"])
        .arg(&render)
        .assert()
        .success();
    let youtube =
        std::fs::read_to_string(render.join("lunora-player-prod-dest-youtube.json")).unwrap();
    assert!(youtube.contains("\"Bitrate\": 7000000"));
}

#[test]
fn plan_without_credentials_compares_with_the_release_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lunora.yaml");
    std::fs::copy(root().join("examples/lunora.yaml"), &config).unwrap();
    let out = offline()
        .arg("-c")
        .arg(&config)
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("no AWS credentials found: planning against the release store"),
        "{stderr}"
    );
    assert!(
        stdout.contains("plan: 7 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{stdout}"
    );
    let json = offline()
        .arg("-c")
        .arg(&config)
        .args(["--output", "json", "plan"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["schema"], "lunora.plan/v1");
    assert_eq!(v["mode"], "offline");
    assert_eq!(v["stacks"].as_array().unwrap().len(), 7);
    let md = offline()
        .arg("-c")
        .arg(&config)
        .args(["--output", "markdown", "plan"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("<details><summary><code>lunora-player-prod-flow</code>: create"),
        "{md}"
    );
    assert!(md.contains("<!-- lunora-plan:lunora-player-prod -->"));
}

#[test]
fn the_offline_plan_fits_80_columns_and_wide_keeps_lines_whole() {
    let plan = |columns: Option<&str>, extra: &[&str]| {
        let mut cmd = offline();
        cmd.args(["-c", "examples/lunora.yaml", "plan"]).args(extra);
        match columns {
            Some(c) => cmd.env("COLUMNS", c),
            None => cmd.env_remove("COLUMNS"),
        };
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let policy = "sns:Subscribe on {\"Ref\":\"AlarmTopic\"}";
    for (text, colour) in [
        (plan(Some("80"), &[]), false),
        (plan(Some("80"), &["--color", "always"]), true),
        // Not a terminal and no COLUMNS: 80.
        (plan(None, &[]), false),
    ] {
        assert_eq!(text.contains('\x1b'), colour, "{text}");
        for line in text.lines() {
            assert!(columns(line) <= 80, "{} columns: {line:?}", columns(line));
        }
        // The security lines wrap under a hanging indent.
        let at = text
            .lines()
            .position(|l| l.starts_with("  + iam   lunora-player-prod-base/AlarmTopicPolicy"))
            .unwrap();
        assert!(
            text.lines().nth(at + 1).unwrap().starts_with("      "),
            "{text}"
        );
        assert!(
            !text.lines().any(|l| l.contains(policy)) || colour,
            "{text}"
        );
    }
    let wide = plan(Some("80"), &["--wide"]);
    let line = wide.lines().find(|l| l.contains(policy)).unwrap();
    assert!(columns(line) > 200, "{line}");
    assert!(line
        .starts_with("  + iam   lunora-player-prod-base/AlarmTopicPolicy: policy Allow {\"AWS\""));
    // At 132 columns (a wide terminal), 132.
    let text = plan(Some("132"), &[]);
    assert!(text.lines().all(|l| columns(l) <= 132));
    assert!(text.lines().any(|l| columns(l) > 100), "{text}");
}

#[test]
fn deploy_without_credentials_says_so() {
    offline()
        .args(["-c", "examples/lunora.yaml", "deploy", "--yes"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "`lunora deploy` needs AWS credentials",
        ));
}

#[test]
fn version_names_the_git_commit() {
    let out = lunora().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    assert_eq!(
        text.trim(),
        format!("lunora {} (commit {head})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn start_and_stop_usage_mention_all() {
    for command in ["start", "stop"] {
        let out = lunora().args([command, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("lunora {command} [OPTIONS] --all")),
            "{text}"
        );
    }
    let out = lunora().args(["rollback", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Deploy only"), "{text}");
}

#[test]
fn a_thumbnail_to_stdout_leaves_no_room_for_a_json_report() {
    let out = lunora()
        .args([
            "-c",
            "examples/lunora.yaml",
            "--output",
            "json",
            "thumbnail",
            "youtube",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`-o -` writes the JPEG to stdout"), "{err}");
}
