//! `guards:`: the example with every guard renders the state machines,
//! triggers and budget as designed; bad guard input is one located line
//! with a hint, exit 1, and nothing written.

use std::collections::BTreeSet;

use serde_json::Value;

use super::util::{assert_cfn_lint_clean, lunora, render, root};

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/guards/lunora.yaml")
}

fn stack(name: &str) -> Value {
    let stacks = render(&fixture());
    let s = stacks
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stack {name}"));
    serde_json::from_str(&s.template).unwrap()
}

#[test]
fn guards_are_off_unless_set() {
    // The example has no `guards:`: none of the guard resources render.
    for s in render(&root().join("examples/lunora.yaml")) {
        assert!(!s.template.contains("Guard"), "{}", s.name);
        assert!(!s.template.contains("AWS::StepFunctions"), "{}", s.name);
        assert!(!s.template.contains("AWS::Budgets"), "{}", s.name);
    }
}

/// The states of a machine, by name.
fn states(machine: &Value) -> &serde_json::Map<String, Value> {
    machine["Properties"]["Definition"]["States"]
        .as_object()
        .unwrap()
}

#[test]
fn the_stop_sequence_stops_the_channel_then_its_output_then_the_idle_flow() {
    let base = stack("lunora-player-prod-base");
    let stop = &base["Resources"]["StopSequence"];
    assert_eq!(stop["Type"], "AWS::StepFunctions::StateMachine");
    let s = states(stop);
    let resource = |state: &str| s[state]["Resource"].as_str().unwrap().to_owned();
    // Every task is an AWS SDK service integration: no Lambda.
    for (name, state) in s {
        if state["Type"] == "Task" {
            assert!(
                state["Resource"]
                    .as_str()
                    .unwrap()
                    .starts_with("arn:aws:states:::aws-sdk:"),
                "{name}"
            );
        }
    }
    assert_eq!(
        resource("StopChannel"),
        "arn:aws:states:::aws-sdk:medialive:stopChannel"
    );
    assert_eq!(s["StopChannel"]["Next"], "WaitForIdle");
    assert_eq!(s["ChannelIdle"]["Choices"][0]["StringEquals"], "IDLE");
    assert_eq!(s["ChannelIdle"]["Default"], "WaitForIdle");
    assert_eq!(
        resource("DisableOutput"),
        "arn:aws:states:::aws-sdk:mediaconnect:updateFlowOutput"
    );
    assert_eq!(s["DisableOutput"]["Parameters"]["OutputStatus"], "DISABLED");
    assert_eq!(
        resource("ListChannels"),
        "arn:aws:states:::aws-sdk:medialive:listChannels"
    );
    // Only this deployment's channels count.
    let ours = &s["ChannelsInUse"]["ItemProcessor"]["States"]["Ours"]["Choices"][0]["And"];
    assert_eq!(ours[0]["StringEquals"], "lunora-player");
    assert_eq!(ours[1]["StringEquals"], "prod");
    assert_eq!(s["FlowNeeded"]["Default"], "DescribeFlow");
    assert_eq!(
        resource("StopFlow"),
        "arn:aws:states:::aws-sdk:mediaconnect:stopFlow"
    );
    // The start sequence: flow first, then output, then channel.
    let start = states(&base["Resources"]["StartSequence"]);
    assert_eq!(start["FlowState"]["Choices"][1]["Next"], "StartFlow");
    assert_eq!(
        start["EnableOutput"]["Parameters"]["OutputStatus"],
        "ENABLED"
    );
    assert_eq!(start["EnableOutput"]["Next"], "DescribeChannel");
    assert_eq!(
        start["StartChannel"]["Resource"],
        "arn:aws:states:::aws-sdk:medialive:startChannel"
    );
    // The session limit waits max_session_hours, then starts the stop
    // sequence; its ARN is an output for `lunora start`.
    let session = states(&base["Resources"]["SessionLimit"]);
    assert_eq!(session["SessionLimit"]["Seconds"], 6 * 3600);
    assert_eq!(
        session["StopDestination"]["Resource"],
        "arn:aws:states:::states:startExecution"
    );
    assert!(base["Outputs"]["SessionLimitArn"].is_object());
}

/// CloudFormation refuses a template with a null anywhere ("'null' values
/// are not allowed in templates"), a state machine's `Definition` included,
/// so no state may say `ResultPath: null`.
#[test]
fn no_rendered_template_holds_a_null() {
    fn nulls(v: &Value, at: &str, found: &mut Vec<String>) {
        match v {
            Value::Null => found.push(at.to_owned()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    nulls(item, &format!("{at}/{i}"), found);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    nulls(item, &format!("{at}/{k}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for s in render(&fixture()) {
        let template: Value = serde_json::from_str(&s.template).unwrap();
        nulls(&template, &s.name, &mut found);
    }
    assert!(found.is_empty(), "null values: {found:?}");
    // The calls whose answer is not needed keep one documented field.
    let base = stack("lunora-player-prod-base");
    let stop = states(&base["Resources"]["StopSequence"]);
    assert_eq!(stop["StopChannel"]["ResultSelector"]["state.$"], "$.State");
    assert_eq!(stop["StopFlow"]["ResultSelector"]["status.$"], "$.Status");
}

/// The sequences' history holds MediaLive answers with stream keys: it is
/// encrypted with the guard key, which only Step Functions can use, and no
/// machine logs or traces its execution data.
#[test]
fn the_sequences_history_is_encrypted_with_a_key_only_step_functions_uses() {
    let base = stack("lunora-player-prod-base");
    let r = base["Resources"].as_object().unwrap();
    let key_arn = serde_json::json!({"Fn::GetAtt": ["GuardKey", "Arn"]});
    for name in ["StopSequence", "StartSequence"] {
        let enc = &r[name]["Properties"]["EncryptionConfiguration"];
        assert_eq!(enc["Type"], "CUSTOMER_MANAGED_KMS_KEY", "{name}");
        assert_eq!(enc["KmsKeyId"], key_arn, "{name}");
    }
    for (name, res) in r {
        if res["Type"] == "AWS::StepFunctions::StateMachine" {
            let props = res["Properties"].as_object().unwrap();
            assert!(!props.contains_key("LoggingConfiguration"), "{name} logs");
            assert!(!props.contains_key("TracingConfiguration"), "{name} traces");
        }
    }
    let statements = r["GuardKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    let crypto = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:CreateGrant",
        "kms:*",
    ];
    for st in statements {
        let actions: Vec<&str> = st["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let uses = actions
            .iter()
            .any(|a| crypto.contains(a) || a.starts_with("kms:Create"));
        if uses {
            // Only through Step Functions in this Region.
            assert_eq!(
                st["Condition"]["StringEquals"]["kms:ViaService"],
                serde_json::json!({"Fn::Sub": "states.${AWS::Region}.amazonaws.com"}),
                "{st}"
            );
        }
    }
    // Each role uses the key only for the machines it runs or starts.
    let stop_arn =
        "arn:aws:states:us-east-1:123456789012:stateMachine:lunora-player-prod-guard-stop";
    for role in [
        "GuardSequenceRole",
        "GuardEventsRole",
        "GuardSchedulerRole",
        "GuardSessionRole",
    ] {
        let grant = r[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "GuardKey")
            .unwrap_or_else(|| panic!("{role} has no GuardKey grant"));
        assert_eq!(grant["Resource"], key_arn);
        let ctx =
            &grant["Condition"]["StringEquals"]["kms:EncryptionContext:aws:states:stateMachineArn"];
        assert!(
            ctx == stop_arn
                || ctx
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == stop_arn)),
            "{role}: {ctx}"
        );
    }
}

#[test]
fn triggers_name_their_destination_and_windows_follow_the_time_zone() {
    let twitch = stack("lunora-player-prod-dest-twitch");
    let r = &twitch["Resources"];
    let alarm = &r["GuardInputLostAlarm"]["Properties"];
    assert_eq!(alarm["EvaluationPeriods"], 15);
    assert_eq!(alarm["DatapointsToAlarm"], 15);
    assert_eq!(alarm["MetricName"], "InputLossSeconds");
    let rule = &r["GuardAutoStopRule"]["Properties"];
    assert_eq!(
        rule["EventPattern"]["detail-type"][0],
        "CloudWatch Alarm State Change"
    );
    let template = rule["Targets"][0]["InputTransformer"]["InputTemplate"]["Fn::Sub"][0]
        .as_str()
        .unwrap();
    assert!(
        template.contains("\"destination\": \"twitch\""),
        "{template}"
    );
    assert!(template.contains("\"source\": <alarm>"), "{template}");
    // twitch is only in the one-off window; youtube is in both.
    let schedules = |v: &Value| -> BTreeSet<(String, String)> {
        v["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == "AWS::Scheduler::Schedule")
            .map(|r| {
                assert_eq!(
                    r["Properties"]["ScheduleExpressionTimezone"],
                    "Europe/Berlin"
                );
                (
                    r["Properties"]["Name"].as_str().unwrap().to_owned(),
                    r["Properties"]["ScheduleExpression"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        schedules(&twitch),
        BTreeSet::from([
            (
                "lunora-player-prod-twitch-gala-start".to_owned(),
                "at(2099-03-14T18:30:00)".to_owned()
            ),
            (
                "lunora-player-prod-twitch-gala-stop".to_owned(),
                "at(2099-03-14T23:00:00)".to_owned()
            ),
        ])
    );
    let youtube = schedules(&stack("lunora-player-prod-dest-youtube"));
    assert!(youtube.contains(&(
        "lunora-player-prod-youtube-sunday-service-start".to_owned(),
        "cron(30 9 ? * SUN *)".to_owned()
    )));
    assert_eq!(youtube.len(), 4);
    let base = stack("lunora-player-prod-base");
    let budget = &base["Resources"]["Budget"]["Properties"];
    assert_eq!(budget["Budget"]["BudgetLimit"]["Amount"], 400.0);
    assert_eq!(
        budget["Budget"]["CostFilters"]["TagKeyValue"][0],
        "user:project$lunora-player"
    );
    let kinds: Vec<&str> = budget["NotificationsWithSubscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Notification"]["NotificationType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ACTUAL", "ACTUAL", "FORECASTED"]);
}

/// Edits the guards fixture, then checks `validate` and `render`: one
/// located error line with a hint, exit 1, nothing written.
fn refuses(name: &str, edits: &[(&str, &str)], expect: &[&str], at: &str) {
    let mut text = std::fs::read_to_string(fixture()).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "case `{name}`: `{from}` not in the fixture"
        );
        text = text.replacen(from, to, 1);
    }
    let line = text
        .lines()
        .position(|l| l.contains(at))
        .unwrap_or_else(|| panic!("case `{name}`: `{at}` not in the edited config"))
        + 1;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lunora.yaml");
    std::fs::write(&config, &text).unwrap();
    for args in [vec!["validate"], vec!["render", "--out"]] {
        let out_dir = dir.path().join("stacks");
        let mut cmd = lunora();
        cmd.arg("-c").arg(&config).args(&args);
        if args[0] == "render" {
            cmd.arg(&out_dir);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "case `{name}`:\n{stderr}");
        assert!(output.stdout.is_empty(), "case `{name}`");
        assert!(!out_dir.exists(), "case `{name}`: render wrote files");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "case `{name}`: one error line:\n{stderr}");
        let e = errors[0];
        assert!(e.contains("(hint: "), "case `{name}`: no hint in `{e}`");
        assert!(
            e.contains(&format!("lunora.yaml:{line}:")),
            "case `{name}`: expected line {line} in `{e}`"
        );
        for x in expect {
            assert!(e.contains(x), "case `{name}`: expected `{x}` in `{e}`");
        }
    }
}

#[test]
fn bad_guards_are_one_located_line_and_nothing_is_written() {
    refuses(
        "negative minutes",
        &[("input_lost_minutes: 15", "input_lost_minutes: -5")],
        &[
            "`guards.auto_stop.input_lost_minutes`",
            "-5 minutes is outside 1-1440",
        ],
        "input_lost_minutes",
    );
    refuses(
        "absurd minutes",
        &[("input_lost_minutes: 15", "input_lost_minutes: 5000")],
        &["5000 minutes is outside 1-1440"],
        "input_lost_minutes",
    );
    refuses(
        "minutes that are not a number",
        &[("input_lost_minutes: 15", "input_lost_minutes: soon")],
        &["`guards.auto_stop.input_lost_minutes`", "invalid type"],
        "input_lost_minutes",
    );
    refuses(
        "zero session hours",
        &[("max_session_hours: 6", "max_session_hours: 0")],
        &["`guards.max_session_hours`", "0 hours is outside 1-72"],
        "max_session_hours",
    );
    refuses(
        "minutes written as hours",
        &[("max_session_hours: 6", "max_session_hours: 360")],
        &["360 hours is outside 1-72"],
        "max_session_hours",
    );
    refuses(
        "weekly window that stops before it starts",
        &[("stop: \"12:30\"", "stop: \"08:00\"")],
        &[
            "`guards.schedule.windows[0].stop`",
            "stops (08:00) before it starts (09:30)",
            "split one that crosses midnight",
        ],
        "stop: \"08:00\"",
    );
    refuses(
        "one-off window that stops before it starts",
        &[("stop: 2099-03-14T23:00", "stop: 2099-03-14T17:00")],
        &["`guards.schedule.windows[1].stop`", "before it starts"],
        "stop: 2099-03-14T17:00",
    );
    refuses(
        "one-off window in the past",
        &[
            ("start: 2099-03-14T18:30", "start: 2020-03-14T18:30"),
            ("stop: 2099-03-14T23:00", "stop: 2020-03-14T23:00"),
        ],
        &[
            "`guards.schedule.windows[1].start`",
            "starts in the past",
            "Europe/Berlin",
        ],
        "start: 2020-03-14T18:30",
    );
    refuses(
        "one-off window with times of day",
        &[("start: 2099-03-14T18:30", "start: \"18:30\"")],
        &[
            "`guards.schedule.windows[1].start`",
            "is not a date and time",
            "add `days:`",
        ],
        "start: \"18:30\"",
    );
    refuses(
        "weekly window with a time that is not one",
        &[("start: \"09:30\"", "start: \"25:00\"")],
        &[
            "`guards.schedule.windows[0].start`",
            "`25:00` is not a time of day",
        ],
        "start: \"25:00\"",
    );
    refuses(
        "overlapping windows",
        &[(
            "      - name: gala",
            "      - name: late-service\n        destinations: [youtube]\n        days: [sat, sun]\n        start: \"12:00\"\n        stop: \"13:00\"\n      - name: gala",
        )],
        &["`guards.schedule.windows[1]`", "window `late-service` overlaps window `sunday-service` for destination `youtube`"],
        "- name: late-service",
    );
    refuses(
        "unknown destination",
        &[(
            "destinations: [primary, youtube]\n        days",
            "destinations: [primary, yotube]\n        days",
        )],
        &[
            "`guards.schedule.windows[0].destinations[1]`",
            "unknown destination `yotube`",
            "did you mean `youtube`?",
        ],
        "destinations: [primary, yotube]",
    );
    refuses(
        "unknown time zone",
        &[("time_zone: Europe/Berlin", "time_zone: Europe/Berln")],
        &[
            "`guards.schedule.time_zone`",
            "`Europe/Berln` is not an IANA time zone",
            "did you mean `Europe/Berlin`?",
        ],
        "time_zone:",
    );
    refuses(
        "a time zone in the wrong case",
        &[("time_zone: Europe/Berlin", "time_zone: europe/berlin")],
        &[
            "`europe/berlin` is not an IANA time zone",
            "did you mean `Europe/Berlin`?",
        ],
        "time_zone:",
    );
    refuses(
        "a zone abbreviation",
        &[("time_zone: Europe/Berlin", "time_zone: CEST")],
        &["`CEST` is not an IANA time zone"],
        "time_zone:",
    );
    refuses(
        "zero budget",
        &[("monthly_usd: 400", "monthly_usd: 0")],
        &[
            "`guards.budget.monthly_usd`",
            "0 USD is not a monthly budget",
        ],
        "monthly_usd",
    );
    refuses(
        "negative budget",
        &[("monthly_usd: 400", "monthly_usd: -400")],
        &["-400 USD is not a monthly budget"],
        "monthly_usd",
    );
    refuses(
        "bad budget e-mail",
        &[("finance@example.com", "finance.example.com")],
        &[
            "`guards.budget.emails[1]`",
            "`finance.example.com` is not an e-mail address",
        ],
        "finance.example.com",
    );
    refuses(
        "misspelt guard",
        &[("max_session_hours: 6", "max_session_hour: 6")],
        &[
            "unknown field `max_session_hour`",
            "did you mean `max_session_hours`?",
        ],
        "max_session_hour",
    );
}

/// In `mediaconnect` input mode MediaLive manages the flow outputs: the
/// guards pass no output ARN, grant no UpdateFlowOutput, and still lint
/// clean.
#[test]
fn in_mediaconnect_mode_the_guards_leave_the_outputs_to_medialive() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/mediaconnect");
    let mut text = std::fs::read_to_string(fixture.join("lunora.yaml")).unwrap();
    text.push_str(
        "guards:\n  auto_stop:\n    input_lost_minutes: 10\n  schedule:\n    time_zone: America/New_York\n    windows:\n      - name: weekly\n        destinations: [facebook]\n        days: [mon, fri]\n        start: \"18:00\"\n        stop: \"20:00\"\n",
    );
    // The fixture is the config alone (built-in presets only).
    let config = dir.path().join("lunora.yaml");
    std::fs::write(&config, &text).unwrap();
    let stacks = render(&config);
    let out = dir.path().join("stacks");
    std::fs::create_dir(&out).unwrap();
    let mut files = Vec::new();
    for s in &stacks {
        // The base stack's sequences are the same in both modes (they
        // check whether the input has an output ARN).
        if s.name.contains("-dest-") {
            assert!(!s.template.contains("output_arn"), "{}", s.name);
            assert!(
                !s.template.contains("mediaconnect:UpdateFlowOutput"),
                "{}",
                s.name
            );
        }
        let file = out.join(s.file_name());
        std::fs::write(&file, &s.template).unwrap();
        files.push(file);
    }
    let facebook = stacks
        .iter()
        .find(|s| s.name.ends_with("-dest-facebook"))
        .unwrap();
    assert!(facebook.template.contains("cron(0 18 ? * MON,FRI *)"));
    assert!(facebook.template.contains("America/New_York"));
    assert_cfn_lint_clean(&files);
}
