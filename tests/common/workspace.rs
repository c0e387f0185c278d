//! A test workspace: its own emulator (with the example's secrets) and
//! its own directory holding `lunora.yaml`, and the lunora binary run in
//! it against the emulator. Shared by the end-to-end test binaries.
#![allow(dead_code, clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use super::emulator::Emulator;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example config's text.
pub fn example() -> String {
    std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap()
}

/// The example without its `custom` destination (and its stage entry).
pub fn example_without_custom() -> String {
    let without_custom = example().replace(
        "destinations: [youtube, twitch, linkedin, custom]",
        "destinations: [youtube, twitch, linkedin]",
    );
    let cut = without_custom.find("  - id: custom").unwrap();
    let end = without_custom[cut..].find("\nstages:").unwrap() + cut;
    format!("{}{}", &without_custom[..cut], &without_custom[end + 1..])
}

pub struct Workspace {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A fresh emulator holding the secrets the example references, and
    /// `config` written as `lunora.yaml` in a fresh directory.
    pub async fn new(config: &str) -> Self {
        let emulator = Emulator::start();
        let sm = aws_sdk_secretsmanager::Client::new(&emulator.sdk_config().await);
        for (name, suffix, value) in [
            ("lunora/srt-passphrase", "Ab12Cd", "a-long-srt-passphrase"),
            (
                "lunora/stream-keys",
                "Xy34Zw",
                r#"{"youtube":"k1","twitch":"k2","linkedin":"k3","custom":"k4"}"#,
            ),
        ] {
            sm.create_secret()
                .name(name)
                .secret_string(value)
                .tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key("_custom_id_")
                        .value(suffix)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lunora.yaml"), config).unwrap();
        Self { emulator, dir }
    }

    /// A path inside the workspace directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.path("lunora.yaml")
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The binary, in the workspace, against the emulator, with test
    /// credentials and nothing inherited that could change its behaviour.
    pub fn lunora(&self) -> Command {
        Command::from_std(self.lunora_process())
    }

    /// [`Workspace::lunora`] as a std `Command`, for a process a test
    /// spawns and talks to while it runs (`lunora serve`).
    pub fn lunora_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("lunora"));
        cmd.current_dir(self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .args(["--endpoint-url", self.emulator.endpoint_url()]);
        cmd
    }

    /// Runs the binary and echoes what it printed (shown when a test fails).
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.lunora().args(args).output().unwrap();
        eprintln!(
            "$ lunora {}\n-- exit {:?}\n{}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}
