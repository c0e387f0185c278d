//! Nothing hangs, nothing panics (issue 8, items 4, 5a, 5b and 13): the
//! lunora binary against servers that accept connections and never
//! answer, with stdout or stderr closed, and with Region settings that
//! must not redirect its calls.
//!
//! The hanging servers are local TCP listeners started by each test; the
//! closed-pipe and Region tests use the project's AWS emulator.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::workspace;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use workspace::{example, Workspace};

// ------------------------------------------------------------ servers

/// A server on 127.0.0.1 that accepts every connection, reads what it is
/// sent and never answers. Returns its URL.
fn hanging_server() -> String {
    serve(|_request| None)
}

/// A server that answers `sts:GetCallerIdentity` (account 123456789012,
/// the example's) and never answers anything else: lunora gets past its
/// account check and hangs on the first CloudFormation call.
fn sts_only_server() -> String {
    serve(|request| {
        request
            .contains("Action=GetCallerIdentity")
            .then(|| CALLER_IDENTITY.to_owned())
    })
}

const CALLER_IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/ci</Arn>
    <UserId>AIDAEXAMPLEUSERID0001</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>4d6c0a7e-3b2f-4e1a-9c8d-0f1e2d3c4b5a</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

/// Serves HTTP/1.1 requests: `answer` gives the XML body of a 200, or
/// `None` to hold the connection open without a word.
fn serve(answer: fn(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let held = held.clone();
            thread::spawn(move || {
                let mut conn = conn;
                while let Some(request) = read_request(&mut conn) {
                    match answer(&request) {
                        Some(body) => {
                            let response = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if conn.write_all(response.as_bytes()).is_err() {
                                return;
                            }
                        }
                        None => {
                            // Never answer; keep the socket open.
                            held.lock().unwrap().push(conn);
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

/// One request's head and body, or `None` when the client closed.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&data[..end + 4 + length]).into_owned());
            }
        }
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

// ------------------------------------------------------------ helpers

/// `lunora` in `dir` with test credentials and nothing inherited that
/// could change its behaviour.
fn lunora(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("lunora"));
    isolate(&mut cmd, dir);
    cmd
}

fn isolate(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("LUNORA_AWS_TIMEOUT")
        .env_remove("LUNORA_WAIT_TIMEOUT")
        .env_remove("LUNORA_CONFIG")
        .env_remove("CI");
}

/// Runs and echoes (shown when a test fails); returns the output and the
/// time it took.
fn timed(cmd: &mut Command, what: &str) -> (Output, Duration) {
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let took = start.elapsed();
    eprintln!(
        "$ lunora {what}\n-- exit {:?} after {took:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, took)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory holding the example as `lunora.yaml`.
fn example_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lunora.yaml"), example()).unwrap();
    dir
}

fn lock_file(dir: &Path) -> std::path::PathBuf {
    dir.join(".lunora/lunora-player-prod/lock.json")
}

// ------------------------------------------- 4. timeouts on every call

/// With a one-second call timeout, `plan` and `status` against a server
/// that never answers exit 1 within a few seconds, naming the call that
/// got no answer and the limit. Without timeouts they wait forever.
#[test]
fn plan_and_status_give_up_on_a_server_that_never_answers() {
    let url = hanging_server();
    let dir = example_dir();
    for command in ["plan", "status"] {
        let (out, took) = timed(
            lunora(dir.path()).args(["--endpoint-url", &url, "--aws-timeout", "1", command]),
            command,
        );
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = stderr(&out);
        assert!(
            err.contains("`sts:GetCallerIdentity` got no answer from AWS")
                && err.contains("gave up after 1 s")
                && err.contains("--aws-timeout"),
            "{command}: {err}"
        );
        assert!(took < Duration::from_secs(10), "{command} took {took:?}");
    }
}

/// The same limit from the environment (`LUNORA_AWS_TIMEOUT`).
#[test]
fn the_call_timeout_can_come_from_the_environment() {
    let url = hanging_server();
    let dir = example_dir();
    let (out, took) = timed(
        lunora(dir.path())
            .env("LUNORA_AWS_TIMEOUT", "0.9")
            .args(["--endpoint-url", &url, "plan"]),
        "plan (LUNORA_AWS_TIMEOUT=0.9)",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("gave up after 900 ms"),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// A deploy whose CloudFormation never answers (STS does, so it takes the
/// lock) exits 1 naming the call, and releases the lock.
#[test]
fn a_deploy_that_times_out_releases_the_lock() {
    let url = sts_only_server();
    let dir = example_dir();
    let (out, took) = timed(
        lunora(dir.path()).args([
            "--endpoint-url",
            &url,
            "--aws-timeout",
            "1",
            "deploy",
            "--yes",
        ]),
        "deploy --yes",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("`cloudformation:") && err.contains("got no answer from AWS"),
        "{err}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        dir.path().join(".lunora/lunora-player-prod").is_dir(),
        "the deploy never took the lock, so the test proves nothing"
    );
    assert!(
        !lock_file(dir.path()).exists(),
        "the deploy lock was left behind"
    );
}

/// Bad limits are refused by the argument parser, exit 1.
#[test]
fn a_timeout_must_be_a_positive_number_of_seconds() {
    let dir = example_dir();
    for bad in ["0", "-1", "soon", "NaN", "1e9"] {
        let out = lunora(dir.path())
            .arg(format!("--aws-timeout={bad}"))
            .arg("validate")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&out).contains("--aws-timeout"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

// ----------------------------------------------- 5b. closed pipes

/// How a test closes the command's output.
#[derive(Clone, Copy, Debug)]
enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// Runs lunora with stdout, stderr or both connected to a pipe whose
/// reader has already gone (as in `lunora ... | true`), so every write to
/// it fails with EPIPE. The other stream is captured.
fn with_closed(ws: &Workspace, closed: Closed, args: &[&str]) -> Output {
    // `true` exits at once; lunora starts 0.3 s later, when the pipe has
    // no reader left. PIPESTATUS[0] is lunora's own exit status.
    let script = match closed {
        Closed::Stdout => r#"(sleep 0.3; exec "$@") | true; exit ${PIPESTATUS[0]}"#,
        Closed::Stderr => {
            r#"exec 3>&1; (sleep 0.3; exec "$@" 2>&1 1>&3) | true; exit ${PIPESTATUS[0]}"#
        }
        Closed::Both => r#"(sleep 0.3; exec "$@" 2>&1) | true; exit ${PIPESTATUS[0]}"#,
    };
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .arg("bash")
        .arg(assert_cmd::cargo::cargo_bin("lunora"))
        .args(["--endpoint-url", ws.emulator.endpoint_url()])
        .args(args);
    isolate(&mut cmd, ws.dir());
    let (out, _) = timed(&mut cmd, &format!("{} ({closed:?} closed)", args.join(" ")));
    out
}

fn assert_no_panic(out: &Output, what: &str) {
    assert_ne!(out.status.code(), Some(101), "{what} panicked");
    assert!(out.status.code().is_some(), "{what} was killed by a signal");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{what}: {text}");
}

/// A deploy whose stdout closes at once (`--output json deploy --yes |
/// head -1`) finishes its run: the stacks exist, a release is recorded,
/// the lock is released, exit 0. Then every subcommand runs with stdout
/// closed, a few with stderr or both closed: none panics (exit 101).
#[tokio::test(flavor = "multi_thread")]
async fn every_command_survives_a_closed_stdout() {
    let ws = Workspace::new(&example()).await;

    let out = with_closed(
        &ws,
        Closed::Stdout,
        &["--output", "json", "deploy", "--yes"],
    );
    assert_no_panic(&out, "deploy");
    assert_eq!(out.status.code(), Some(0), "deploy");
    assert!(!lock_file(ws.dir()).exists(), "deploy left the lock behind");
    let cfn = aws_sdk_cloudformation::Client::new(&ws.emulator.sdk_config().await);
    for stack in ["lunora-player-prod-base", "lunora-player-prod-dest-youtube"] {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.stacks()[0].stack_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{stack}"
        );
    }
    let releases = std::fs::read_dir(ws.dir().join(".lunora/lunora-player-prod/releases"))
        .unwrap()
        .count();
    assert!(releases >= 1, "no release was recorded");

    let render_out = ws.path("rendered");
    let render_out = render_out.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate"],
        vec!["render", "--out", render_out],
        vec!["plan"],
        vec!["--output", "json", "plan"],
        vec!["--output", "markdown", "plan"],
        vec!["deploy", "--yes"],
        vec!["--output", "json", "deploy", "--yes"],
        vec!["releases"],
        vec!["status"],
        vec!["--output", "json", "status"],
        vec!["start", "youtube"],
        vec!["stop", "youtube"],
        vec!["failover", "--to", "backup"],
        vec!["failover", "--to", "primary"],
        vec!["rollback", "--yes"],
        vec!["cost"],
        vec!["outputs"],
        vec!["outputs", "--format", "json"],
        vec!["presets", "list"],
        vec!["presets", "show", "twitch-720p30"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["--help"],
        vec!["--version"],
        vec!["validate", "--no-such-flag"],
    ];
    for args in &commands {
        let out = with_closed(&ws, Closed::Stdout, args);
        assert_no_panic(&out, &args.join(" "));
    }
    for args in [
        vec!["validate"],
        vec!["plan"],
        vec!["status"],
        vec!["-v", "deploy", "--yes"],
        vec!["stop", "youtube"],
        vec!["--region", "eu-west-1", "plan"],
    ] {
        let out = with_closed(&ws, Closed::Stderr, &args);
        assert_no_panic(&out, &args.join(" "));
    }
    for args in [vec!["validate"], vec!["plan"], vec!["cost"], vec!["--help"]] {
        let out = with_closed(&ws, Closed::Both, &args);
        assert_no_panic(&out, &args.join(" "));
    }
    assert!(
        !lock_file(ws.dir()).exists(),
        "a command left the lock behind"
    );
}

// ------------------------------------------------------- 13. Region

/// AWS_REGION, AWS_DEFAULT_REGION and a named profile's `region` that
/// differ from the config's never redirect lunora's calls: the deploy
/// lands in the config's Region (where the emulator's us-east-1 client
/// finds it), and each setting is named in a warning.
#[tokio::test(flavor = "multi_thread")]
async fn region_settings_never_redirect_calls_away_from_the_configs_region() {
    let ws = Workspace::new(&example()).await;
    std::fs::write(
        ws.path("aws-config"),
        "[profile elsewhere]\nregion = eu-west-1\n",
    )
    .unwrap();
    let mut cmd = lunora(ws.dir());
    cmd.env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "ap-southeast-2")
        .env("AWS_CONFIG_FILE", ws.path("aws-config"))
        .args([
            "--endpoint-url",
            ws.emulator.endpoint_url(),
            "--profile",
            "elsewhere",
            "deploy",
            "--yes",
            "--stage",
            "base",
        ]);
    let (out, _) = timed(&mut cmd, "deploy --stage base (AWS_REGION=eu-west-1)");
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    for named in [
        "AWS_REGION=eu-west-1 is not used",
        "AWS_DEFAULT_REGION=ap-southeast-2 is not used",
        "profile `elsewhere` sets region `eu-west-1`, which is not used",
    ] {
        assert!(err.contains(named), "{named}: {err}");
    }
    let cfn = aws_sdk_cloudformation::Client::new(&ws.emulator.sdk_config().await);
    let described = cfn
        .describe_stacks()
        .stack_name("lunora-player-prod-base")
        .send()
        .await
        .expect("the stack is in the config's Region, us-east-1");
    assert_eq!(
        described.stacks()[0].stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE")
    );
}
