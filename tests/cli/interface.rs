//! The command line as a user meets it: which options each command's help
//! lists, both positions of the shared options, "did you mean" for
//! destination ids, shell completion, the man pages, and where `render`
//! writes when run from another directory.

use std::collections::BTreeSet;
use std::path::Path;

use super::util::{lunora, root};

const GLOBAL: &[&str] = &["config", "output", "color", "quiet", "verbose"];
const AWS: &[&str] = &[
    "profile",
    "region",
    "endpoint-url",
    "aws-timeout",
    "wait-timeout",
];
const GATES: &[&str] = &[
    "stage",
    "yes",
    "allow-replace",
    "restart-running",
    "force-unlock",
    "restore-source",
];

/// The long options a `--help` screen lists (`-h`, `-V` left out).
fn listed_options(args: &[&str]) -> BTreeSet<String> {
    let out = lunora().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    // The lines of the `...options:` sections that start with a flag.
    let mut in_options = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_options = line.ends_with("ptions:");
        } else if in_options && line.trim_start().starts_with('-') {
            lines.push(line.trim_start());
        }
    }
    lines
        .into_iter()
        .filter_map(|l| l.split("--").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|o| o != "help" && o != "version")
        .collect()
}

fn set(parts: &[&[&str]]) -> BTreeSet<String> {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

#[test]
fn each_command_lists_only_the_options_it_uses() {
    let cases: Vec<(Vec<&str>, BTreeSet<String>)> = vec![
        (vec!["validate"], set(&[GLOBAL])),
        (vec!["render"], set(&[GLOBAL, &["out", "check"]])),
        (
            vec!["plan"],
            set(&[GLOBAL, AWS, &["detailed-exitcode", "out", "wide"]]),
        ),
        (vec!["deploy"], set(&[GLOBAL, AWS, GATES, &["plan"]])),
        (vec!["rollback"], set(&[GLOBAL, AWS, GATES, &["to"]])),
        (vec!["releases"], set(&[GLOBAL, AWS, &["wide"]])),
        (
            vec!["status"],
            set(&[GLOBAL, AWS, &["watch", "interval", "check", "wide"]]),
        ),
        (vec!["start"], set(&[GLOBAL, AWS, &["all"]])),
        (vec!["stop"], set(&[GLOBAL, AWS, &["all", "keep-flow"]])),
        (vec!["failover"], set(&[GLOBAL, AWS, &["to"]])),
        (
            vec!["thumbnail"],
            set(&[GLOBAL, AWS, &["source", "output-file"]]),
        ),
        (
            vec!["cost"],
            set(&[
                GLOBAL,
                AWS,
                &["hours", "destinations", "rates", "wide", "actual", "month"],
            ]),
        ),
        (vec!["outputs"], set(&[GLOBAL, AWS, &["format"]])),
        (
            vec!["add", "destination"],
            set(&[
                GLOBAL,
                &[
                    "platform",
                    "preset",
                    "ingest-url",
                    "stream-key-secret",
                    "json-key",
                    "stage",
                ],
            ]),
        ),
        (vec!["remove", "destination"], set(&[GLOBAL, &["yes"]])),
        (vec!["presets", "list"], set(&[GLOBAL])),
        (vec!["presets", "show"], set(&[GLOBAL])),
        (vec!["schema"], set(&[])),
        (vec!["completions"], set(&[])),
        (vec!["man"], set(&[&["dir"]])),
    ];
    for (command, expected) in cases {
        assert_eq!(
            listed_options(&command),
            expected,
            "lunora {command:?} --help"
        );
    }
    // `lunora --help` lists every shared option, and says where they go.
    assert_eq!(listed_options(&[]), set(&[GLOBAL, AWS]));
}

#[test]
fn shared_options_work_before_and_after_the_command() {
    let run = |args: &[&str]| {
        let out = lunora().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // The same document, but for the time it was generated at.
    let document = |text: &str| {
        let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
        doc.as_object_mut().unwrap().remove("generated_at");
        doc
    };
    let before = run(&["-c", "examples/lunora.yaml", "--output", "json", "validate"]);
    let after = run(&["validate", "-c", "examples/lunora.yaml", "--output", "json"]);
    assert!(before.starts_with('{'), "{before}");
    assert_eq!(document(&before), document(&after));
    // The command line beats LUNORA_CONFIG, in either position; after the
    // command beats before it.
    for args in [
        &["-c", "examples/lunora.yaml", "validate"][..],
        &["validate", "-c", "examples/lunora.yaml"],
        &[
            "-c",
            "missing.yaml",
            "validate",
            "-c",
            "examples/lunora.yaml",
        ],
    ] {
        lunora()
            .env("LUNORA_CONFIG", "missing.yaml")
            .args(args)
            .assert()
            .success();
    }
    lunora()
        .env("LUNORA_CONFIG", "examples/lunora.yaml")
        .arg("validate")
        .assert()
        .success();
    // After the command, an option it does not take is a usage error ...
    for args in [
        &["schema", "-c", "examples/lunora.yaml"][..],
        &["validate", "--profile", "prod"],
        &["outputs", "--output", "json"],
    ] {
        lunora().args(args).assert().code(1);
    }
    // ... before it, it is ignored: `--output markdown` does not turn the
    // schema into a fenced block.
    let schema = run(&["-c", "nowhere.yaml", "--output", "markdown", "schema"]);
    assert!(schema.starts_with('{'), "{schema}");
    run(&[
        "--profile",
        "prod",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "presets",
        "list",
    ]);
}

/// `lunora` with no AWS credentials reachable.
fn isolated(home: &Path) -> assert_cmd::Command {
    let mut cmd = lunora();
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
    cmd
}

#[test]
fn an_unknown_destination_id_names_the_closest_one() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["start", "twtich"][..],
        &["stop", "youtube", "twtich"],
        &["thumbnail", "twtich"],
        &["cost", "--destinations", "youtube,twtich"],
    ] {
        let out = isolated(home.path())
            .args(["-c", "examples/lunora.yaml"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        // Before any AWS call: no credentials are needed to be told.
        assert!(
            err.contains("unknown destination `twtich` (did you mean `twitch`?)"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("the config defines primary, youtube, twitch, linkedin, custom"),
            "{args:?}: {err}"
        );
    }
    let out = isolated(home.path())
        .args(["-c", "examples/lunora.yaml", "stop", "zzzz", "yuotube"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown destinations `zzzz`, `yuotube` (did you mean `youtube`?)"),
        "{err}"
    );
}

/// The candidates lunora gives fish for the words after `lunora`, run
/// from `dir`.
fn complete_in(dir: &Path, words: &[&str]) -> Vec<String> {
    let out = lunora()
        .current_dir(dir)
        .env("LUNORA_COMPLETE", "fish")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .args(["--", "lunora"])
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{words:?}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn complete(words: &[&str]) -> Vec<String> {
    complete_in(&root(), words)
}

#[test]
fn completion_offers_destination_ids_and_stage_names_from_the_config() {
    let ex = ["-c", "examples/lunora.yaml"];
    let all = ["primary", "youtube", "twitch", "linkedin", "custom"];
    assert_eq!(complete(&[&ex[..], &["start", "tw"]].concat()), ["twitch"]);
    assert_eq!(complete(&[&ex[..], &["stop", "y"]].concat()), ["youtube"]);
    assert_eq!(
        complete(&[&ex[..], &["thumbnail", "li"]].concat()),
        ["linkedin"]
    );
    let values = complete(&[&ex[..], &["start", ""]].concat());
    assert_eq!(&values[..5], all, "{values:?}");
    assert_eq!(
        complete(&[&ex[..], &["cost", "--destinations", "youtube,t"]].concat()),
        ["youtube,twitch"]
    );
    // `-c` after the command, or LUNORA_CONFIG, names the config too.
    assert_eq!(
        complete(&["deploy", "-c", "examples/lunora.yaml", "--stage", "p"]),
        ["primary", "platforms"]
    );
    let out = lunora()
        .env("LUNORA_COMPLETE", "fish")
        .env("LUNORA_CONFIG", "examples/lunora.yaml")
        .args(["--", "lunora", "rollback", "--stage", ""])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let stages: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(stages, ["base", "flow", "primary", "platforms"]);
    assert_eq!(
        complete(&[&ex[..], &["plan", "--region", ""]].concat()),
        ["us-east-1"]
    );
    assert_eq!(
        complete(&[&ex[..], &["presets", "show", "twitch-7"]].concat()),
        ["twitch-720p30", "twitch-720p60"]
    );
}

#[test]
fn completion_never_offers_file_names_for_names() {
    // A directory full of files, and no config: nothing to offer.
    let dir = tempfile::tempdir().unwrap();
    for name in ["prod", "primary.txt", "us-east-1", "stacks"] {
        std::fs::write(dir.path().join(name), "x").unwrap();
    }
    for words in [
        &["plan", "--profile", ""][..],
        &["plan", "--region", ""],
        &["deploy", "--stage", ""],
        &["rollback", "--stage", "p"],
        &["start", "p"],
        &["cost", "--destinations", "p"],
        &["status", "--aws-timeout", ""],
        &["plan", "--endpoint-url", ""],
    ] {
        assert_eq!(
            complete_in(dir.path(), words),
            Vec::<String>::new(),
            "{words:?}"
        );
    }
    // The profiles come from the shared AWS files.
    let aws = dir.path().join("aws-config");
    std::fs::write(&aws, "[default]\n[profile prod]\n[profile staging]\n").unwrap();
    let out = lunora()
        .current_dir(dir.path())
        .env("LUNORA_COMPLETE", "fish")
        .env("AWS_CONFIG_FILE", &aws)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .args(["--", "lunora", "status", "--profile", "pr"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "prod");
    // `-c` does complete file names.
    assert!(complete_in(dir.path(), &["-c", "pri"]).contains(&"primary.txt".to_owned()));
}

#[test]
fn the_completion_scripts_call_lunora_back() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = lunora().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("LUNORA_COMPLETE"), "{shell}: {script}");
    }
    // The bash script, sourced in a real bash, asks the binary on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_lunora"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = r#"
        source <(lunora completions bash)
        COMP_WORDS=(lunora -c examples/lunora.yaml start tw); COMP_CWORD=4; COMP_TYPE=9
        _clap_complete_lunora lunora tw start
        echo "start: ${COMPREPLY[*]}"
        COMP_WORDS=(lunora -c examples/lunora.yaml deploy --stage ba); COMP_CWORD=5
        _clap_complete_lunora lunora ba --stage
        echo "stage: ${COMPREPLY[*]}"
    "#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .env_remove("LUNORA_CONFIG")
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("start: twitch\n"), "{text}{out:?}");
    assert!(text.contains("stage: base\n"), "{text}");
}

#[test]
fn the_man_page_names_every_command() {
    let out = lunora().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH lunora 1"), "{page}");
    let commands = [
        "validate",
        "render",
        "plan",
        "deploy",
        "rollback",
        "releases",
        "status",
        "start",
        "stop",
        "failover",
        "thumbnail",
        "cost",
        "outputs",
        "presets",
        "add",
        "remove",
        "serve",
        "schema",
        "completions",
        "man",
    ];
    for c in commands {
        assert!(page.contains(&format!("lunora\\-{c}(1)")), "{c}");
    }
    // `--dir`: one page per command, each of which renders.
    let dir = tempfile::tempdir().unwrap();
    lunora()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = commands
        .iter()
        .map(|c| format!("lunora-{c}.1"))
        .chain(
            [
                "lunora.1",
                "lunora-presets-list.1",
                "lunora-presets-show.1",
                "lunora-add-destination.1",
                "lunora-remove-destination.1",
            ]
            .map(String::from),
        )
        .collect();
    expected.sort();
    assert_eq!(pages, expected);
    let plan = std::fs::read_to_string(dir.path().join("lunora-plan.1")).unwrap();
    assert!(plan.contains("\\-\\-detailed\\-exitcode"), "{plan}");
    // groff, where installed, formats every page without a warning.
    if std::process::Command::new("groff")
        .arg("-v")
        .output()
        .is_ok()
    {
        for page in &pages {
            let out = std::process::Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(dir.path().join(page))
                .output()
                .unwrap();
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{page}: {out:?}"
            );
        }
    }
}

#[test]
fn render_writes_next_to_the_config_from_any_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(
        root().join("examples/lunora.yaml"),
        project.join("lunora.yaml"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        lunora()
            .current_dir(&elsewhere)
            .args(["-c", "../project/lunora.yaml"])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["render"]).status.success());
    let flow = "lunora-player-prod-flow.json";
    assert!(project.join("stacks").join(flow).is_file());
    assert!(
        !elsewhere.join("stacks").exists(),
        "wrote into the current directory"
    );
    let check = run(&["render", "--check"]);
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("up to date (7 templates)"));
    // An explicit --out is relative to the current directory.
    assert!(run(&["render", "--out", "out"]).status.success());
    assert!(elsewhere.join("out").join(flow).is_file());
    assert!(run(&["render", "--check", "--out", "out"]).status.success());
    // --check from elsewhere sees a stale file next to the config.
    std::fs::write(project.join("stacks").join(flow), "{}\n").unwrap();
    let stale = run(&["render", "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stdout).contains("differs from a fresh render"));
}
