//! `lunora cost` through the binary: the itemised text table, the JSON
//! report, `--hours`, `--destinations`, a `--rates` override and the
//! errors for bad input. Offline: no AWS.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::columns;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lunora() -> Command {
    let mut cmd = Command::cargo_bin("lunora").unwrap();
    cmd.current_dir(root())
        .env_remove("LUNORA_CONFIG")
        .env_remove("LUNORA_COLOR")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1");
    cmd
}

fn cost(extra: &[&str]) -> Command {
    let mut cmd = lunora();
    cmd.args(["-c", "examples/lunora.yaml", "cost"]).args(extra);
    cmd
}

fn json(extra: &[&str]) -> Value {
    let out = lunora()
        .args(["-c", "examples/lunora.yaml", "--output", "json", "cost"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn item<'a>(estimate: &'a Value, prefix: &str) -> &'a Value {
    estimate["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["what"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no item `{prefix}` in {estimate:#}"))
}

fn text(extra: &[&str], columns: &str) -> String {
    let out = cost(extra)
        .env("COLUMNS", columns)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_is_an_itemised_table_with_totals_and_unverified_marks() {
    let text = text(&[], "80");
    // The three totals come first, where a manager looks.
    let head: Vec<&str> = text.lines().skip(4).take(4).collect();
    assert!(head[0].trim_start().starts_with("ESTIMATE"), "{text}");
    assert!(
        head[1].contains("(a) with lunora's stop behaviour"),
        "{text}"
    );
    assert!(head[1].contains(" 654.46  441.00 less than (b)"), "{text}");
    assert!(head[2].contains("(b) without it") && head[2].contains(" 1095.46"));
    assert!(head[3].contains("(c) the original plan") && head[3].contains(" 355.80"));
    assert!(head[3].ends_with("leaves out 3 charges"), "{text}");
    assert!(text.contains("100 h streaming + 630 h idle"), "{text}");
    assert!(text.contains("(a) with lunora's stop behaviour:"), "{text}");
    assert!(text.contains("(b) without it:"), "{text}");
    assert!(text.contains("(c) the original plan's figure"), "{text}");
    // The flow line is marked unverified and aligned with the others.
    let flow = text
        .lines()
        .find(|l| l.contains("MediaConnect flow (active hours)"))
        .unwrap();
    assert!(flow.starts_with("  * "), "{flow}");
    assert!(flow.trim_end().ends_with("16.00"), "{flow}");
    let totals: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("total "))
        .collect();
    assert!(totals[0].trim_end().ends_with("654.46"), "{totals:?}");
    assert!(totals[2].trim_end().ends_with("355.80"), "{totals:?}");
    assert!(text.contains("left out"), "{text}");
    // Every amount of a table ends in the same column; long item names
    // wrap under their column.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("(a)"))
        .skip_while(|l| !l.trim_start().starts_with("ITEM"))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let amounts: Vec<usize> = table
        .iter()
        .filter(|l| l.starts_with("  * ") || l.trim_start().starts_with("total"))
        .map(|l| columns(l))
        .collect();
    assert!(amounts.len() > 5, "{text}");
    assert!(
        amounts.windows(2).all(|w| w[0] == w[1]),
        "{amounts:?}\n{text}"
    );
    assert!(
        table
            .iter()
            .any(|l| l.trim_start().starts_with("(12 Mbit/s feed")),
        "the transfer line wraps in its column:\n{text}"
    );
    // Nothing points at files a user does not have.
    for gone in ["mission/", "shared/", "reference/", "seed-request"] {
        assert!(!text.contains(gone), "{gone}: {text}");
    }
}

#[test]
fn every_view_fits_80_columns_and_wide_keeps_lines_whole() {
    for args in [&[][..], &["--hours", "730"], &["--destinations", "youtube"]] {
        let text = text(args, "80");
        for line in text.lines() {
            assert!(columns(line) <= 80, "{} columns: {line:?}", columns(line));
        }
    }
    let wide = text(&["--wide"], "80");
    assert!(wide.lines().any(|l| columns(l) > 80), "{wide}");
    let transfer = wide
        .lines()
        .find(|l| l.contains("MediaConnect -> MediaLive transfer"))
        .unwrap();
    assert!(
        transfer.contains("(12 Mbit/s feed x 5 flow output(s))"),
        "{transfer}"
    );
    assert!(transfer.trim_end().ends_with("54.00"), "{transfer}");
    // Without COLUMNS and not on a terminal: 80.
    let out = cost(&[]).env_remove("COLUMNS").output().unwrap();
    let piped = String::from_utf8(out.stdout).unwrap();
    assert!(piped.lines().all(|l| columns(l) <= 80), "{piped}");
    assert_eq!(piped, text(&[], "80"));
}

#[test]
fn json_report_has_the_structured_estimate() {
    let v = json(&[]);
    assert_eq!(v["kind"], "cost");
    assert_eq!(v["streaming_hours"], 100.0);
    assert_eq!(v["idle_hours"], 630.0);
    assert_eq!(v["rates"]["file"], "data/pricing.yaml (built in)");
    assert_eq!(v["rates"]["region"], "us-east-1");
    assert_eq!(
        v["destinations"],
        serde_json::json!(["primary", "youtube", "twitch", "linkedin", "custom"])
    );
    assert_eq!(v["with_stop"]["total_usd"], 654.46);
    assert_eq!(v["without_stop"]["total_usd"], 1095.46);
    assert_eq!(v["stop_saves_usd"], 441.0);
    assert_eq!(v["original"]["total_usd"], 355.8);
    let flow = item(&v["with_stop"], "MediaConnect flow");
    for field in [
        "category",
        "what",
        "quantity",
        "unit",
        "rate_usd",
        "monthly_usd",
        "source",
        "date",
        "verified",
    ] {
        assert!(!flow[field].is_null(), "{field} in {flow:#}");
    }
    assert_eq!(flow["verified"], false);
    assert_eq!(flow["quantity"], 100.0);
    assert_eq!(
        item(&v["without_stop"], "MediaConnect flow")["quantity"],
        730.0
    );
    let hd60 = item(&v["with_stop"], "MediaLive output AVC HD <=10 Mbps >30 fps");
    assert_eq!(hd60["destinations"], serde_json::json!(["twitch/1080p60"]));
    let left_out: Vec<&str> = v["comparison"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["left_out"] == true)
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert!(
        left_out.contains(&"MediaLive input charges"),
        "{left_out:?}"
    );
}

#[test]
fn hours_change_running_but_not_idle_totals_the_same_way() {
    let v = json(&["--hours", "24"]);
    assert_eq!(v["streaming_hours"], 24.0);
    assert_eq!(v["idle_hours"], 706.0);
    assert_eq!(item(&v["with_stop"], "MediaConnect flow")["quantity"], 24.0);
    assert_eq!(
        item(&v["with_stop"], "MediaLive stopped channels")["quantity"],
        5.0 * 706.0
    );
    let at_100 = json(&[]);
    assert!(
        v["with_stop"]["total_usd"].as_f64().unwrap()
            < at_100["with_stop"]["total_usd"].as_f64().unwrap()
    );
    // Fewer streaming hours, more saved by stopping the flow.
    assert!(v["stop_saves_usd"].as_f64().unwrap() > at_100["stop_saves_usd"].as_f64().unwrap());
}

#[test]
fn destinations_narrow_the_estimate() {
    let v = json(&["--destinations", "youtube,twitch"]);
    assert_eq!(v["destinations"], serde_json::json!(["youtube", "twitch"]));
    let input = item(&v["with_stop"], "MediaLive input");
    assert_eq!(input["quantity"], 200.0);
    let items = v["with_stop"]["items"].as_array().unwrap();
    assert!(items
        .iter()
        .all(|i| !i["what"].as_str().unwrap().starts_with("MediaPackage")));
    // The flow is shared: the same charge for two destinations as for five.
    assert_eq!(
        item(&v["with_stop"], "MediaConnect flow")["monthly_usd"],
        16.0
    );
}

#[test]
fn unknown_destination_is_a_clear_error() {
    cost(&["--destinations", "youtube,tiktok"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("unknown destination `tiktok`"))
        .stderr(predicate::str::contains(
            "the config defines primary, youtube, twitch, linkedin, custom",
        ));
}

#[test]
fn bad_hours_exit_1() {
    // `--hours=-1`: clap reads `--hours -1` as an unknown flag (also exit 1).
    // The built-in rates' month has 730 hours: 744 (31 days) is refused.
    for hours in ["--hours=-1", "--hours=731", "--hours=744", "--hours=NaN"] {
        let out = cost(&[hours]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{hours}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with("error: --hours must be between 0 and 730 (the hours of a month in the rates file data/pricing.yaml (built in))"),
            "{stderr}"
        );
    }
    cost(&["--hours=730"]).assert().success();
    // The help gives the range and the default once.
    let help = lunora().args(["cost", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let hours = &help[help.find("--hours <N>").unwrap()..help.find("--destinations").unwrap()];
    assert_eq!(hours.matches("default").count(), 1, "{hours}");
    assert!(hours.contains("[default: 100]"), "{hours}");
    assert!(hours.contains("730 in the"), "{hours}");
}

#[test]
fn rates_file_overrides_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rates.yaml");
    let built_in = std::fs::read_to_string(root().join("data/pricing.yaml")).unwrap();
    // A verified flow rate of $0.08/h.
    let text = built_in.replacen(
        "    usd: 0.16\n    verified: false",
        "    usd: 0.08\n    verified: true",
        1,
    );
    assert_ne!(text, built_in);
    std::fs::write(&path, text).unwrap();
    let v = json(&["--rates", path.to_str().unwrap()]);
    assert_eq!(v["rates"]["file"], path.display().to_string());
    let flow = item(&v["with_stop"], "MediaConnect flow");
    assert_eq!(flow["rate_usd"], 0.08);
    assert_eq!(flow["monthly_usd"], 8.0);
    assert_eq!(flow["verified"], true);
    // The original plan's figure does not depend on the rates.
    assert_eq!(v["original"]["total_usd"], 355.8);
}

#[test]
fn a_bad_rates_file_gets_a_located_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rates.yaml");
    let built_in = std::fs::read_to_string(root().join("data/pricing.yaml")).unwrap();
    std::fs::write(&path, built_in.replacen("usd: 0.16", "usd: -1", 1)).unwrap();
    let out = cost(&["--rates", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("rates.yaml:"), "{err}");
    assert!(err.contains("`mediaconnect.flow_hour.usd`"), "{err}");

    cost(&["--rates", "no/such/rates.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read the rates file"));
}

#[test]
fn markdown_is_a_table() {
    lunora()
        .args(["-c", "examples/lunora.yaml", "--output", "markdown", "cost"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "| item | quantity | unit | rate $ | monthly $ | verified | source |",
        ))
        .stdout(predicate::str::contains(
            "| **total** | | | | **355.80** | | |",
        ));
}

#[test]
fn an_absurd_rate_is_refused_on_one_line_never_priced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rates.yaml");
    let built_in = std::fs::read_to_string(root().join("data/pricing.yaml")).unwrap();
    // Before the fix: a negative total (saturated cents summed with wrap).
    std::fs::write(&path, built_in.replacen("usd: 0.16", "usd: 1e308", 1)).unwrap();
    let out = cost(&["--rates", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("rates.yaml:43:")
            && err
                .contains("`mediaconnect.flow_hour.usd`: a rate must be from $0 to $100 per hour"),
        "{err}"
    );
    assert!(err.contains("(hint: "), "{err}");
}

#[test]
fn an_endless_rates_file_stops_at_the_limit() {
    let started = std::time::Instant::now();
    cost(&["--rates", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: /dev/zero: the rates file is larger than lunora's limit of 1 MiB",
        ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn extreme_hours() {
    for hours in [
        "--hours=inf",
        "--hours=1e400",
        "--hours=-inf",
        "--hours=1e-400x",
    ] {
        cost(&[hours]).assert().code(1).stdout("");
    }
    // `-0` is zero hours, printed as 0.
    let v = json(&["--hours=-0"]);
    assert_eq!(v["streaming_hours"].to_string(), "0.0");
    let out = cost(&["--hours=-0"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("0 h streaming + 730 h idle")),
        "{text}"
    );
    assert!(!text.contains(" -0"), "{text}");
}

/// With `guards:`, `cost` adds the bounded worst case (JSON: a `guards`
/// field; the rest of the document is unchanged) and says it in text.
#[test]
fn guards_bound_the_worst_month() {
    let out = lunora()
        .args([
            "-c",
            "tests/fixtures/guards/lunora.yaml",
            "--output",
            "json",
            "cost",
            "--hours",
            "100",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &v["guards"];
    assert_eq!(g["bound"], "15 min + 6 h");
    assert_eq!(g["limits"]["max_session_hours"], 6.0);
    assert_eq!(g["limits"]["longest_window_hours"], 4.5);
    let forgotten = g["forgotten"].as_array().unwrap();
    assert_eq!(forgotten.len(), 3);
    for f in forgotten {
        let per_hour = f["usd_per_hour"].as_f64().unwrap();
        assert!(per_hour > 0.0);
        let at_most = f["at_most_usd"].as_f64().unwrap();
        assert!((at_most - per_hour * 6.25).abs() < 0.01, "{f}");
    }
    let a = v["with_stop"]["total_usd"].as_f64().unwrap();
    let worst = g["worst_month_usd"].as_f64().unwrap();
    assert!(
        (worst - a - forgotten[0]["at_most_usd"].as_f64().unwrap()).abs() < 0.005,
        "{g}"
    );
    assert!(g["unguarded_month_usd"].as_f64().unwrap() > worst);
    // The guards create the KMS key GuardKey: $1 a month, in both estimates.
    for estimate in ["with_stop", "without_stop"] {
        let keys: Vec<&Value> = v[estimate]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["category"] == "guard-key")
            .collect();
        assert_eq!(keys.len(), 1, "{estimate}");
        assert_eq!(keys[0]["monthly_usd"], 1.0);
        assert_eq!(keys[0]["source"], "https://aws.amazon.com/kms/pricing/");
    }
    // The example has no guards: no `guards` field and no key.
    let example = json(&[]);
    assert!(example.get("guards").is_none());
    assert!(!example["with_stop"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["category"] == "guard-key"));
    let text = String::from_utf8(
        lunora()
            .args(["-c", "tests/fixtures/guards/lunora.yaml", "cost"])
            .env("COLUMNS", "100")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("guards: a destination left running costs at most 15 min + 6 h"),
        "{text}"
    );
    assert!(text.contains("worst month with the guards:"), "{text}");
}
