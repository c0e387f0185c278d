//! Shared helpers: the binary, the repository root, the fixtures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (tests run with it as the working directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `lunora` run from the repository root, with no colour and no
/// inherited config or endpoint.
pub fn lunora() -> Command {
    let mut cmd = Command::cargo_bin("lunora").unwrap();
    cmd.current_dir(root())
        .env_remove("LUNORA_CONFIG")
        .env_remove("LUNORA_COLOR")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1");
    cmd
}

/// `lunora` with no AWS credentials anywhere (no environment, no files,
/// no instance metadata): `plan` plans offline.
pub fn offline() -> Command {
    let mut cmd = lunora();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/lunora-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/lunora-test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Every config the render tests cover: the example and the fixtures.
pub fn configs() -> Vec<(&'static str, PathBuf)> {
    let r = root();
    vec![
        ("example", r.join("examples/lunora.yaml")),
        (
            "mediaconnect",
            r.join("tests/fixtures/mediaconnect/lunora.yaml"),
        ),
        ("no-backup", r.join("tests/fixtures/no-backup/lunora.yaml")),
        (
            "custom-platform",
            r.join("tests/fixtures/custom-platform/lunora.yaml"),
        ),
        ("guards", r.join("tests/fixtures/guards/lunora.yaml")),
    ]
}

/// Renders a config through the library.
pub fn render(path: &Path) -> Vec<lunora::render::RenderedStack> {
    let deployment =
        lunora::config::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lunora::render::render(&deployment).unwrap()
}

/// Runs cfn-lint over `files` and fails the test with its findings unless
/// there are none (zero errors, zero warnings).
pub fn assert_cfn_lint_clean(files: &[PathBuf]) {
    let output = std::process::Command::new("cfn-lint")
        .args(files)
        .output()
        .expect("cfn-lint is not installed: run `pip install -r requirements-dev.txt`");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
