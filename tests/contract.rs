//! The JSON output contract end to end (README, "JSON output"): the
//! example deployed on the project's AWS emulator, then every command that
//! reads or changes AWS run by the binary with `--output json`, each
//! document read back into its report type by `common::contract` (the
//! envelope checked, no field the type does not describe). The offline
//! documents are tested in `cli::contract`.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::process::Output;

use lunora::commands::{failover, operate, outputs, status, thumbnail};
use lunora::ops::{deploy, plan};
use lunora::progress::ProgressEvent;
use serde_json::Value;

use crate::common::contract::{assert_recent_utc, check, document};
use crate::common::workspace::{example, Workspace};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `args` with `--output json`, expects exit 0, returns stdout.
fn json(env: &Workspace, args: &[&str]) -> String {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    assert_eq!(out.status.code(), Some(0), "{all:?}");
    stdout(&out)
}

/// A JSON Lines stream: the events, then the report on the last line.
fn stream<R: serde::de::DeserializeOwned + serde::Serialize>(
    text: &str,
    kind: &str,
) -> (Vec<ProgressEvent>, R) {
    let lines: Vec<&str> = text.lines().collect();
    let (last, events) = lines.split_last().expect("a stream ends with its report");
    let events: Vec<ProgressEvent> = events
        .iter()
        .map(|l| {
            let value: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
            let event: ProgressEvent = serde_json::from_value(value.clone())
                .unwrap_or_else(|e| panic!("not a progress event ({e}): {l}"));
            assert_eq!(serde_json::to_value(&event).unwrap(), value, "{l}");
            assert_recent_utc(&event.at);
            event
        })
        .collect();
    (events, document(last, kind))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_aws_document_has_the_envelope_and_its_type() {
    let env = Workspace::new(&example()).await;

    let (events, report): (_, deploy::DeployReport) =
        stream(&json(&env, &["deploy", "--yes"]), "deploy");
    assert!(events
        .iter()
        .any(|e| e.kind == "event" && e.status == "CREATE_COMPLETE"));
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "in order");
    assert_eq!(report.stacks.len(), 7);

    let _: status::StatusReport = document(&json(&env, &["status"]), "status");
    let ids: outputs::OutputsReport = document(&json(&env, &["outputs"]), "outputs");
    assert_eq!(ids.destinations.len(), 5);
    // `outputs --format json` prints the same document, as text output.
    let out = env.run(&["outputs", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let _: outputs::OutputsReport = document(&stdout(&out), "outputs");
    let history: lunora::release::history::ReleasesReport =
        document(&json(&env, &["releases"]), "releases");
    assert_eq!(history.releases.len(), 1);

    let (events, started): (_, operate::OperateReport) =
        stream(&json(&env, &["start", "youtube"]), "start");
    assert!(events.iter().any(|e| e.kind == "done"));
    assert_eq!(started.destinations[0].result, "started");
    let shot: thumbnail::ThumbnailReport = document(
        &json(&env, &["thumbnail", "youtube", "-o", "yt.jpg"]),
        "thumbnail",
    );
    assert_eq!(shot.file, "yt.jpg");
    let (_, stopped): (_, operate::OperateReport) =
        stream(&json(&env, &["stop", "youtube"]), "stop");
    assert_eq!(stopped.destinations[0].result, "stopped");
    let switched: failover::FailoverReport =
        document(&json(&env, &["failover", "--to", "backup"]), "failover");
    assert!(switched.changed);
    let _: failover::FailoverReport =
        document(&json(&env, &["failover", "--to", "primary"]), "failover");

    // A live plan with a change: the value before and after, by path.
    let changed = example().replace("recovery_window_ms: 200", "recovery_window_ms: 300");
    std::fs::write(env.config(), &changed).unwrap();
    let planned: plan::Plan = document(&json(&env, &["plan"]), "plan");
    let flow = planned
        .stacks
        .iter()
        .find(|s| s.name == "lunora-player-prod-flow")
        .unwrap();
    let values: Vec<_> = flow
        .resources
        .iter()
        .flat_map(|r| &r.property_changes)
        .collect();
    let window = values
        .iter()
        .find(|c| c.path == "/SourceFailoverConfig/RecoveryWindow")
        .unwrap_or_else(|| panic!("{values:?}"));
    assert_eq!(window.before, Some(Value::from(200)));
    assert_eq!(window.after, Some(Value::from(300)));
    assert_eq!(window.compact().as_deref(), Some("200 -> 300"));
    // The text and markdown plans show the same value by its path.
    let text = stdout(&env.run(&["plan", "--wide"]));
    assert!(
        text.contains("/SourceFailoverConfig/RecoveryWindow: 200 -> 300"),
        "{text}"
    );
    let markdown = stdout(&env.run(&["--output", "markdown", "plan"]));
    assert!(
        markdown.contains("`/SourceFailoverConfig/RecoveryWindow`: `200 -> 300`"),
        "{markdown}"
    );

    let (_, report): (_, deploy::DeployReport) =
        stream(&json(&env, &["deploy", "--yes"]), "deploy");
    assert_eq!(report.release.as_deref().map(str::is_empty), Some(false));
    let (_, report): (_, deploy::DeployReport) =
        stream(&json(&env, &["rollback", "--yes"]), "rollback");
    assert_eq!(report.status, "rollback complete");
    let history: lunora::release::history::ReleasesReport =
        document(&json(&env, &["releases"]), "releases");
    assert_eq!(history.releases.len(), 3);
    // The saved plan is the plan document too (`plan --out`).
    let _ = json(&env, &["plan", "--out", "plan.json"]);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("plan.json")).unwrap()).unwrap();
    let _: plan::Plan = check(saved["plan"].clone(), "plan");
    // A plan of another contract version is not executed.
    let mut v2 = saved.clone();
    v2["plan"]["schema"] = Value::from("lunora.plan/v2");
    std::fs::write(env.path("plan-v2.json"), v2.to_string()).unwrap();
    let out = env.run(&["deploy", "--plan", "plan-v2.json", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is a `lunora.plan/v2` document, not a `lunora.plan/v1` plan"),
        "{err}"
    );
}
