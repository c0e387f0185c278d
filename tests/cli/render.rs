//! Golden tests of the rendered CloudFormation, and the promises about it:
//! deterministic, canonical, secrets only as references, stacks/ current.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::util::{configs, lunora, render, root};

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
        .args([
            "-c",
            "examples/lunora.yaml",
            "render",
            "--check",
            "--out",
            "stacks",
        ])
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
                if matches!(
                    r["Type"].as_str(),
                    Some(
                        "AWS::SNS::Subscription"
                            | "AWS::SNS::TopicPolicy"
                            | "AWS::CloudWatch::Dashboard"
                            | "AWS::IAM::Policy"
                            | "AWS::Scheduler::Schedule"
                    )
                ) {
                    continue; // takes no tags
                }
                if r["Type"] == "AWS::Budgets::Budget" {
                    let tags = r["Properties"]["ResourceTags"].as_array().unwrap();
                    assert!(
                        tags.iter()
                            .any(|t| t["Key"] == "managed-by" && t["Value"] == "lunora"),
                        "{}: {id}",
                        stack.name
                    );
                    continue;
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
                let documents: Vec<&Value> = match r["Type"].as_str() {
                    Some("AWS::IAM::Role") => r["Properties"]["Policies"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| &p["PolicyDocument"])
                        .collect(),
                    Some("AWS::IAM::Policy") => vec![&r["Properties"]["PolicyDocument"]],
                    _ => continue,
                };
                for document in documents {
                    for s in document["Statement"].as_array().unwrap() {
                        // The documented exceptions: IAM lists no resource
                        // type for the mediaconnect:Managed* actions nor
                        // for medialive:ListChannels, so AWS grants them
                        // on `*`.
                        if s["Sid"] == "ManageFlowOutputs" || s["Sid"] == "ListChannels" {
                            assert_eq!(s["Resource"], "*");
                            continue;
                        }
                        let resources: Vec<&Value> = match &s["Resource"] {
                            Value::Array(items) => items.iter().collect(),
                            other => vec![other],
                        };
                        for resource in resources {
                            match resource {
                                Value::String(arn) => all.push(arn.clone()),
                                // An intrinsic names one resource of the
                                // deployment (its channel, output, flow
                                // or state machine).
                                Value::Object(f) => assert!(
                                    f.contains_key("Ref")
                                        || f.contains_key("Fn::GetAtt")
                                        || f.contains_key("Fn::ImportValue"),
                                    "{}: {resource}",
                                    stack.name
                                ),
                                other => panic!("{}: resource {other}", stack.name),
                            }
                        }
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

/// The statements of one role of the base stack, by Sid.
fn role(stack: &Value, logical_id: &str) -> (Value, BTreeMap<String, Value>) {
    let r = &stack["Resources"][logical_id]["Properties"];
    let mut by_sid = BTreeMap::new();
    for p in r["Policies"].as_array().unwrap() {
        for s in p["PolicyDocument"]["Statement"].as_array().unwrap() {
            by_sid.insert(s["Sid"].as_str().unwrap().to_owned(), s.clone());
        }
    }
    (r["AssumeRolePolicyDocument"].clone(), by_sid)
}

fn base_stacks() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, path) in configs() {
        for stack in render(&path) {
            if stack.name.ends_with("-base") {
                out.push((
                    name.to_owned(),
                    serde_json::from_str(&stack.template).unwrap(),
                ));
            }
        }
    }
    assert_eq!(out.len(), configs().len());
    out
}

fn list(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings(v, &mut out);
    out
}

#[test]
fn medialive_role_grants_the_log_group_arn_forms_cloudwatch_logs_checks() {
    for (name, stack) in base_stacks() {
        let (_, statements) = role(&stack, "MediaLiveRole");
        let logs = &statements["WriteChannelLogs"];
        let resources = list(&logs["Resource"]);
        assert!(
            resources.iter().any(|r| r.starts_with("arn:aws:logs:")
                && r.ends_with(":log-group:ElementalMediaLive:*")),
            "{name}: {resources:?}"
        );
        assert!(
            resources
                .iter()
                .any(|r| r.ends_with(":log-group:ElementalMediaLive")),
            "{name}: {resources:?}"
        );
        let actions = list(&logs["Action"]);
        for a in [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        ] {
            assert!(actions.contains(&a.to_owned()), "{name}: {actions:?}");
        }
        let describe = &statements["FindChannelLogGroup"];
        assert_eq!(
            list(&describe["Action"]),
            ["logs:DescribeLogGroups"],
            "{name}"
        );
        let groups = list(&describe["Resource"]);
        assert_eq!(groups.len(), 1, "{name}");
        assert!(groups[0].ends_with(":log-group:*"), "{name}: {groups:?}");
    }
}

#[test]
fn mediaconnect_managed_actions_are_granted_on_star_as_aws_documents() {
    let mut seen = 0;
    for (name, stack) in base_stacks() {
        let (_, statements) = role(&stack, "MediaLiveRole");
        let Some(managed) = statements.get("ManageFlowOutputs") else {
            continue;
        };
        seen += 1;
        assert_eq!(managed["Resource"], "*", "{name}");
        assert_eq!(
            list(&managed["Action"]),
            [
                "mediaconnect:ManagedAddOutput",
                "mediaconnect:ManagedDescribeFlow",
                "mediaconnect:ManagedRemoveOutput"
            ],
            "{name}"
        );
    }
    assert!(
        seen >= 1,
        "a mediaconnect-mode fixture renders the Managed* statement"
    );
}

#[test]
fn trust_policies_carry_only_the_conditions_aws_documents() {
    for (name, stack) in base_stacks() {
        // MediaLive documents no confused-deputy condition keys.
        let (trust, _) = role(&stack, "MediaLiveRole");
        for s in trust["Statement"].as_array().unwrap() {
            assert!(s.get("Condition").is_none(), "{name}: {s}");
        }
        // MediaConnect documents aws:SourceAccount and the flow's aws:SourceArn.
        let (trust, _) = role(&stack, "MediaConnectSecretsRole");
        let condition = &trust["Statement"][0]["Condition"];
        assert!(
            condition["StringEquals"]["aws:SourceAccount"].is_string(),
            "{name}: {condition}"
        );
        assert!(
            condition["ArnLike"]["aws:SourceArn"]
                .as_str()
                .unwrap()
                .contains(":mediaconnect:"),
            "{name}: {condition}"
        );
    }
}

/// Resources of one type in a template: (logical id, resource).
fn of_type<'a>(stack: &'a Value, t: &str) -> Vec<(&'a String, &'a Value)> {
    stack["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == t)
        .collect()
}

#[test]
fn alarms_rules_and_the_dashboard_carry_the_deployment_prefix() {
    for (name, path) in configs() {
        for stack in render(&path) {
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            let prefix = match stack.name.split_once("-dest-") {
                Some((prefix, _)) => prefix.to_owned(),
                None => stack.name.rsplit_once('-').unwrap().0.to_owned(),
            };
            for (id, r) in of_type(&value, "AWS::Events::Rule") {
                let rule = r["Properties"]["Name"].as_str().unwrap();
                assert!(
                    rule.starts_with(&format!("{prefix}-")) && rule.len() <= 64,
                    "{name}/{}: {id} is named {rule}",
                    stack.name
                );
                let target = &r["Properties"]["Targets"][0]["Arn"]["Fn::ImportValue"];
                let target = target.as_str().unwrap();
                // Alert rules tell the alarm topic; the auto-stop guard
                // starts the stop sequence.
                assert!(
                    target.ends_with("-AlarmTopicArn")
                        || (id == "GuardAutoStopRule" && target.ends_with("-StopSequenceArn")),
                    "{name}: {id}"
                );
            }
            for (id, r) in of_type(&value, "AWS::CloudWatch::Alarm") {
                let alarm = r["Properties"]["AlarmName"].as_str().unwrap();
                assert!(alarm.starts_with(&format!("{prefix}-")), "{name}: {id}");
                assert_eq!(r["Properties"]["TreatMissingData"], "notBreaching");
                assert!(r["Properties"]["OKActions"].is_array(), "{name}: {id}");
            }
        }
    }
}

#[test]
fn the_flow_stack_alarms_on_its_sources_and_has_the_dashboard() {
    let mut seen = BTreeSet::new();
    for (name, path) in configs() {
        for stack in render(&path) {
            if !stack.name.ends_with("-flow") {
                continue;
            }
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            let prefix = stack.name.trim_end_matches("-flow");
            let alarms: BTreeSet<String> = of_type(&value, "AWS::CloudWatch::Alarm")
                .iter()
                .map(|(_, r)| r["Properties"]["AlarmName"].as_str().unwrap().to_owned())
                .collect();
            let backup = value["Resources"].get("BackupSource").is_some();
            let failover = value["Resources"]["Flow"]["Properties"]["SourceFailoverConfig"]
                ["FailoverMode"]
                == "FAILOVER";
            let mut expected = BTreeSet::from([
                format!("{prefix}-flow-primary-disconnected"),
                format!("{prefix}-flow-primary-no-bitrate"),
            ]);
            if backup {
                expected.insert(format!("{prefix}-flow-backup-down"));
            }
            if backup && failover {
                expected.insert(format!("{prefix}-flow-failover-to-backup"));
            }
            assert_eq!(alarms, expected, "{name}");
            seen.insert((backup, failover));
            let rule = &value["Resources"]["FlowHealthRule"]["Properties"]["EventPattern"];
            assert_eq!(rule["source"][0], "aws.mediaconnect", "{name}");
            assert_eq!(
                rule["resources"][0]["Fn::GetAtt"],
                serde_json::json!(["Flow", "FlowArn"])
            );
            let dashboard = &value["Resources"]["Dashboard"]["Properties"];
            assert_eq!(dashboard["DashboardName"], prefix, "{name}");
            let sub = dashboard["DashboardBody"]["Fn::Sub"].as_array().unwrap();
            let body: Value = serde_json::from_str(sub[0].as_str().unwrap()).unwrap();
            let text = body.to_string();
            assert!(text.contains("${FlowArn}") && text.contains("${PrimarySourceArn}"));
            assert_eq!(text.contains("${BackupSourceArn}"), backup, "{name}");
            assert_eq!(sub[1].get("BackupSourceArn").is_some(), backup, "{name}");
            assert!(text.contains("all MediaLive channels in this Region"));
            let flow = &value["Resources"]["Flow"]["Properties"];
            assert_eq!(
                flow["SourceMonitoringConfig"]["ThumbnailState"], "ENABLED",
                "{name}"
            );
        }
    }
    // The fixtures cover failover, merge and no backup at all.
    assert!(seen.contains(&(true, true)) && seen.contains(&(true, false)));
    assert!(seen.contains(&(false, false)));
}

#[test]
fn every_channel_has_thumbnails_an_active_alerts_alarm_and_an_alert_rule() {
    for (name, path) in configs() {
        for stack in render(&path) {
            let Some((prefix, id)) = stack.name.split_once("-dest-") else {
                continue;
            };
            let value: Value = serde_json::from_str(&stack.template).unwrap();
            let r = &value["Resources"];
            assert_eq!(
                r["Channel"]["Properties"]["EncoderSettings"]["ThumbnailConfiguration"]["State"],
                "AUTO",
                "{name}"
            );
            let alarm = &r["ActiveAlertsAlarm"]["Properties"];
            assert_eq!(alarm["AlarmName"], format!("{prefix}-{id}-active-alerts"));
            assert_eq!(alarm["MetricName"], "ActiveAlerts");
            let pattern = &r["ChannelAlertRule"]["Properties"]["EventPattern"];
            assert_eq!(pattern["source"], serde_json::json!(["aws.medialive"]));
            assert_eq!(
                pattern["detail-type"],
                serde_json::json!(["MediaLive Channel Alert"])
            );
            assert_eq!(
                pattern["resources"][0]["Fn::GetAtt"],
                serde_json::json!(["Channel", "Arn"])
            );
        }
    }
}

#[test]
fn the_alarm_topic_policy_keeps_the_owner_and_cloudwatch_and_admits_only_our_rules() {
    for (name, stack) in base_stacks() {
        let policy = &stack["Resources"]["AlarmTopicPolicy"]["Properties"];
        assert_eq!(policy["Topics"], serde_json::json!([{"Ref": "AlarmTopic"}]));
        let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
        let by_sid: BTreeMap<&str, &Value> = statements
            .iter()
            .map(|s| (s["Sid"].as_str().unwrap(), s))
            .collect();
        for s in statements {
            assert_eq!(s["Resource"], serde_json::json!({"Ref": "AlarmTopic"}));
        }
        let owner = by_sid["AccountOwner"];
        assert!(owner["Principal"]["AWS"]
            .as_str()
            .unwrap()
            .ends_with(":root"));
        let cw = by_sid["CloudWatchAlarms"];
        assert_eq!(cw["Principal"]["Service"], "cloudwatch.amazonaws.com");
        assert_eq!(cw["Action"], "sns:Publish");
        assert!(cw["Condition"]["StringEquals"]["aws:SourceAccount"].is_string());
        let events = by_sid["EventBridgeRules"];
        assert_eq!(events["Principal"]["Service"], "events.amazonaws.com");
        assert_eq!(events["Action"], "sns:Publish");
        let source = events["Condition"]["ArnLike"]["aws:SourceArn"]
            .as_str()
            .unwrap();
        assert!(
            source.contains(":events:") && source.contains(":rule/") && source.ends_with("-*"),
            "{name}: {source}"
        );
    }
}
