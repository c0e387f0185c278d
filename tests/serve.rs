//! `lunora serve` end to end: the binary serves against the project's AWS
//! emulator with the example deployed, and a real HTTP client (reqwest)
//! reads the API, the event stream and the pages. Each test gets its own
//! emulator and its own server on a free loopback port.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::workspace::{example, Workspace};
use crate::common::{add_youtube_2, contract, KEYS_ARN};

pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";

/// Stream keys and a passphrase no response may contain.
const SECRETS: [&str; 5] = [
    "srt-passphrase-9f8e7d6c5b4a",
    "yt-key-5e1f0c3a9b7d",
    "tw-key-2c8d4e6f1a3b",
    "li-key-7a9b1c3d5e2f",
    "cu-key-4f6e8d0c2b1a",
];

/// A workspace with distinctive secret values and the example deployed.
pub struct Deployed(pub Workspace);

impl Deployed {
    pub async fn new() -> Self {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        let ws = Workspace::new(&example()).await;
        let sm = aws_sdk_secretsmanager::Client::new(&ws.emulator.sdk_config().await);
        let keys = format!(
            r#"{{"youtube":"{}","twitch":"{}","linkedin":"{}","custom":"{}"}}"#,
            SECRETS[1], SECRETS[2], SECRETS[3], SECRETS[4]
        );
        for (name, value) in [
            ("lunora/srt-passphrase", SECRETS[0].to_owned()),
            ("lunora/stream-keys", keys),
        ] {
            sm.put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .unwrap();
        }
        let out = ws.run(&["deploy", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "deploy failed");
        Self(ws)
    }
}

/// A running `lunora serve`, killed when dropped.
pub struct Served {
    child: Child,
    pub base: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `lunora serve --listen 127.0.0.1:0 ARGS` with the test token, once
    /// it says where it listens.
    pub fn start(ws: &Workspace, args: &[&str]) -> Self {
        let mut cmd = ws.lunora_process();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--refresh", "1"])
            .args(args)
            .env("LUNORA_SERVE_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("serve: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned from here: a failure below kills the server on drop.
        let mut served = Self {
            child,
            base: String::new(),
            lines,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while served.base.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = served
                .lines
                .recv_timeout(left)
                .expect("lunora serve said where it listens within 60 s");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                served.base = format!("http://{}", rest.split('/').next().unwrap());
            }
        }
        served
    }

    /// What the server wrote on stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// What the server wrote on stderr until a line containing `needle`
    /// (panics after 10 s without one), and for half a second after it.
    pub fn log_until(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        while !lines.iter().any(|l: &String| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => panic!("no log line with {needle:?} within 10 s: {lines:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        lines.extend(self.log());
        lines
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// GET `path`: status and body.
pub async fn get(s: &Served, path: &str) -> (u16, String) {
    let r = client().get(s.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The document without what changes from one reading to the next.
fn steady(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["generated_at", "read_at", "summary"] {
            o.remove(k);
        }
    }
    for d in v["destinations"].as_array_mut().into_iter().flatten() {
        let o = d.as_object_mut().unwrap();
        for k in [
            "since",
            "uptime_seconds",
            "started_at",
            "bitrate_mbps",
            "hls",
        ] {
            o.remove(k);
        }
    }
    v["ingest"].as_object_mut().map(|o| o.remove("since"));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_serves_the_cli_documents_and_never_a_secret() {
    let env = Deployed::new().await;
    let served = Served::start(&env.0, &[]);

    // The status document is `status --output json`'s.
    let (code, body) = get(&served, "/api/channels/status").await;
    assert_eq!(code, 200, "{body}");
    let api = json(&body);
    let _: lunora::ops::status::StatusReading = contract::check(api.clone(), "status");
    let out = env.0.run(&["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let cli = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(steady(api), steady(cli));

    let mut bodies = vec![body];
    for (path, kind) in [
        ("/api/mediaconnect/flow/status", "flow-status"),
        ("/api/mediaconnect/inputs/health", "inputs-health"),
        ("/api/admin/platforms", "platforms"),
        ("/api/admin/presets", "presets"),
    ] {
        let (code, body) = get(&served, path).await;
        assert_eq!(code, 200, "{path}: {body}");
        let v = json(&body);
        match kind {
            "flow-status" => {
                let d: lunora::serve::api::FlowStatusDocument = contract::check(v, kind);
                assert_eq!(d.flow.state, "STANDBY");
                assert!(d.endpoint.unwrap().starts_with("srt://"));
            }
            "inputs-health" => {
                let d: lunora::serve::api::InputsHealthDocument = contract::check(v, kind);
                assert!(!d.sources.is_empty());
            }
            "platforms" => {
                let d: lunora::presets::catalog::PlatformList = contract::check(v, kind);
                assert!(d.platforms.iter().any(|p| p.platform.id == "youtube"));
            }
            _ => {
                let d: lunora::presets::catalog::PresetList = contract::check(v, kind);
                assert!(!d.presets.is_empty());
            }
        }
        bodies.push(body);
    }
    for page in ["/", "/admin", "/fragments/live", "/fragments/admin"] {
        let (code, body) = get(&served, page).await;
        assert_eq!(code, 200, "{page}: {body}");
        bodies.push(body);
    }
    let (streaming, admin) = (&bodies[bodies.len() - 4], &bodies[bodies.len() - 3]);
    assert!(streaming.contains(r#"data-dest="twitch""#));
    assert!(streaming.contains(r#"data-action="start" data-dest="twitch""#));
    assert!(admin.contains("Read-only: presets and platforms are changed in git"));
    // Every stack was just deployed from this config, and that release is
    // the last deploy.
    assert_eq!(
        admin.matches("in sync with the config").count(),
        7,
        "{admin}"
    );
    assert!(!admin.contains("differs from the config"), "{admin}");
    assert!(admin.contains("Last deploy: <strong>"), "{admin}");

    // Errors are documents with a stable code.
    let (code, body) = get(&served, "/api/destinations/nope/thumbnail").await;
    assert_eq!(code, 404);
    let e: lunora::serve::api::ErrorDocument = contract::check(json(&body), "error");
    assert_eq!(e.code, "unknown_destination");
    assert!(e.message.contains("`nope`"), "{}", e.message);
    let (code, body) = get(&served, "/api/nothing-here").await;
    assert_eq!(code, 404);
    bodies.push(body);

    for body in &bodies {
        for secret in SECRETS {
            assert!(
                !body.contains(secret),
                "a response holds a secret value: {body}"
            );
        }
    }
    for line in served.log() {
        for secret in SECRETS {
            assert!(
                !line.contains(secret),
                "the log holds a secret value: {line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_to_listen_beyond_loopback_without_the_acknowledgement() {
    let ws = Workspace::new(&example()).await;
    let out = ws.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
    assert!(err.contains("--token-required"), "{err}");
    let out = ws
        .lunora()
        .args(["serve"])
        .env("LUNORA_SERVE_TOKEN", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

/// Destination id -> channel state, read with the SDK.
pub(crate) async fn channel_states(ws: &Workspace) -> std::collections::BTreeMap<String, String> {
    let ml = aws_sdk_medialive::Client::new(&ws.emulator.sdk_config().await);
    let mut out = std::collections::BTreeMap::new();
    for id in ["youtube", "twitch", "linkedin", "custom", "primary"] {
        let d = ml
            .describe_channel()
            .channel_id(channel_id(ws, id).await)
            .send()
            .await
            .unwrap();
        out.insert(id.to_owned(), d.state().unwrap().as_str().to_owned());
    }
    out
}

/// The channel id of destination `id`, from its stack's outputs.
async fn channel_id(ws: &Workspace, id: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&ws.emulator.sdk_config().await);
    let stack = cfn
        .describe_stacks()
        .stack_name(format!("lunora-player-prod-dest-{id}"))
        .send()
        .await
        .unwrap();
    stack.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("ChannelId"))
        .and_then(|o| o.output_value())
        .unwrap()
        .to_owned()
}

/// POST `path` with `body`, with the token when `token` is given.
async fn post(s: &Served, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut r = client()
        .post(s.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

fn error_code(body: &str) -> String {
    let e: lunora::serve::api::ErrorDocument = contract::check(json(body), "error");
    e.code
}

/// The `status` events of `GET /api/events`, as they arrive.
fn status_events(s: &Served) -> tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let url = s.url("/api/events");
    tokio::spawn(async move {
        let mut r = reqwest::Client::new().get(url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut name = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = if v.trim() == "status" {
                            "status"
                        } else {
                            "other"
                        };
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name == "status" && tx.send((Instant::now(), json(&data))).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

fn state_of(status: &Value, id: &str) -> String {
    status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .and_then(|d| d["channel_state"].as_str())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_needs_the_token_and_touches_only_its_destination() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &[]);
    let before = channel_states(ws).await;
    assert!(before.values().all(|s| s == "IDLE"), "{before:?}");

    // No token, a wrong one: 401, and nothing happens.
    let path = "/api/destinations/twitch/start-channel";
    for token in [None, Some("wrong-token-0123456789abcdef")] {
        let (code, body) = post(&served, path, token, "").await;
        assert_eq!(code, 401, "{body}");
        assert_eq!(error_code(&body), "unauthorized");
    }
    assert_eq!(channel_states(ws).await, before);

    // Unknown destination: 404 naming it; malformed bodies: 400.
    let (code, body) = post(
        &served,
        "/api/destinations/twich/start-channel",
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(error_code(&body), "unknown_destination");
    assert!(body.contains("`twich`"), "{body}");
    for (p, b) in [
        (path, "not json"),
        (path, r#"{"force": true}"#),
        ("/api/mediaconnect/failover", r#"{"to": "sideways"}"#),
        ("/api/mediaconnect/failover", ""),
    ] {
        let (code, body) = post(&served, p, Some(TOKEN), b).await;
        assert_eq!(code, 400, "{p} {b}: {body}");
        assert_eq!(error_code(&body), "bad_request");
    }
    let (code, body) = post(&served, path, Some(TOKEN), &" ".repeat(5000)).await;
    assert_eq!(code, 413, "{body}");
    assert_eq!(error_code(&body), "too_large");
    let r = client()
        .delete(served.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(error_code(&r.text().await.unwrap()), "method_not_allowed");
    assert_eq!(channel_states(ws).await, before);

    // With the token: twitch runs, the others are untouched.
    let (code, body) = post(&served, path, Some(TOKEN), "").await;
    assert_eq!(code, 200, "{body}");
    let report: lunora::ops::operate::OperateReport = contract::check(json(&body), "start");
    assert_eq!(report.destinations.len(), 1);
    assert_eq!(report.destinations[0].result, "started");
    let after = channel_states(ws).await;
    assert_eq!(after["twitch"], "RUNNING");
    for id in ["youtube", "linkedin", "custom", "primary"] {
        assert_eq!(after[id], before[id], "{id} changed");
    }

    // The action is in the audit trail with the client's address.
    let d = lunora::config::load(&ws.config()).unwrap();
    let store = lunora::release::open_store(&d, None).unwrap();
    let log = store.audit_log().await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, "start");
    assert_eq!(last.destinations["twitch"], "started");
    match last.by {
        lunora::release::Actor::Http { client } => assert!(client.ip().is_loopback()),
        other => panic!("recorded as {other:?}"),
    }

    // The running channel's thumbnail is a JPEG; a stopped one has none.
    let r = client()
        .get(served.url("/api/destinations/twitch/thumbnail"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(r.bytes().await.unwrap().starts_with(&[0xFF, 0xD8]));
    let (code, body) = get(&served, "/api/destinations/youtube/thumbnail").await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(error_code(&body), "not_running");

    // Stop through the API too.
    let (code, body) = post(
        &served,
        "/api/destinations/twitch/stop-channel",
        Some(TOKEN),
        "{}",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(channel_states(ws).await["twitch"], "IDLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_stream_sees_a_change_made_elsewhere_within_5_seconds() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &[]);
    let mut events = status_events(&served);
    let (_, first) = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state_of(&first, "twitch"), "IDLE");
    // Started from the CLI, not through the server: only the stream's
    // own refresh can tell.
    let out = ws.run(&["start", "twitch"]);
    assert_eq!(out.status.code(), Some(0));
    let changed = Instant::now();
    let seen = loop {
        let (at, status) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("a status event within 10 s")
            .unwrap();
        if state_of(&status, "twitch") == "RUNNING" {
            assert_eq!(state_of(&status, "youtube"), "IDLE");
            break at;
        }
    };
    let waited = seen.saturating_duration_since(changed);
    eprintln!("the stream showed the change after {waited:?}");
    assert!(waited <= Duration::from_secs(5), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_refuses_every_post_and_token_required_guards_reads() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &["--read-only"]);
    for path in [
        "/api/destinations/twitch/start-channel",
        "/api/destinations/twitch/stop-channel",
        "/api/mediaconnect/failover",
    ] {
        let (code, body) = post(&served, path, Some(TOKEN), r#"{"to":"backup"}"#).await;
        assert_eq!(code, 403, "{path}: {body}");
        assert_eq!(error_code(&body), "read_only");
    }
    let (code, page) = get(&served, "/").await;
    assert_eq!(code, 200);
    assert!(
        !page.contains(r#"data-action="start""#),
        "read-only pages have no buttons"
    );
    assert!(channel_states(ws).await.values().all(|s| s == "IDLE"));
    // The destination form is not there, and its endpoints write nothing.
    let before = std::fs::read(ws.config()).unwrap();
    for path in [
        "/api/admin/destinations/preview",
        "/api/admin/destinations",
        "/api/admin/destinations/twitch/remove/preview",
        "/api/admin/destinations/twitch/remove",
    ] {
        let (code, body) = post(&served, path, Some(TOKEN), &add_body("twitch-2", None)).await;
        assert_eq!(code, 403, "{path}: {body}");
        assert_eq!(error_code(&body), "read_only");
    }
    let (code, page) = get(&served, "/admin").await;
    assert_eq!(code, 200);
    assert!(!page.contains("add-destination"), "read-only: no form");
    assert!(
        !page.contains(r#"data-edit="remove""#),
        "read-only: no Remove"
    );
    assert_eq!(std::fs::read(ws.config()).unwrap(), before);
    drop(served);

    let served = Served::start(ws, &["--token-required"]);
    let (code, body) = get(&served, "/api/channels/status").await;
    assert_eq!(code, 401, "{body}");
    let (code, _) = get(&served, "/fragments/live").await;
    assert_eq!(code, 401);
    let r = client()
        .get(served.url("/api/channels/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The page itself is a shell that asks for the token.
    let (code, page) = get(&served, "/").await;
    assert_eq!(code, 200);
    assert!(page.contains("Enter the token"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_the_server_and_its_event_streams_quietly() {
    let ws = Workspace::new(&example()).await;
    let mut served = Served::start(&ws, &[]);
    // An open event stream must not keep the server alive.
    let mut events = status_events(&served);
    let first = tokio::time::timeout(Duration::from_secs(30), events.recv()).await;
    assert!(matches!(first, Ok(Some(_))), "the stream's first status");
    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(0));
    // The stream ended with the server.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the event stream did not end");
    assert!(served
        .log()
        .iter()
        .any(|l| l.contains("lunora serve: stopped")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_medialive_refuses_returns_its_reason_and_touches_nothing_else() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let channel = channel_id(ws, "twitch").await;
    let reason = "The channel cannot start: input attachment is being updated";
    ws.emulator.control_with(
        "POST",
        &format!("/lunora-api/medialive/refuse-start/{channel}"),
        &format!(r#"{{"message": "{reason}"}}"#),
    );
    let served = Served::start(ws, &[]);
    let before = channel_states(ws).await;
    let (code, body) = post(
        &served,
        "/api/destinations/twitch/start-channel",
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(code, 409, "{body}");
    let e: lunora::serve::api::ErrorDocument = contract::check(json(&body), "error");
    assert_eq!(e.code, "refused");
    assert!(e.message.starts_with("twitch: "), "{}", e.message);
    assert!(e.message.contains(reason), "{}", e.message);
    assert_eq!(channel_states(ws).await, before, "nothing else changed");
    // The refusal is in the audit trail too.
    let d = lunora::config::load(&ws.config()).unwrap();
    let log = lunora::release::open_store(&d, None)
        .unwrap()
        .audit_log()
        .await
        .unwrap();
    assert_eq!(log.last().unwrap().destinations["twitch"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_token_is_printed_once_even_when_quiet() {
    let ws = Workspace::new(&example()).await;
    let mut cmd = ws.lunora_process();
    cmd.args(["serve", "-q", "--listen", "127.0.0.1:0"])
        .env_remove("LUNORA_SERVE_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = lines.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a line on stderr within 60 s");
    let token = line
        .strip_prefix("token (shown once; set LUNORA_SERVE_TOKEN to choose your own): ")
        .unwrap_or_else(|| panic!("not the token line: {line}"));
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    // Quiet: nothing else was printed.
    assert!(lines.try_iter().next().is_none());
}

/// The add form's body for `id` (a YouTube destination), with the
/// preview's digest to confirm it.
fn add_body(id: &str, digest: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "id": id,
        "platform": "youtube",
        "preset": "youtube-720p30",
        "stream_key_secret": KEYS_ARN,
        "json_key": "youtube",
    });
    if let Some(d) = digest {
        v["digest"] = Value::from(d);
    }
    v.to_string()
}

/// The `presence` of destination `id` in the server's status document
/// (`None`: not listed).
async fn served_presence(s: &Served, id: &str) -> Option<String> {
    let (code, body) = get(s, "/api/channels/status").await;
    assert_eq!(code, 200, "{body}");
    json(&body)["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .map(|d| d["presence"].as_str().unwrap().to_owned())
}

/// The admin page's row of stack `name`, if it has one.
fn stack_row<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let start = page.find(&format!(r#"<tr data-stack="{name}">"#))?;
    let row = &page[start..];
    Some(&row[..row.find("</tr>").unwrap_or(row.len())])
}

/// Asserts that a lunora run exited 0, showing its stderr otherwise.
fn succeeded(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256(path: &std::path::Path) -> String {
    lunora::serve::edit::digest(&std::fs::read_to_string(path).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_destination_form_previews_then_writes_exactly_what_it_showed() {
    let env = Deployed::new().await;
    let ws = &env.0;
    let served = Served::start(ws, &[]);
    let config = ws.config();
    let original = std::fs::read_to_string(&config).unwrap();
    let hash = sha256(&config);

    // The admin page has the form, the fitting presets and a Remove per
    // destination.
    let (code, page) = get(&served, "/admin").await;
    assert_eq!(code, 200);
    assert!(page.contains(r#"id="add-destination""#), "{page}");
    assert!(page.contains(r#"data-platform="youtube""#), "{page}");
    assert!(page.contains(r#"data-edit="remove" data-dest="twitch""#));
    assert!(
        page.contains("lunora deploy"),
        "the page says how to deploy"
    );

    // Without the token: 401, nothing written.
    for path in [
        "/api/admin/destinations/preview",
        "/api/admin/destinations",
        "/api/admin/destinations/twitch/remove/preview",
    ] {
        let (code, body) = post(&served, path, None, &add_body("youtube-2", None)).await;
        assert_eq!(code, 401, "{path}: {body}");
        assert_eq!(error_code(&body), "unauthorized");
    }
    assert_eq!(sha256(&config), hash);

    // The preview: the diff, the block, the cost and the plan; nothing
    // written.
    let path = "/api/admin/destinations/preview";
    let (code, body) = post(&served, path, Some(TOKEN), &add_body("youtube-2", None)).await;
    assert_eq!(code, 200, "{body}");
    let preview: lunora::serve::edit::DestinationPreview =
        contract::check(json(&body), "destination-preview");
    assert_eq!(sha256(&config), hash, "a preview writes nothing");
    assert_eq!(preview.digest, hash);
    assert_eq!(preview.destination, "youtube-2");
    assert!(
        preview.diff.contains("+  - id: youtube-2\n"),
        "{}",
        preview.diff
    );
    assert!(
        preview.diff.contains("+    preset: youtube-720p30\n"),
        "{}",
        preview.diff
    );
    let added: Vec<&str> = preview
        .diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert!(added.iter().all(|l| !l.contains("key-")), "{added:?}");
    let report = preview.add.as_ref().unwrap();
    assert_eq!(report.stage, "platforms");
    assert!(report.cost.change_usd > 0.0, "{:?}", report.cost);
    let plan = preview
        .plan
        .as_ref()
        .unwrap_or_else(|| panic!("no plan: {:?}", preview.plan_error));
    let new_stack = plan
        .changes
        .iter()
        .find(|c| c.stack.ends_with("-dest-youtube-2"))
        .unwrap_or_else(|| panic!("{plan:?}"));
    assert_eq!(new_stack.action, lunora::plan::StackAction::Create);
    assert_eq!(new_stack.stage.as_deref(), Some("platforms"));
    assert!(new_stack
        .summary
        .contains("will be created in stage `platforms`"));
    assert_eq!(plan.counts.create, 1, "{plan:?}");
    assert!(preview.next.contains("lunora deploy"));

    // A digest that is not the file's: 409, nothing written.
    let stale = "0".repeat(64);
    let (code, body) = post(
        &served,
        "/api/admin/destinations",
        Some(TOKEN),
        &add_body("youtube-2", Some(&stale)),
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(error_code(&body), "changed");
    assert!(
        body.contains("changed since the preview; preview again"),
        "{body}"
    );
    assert_eq!(sha256(&config), hash);
    // The file changed since the preview (a comment added by hand): 409,
    // and the hand edit stays.
    let by_hand = format!("{original}# edited by hand\n");
    std::fs::write(&config, &by_hand).unwrap();
    let confirm = add_body("youtube-2", Some(&preview.digest));
    let (code, body) = post(&served, "/api/admin/destinations", Some(TOKEN), &confirm).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), by_hand);
    std::fs::write(&config, &original).unwrap();

    // The confirmation writes exactly the previewed edit: the bytes the
    // CLI writes, and the diff the preview showed.
    let (code, body) = post(&served, "/api/admin/destinations", Some(TOKEN), &confirm).await;
    assert_eq!(code, 200, "{body}");
    let written: lunora::ops::destination::AddReport =
        contract::check(json(&body), "add-destination");
    assert_eq!(written.destination, "youtube-2");
    let now = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        lunora::serve::edit::unified_diff("lunora.yaml", &original, &now),
        preview.diff
    );
    let copy = ws.path("by-the-cli.yaml");
    std::fs::write(&copy, &original).unwrap();
    succeeded(
        &ws.run(
            &[
                &["-c", copy.to_str().unwrap()][..],
                &add_youtube_2("youtube"),
            ]
            .concat(),
        ),
    );
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), now);
    succeeded(&ws.run(&["validate"]));
    // The edit is on the server's log, without a secret; nothing deployed.
    let log = served.log();
    assert!(
        log.iter()
            .any(|l| l.contains("added destination `youtube-2`")),
        "{log:?}"
    );
    assert!(!channel_states(ws).await.contains_key("youtube-2"));
    // The server serves the edited config at once: the status lists the
    // new destination as not deployed, the admin page's stacks table has
    // its stack, to be created.
    assert_eq!(
        served_presence(&served, "youtube-2").await.as_deref(),
        Some("not-deployed")
    );
    let (_, page) = get(&served, "/admin").await;
    assert!(
        stack_row(&page, "lunora-player-prod-dest-youtube-2")
            .is_some_and(|r| r.contains("in the config, not deployed")),
        "{page}"
    );

    // Removal: the preview shows the lines going, the plan the stack
    // staying until a deploy deletes it; confirming gives back the
    // original bytes.
    let (code, body) = post(
        &served,
        "/api/admin/destinations/youtube-2/remove/preview",
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let preview: lunora::serve::edit::DestinationPreview =
        contract::check(json(&body), "destination-preview");
    assert!(
        preview.diff.contains("-  - id: youtube-2\n"),
        "{}",
        preview.diff
    );
    assert!(preview.remove.as_ref().unwrap().deletes[0].contains("dest-youtube-2"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), now);
    let (code, body) = post(
        &served,
        "/api/admin/destinations/nope/remove/preview",
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(error_code(&body), "unknown_destination");
    let confirm = serde_json::json!({ "digest": preview.digest }).to_string();
    let (code, body) = post(
        &served,
        "/api/admin/destinations/youtube-2/remove",
        Some(TOKEN),
        &confirm,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let _: lunora::ops::destination::RemoveReport =
        contract::check(json(&body), "remove-destination");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    // Gone from the status and the stacks table at once.
    assert_eq!(served_presence(&served, "youtube-2").await, None);
    let (_, page) = get(&served, "/admin").await;
    assert!(
        stack_row(&page, "lunora-player-prod-dest-youtube-2").is_none(),
        "{page}"
    );
    // The same digest again is stale now.
    let (code, body) = post(
        &served,
        "/api/admin/destinations/youtube-2/remove",
        Some(TOKEN),
        &confirm,
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(sha256(&config), hash);

    // Both edits are in the audit trail, by this client over HTTP.
    let deployment = lunora::config::load(&config).unwrap();
    let settings = lunora::aws::AwsSettings {
        endpoint_url: Some(ws.emulator.endpoint_url().to_owned()),
        ..lunora::aws::AwsSettings::default()
    };
    let aws = lunora::aws::Aws::connect(&settings, "us-east-1")
        .await
        .unwrap();
    let store = lunora::release::open_store(&deployment, Some(&aws)).unwrap();
    let edits: Vec<(String, String)> = store
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action.ends_with("-destination"))
        .map(|r| {
            assert!(matches!(r.by, lunora::release::Actor::Http { .. }), "{r:?}");
            (r.action, r.destinations["youtube-2"].clone())
        })
        .collect();
    assert_eq!(
        edits,
        [
            ("add-destination".to_owned(), "added".to_owned()),
            ("remove-destination".to_owned(), "removed".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_destination_form_refuses_a_stream_key_and_never_repeats_it() {
    let ws = Workspace::new(&example()).await;
    let served = Served::start(&ws, &[]);
    let config = ws.config();
    let hash = sha256(&config);
    let keys = [
        "abcd-efgh-ijkl-mnop-qrst",
        "live_123456789_AbCdEfGhIjKlMnOpQrStUv",
    ];
    let mut bodies = Vec::new();
    for (path, body) in [
        // The key where the ARN goes, and as the JSON key.
        ("/api/admin/destinations/preview", serde_json::json!({"id": "x", "platform": "twitch", "preset": "twitch-720p30", "stream_key_secret": keys[0]}).to_string()),
        ("/api/admin/destinations/preview", serde_json::json!({"id": "x", "platform": "twitch", "preset": "twitch-720p30", "stream_key_secret": KEYS_ARN, "json_key": keys[1]}).to_string()),
        ("/api/admin/destinations", serde_json::json!({"id": "x", "platform": "twitch", "preset": "twitch-720p30", "stream_key_secret": keys[0], "digest": hash}).to_string()),
        // A field the form does not have, and a body that is not JSON.
        ("/api/admin/destinations/preview", serde_json::json!({"id": "x", "stream_key": keys[1]}).to_string()),
        ("/api/admin/destinations/preview", format!(r#"{{"id": "x", "stream_key_secret": {}}}"#, keys[1])),
        ("/api/admin/destinations/preview", format!(r#"{{"id": "x", "stream_key_secret": ["{}", 1]}}"#, keys[0])),
    ] {
        let (code, body) = post(&served, path, Some(TOKEN), &body).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(error_code(&body), "bad_request");
        bodies.push(body);
    }
    assert!(
        bodies[0].contains("not the stream key itself"),
        "{}",
        bodies[0]
    );
    // Other bad input: one line naming the problem.
    for (path, body, says) in [
        (
            "/api/admin/destinations/preview",
            serde_json::json!({"id": "x", "platform": "youtub", "preset": "youtube-720p30", "stream_key_secret": KEYS_ARN}).to_string(),
            "unknown platform `youtub`",
        ),
        (
            "/api/admin/destinations/preview",
            add_body("twitch", None),
            "exists already",
        ),
        (
            "/api/admin/destinations",
            add_body("youtube-2", None),
            "digest",
        ),
    ] {
        let (code, body) = post(&served, path, Some(TOKEN), &body).await;
        assert_eq!(code, 400, "{body}");
        assert!(body.contains(says), "{body}");
        bodies.push(body);
    }
    assert_eq!(sha256(&config), hash, "nothing written");
    // Give the log reader a moment, then read every line of it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = served.log();
    for key in keys {
        for b in &bodies {
            assert!(!b.contains(key), "{b}");
        }
        for l in &log {
            assert!(!l.contains(key), "{l}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_edited_by_hand_is_served_when_valid_and_kept_when_not() {
    let ws = Workspace::new(&example()).await;
    let served = Served::start(&ws, &["--read-only"]);
    let config = ws.config();
    let original = std::fs::read_to_string(&config).unwrap();
    let stack = "lunora-player-prod-dest-youtube-2";
    let (_, page) = get(&served, "/admin").await;
    assert!(stack_row(&page, stack).is_none(), "{page}");

    // A valid edit (here by the CLI, which the server does not know of):
    // the next rendering and reading serve it.
    succeeded(&ws.run(&add_youtube_2("youtube")));
    let (_, page) = get(&served, "/admin").await;
    assert!(
        stack_row(&page, stack).is_some_and(|r| r.contains("in the config, not deployed")),
        "{page}"
    );
    assert!(!page.contains(r#"class="problem""#), "{page}");
    assert_eq!(
        served_presence(&served, "youtube-2").await.as_deref(),
        Some("not-deployed")
    );
    let edited = std::fs::read_to_string(&config).unwrap();

    // An invalid file, or one naming another release store: the server
    // keeps the config it serves and says why, on the page and once in
    // its log.
    let invalid = edited.replace("preset: youtube-720p30", "preset: youtube-720p3");
    let other_store = edited.replace(
        "region: us-east-1\n",
        "region: us-east-1\nstate: elsewhere\n",
    );
    assert_ne!(invalid, edited);
    assert_ne!(other_store, edited);
    for (text, says) in [
        (&invalid, "changed but is invalid"),
        (&other_store, "changed its `state`"),
    ] {
        std::fs::write(&config, text).unwrap();
        for _ in 0..2 {
            let (_, page) = get(&served, "/admin").await;
            assert!(page.contains(says), "{says}: {page}");
            assert!(page.contains("keeps serving"), "{page}");
            assert!(stack_row(&page, stack).is_some(), "{page}");
        }
        assert_eq!(
            served_presence(&served, "youtube-2").await.as_deref(),
            Some("not-deployed")
        );
        let log = served.log_until(says);
        assert_eq!(
            log.iter().filter(|l| l.contains(says)).count(),
            1,
            "{log:?}"
        );
    }

    // Back to the original: served again, the problem gone.
    std::fs::write(&config, &original).unwrap();
    let (_, page) = get(&served, "/admin").await;
    assert!(stack_row(&page, stack).is_none(), "{page}");
    assert!(!page.contains("keeps serving"), "{page}");
    assert_eq!(served_presence(&served, "youtube-2").await, None);
    served.log_until("changed; serving it now (5 destinations)");
}
