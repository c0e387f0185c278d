//! `lunora cost --actual` through the real binary against the emulator:
//! audit records are written into the workspace's release store with the
//! product's own writer (`ReleaseStore::append_audit`, as `lunora start`
//! and `stop` write them), with chosen times, and the binary counts and
//! prices them. The expected dollars come from the rates `lunora cost`
//! prints, not from a copied figure.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::sfn::run_machine;
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

    // Markdown: the tables.
    let out = ws.run(&[
        "--output", "markdown", "cost", "--actual", "--month", "2026-11",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| youtube | 6 | "), "{md}");
    assert!(md.contains("| session | started | ended | hours |"), "{md}");

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

const PREFIX: &str = "lunora-player-prod";

/// With guards: a session `lunora start` opened and an auto-stop ended
/// (the stop sequence run with the input twitch's auto-stop rule sends),
/// then one the schedule's start sequence opened, still running.
#[tokio::test(flavor = "multi_thread")]
async fn a_guard_stop_ends_a_session_and_a_schedule_start_opens_one() {
    let config = std::fs::read_to_string(
        crate::common::workspace::root().join("tests/fixtures/guards/lunora.yaml"),
    )
    .unwrap();
    let ws = Workspace::new(&config).await;
    assert_eq!(ws.run(&["deploy", "--yes"]).status.code(), Some(0));
    let conf = ws.emulator.sdk_config().await;
    let sfn = aws_sdk_sfn::Client::new(&conf);
    assert_eq!(ws.run(&["start", "twitch"]).status.code(), Some(0));

    // Twitch's auto-stop rule, fired: its input transformer applied.
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let targets = eb
        .list_targets_by_rule()
        .rule(format!("{PREFIX}-twitch-guard-auto-stop"))
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    let transformer = target.input_transformer().unwrap();
    let alarm = format!("{PREFIX}-twitch-guard-input-lost");
    let input: Value = serde_json::from_str(
        &transformer
            .input_template()
            .replace("<alarm>", &serde_json::to_string(&alarm).unwrap())
            .replace("<time>", "\"2026-12-06T03:00:00Z\""),
    )
    .unwrap();
    run_machine(&sfn, target.arn(), "twitch-input-lost", &input).await;

    // The gala window's start schedule, fired.
    let scheduler = aws_sdk_scheduler::Client::new(&conf);
    let s = scheduler
        .get_schedule()
        .name(format!("{PREFIX}-twitch-gala-start"))
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(
        &s.target()
            .unwrap()
            .input()
            .unwrap()
            .replace("<aws.scheduler.schedule-arn>", s.arn().unwrap())
            .replace("<aws.scheduler.scheduled-time>", "2099-03-14T17:30:00Z"),
    )
    .unwrap();
    run_machine(&sfn, s.target().unwrap().arn(), "gala-start-twitch", &input).await;

    ws.emulator.clear_requests();
    let out = ws.run(&["--output", "json", "cost", "--actual"]);
    assert_eq!(out.status.code(), Some(0));
    let report: lunora::commands::cost::ActualReport =
        crate::common::contract::document(&String::from_utf8(out.stdout).unwrap(), "cost-actual");
    // The stop and the start sequence were listed.
    assert_eq!(ws.emulator.count("ListExecutions"), 2);
    let twitch: Vec<_> = report
        .sessions
        .iter()
        .filter(|s| s.destination == "twitch")
        .collect();
    assert_eq!(twitch.len(), 2, "{:#?}", report.sessions);
    assert_eq!(twitch[0].started_by, "cli");
    let ended_by = twitch[0].ended_by.as_deref().unwrap();
    assert!(ended_by.starts_with("auto-stop ("), "{ended_by}");
    assert!(ended_by.contains(&alarm), "{ended_by}");
    assert!(!twitch[0].open);
    assert!(
        twitch[1].started_by.starts_with("schedule-start"),
        "{:?}",
        twitch[1]
    );
    assert!(twitch[1].open);
    assert!(report.sessions.iter().all(|s| s.destination == "twitch"));
    let budget = report.budget.as_ref().unwrap();
    assert_eq!(budget.monthly_usd, 400.0);
    assert!((budget.remaining_usd - (400.0 - report.cost.total_usd)).abs() < 0.006);
    assert!(report.cost.flow.hours >= 0.0);
    let notes = report.notes.join("\n");
    assert!(
        notes.contains("1 stop(s) and 1 schedule start(s)"),
        "{notes}"
    );
    assert!(notes.contains("still running"), "{notes}");
}
