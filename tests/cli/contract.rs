//! The JSON output contract (README, "JSON output"): the committed
//! schemas match the types, and every command's `--output json` document
//! has the envelope and deserializes, field for field, into its type.

use std::path::Path;

use serde_json::Value;

use super::util::{lunora, offline, root};
use crate::common::contract as common;

/// `LUNORA_UPDATE_SCHEMAS=1 cargo test --test integration contract` rewrites
/// `schema/output/` from the types; otherwise a stale file fails.
#[test]
fn the_committed_output_schemas_are_current() {
    let dir = root().join(lunora::contract::DIR);
    let update = std::env::var_os("LUNORA_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let schemas = lunora::contract::schemas();
    let mut expected: Vec<String> = Vec::new();
    for (kind, schema) in &schemas {
        let file = lunora::contract::file_name(kind);
        let path = dir.join(&file);
        let generated = lunora::contract::to_pretty_json(schema);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{}/{file} is stale: run `LUNORA_UPDATE_SCHEMAS=1 cargo test --test integration contract` and review the diff",
            lunora::contract::DIR
        );
        expected.push(file);
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    expected.sort();
    assert_eq!(present, expected, "a schema file of no document kind");
}

/// Runs `args`, expects `code`, returns stdout.
fn stdout_of(cmd: &mut assert_cmd::Command, args: &[&str], code: i32) -> String {
    let out = cmd.args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(args: &[&str]) -> Vec<String> {
    let mut all = vec!["--output".to_owned(), "json".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all
}

fn run_json(cmd: &mut assert_cmd::Command, args: &[&str], code: i32) -> String {
    let args = json(args);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout_of(cmd, &refs, code)
}

#[test]
fn validate_prints_a_validate_document() {
    let out = run_json(
        &mut lunora(),
        &["-c", "examples/lunora.yaml", "validate"],
        0,
    );
    let report: lunora::commands::validate::ValidateReport = common::document(&out, "validate");
    assert!(report.valid);
    assert_eq!(report.destinations.len(), 5);
}

#[test]
fn render_prints_a_render_document() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("stacks");
    let out_dir = out_dir.to_str().unwrap();
    let args = ["-c", "examples/lunora.yaml", "render", "--out", out_dir];
    let report: lunora::commands::render::RenderReport =
        common::document(&run_json(&mut lunora(), &args, 0), "render");
    assert_eq!(report.files.len(), 7);
    let check = [
        "-c",
        "examples/lunora.yaml",
        "render",
        "--check",
        "--out",
        out_dir,
    ];
    let report: lunora::commands::render::RenderReport =
        common::document(&run_json(&mut lunora(), &check, 0), "render");
    assert!(report.check);
}

#[test]
fn plan_prints_a_plan_document_and_saves_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("plan.json");
    let out = run_json(
        &mut offline(),
        &[
            "-c",
            "examples/lunora.yaml",
            "plan",
            "--out",
            saved.to_str().unwrap(),
        ],
        0,
    );
    let plan: lunora::ops::plan::Plan = common::document(&out, "plan");
    assert_eq!(plan.stacks.len(), 7);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let in_file: lunora::ops::plan::Plan = common::check(file["plan"].clone(), "plan");
    assert_eq!(in_file.stacks, plan.stacks);
}

#[test]
fn cost_prints_a_cost_document() {
    let out = run_json(&mut lunora(), &["-c", "examples/lunora.yaml", "cost"], 0);
    let report: lunora::commands::cost::CostReport = common::document(&out, "cost");
    assert!(report.summary.with_stop.total_usd > 0.0);
}

#[test]
fn presets_print_presets_and_preset_documents() {
    let out = run_json(&mut lunora(), &["presets", "list"], 0);
    let list: lunora::presets::catalog::PresetList = common::document(&out, "presets");
    assert!(!list.presets.is_empty());
    let out = run_json(&mut lunora(), &["presets", "show", "hls-ladder"], 0);
    let detail: lunora::commands::presets::PresetDetail = common::document(&out, "preset");
    assert_eq!(detail.preset.renditions.len(), 4);
}

#[test]
fn foreign_formats_carry_no_envelope() {
    let out = run_json(&mut lunora(), &["schema"], 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v.get("lunora_version").is_none(), "{out}");
    assert_eq!(v["additionalProperties"], false);
    let out = run_json(&mut lunora(), &["completions", "bash"], 0);
    assert!(!out.contains("lunora_version"));
}

/// The example with a port out of range: one located diagnostic.
fn invalid_config(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    let bad = text.replacen("port: 9998", "port: 99999", 1);
    assert_ne!(bad, text, "the example has a port to break");
    let path = dir.join("lunora.yaml");
    std::fs::write(&path, bad).unwrap();
    path
}

#[test]
fn bad_input_is_a_diagnostics_document_with_json_or_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let config = invalid_config(dir.path());
    let config = config.to_str().unwrap();
    for command in ["validate", "plan", "cost"] {
        let out = offline()
            .args(["--output", "json", "-c", config, command])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{command}: {stderr}");
        let report: lunora::diagnostic::DiagnosticsReport =
            common::document(&String::from_utf8(out.stdout).unwrap(), "diagnostics");
        assert!(!report.valid);
        let d = &report.diagnostics[0];
        assert!(d.line.is_some() && d.column.is_some(), "{d:?}");
        assert!(d.field.ends_with("port"), "{d:?}");
        assert_eq!(d.file.to_str(), Some(config));
        // The same problem, one line on stderr.
        assert!(stderr.contains(&d.to_string()), "{stderr}");
    }
    let md = stdout_of(
        &mut offline(),
        &["--output", "markdown", "-c", config, "validate"],
        1,
    );
    assert!(md.contains("| where | field | problem | hint |"), "{md}");
    assert!(
        md.contains("`flow.source.port`") || md.contains("port`"),
        "{md}"
    );
    // Text output keeps stdout for data: nothing there.
    let text = stdout_of(&mut offline(), &["-c", config, "validate"], 1);
    assert_eq!(text, "");
    // deploy streams JSON Lines: its diagnostics are one line.
    let line = stdout_of(
        &mut offline(),
        &["--output", "json", "-c", config, "deploy", "--yes"],
        1,
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    let _: lunora::diagnostic::DiagnosticsReport = common::document(&line, "diagnostics");
}
