//! `lunora add destination` and `lunora remove destination` (issue 13):
//! the file's bytes are edited as promised, and every refusal is one line,
//! exit 1, with the file's hash unchanged.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::util::{lunora, root};

use crate::common::{add_youtube_2, KEYS_ARN as ARN};

/// Adds a Facebook destination `fb` in the example's stage.
const ADD_FB: [&str; 9] = [
    "add",
    "destination",
    "fb",
    "--platform",
    "facebook",
    "--preset",
    "facebook-1080p30",
    "--stream-key-secret",
    ARN,
];

/// A copy of the example in a temporary directory, with `extra` files
/// next to it.
fn workspace(extra: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lunora.yaml");
    std::fs::copy(root().join("examples/lunora.yaml"), &path).unwrap();
    for (rel, text) in extra {
        let file = dir.path().join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    (dir, path)
}

fn hash(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// Runs lunora with `-c path` and `args`: (exit code, stdout, stderr).
fn run(path: &Path, args: &[&str]) -> (i32, String, String) {
    let out = lunora()
        .env_remove("CI")
        .arg("-c")
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn add_prints_the_block_cost_and_next_step_and_remove_restores_the_bytes() {
    let (_dir, path) = workspace(&[]);
    let original = std::fs::read(&path).unwrap();
    let (code, stdout, stderr) = run(&path, &add_youtube_2("youtube-2"));
    assert_eq!(code, 0, "{stderr}");
    let text = stdout.replace(&path.display().to_string(), "lunora.yaml");
    insta::assert_snapshot!("add_destination_text", text);
    let edited = std::fs::read_to_string(&path).unwrap();
    assert!(edited.contains("destinations: [youtube, twitch, linkedin, custom, youtube-2]"));
    lunora()
        .arg("-c")
        .arg(&path)
        .arg("validate")
        .assert()
        .success();

    let (code, stdout, stderr) = run(&path, &["remove", "destination", "youtube-2", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("the next deploy deletes the stack `lunora-player-prod-dest-youtube-2`"),
        "{stdout}"
    );
    assert!(stdout.contains("next: `lunora plan`"), "{stdout}");
    assert_eq!(std::fs::read(&path).unwrap(), original, "remove after add");
}

#[test]
fn remove_says_when_a_stage_goes_with_the_destination() {
    let (_dir, path) = workspace(&[]);
    // `primary` is all stage `primary` deploys: the stage goes too.
    let (code, stdout, stderr) = run(&path, &["remove", "destination", "primary", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    let first = stdout.lines().next().unwrap();
    assert!(
        first.ends_with("; stage `primary` goes too: `primary` was all it deployed"),
        "{stdout}"
    );
    assert!(!first.contains("from stage"), "{stdout}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("  - name: primary\n"), "{text}");
    // `twitch` leaves the list of a stage that stays.
    let (code, stdout, stderr) = run(
        &path,
        &[
            "--output",
            "json",
            "remove",
            "destination",
            "twitch",
            "--yes",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["stages"], serde_json::json!(["platforms"]));
    assert_eq!(doc["removed_stages"], serde_json::json!([]));
    let (code, stdout, stderr) = run(&path, &["remove", "destination", "youtube", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .ends_with("and from stage `platforms`"),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn the_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = workspace(&[]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, stderr) = run(&path, &ADD_FB);
    assert_eq!(code, 0, "{stderr}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn json_output_is_the_add_destination_document() {
    let (_dir, path) = workspace(&[]);
    let (code, stdout, stderr) = run(&path, &[&["--output", "json"][..], &ADD_FB].concat());
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["schema"], "lunora.add-destination/v1");
    assert_eq!(doc["stage"], "platforms");
    assert!(doc["cost"]["change_usd"].as_f64().unwrap() > 0.0, "{doc}");
    assert!(doc["block"].as_str().unwrap().starts_with("  - id: fb\n"));
}

/// A preset over Twitch's 720p30 bitrate limit.
const FAST_PRESET: &str = "id: fast-720p30
description: too fast for Twitch
renditions:
  - name: 720p30
    width: 1280
    height: 720
    framerate: 30
    rate_control: CBR
    bitrate_kbps: 9000
    profile: MAIN
    level: H264_LEVEL_3_1
    gop_seconds: 2
    b_frames: 2
audio:
  profile: LC
  coding_mode: CODING_MODE_2_0
  sample_rate: 48000
  bitrate_kbps: 128
  rate_control: CBR
";

/// The example with its destinations as one flow-style list (JSON).
fn flow_style(text: &str) -> String {
    let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    let flow = serde_json::to_string(&value["destinations"]).unwrap();
    let start = text.find("destinations:\n").unwrap();
    let end = text.find("\nstages:").unwrap();
    format!("{}destinations: {flow}\n{}", &text[..start], &text[end..])
}

struct Refusal {
    name: &'static str,
    args: Vec<&'static str>,
    /// What the one line of stderr must contain.
    expect: &'static [&'static str],
    /// What it must never contain.
    never: &'static [&'static str],
    /// Rewrites the config file first.
    edit: Option<fn(&str) -> String>,
    read_only: bool,
}

fn add_args(id: &'static str, rest: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["add", "destination", id];
    args.extend_from_slice(rest);
    args
}

fn refusal(
    name: &'static str,
    args: Vec<&'static str>,
    expect: &'static [&'static str],
) -> Refusal {
    Refusal {
        name,
        args,
        expect,
        never: &[],
        edit: None,
        read_only: false,
    }
}

#[test]
fn every_refusal_is_one_line_and_leaves_the_file_unchanged() {
    let ok = |id| {
        add_args(
            id,
            &[
                "--platform",
                "twitch",
                "--preset",
                "twitch-720p30",
                "--stream-key-secret",
                ARN,
            ],
        )
    };
    let cases = vec![
        refusal(
            "unknown platform",
            add_args(
                "x",
                &[
                    "--platform",
                    "twich",
                    "--preset",
                    "twitch-720p30",
                    "--stream-key-secret",
                    ARN,
                ],
            ),
            &["unknown platform `twich`", "did you mean `twitch`?"],
        ),
        refusal(
            "unknown preset",
            add_args(
                "x",
                &[
                    "--platform",
                    "twitch",
                    "--preset",
                    "twitch-720p3",
                    "--stream-key-secret",
                    ARN,
                ],
            ),
            &[
                "unknown preset `twitch-720p3`",
                "did you mean `twitch-720p30`?",
            ],
        ),
        refusal(
            "preset over the platform's limits",
            add_args(
                "x",
                &[
                    "--platform",
                    "twitch",
                    "--preset",
                    "fast-720p30",
                    "--stream-key-secret",
                    ARN,
                ],
            ),
            &[
                "would make the config invalid",
                "9000 kbit/s is above",
                "6000 kbit/s",
            ],
        ),
        refusal(
            "preset made for another platform",
            add_args(
                "x",
                &[
                    "--platform",
                    "twitch",
                    "--preset",
                    "youtube-720p30",
                    "--stream-key-secret",
                    ARN,
                ],
            ),
            &["made for youtube"],
        ),
        refusal(
            "duplicate id",
            ok("twitch"),
            &["the id `twitch` exists already"],
        ),
        refusal(
            "invalid id",
            ok("Twitch_2"),
            &["`Twitch_2` is not a valid destination id"],
        ),
        Refusal {
            never: &["abcd-efgh-ijkl-mnop-qrst"],
            ..refusal(
                "a stream key inline",
                add_args(
                    "x",
                    &[
                        "--platform",
                        "twitch",
                        "--preset",
                        "twitch-720p30",
                        "--stream-key-secret",
                        "abcd-efgh-ijkl-mnop-qrst",
                    ],
                ),
                &["not the stream key itself", "the value is not shown"],
            )
        },
        Refusal {
            never: &["live_123456789_AbCdEfGhIjKlMnOpQrStUv"],
            ..refusal(
                "a stream key as the JSON key",
                add_args(
                    "x",
                    &[
                        "--platform",
                        "twitch",
                        "--preset",
                        "twitch-720p30",
                        "--stream-key-secret",
                        ARN,
                        "--json-key",
                        "live_123456789_AbCdEfGhIjKlMnOpQrStUv",
                    ],
                ),
                &["--json-key looks like a Twitch stream key", "not shown"],
            )
        },
        refusal(
            "missing options",
            add_args("x", &["--preset", "twitch-720p30"]),
            &["missing --platform and --stream-key-secret"],
        ),
        refusal(
            "missing preset",
            add_args("x", &["--platform", "twitch", "--stream-key-secret", ARN]),
            &["missing --preset", "twitch-720p30"],
        ),
        refusal(
            "custom without a URL",
            add_args(
                "x",
                &[
                    "--platform",
                    "custom",
                    "--preset",
                    "generic-720p30",
                    "--stream-key-secret",
                    ARN,
                ],
            ),
            &["missing --ingest-url"],
        ),
        refusal(
            "an unknown stage",
            add_args(
                "x",
                &[
                    "--platform",
                    "twitch",
                    "--preset",
                    "twitch-720p30",
                    "--stream-key-secret",
                    ARN,
                    "--stage",
                    "platfroms",
                ],
            ),
            &["no stage is named `platfroms`"],
        ),
        refusal(
            "a partial ARN",
            add_args(
                "x",
                &[
                    "--platform",
                    "twitch",
                    "--preset",
                    "twitch-720p30",
                    "--stream-key-secret",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys",
                ],
            ),
            &["would make the config invalid", "6-character suffix"],
        ),
        Refusal {
            edit: Some(|t| t.replacen("region: us-east-1", "region: moon-1", 1)),
            ..refusal(
                "an invalid config",
                ok("x"),
                &["is invalid already, fix it first", ":12:1: `region`"],
            )
        },
        Refusal {
            edit: Some(flow_style),
            ..refusal(
                "flow style",
                ok("x"),
                &[
                    "`destinations` is written in flow style",
                    "nothing was written",
                ],
            )
        },
        Refusal {
            read_only: true,
            ..refusal(
                "a read-only file",
                ok("x"),
                &["is read-only", "nothing was written"],
            )
        },
        refusal(
            "remove an unknown destination",
            vec!["remove", "destination", "youtub", "--yes"],
            &["unknown destination `youtub` (did you mean `youtube`?)"],
        ),
        refusal(
            "remove without --yes off a terminal",
            vec!["remove", "destination", "youtube"],
            &["needs `--yes`", "nothing was changed"],
        ),
    ];
    for case in cases {
        let (_dir, path) = workspace(&[("presets/fast-720p30.yaml", FAST_PRESET)]);
        if let Some(edit) = case.edit {
            let text = std::fs::read_to_string(&path).unwrap();
            let edited = edit(&text);
            assert_ne!(edited, text, "{}", case.name);
            std::fs::write(&path, edited).unwrap();
        }
        #[cfg(unix)]
        if case.read_only {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        let before = hash(&path);
        let (code, stdout, stderr) = run(&path, &case.args);
        assert_eq!(code, 1, "{}: {stdout}{stderr}", case.name);
        assert_eq!(hash(&path), before, "{}: the file changed", case.name);
        assert_eq!(stderr.lines().count(), 1, "{}: {stderr}", case.name);
        assert!(stderr.starts_with("error: "), "{}: {stderr}", case.name);
        for e in case.expect {
            assert!(stderr.contains(e), "{}: `{e}` not in {stderr}", case.name);
        }
        for n in case.never {
            assert!(
                !stderr.contains(n) && !stdout.contains(n),
                "{}: echoed",
                case.name
            );
        }
        assert!(stdout.is_empty(), "{}: {stdout}", case.name);
    }
}

#[cfg(unix)]
#[path = "destination_pty.rs"]
mod on_a_terminal;
