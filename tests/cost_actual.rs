//! `lunora cost --actual` through the real binary against the emulator:
//! audit records are written into the workspace's release store with the
//! product's own writer (`ReleaseStore::append_audit`, as `lunora start`
//! and `stop` write them), with chosen times, and the binary counts and
//! prices them. The expected dollars come from the rates `lunora cost`
//! prints, not from a copied figure.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::workspace::{example, Workspace};

use lunora::release::{Actor, AuditRecord, ReleaseStore};
use serde_json::Value;

fn record(at: &str, action: &str, dest: &str, result: &str, flow: &str) -> AuditRecord {
    let mut r = AuditRecord::now(action, Actor::Cli);
    r.at = at.to_owned();
    r.destinations.insert(dest.to_owned(), result.to_owned());
    r.flow = Some(flow.to_owned());
    r
}

fn json(ws: &Workspace, args: &[&str]) -> Value {
    let out = ws.run(&[&["--output", "json", "cost"], args].concat());
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_recorded_sessions_of_two_hours_are_six_hours_priced_with_the_estimate_rates() {
    let ws = Workspace::new(&example()).await;
    let store = ReleaseStore::local(ws.path(".lunora"), "lunora-player", "prod");
    for day in ["03", "10", "17"] {
        store
            .append_audit(&record(
                &format!("2026-11-{day}T18:00:00Z"),
                "start",
                "youtube",
                "started",
                "started",
            ))
            .await
            .unwrap();
        store
            .append_audit(&record(
                &format!("2026-11-{day}T20:00:00Z"),
                "stop",
                "youtube",
                "stopped",
                "stopped",
            ))
            .await
            .unwrap();
    }
    // Outside November: not counted there.
    store
        .append_audit(&record(
            "2026-10-31T10:00:00Z",
            "start",
            "twitch",
            "started",
            "started",
        ))
        .await
        .unwrap();
    store
        .append_audit(&record(
            "2026-10-31T12:00:00Z",
            "stop",
            "twitch",
            "stopped",
            "stopped",
        ))
        .await
        .unwrap();
    ws.emulator.clear_requests();

    let out = ws.run(&["--output", "json", "cost", "--actual", "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(0));
    let report: lunora::commands::cost::ActualReport =
        crate::common::contract::document(&String::from_utf8(out.stdout).unwrap(), "cost-actual");
    // No guards in the example: no Step Functions call at all.
    let requests = ws.emulator.requests();
    assert!(
        requests
            .iter()
            .all(|(service, _)| !service.contains("states")),
        "{requests:?}"
    );
    assert_eq!(ws.emulator.count("ListExecutions"), 0);

    assert_eq!(report.month, "2026-11");
    assert!(!report.so_far);
    assert_eq!(report.channel_hours, 6.0);
    assert_eq!(report.sessions.len(), 3);
    assert!(report.sessions.iter().all(|s| s.hours == 2.0 && !s.open));
    let youtube = report
        .cost
        .destinations
        .iter()
        .find(|d| d.destination == "youtube")
        .unwrap();
    assert_eq!(youtube.hours, 6.0);
    assert_eq!(youtube.idle_hours, 30.0 * 24.0 - 6.0);
    assert_eq!(report.cost.flow.hours, 6.0);
    let twitch = report
        .cost
        .destinations
        .iter()
        .find(|d| d.destination == "twitch")
        .unwrap();
    assert_eq!(twitch.hours, 0.0);

    // The expected money: the estimate for 6 h of youtube alone, from the
    // rates `lunora cost` prints: its running items (not idle, not flow).
    let estimate = json(&ws, &["--hours", "6", "--destinations", "youtube"]);
    let items = estimate["with_stop"]["items"].as_array().unwrap();
    let sum = |pick: &dyn Fn(&str) -> bool| -> f64 {
        items
            .iter()
            .filter(|i| pick(i["category"].as_str().unwrap()))
            .map(|i| i["quantity"].as_f64().unwrap() * i["rate_usd"].as_f64().unwrap())
            .sum()
    };
    let running = sum(&|c| c != "idle" && c != "flow");
    let flow = sum(&|c| c == "flow");
    let cents = |usd: f64| (usd * 100.0).round() / 100.0;
    assert!(running > 0.0 && flow > 0.0);
    assert!(
        (youtube.running_usd - cents(running)).abs() < 0.006,
        "{} vs {running}",
        youtube.running_usd
    );
    assert!(
        (report.cost.flow.usd - cents(flow)).abs() < 0.006,
        "{} vs {flow}",
        report.cost.flow.usd
    );
    // The total adds every destination's running and idle hours and the flow.
    let parts: f64 = report
        .cost
        .destinations
        .iter()
        .map(|d| d.total_usd)
        .sum::<f64>()
        + report.cost.flow.usd;
    assert!((report.cost.total_usd - parts).abs() < 0.006);
    // Beside the estimate at the default 100 h.
    assert_eq!(report.estimate.streaming_hours, 100.0);
    assert!(report.budget.is_none());

    // The text says it too.
    let out = ws.run(&["cost", "--actual", "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("6 channel-hour(s) running, the flow ACTIVE 6 h"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_session_counts_up_to_now_and_bad_months_are_one_line_errors() {
    let ws = Workspace::new(&example()).await;
    let store = ReleaseStore::local(ws.path(".lunora"), "lunora-player", "prod");
    let now = time::OffsetDateTime::now_utc();
    // Started 30 minutes ago (or at the 1st, early in a month), never stopped.
    let first = now
        .replace_day(1)
        .unwrap()
        .replace_time(time::Time::MIDNIGHT);
    let started = (now - time::Duration::minutes(30)).max(first);
    let at = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    store
        .append_audit(&record(&at, "start", "twitch", "started", "started"))
        .await
        .unwrap();
    let report = json(&ws, &["--actual"]);
    assert_eq!(report["so_far"], true);
    let session = &report["sessions"][0];
    assert_eq!(session["destination"], "twitch");
    assert_eq!(session["open"], true);
    assert!(session["ended_at"].is_null());
    let hours = session["hours"].as_f64().unwrap();
    assert!(hours <= 0.51, "{hours}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("still running"), "{notes}");

    for bad in ["2026-13", "June"] {
        let out = ws.run(&["cost", "--actual", "--month", bad]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--month"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // --month without --actual: a usage error.
    let out = ws.run(&["cost", "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(1));
}
