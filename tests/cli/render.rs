//! Golden tests of the rendered CloudFormation, and the promises about it:
//! deterministic, canonical, secrets only as references, stacks/ current.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{configs, lunora, render, root};

#[test]
fn rendered_stacks_match_their_snapshots() {
    for (name, path) in configs() {
        for stack in render(&path) {
            insta::with_settings!({snapshot_suffix => format!("{name}-{}", stack.name), prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!("stack", stack.template);
            });
        }
    }
}

#[test]
fn rendering_is_byte_identical_across_runs() {
    for (_, path) in configs() {
        assert_eq!(render(&path), render(&path));
    }
}

#[test]
fn templates_are_canonical_json() {
    for (_, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            assert_eq!(lunora::render::canonical_json(&value), stack.template);
            assert!(stack.template.ends_with("}\n"));
        }
    }
}

#[test]
fn committed_stacks_are_the_rendered_example() {
    lunora()
        .args(["-c", "examples/lunora.yaml", "render", "--check"])
        .assert()
        .success()
        .stdout(predicates::str::contains("is up to date (7 templates)"));
}

/// Every string value in a template.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn stream_keys_appear_only_as_secrets_manager_references() {
    for (_, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            let resources = value["Resources"].as_object().unwrap();
            for resource in resources.values() {
                if resource["Type"] != "AWS::MediaLive::Channel" {
                    continue;
                }
                for dest in resource["Properties"]["Destinations"].as_array().unwrap() {
                    for s in dest["Settings"].as_array().into_iter().flatten() {
                        let key = s["StreamName"].as_str().unwrap();
                        assert!(
                            key.starts_with("{{resolve:secretsmanager:arn:") && key.ends_with("}}"),
                            "{}: stream key is not a dynamic reference: {key}",
                            stack.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_existing_mediapackage_channel_is_referenced_never_declared() {
    for (_, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            for r in value["Resources"].as_object().unwrap().values() {
                let t = r["Type"].as_str().unwrap();
                assert!(
                    !t.starts_with("AWS::MediaPackage"),
                    "{} declares {t}",
                    stack.name
                );
            }
        }
    }
}

#[test]
fn every_resource_that_takes_tags_is_tagged_managed_by_lunora() {
    for (_, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            for (id, r) in value["Resources"].as_object().unwrap() {
                if r["Type"] == "AWS::SNS::Subscription" {
                    continue; // takes no tags
                }
                let tags = &r["Properties"]["Tags"];
                let managed = match tags {
                    Value::Object(map) => map.get("managed-by") == Some(&Value::from("lunora")),
                    Value::Array(list) => list
                        .iter()
                        .any(|t| t["Key"] == "managed-by" && t["Value"] == "lunora"),
                    _ => false,
                };
                assert!(
                    managed,
                    "{}: {id} is not tagged managed-by: lunora",
                    stack.name
                );
            }
        }
    }
}

#[test]
fn iam_policies_name_their_resources() {
    for (_, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            let mut all = Vec::new();
            for r in value["Resources"].as_object().unwrap().values() {
                if r["Type"] != "AWS::IAM::Role" {
                    continue;
                }
                for p in r["Properties"]["Policies"].as_array().unwrap() {
                    for s in p["PolicyDocument"]["Statement"].as_array().unwrap() {
                        strings(&s["Resource"], &mut all);
                    }
                }
            }
            for resource in all {
                assert_ne!(resource, "*", "{}: a policy grants on `*`", stack.name);
                assert!(resource.starts_with("arn:"), "{}: {resource}", stack.name);
            }
        }
    }
}

#[test]
fn destination_stacks_import_only_what_base_and_flow_export() {
    for (_, path) in configs() {
        let stacks = render(&path);
        let mut exports = BTreeSet::new();
        let mut imports = BTreeSet::new();
        for stack in &stacks {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            for o in value["Outputs"].as_object().unwrap().values() {
                if let Some(name) = o["Export"]["Name"].as_str() {
                    exports.insert(name.to_owned());
                }
            }
            fn walk(v: &Value, out: &mut BTreeSet<String>) {
                match v {
                    Value::Object(m) => {
                        if let Some(Value::String(name)) = m.get("Fn::ImportValue") {
                            out.insert(name.clone());
                        }
                        m.values().for_each(|v| walk(v, out));
                    }
                    Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                    _ => {}
                }
            }
            walk(&value, &mut imports);
        }
        let missing: Vec<_> = imports.difference(&exports).collect();
        assert!(
            missing.is_empty(),
            "{}: imports without export: {missing:?}",
            path.display()
        );
    }
}

#[test]
fn render_writes_every_stack_and_removes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stacks");
    std::fs::create_dir_all(&out).unwrap();
    let stale = out.join("lunora-player-prod-dest-gone.json");
    let foreign = out.join("someone-else.json");
    std::fs::write(&stale, "{}").unwrap();
    std::fs::write(&foreign, "{}").unwrap();
    lunora()
        .args(["-c", "examples/lunora.yaml", "render", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("removed"));
    assert!(!stale.exists(), "the stale template was kept");
    assert!(foreign.exists(), "a file that is not lunora's was removed");
    let committed =
        std::fs::read_to_string(root().join("stacks/lunora-player-prod-flow.json")).unwrap();
    let written = std::fs::read_to_string(out.join("lunora-player-prod-flow.json")).unwrap();
    assert_eq!(committed, written);
    // A second run changes nothing.
    lunora()
        .args(["-c", "examples/lunora.yaml", "render", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("written").not());
}

#[test]
fn render_check_names_stale_missing_and_extra_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    lunora()
        .args(["-c", "examples/lunora.yaml", "render", "--out"])
        .arg(out)
        .assert()
        .success();
    std::fs::write(out.join("lunora-player-prod-base.json"), "{}\n").unwrap();
    std::fs::remove_file(out.join("lunora-player-prod-flow.json")).unwrap();
    std::fs::write(out.join("lunora-player-prod-dest-gone.json"), "{}\n").unwrap();
    let assert = lunora()
        .args(["-c", "examples/lunora.yaml", "render", "--check", "--out"])
        .arg(out)
        .assert()
        .code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("lunora-player-prod-base.json: differs from a fresh render"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lunora-player-prod-flow.json: missing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lunora-player-prod-dest-gone.json: belongs to no stack"),
        "{stdout}"
    );
    // --check writes nothing.
    assert!(!out.join("lunora-player-prod-flow.json").exists());
}

use predicates::prelude::PredicateBooleanExt;
