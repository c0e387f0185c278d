//! How lunora finds AWS (issue 8, items 5a and 13): endpoint URLs,
//! profiles, credentials and the Region, checked before any call. No
//! emulator: every case here is decided before or at the first request.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

use super::util::{lunora, root};

/// `lunora` with no AWS credentials, profiles or Region from the host: the
/// shared files are `dir/aws-config` and `dir/aws-credentials` (absent
/// unless a test writes them), and the instance metadata service is off.
fn isolated(dir: &Path) -> Command {
    let mut cmd = lunora();
    cmd.env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir)
        .args(["-c", root().join("examples/lunora.yaml").to_str().unwrap()]);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "LUNORA_AWS_TIMEOUT",
        "LUNORA_WAIT_TIMEOUT",
        "CI",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn with_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "-- exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one error line, asserting there is exactly one and no panic.
fn one_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    errors[0].to_owned()
}

// ------------------------------------------------ 5a. endpoint URLs

/// An empty AWS_ENDPOINT_URL counts as unset (it used to panic every AWS
/// command): without credentials, `plan` plans offline, exit 0.
#[test]
fn an_empty_aws_endpoint_url_counts_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(isolated(dir.path()).env("AWS_ENDPOINT_URL", "").arg("plan"));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no AWS credentials found"),
        "{}",
        stderr(&out)
    );
    // With credentials it used to panic (exit 101). Now the empty one is
    // skipped and the SDK's next setting, STS's own endpoint variable
    // (a port where nothing listens), is the one called.
    let out = run(with_credentials(&mut isolated(dir.path()))
        .env("AWS_ENDPOINT_URL", "")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", "")
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .arg("status"));
    let line = one_error(&out);
    assert!(
        line.contains("sts:GetCallerIdentity failed: AWS could not be reached"),
        "{line}"
    );
}

/// `--endpoint-url ''` and malformed URLs (flag or environment) are a
/// one-line error naming the value, exit 1, for every AWS command.
#[test]
fn an_empty_or_malformed_endpoint_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["plan", "deploy", "status", "releases", "outputs"] {
        let out =
            run(with_credentials(&mut isolated(dir.path())).args(["--endpoint-url", "", command]));
        let line = one_error(&out);
        assert!(
            line.contains("`--endpoint-url` is empty"),
            "{command}: {line}"
        );
    }
    for bad in [
        "not a url",
        "ftp://127.0.0.1:21",
        "http://",
        "http://127.0.0.1:99999",
        "/tmp/x",
    ] {
        let out =
            run(with_credentials(&mut isolated(dir.path())).args(["--endpoint-url", bad, "plan"]));
        let line = one_error(&out);
        assert!(
            line.contains(&format!("`--endpoint-url {bad}`")),
            "{bad}: {line}"
        );
        assert!(line.contains("hint:"), "{line}");
    }
    let out = run(with_credentials(&mut isolated(dir.path()))
        .env("AWS_ENDPOINT_URL", "localhost:4566")
        .arg("status"));
    let line = one_error(&out);
    assert!(line.contains("`--endpoint-url localhost:4566`"), "{line}");
}

// ---------------------------------------------- 13a. named profiles

/// A profile asked for by `--profile` or AWS_PROFILE that the shared
/// files do not define is an error naming it and the defined ones, never
/// a silent offline plan.
#[test]
fn a_profile_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws-config"),
        "[profile staging]\nregion = us-east-1\n",
    )
    .unwrap();
    let out = run(isolated(dir.path()).args(["--profile", "prdo", "plan"]));
    let line = one_error(&out);
    assert!(
        line.contains("AWS profile `prdo` (from `--profile`) does not exist")
            && line.contains("defined: staging"),
        "{line}"
    );
    let out = run(isolated(dir.path()).env("AWS_PROFILE", "prdo").arg("plan"));
    let line = one_error(&out);
    assert!(line.contains("`prdo` (from AWS_PROFILE)"), "{line}");
    // The same for a command that needs AWS anyway.
    let out = run(isolated(dir.path()).args(["--profile", "prdo", "status"]));
    assert!(one_error(&out).contains("`prdo`"));
    // With no config files at all.
    let empty = tempfile::tempdir().unwrap();
    let out = run(isolated(empty.path()).args(["--profile", "prdo", "plan"]));
    assert!(one_error(&out).contains("none is defined"));
}

/// A profile that exists but yields no credentials does not plan offline
/// either: the user asked for AWS.
#[test]
fn a_profile_without_credentials_does_not_plan_offline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws-config"),
        "[profile staging]\nregion = us-east-1\n",
    )
    .unwrap();
    let out = run(isolated(dir.path()).args(["--profile", "staging", "plan"]));
    let line = one_error(&out);
    assert!(
        line.contains("AWS profile `staging` (from `--profile`) gives no usable credentials"),
        "{line}"
    );
}

// ----------------------- 13b. no credentials vs an unreachable AWS

/// No credentials at all: an offline plan that says so (exit 0); other
/// commands say credentials are needed. Credentials but an endpoint that
/// refuses connections: a different message, naming the endpoint.
#[test]
fn no_credentials_and_an_unreachable_endpoint_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 (discard) of 127.0.0.1 in the test
    // environment: connections are refused at once.
    let dead = "http://127.0.0.1:9";

    let out = run(isolated(dir.path()).args(["--endpoint-url", dead, "plan"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no AWS credentials found"),
        "{}",
        stderr(&out)
    );

    let out = run(isolated(dir.path()).args(["--endpoint-url", dead, "status"]));
    assert!(one_error(&out).contains("needs AWS credentials (none were found"));

    let out =
        run(with_credentials(&mut isolated(dir.path())).args(["--endpoint-url", dead, "plan"]));
    let line = one_error(&out);
    assert!(
        line.contains(&format!(
            "AWS credentials were found, but asking `{dead}` which account they belong to failed"
        )) && line.contains("could not be reached")
            && line.contains("Connection refused"),
        "{line}"
    );
}

// --------------------------------------------------- 13c. --region

/// `--region` is a guard: the help says it must match the config, and a
/// different one is refused naming both; the same one is accepted.
#[test]
fn region_must_match_the_config_and_the_help_says_so() {
    let out = lunora().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("it must match the config's `region:`") && !help.contains("overrides"),
        "{help}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(isolated(dir.path()).args(["--region", "eu-west-1", "plan"]));
    let line = one_error(&out);
    assert!(
        line.contains("`--region eu-west-1` disagrees with the config's region `us-east-1`"),
        "{line}"
    );
    let out = run(isolated(dir.path()).args(["--region", "us-east-1", "plan"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The timeouts are documented in `--help`.
#[test]
fn the_help_documents_the_timeouts() {
    let out = lunora().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for text in [
        "--aws-timeout <SECS>",
        "LUNORA_AWS_TIMEOUT",
        "--wait-timeout <SECS>",
        "LUNORA_WAIT_TIMEOUT",
        "default 60",
    ] {
        assert!(help.contains(text), "{text}: {help}");
    }
}
