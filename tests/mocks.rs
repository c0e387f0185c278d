//! The deploy engine against scripted AWS responses (aws-smithy-mocks): no
//! network, no emulator, each AWS answer chosen by the test.
//!
//! The scripted services are small fakes: every call is written to a shared
//! [`Log`] (`"<Operation> <subject>"`), and a stack's (or channel's) status
//! depends on which calls the engine has made so far: `UPDATE_COMPLETE`
//! until `ExecuteChangeSet`, then the statuses of an update one poll at a
//! time. So the tests check what the engine did and in which order, without
//! depending on how many times it reads a status before acting. A call that
//! no rule answers panics inside the SDK (aws-smithy-mocks' `must_match`),
//! so an unexpected AWS call fails the test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_stacks::ListStacksOutput;
use aws_sdk_cloudformation::operation::rollback_stack::RollbackStackOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Replacement,
    ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus, StackSummary,
};
use aws_sdk_medialive::operation::describe_channel::DescribeChannelOutput;
use aws_sdk_medialive::operation::start_channel::StartChannelOutput;
use aws_sdk_medialive::operation::stop_channel::StopChannelOutput;
use aws_sdk_medialive::types::ChannelState;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{
    create_mock_http_client, mock, mock_client, MockResponseInterceptor, Rule, RuleMode,
};
use lunora::aws::{cfn, Aws, AwsSettings, Notes};
use lunora::cli::{ColorChoice, OutputFormat};
use lunora::config::Deployment;
use lunora::ops::deploy::{
    blocked, run_job, run_stage, verdict, DeployOptions, StackJob, StackOutcome, Verdict,
};
use lunora::ops::plan as plan_cmd;
use lunora::ops::rollback::recover_stuck;
use lunora::ops::stacks::LiveStacks;
use lunora::output::Console;
use lunora::plan::{
    plan_stack, ChangeSetChange, DesiredStack, LiveStack, ResourceAction, RiskKind, Severity,
    StackAction, StackPlan,
};
use lunora::progress::{Progress, StackProgress};
use serde_json::json;

type Cfn = aws_sdk_cloudformation::Client;
type MediaLive = aws_sdk_medialive::Client;

const DEST: &str = "lunora-prod-dest-youtube";
const FLOW: &str = "lunora-prod-flow";
const CHANNEL_ID: &str = "4821557";

// ---------------------------------------------------------------- the log

/// Every scripted call, in the order the engine made it.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn record(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Entries that start with one of `ops` (operation names).
    fn only(&self, ops: &[&str]) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| ops.iter().any(|op| e.split(' ').next() == Some(*op)))
            .collect()
    }

    fn count(&self, entry: &str) -> usize {
        self.entries().iter().filter(|e| *e == entry).count()
    }

    /// Records `entry` and answers from `script`, all under one lock.
    fn answer<T: Clone>(&self, entry: String, subject: &str, script: &Script<T>) -> T {
        let mut calls = self.0.lock().unwrap();
        calls.push(entry.clone());
        script.answer(&calls, subject, &entry)
    }
}

/// What a fake resource answers: `initial` until a trigger call (for the
/// same subject) is in the log; after the latest trigger, its answers one
/// per call, the last one repeating. Calls are counted by their log entry
/// (`own`, possibly followed by a space and more detail).
#[derive(Debug, Clone)]
struct Script<T> {
    initial: T,
    phases: Vec<(&'static str, Vec<T>)>,
}

impl<T: Clone> Script<T> {
    fn fixed(initial: T) -> Self {
        Self {
            initial,
            phases: Vec::new(),
        }
    }

    fn after(mut self, trigger: &'static str, answers: Vec<T>) -> Self {
        assert!(!answers.is_empty());
        self.phases.push((trigger, answers));
        self
    }

    fn answer(&self, calls: &[String], subject: &str, own: &str) -> T {
        let latest = self
            .phases
            .iter()
            .filter_map(|(trigger, answers)| {
                let trigger = format!("{trigger} {subject}");
                calls
                    .iter()
                    .rposition(|c| *c == trigger)
                    .map(|at| (at, answers))
            })
            .max_by_key(|(at, _)| *at);
        match latest {
            None => self.initial.clone(),
            Some((at, answers)) => {
                let own_suffixed = format!("{own} ");
                let n = calls[at..]
                    .iter()
                    .filter(|c| *c == own || c.starts_with(&own_suffixed))
                    .count();
                answers[n.saturating_sub(1).min(answers.len() - 1)].clone()
            }
        }
    }
}

// ------------------------------------------------------ CloudFormation fake

fn stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/0b9f7a10-5f1c-11ef-9c3b-0affd0c1e2a3")
}

fn change_set_arn(stack: &str) -> String {
    format!(
        "arn:aws:cloudformation:us-east-1:123456789012:changeSet/lunora-deploy/{stack}-7d3c9e21"
    )
}

/// One stack event (`secs` orders them in time).
fn event(
    stack: &str,
    secs: i64,
    logical_id: &str,
    resource_type: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .stack_id(stack_id(stack))
        .stack_name(stack)
        .event_id(format!("{logical_id}-{status}-{secs}"))
        .logical_resource_id(logical_id)
        .resource_type(resource_type)
        .timestamp(DateTime::from_secs(1_767_225_600 + secs))
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .build()
}

/// The stack's own event.
fn stack_event(stack: &str, secs: i64, status: &str, reason: Option<&str>) -> StackEvent {
    event(
        stack,
        secs,
        stack,
        "AWS::CloudFormation::Stack",
        status,
        reason,
    )
}

/// A scripted stack: its statuses and its events (oldest first; the fake
/// returns them newest first, as CloudFormation does).
#[derive(Debug, Clone)]
struct FakeStack {
    status: Script<&'static str>,
    events: Script<Vec<StackEvent>>,
}

impl FakeStack {
    /// A stack at rest in `status`, with one old event.
    fn at(name: &str, status: &'static str) -> Self {
        Self {
            status: Script::fixed(status),
            events: Script::fixed(vec![stack_event(name, 0, status, None)]),
        }
    }

    /// After `trigger`, DescribeStacks walks through `statuses`, and
    /// DescribeStackEvents adds `polls` one batch per call.
    fn then(
        mut self,
        trigger: &'static str,
        statuses: Vec<&'static str>,
        polls: Vec<Vec<StackEvent>>,
    ) -> Self {
        self.status = self.status.after(trigger, statuses);
        let mut seen = self.events.initial.clone();
        let mut batches = Vec::new();
        for batch in polls {
            seen.extend(batch);
            batches.push(seen.clone());
        }
        if !batches.is_empty() {
            self.events = self.events.after(trigger, batches);
        }
        self
    }
}

/// The rules of a fake CloudFormation holding `stacks`, plus the change
/// set that CreateChangeSet computes.
struct FakeCfn {
    describe_stacks: Rule,
    describe_stack_events: Rule,
    create_change_set: Rule,
    describe_change_set: Rule,
    execute_change_set: Rule,
    delete_change_set: Rule,
    continue_update_rollback: Rule,
    rollback_stack: Rule,
}

impl FakeCfn {
    fn new(log: &Log, stacks: Vec<(&str, FakeStack)>, change_set: DescribeChangeSetOutput) -> Self {
        let stacks: Arc<BTreeMap<String, FakeStack>> =
            Arc::new(stacks.into_iter().map(|(n, s)| (n.to_owned(), s)).collect());
        let describe_stacks = {
            let (log, stacks) = (log.clone(), stacks.clone());
            mock!(Cfn::describe_stacks).then_compute_output(move |req| {
                let name = req.stack_name().unwrap_or_default();
                let fake = stacks
                    .get(name)
                    .expect("DescribeStacks of an unscripted stack");
                let status = log.answer(format!("DescribeStacks {name}"), name, &fake.status);
                DescribeStacksOutput::builder()
                    .stacks(
                        Stack::builder()
                            .stack_name(name)
                            .stack_id(stack_id(name))
                            .creation_time(DateTime::from_secs(1_767_225_600))
                            .stack_status(StackStatus::from(status))
                            .build(),
                    )
                    .build()
            })
        };
        let describe_stack_events = {
            let (log, stacks) = (log.clone(), stacks.clone());
            mock!(Cfn::describe_stack_events).then_compute_output(move |req| {
                let name = req.stack_name().unwrap_or_default();
                let fake = stacks
                    .get(name)
                    .expect("DescribeStackEvents of an unscripted stack");
                let mut events =
                    log.answer(format!("DescribeStackEvents {name}"), name, &fake.events);
                events.reverse();
                DescribeStackEventsOutput::builder()
                    .set_stack_events(Some(events))
                    .build()
            })
        };
        let create_change_set = {
            let log = log.clone();
            mock!(Cfn::create_change_set).then_compute_output(move |req| {
                let stack = req.stack_name().unwrap_or_default();
                log.record(format!("CreateChangeSet {stack}"));
                CreateChangeSetOutput::builder()
                    .id(change_set_arn(stack))
                    .stack_id(stack_id(stack))
                    .build()
            })
        };
        let describe_change_set = {
            let log = log.clone();
            mock!(Cfn::describe_change_set).then_compute_output(move |req| {
                log.record(format!(
                    "DescribeChangeSet {}",
                    req.stack_name().unwrap_or_default()
                ));
                change_set.clone()
            })
        };
        let execute_change_set = {
            let log = log.clone();
            mock!(Cfn::execute_change_set).then_compute_output(move |req| {
                let stack = req.stack_name().unwrap_or_default();
                assert_eq!(req.change_set_name(), Some(change_set_arn(stack).as_str()));
                log.record(format!("ExecuteChangeSet {stack}"));
                ExecuteChangeSetOutput::builder().build()
            })
        };
        let delete_change_set = {
            let log = log.clone();
            mock!(Cfn::delete_change_set).then_compute_output(move |req| {
                let stack = req.stack_name().unwrap_or_default();
                log.record(format!(
                    "DeleteChangeSet {stack} {}",
                    req.change_set_name().unwrap_or_default()
                ));
                DeleteChangeSetOutput::builder().build()
            })
        };
        let continue_update_rollback = {
            let log = log.clone();
            mock!(Cfn::continue_update_rollback).then_compute_output(move |req| {
                log.record(format!(
                    "ContinueUpdateRollback {}",
                    req.stack_name().unwrap_or_default()
                ));
                ContinueUpdateRollbackOutput::builder().build()
            })
        };
        let rollback_stack = {
            let log = log.clone();
            mock!(Cfn::rollback_stack).then_compute_output(move |req| {
                let stack = req.stack_name().unwrap_or_default();
                log.record(format!("RollbackStack {stack}"));
                RollbackStackOutput::builder()
                    .stack_id(stack_id(stack))
                    .build()
            })
        };
        Self {
            describe_stacks,
            describe_stack_events,
            create_change_set,
            describe_change_set,
            execute_change_set,
            delete_change_set,
            continue_update_rollback,
            rollback_stack,
        }
    }

    fn client(&self) -> Cfn {
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [
                &self.describe_stacks,
                &self.describe_stack_events,
                &self.create_change_set,
                &self.describe_change_set,
                &self.execute_change_set,
                &self.delete_change_set,
                &self.continue_update_rollback,
                &self.rollback_stack,
            ]
        )
    }
}

/// A computed change set with these resource changes.
fn change_set(
    stack: &str,
    changes: &[(&str, &str, ChangeAction, Option<Replacement>)],
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(change_set_arn(stack))
        .change_set_name("lunora-deploy")
        .stack_name(stack)
        .stack_id(stack_id(stack))
        .status(ChangeSetStatus::CreateComplete)
        .execution_status(ExecutionStatus::Available)
        .set_changes(Some(
            changes
                .iter()
                .map(|(id, ty, action, replacement)| {
                    Change::builder()
                        .r#type(ChangeType::Resource)
                        .resource_change(
                            ResourceChange::builder()
                                .action(action.clone())
                                .logical_resource_id(*id)
                                .physical_resource_id(format!("{id}-physical"))
                                .resource_type(*ty)
                                .set_replacement(replacement.clone())
                                .build(),
                        )
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// A change set whose template changed nothing: CloudFormation reports it
/// FAILED with this reason.
fn empty_change_set(stack: &str) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(change_set_arn(stack))
        .change_set_name("lunora-deploy")
        .stack_name(stack)
        .stack_id(stack_id(stack))
        .status(ChangeSetStatus::Failed)
        .execution_status(ExecutionStatus::Unavailable)
        .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
        .build()
}

// ----------------------------------------------------------- MediaLive fake

/// The rules of a fake MediaLive with one channel, RUNNING until stopped.
struct FakeMediaLive {
    stop_channel: Rule,
    start_channel: Rule,
    describe_channel: Rule,
}

impl FakeMediaLive {
    fn new(log: &Log) -> Self {
        let state = Script::fixed("RUNNING")
            .after("StopChannel", vec!["STOPPING", "STOPPING", "IDLE"])
            .after("StartChannel", vec!["STARTING", "RUNNING"]);
        let stop_channel = {
            let log = log.clone();
            mock!(MediaLive::stop_channel).then_compute_output(move |req| {
                log.record(format!(
                    "StopChannel {}",
                    req.channel_id().unwrap_or_default()
                ));
                StopChannelOutput::builder()
                    .id(req.channel_id().unwrap_or_default())
                    .state(ChannelState::Stopping)
                    .build()
            })
        };
        let start_channel = {
            let log = log.clone();
            mock!(MediaLive::start_channel).then_compute_output(move |req| {
                log.record(format!(
                    "StartChannel {}",
                    req.channel_id().unwrap_or_default()
                ));
                StartChannelOutput::builder()
                    .id(req.channel_id().unwrap_or_default())
                    .state(ChannelState::Starting)
                    .build()
            })
        };
        let describe_channel = {
            let log = log.clone();
            mock!(MediaLive::describe_channel).then_compute_output(move |req| {
                let id = req.channel_id().unwrap_or_default();
                // The state goes into the log entry, so that the order
                // check sees what the engine waited for.
                let mut calls = log.0.lock().unwrap();
                calls.push(format!("DescribeChannel {id}"));
                let now = state.answer(&calls, id, &format!("DescribeChannel {id}"));
                if let Some(last) = calls.last_mut() {
                    *last = format!("DescribeChannel {id} {now}");
                }
                DescribeChannelOutput::builder()
                    .id(id)
                    .state(ChannelState::from(now))
                    .build()
            })
        };
        Self {
            stop_channel,
            start_channel,
            describe_channel,
        }
    }

    fn client(&self) -> MediaLive {
        mock_client!(
            aws_sdk_medialive,
            RuleMode::MatchAny,
            [
                &self.stop_channel,
                &self.start_channel,
                &self.describe_channel
            ]
        )
    }
}

// ---------------------------------------------------------------- helpers

fn sdk() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build()
}

/// An `Aws` whose CloudFormation and MediaLive are the given mock clients;
/// STS and S3 have no rules, so any call to them fails the test.
fn aws_with(cloudformation: Cfn, medialive: Option<MediaLive>) -> Aws {
    let none: [&Rule; 0] = [];
    let medialive =
        medialive.unwrap_or_else(|| mock_client!(aws_sdk_medialive, RuleMode::MatchAny, none));
    Aws::from_clients(
        sdk(),
        cloudformation,
        mock_client!(aws_sdk_sts, RuleMode::MatchAny, none),
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, none),
        medialive,
    )
}

fn quiet_progress() -> Progress {
    Progress::new(&Console::new(
        OutputFormat::Text,
        ColorChoice::Never,
        true,
        0,
    ))
}

fn stack_progress(name: &str) -> StackProgress {
    quiet_progress().stack(name)
}

/// A destination stack's template: its input and its channel at `bitrate`.
fn dest_template(bitrate: u32) -> String {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Input": {"Type": "AWS::MediaLive::Input", "Properties": {
                "Name": "lunora-prod-youtube", "Type": "RTP_PUSH"}},
            "Channel": {"Type": "AWS::MediaLive::Channel", "Properties": {
                "Name": "lunora-prod-youtube",
                "ChannelClass": "SINGLE_PIPELINE",
                "InputAttachments": [{"InputId": {"Ref": "Input"}}],
                "EncoderSettings": {"VideoDescriptions": [{"Name": "video",
                    "CodecSettings": {"H264Settings": {"Bitrate": bitrate}}}]}}},
            "ChannelAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "AlarmName": "lunora-prod-youtube-input-loss", "Threshold": 1}}
        }
    })
    .to_string()
}

/// The flow stack's template.
fn flow_template(availability_zone: &str, max_latency: u32) -> String {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Flow": {"Type": "AWS::MediaConnect::Flow", "Properties": {
                "Name": "lunora-prod-ingest",
                "AvailabilityZone": availability_zone,
                "Source": {"Name": "primary", "Protocol": "srt-listener", "IngestPort": 9998,
                    "WhitelistCidr": "203.0.113.10/32", "MaxLatency": max_latency}}}
        }
    })
    .to_string()
}

fn desired(name: &str, stage: &str, template: String) -> DesiredStack {
    DesiredStack {
        name: name.to_owned(),
        stage: stage.to_owned(),
        template,
        parameters: BTreeMap::new(),
    }
}

/// A stack as the plan's DescribeStacks listing read it.
fn listed(name: &str, status: &str) -> cfn::StackInfo {
    cfn::StackInfo {
        name: name.to_owned(),
        stack_id: stack_id(name),
        status: status.to_owned(),
        status_reason: None,
        last_updated: Some("2026-01-01T00:00:00Z".to_owned()),
        parameters: BTreeMap::new(),
        outputs: BTreeMap::new(),
    }
}

fn update_job(name: &str, template: String) -> StackJob {
    StackJob {
        desired: desired(name, "platforms", template),
        action: StackAction::Update,
        restart_channel: None,
        is_flow: false,
        allow_replace: Vec::new(),
        live: Some(listed(name, "UPDATE_COMPLETE")),
        flow_arn: None,
        restore_primary_source: None,
        change_set: None,
    }
}

fn live(name: &str, template: String) -> LiveStack {
    LiveStack {
        name: name.to_owned(),
        status: Some("UPDATE_COMPLETE".to_owned()),
        template,
        stack_id: Some(stack_id(name)),
        last_updated: Some("2026-01-01T00:00:00Z".to_owned()),
        ..LiveStack::default()
    }
}

fn critical(plan: &StackPlan) -> Vec<(RiskKind, Option<&str>)> {
    plan.risks
        .iter()
        .filter(|r| r.severity == Severity::Critical)
        .map(|r| (r.kind, r.logical_id.as_deref()))
        .collect()
}

// ------------------------------------------------------------------ tests

/// 1. An update that fails and that CloudFormation rolls back cleanly is
///    `rolled-back` (exit 4), and the cause reported is the first resource
///    that failed for its own reason.
#[tokio::test]
async fn a_failed_update_rolled_back_cleanly_exits_4_and_names_the_first_causal_failure() {
    let log = Log::default();
    let channel_reason = "Resource handler returned message: \"Invalid request: \
        [channel.encoderSettings.videoDescriptions[0].codecSettings.h264Settings.bitrate] \
        must be <= 8000000\" (HandlerErrorCode: InvalidRequest)";
    let ml = "AWS::MediaLive::Channel";
    // DescribeStacks, once the events say the stack settled, says so too.
    let stack = FakeStack::at(DEST, "UPDATE_COMPLETE").then(
        "ExecuteChangeSet",
        vec!["UPDATE_ROLLBACK_COMPLETE"],
        vec![
            // First poll: the update starts.
            vec![
                stack_event(DEST, 10, "UPDATE_IN_PROGRESS", Some("User Initiated")),
                event(DEST, 11, "Channel", ml, "UPDATE_IN_PROGRESS", None),
                event(DEST, 11, "ChannelAlarm", "AWS::CloudWatch::Alarm", "UPDATE_IN_PROGRESS", None),
            ],
            // Second poll: the channel fails (the cause), the alarm's
            // update is cancelled, the input fails later for a reason of
            // its own, and the stack says why it rolls back.
            vec![
                event(DEST, 20, "Channel", ml, "UPDATE_FAILED", Some(channel_reason)),
                event(DEST, 21, "ChannelAlarm", "AWS::CloudWatch::Alarm", "UPDATE_FAILED",
                    Some("Resource update cancelled")),
                event(DEST, 22, "Input", "AWS::MediaLive::Input", "UPDATE_FAILED",
                    Some("Resource handler returned message: \"Rate exceeded\" (HandlerErrorCode: Throttling)")),
                stack_event(DEST, 23, "UPDATE_ROLLBACK_IN_PROGRESS",
                    Some("The following resource(s) failed to update: [Channel, ChannelAlarm, Input].")),
            ],
            // Third poll: the rollback completes.
            vec![
                event(DEST, 30, "Channel", ml, "UPDATE_COMPLETE", None),
                event(DEST, 31, "ChannelAlarm", "AWS::CloudWatch::Alarm", "UPDATE_COMPLETE", None),
                stack_event(DEST, 32, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None),
                stack_event(DEST, 33, "UPDATE_ROLLBACK_COMPLETE", None),
            ],
        ],
    );
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, stack)],
        change_set(
            DEST,
            &[(
                "Channel",
                ml,
                ChangeAction::Modify,
                Some(Replacement::False),
            )],
        ),
    );
    let aws = aws_with(fake.client(), None);

    let outcome = run_job(
        aws,
        update_job(DEST, dest_template(9_000_000)),
        stack_progress(DEST),
    )
    .await;

    assert_eq!(outcome.result, "rolled-back", "{outcome:?}");
    let (exit, word) = verdict(std::slice::from_ref(&outcome));
    assert_eq!(exit, Verdict::RolledBack);
    assert_eq!(lunora::commands::exit_status(exit) as i32, 4);
    assert!(word.contains("rolled back"), "{word}");
    let cause = outcome
        .cause
        .as_ref()
        .expect("a rolled-back update names its cause");
    assert_eq!(
        (cause.logical_id.as_str(), cause.status.as_str(), cause.reason.as_deref()),
        ("Channel", "UPDATE_FAILED", Some(channel_reason)),
        "the cause must be the first causal failure, not a cancellation, a later failure or the stack's own event"
    );
    assert!(
        outcome
            .message
            .as_deref()
            .is_some_and(|m| m.contains("UPDATE_ROLLBACK_COMPLETE")),
        "{outcome:?}"
    );
    assert_eq!(fake.create_change_set.num_calls(), 1);
    assert_eq!(fake.execute_change_set.num_calls(), 1);
    // It waited for the end of the rollback through the events (three
    // polls, the third with the stack's own UPDATE_ROLLBACK_COMPLETE), and
    // read the stack once, after that: the plan's listing gave its status
    // before, so nothing was read again before the change.
    let entries = log.entries();
    let execute = entries
        .iter()
        .position(|e| e.starts_with("ExecuteChangeSet"))
        .unwrap();
    let after: Vec<&str> = entries[execute + 1..]
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("DescribeStack"))
        .collect();
    assert_eq!(
        after,
        [
            format!("DescribeStackEvents {DEST}"),
            format!("DescribeStackEvents {DEST}"),
            format!("DescribeStackEvents {DEST}"),
            format!("DescribeStacks {DEST}"),
        ],
        "{entries:?}"
    );
    assert_eq!(
        log.count(&format!("DescribeStacks {DEST}")),
        1,
        "{entries:?}"
    );
    assert_eq!(
        log.only(&["CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet"]),
        [
            format!("CreateChangeSet {DEST}"),
            format!("DescribeChangeSet {DEST}"),
            format!("ExecuteChangeSet {DEST}"),
        ]
    );
}

/// 2a. A stack stuck in `UPDATE_ROLLBACK_FAILED` is recovered with
///     ContinueUpdateRollback (not RollbackStack), waited for until
///     `UPDATE_ROLLBACK_COMPLETE`; a healthy stack is left alone.
#[tokio::test]
async fn recover_stuck_continues_a_failed_rollback() {
    let log = Log::default();
    let stuck = FakeStack::at(DEST, "UPDATE_ROLLBACK_FAILED").then(
        "ContinueUpdateRollback",
        vec![
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
        ],
        vec![vec![
            stack_event(
                DEST,
                10,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("Continue rollback requested by user"),
            ),
            stack_event(DEST, 20, "UPDATE_ROLLBACK_COMPLETE", None),
        ]],
    );
    let fake = FakeCfn::new(
        &log,
        vec![
            (DEST, stuck),
            (FLOW, FakeStack::at(FLOW, "UPDATE_COMPLETE")),
        ],
        empty_change_set(DEST),
    );
    let aws = aws_with(fake.client(), None);
    let stacks = [
        listed(DEST, "UPDATE_ROLLBACK_FAILED"),
        listed(FLOW, "UPDATE_COMPLETE"),
    ];

    let (notes, recovered) = recover_stuck(&aws, &stacks, &quiet_progress())
        .await
        .unwrap();

    assert_eq!(fake.continue_update_rollback.num_calls(), 1);
    assert_eq!(fake.rollback_stack.num_calls(), 0);
    assert_eq!(fake.create_change_set.num_calls(), 0);
    assert_eq!(
        log.only(&["ContinueUpdateRollback", "RollbackStack"]),
        [format!("ContinueUpdateRollback {DEST}")]
    );
    // The healthy stack, as listed, costs no request at all.
    assert!(
        log.entries().iter().all(|e| !e.contains(FLOW)),
        "{:?}",
        log.entries()
    );
    // The recovered stack comes back as read once it settled.
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(
        (recovered[0].name.as_str(), recovered[0].status.as_str()),
        (DEST, "UPDATE_ROLLBACK_COMPLETE")
    );
    // The events said it settled at once; DescribeStacks lagged behind
    // (UPDATE_ROLLBACK_IN_PROGRESS twice) and was asked until it agreed.
    let after = log
        .entries()
        .into_iter()
        .skip_while(|e| !e.starts_with("ContinueUpdateRollback"))
        .filter(|e| *e == format!("DescribeStacks {DEST}"))
        .count();
    assert!(after >= 3, "{:?}", log.entries());
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(DEST)
            && notes[0].contains("UPDATE_ROLLBACK_FAILED")
            && notes[0].contains("UPDATE_ROLLBACK_COMPLETE"),
        "{notes:?}"
    );
}

/// 2b. A stack left in `UPDATE_FAILED` is recovered with RollbackStack.
#[tokio::test]
async fn recover_stuck_rolls_back_a_failed_update() {
    let log = Log::default();
    let stuck = FakeStack::at(DEST, "UPDATE_FAILED").then(
        "RollbackStack",
        vec!["UPDATE_ROLLBACK_COMPLETE"],
        vec![
            vec![stack_event(
                DEST,
                10,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("Rollback requested by user"),
            )],
            vec![stack_event(DEST, 20, "UPDATE_ROLLBACK_COMPLETE", None)],
        ],
    );
    let fake = FakeCfn::new(&log, vec![(DEST, stuck)], empty_change_set(DEST));
    let aws = aws_with(fake.client(), None);

    let (notes, _) = recover_stuck(&aws, &[listed(DEST, "UPDATE_FAILED")], &quiet_progress())
        .await
        .unwrap();

    assert_eq!(fake.rollback_stack.num_calls(), 1);
    assert_eq!(fake.continue_update_rollback.num_calls(), 0);
    assert_eq!(
        log.only(&["RollbackStack"]),
        [format!("RollbackStack {DEST}")]
    );
    assert!(
        notes.len() == 1
            && notes[0].contains("UPDATE_FAILED")
            && notes[0].contains("UPDATE_ROLLBACK_COMPLETE"),
        "{notes:?}"
    );
}

/// 2c. A recovery that fails again is an error, not a note.
#[tokio::test]
async fn recover_stuck_reports_a_rollback_that_fails_again() {
    let log = Log::default();
    let stuck = FakeStack::at(DEST, "UPDATE_ROLLBACK_FAILED").then(
        "ContinueUpdateRollback",
        vec!["UPDATE_ROLLBACK_FAILED"],
        vec![
            vec![stack_event(DEST, 10, "UPDATE_ROLLBACK_IN_PROGRESS", None)],
            vec![stack_event(
                DEST,
                20,
                "UPDATE_ROLLBACK_FAILED",
                Some("Resource handler returned message: \"Access denied\""),
            )],
        ],
    );
    let fake = FakeCfn::new(&log, vec![(DEST, stuck)], empty_change_set(DEST));
    let aws = aws_with(fake.client(), None);

    let err = recover_stuck(
        &aws,
        &[listed(DEST, "UPDATE_ROLLBACK_FAILED")],
        &quiet_progress(),
    )
    .await
    .expect_err("a rollback that fails again is not a recovery");

    assert_eq!(fake.continue_update_rollback.num_calls(), 1);
    let message = format!("{err:#}");
    assert!(
        message.contains(DEST) && message.contains("UPDATE_ROLLBACK_FAILED"),
        "{message}"
    );
}

/// 3. `run_job` refuses a stuck stack before touching anything: no change
///    set, no channel stop; the message points to `lunora rollback`.
#[tokio::test]
async fn run_job_refuses_a_stuck_stack_and_makes_no_change_set() {
    for status in ["UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED"] {
        let log = Log::default();
        let fake = FakeCfn::new(
            &log,
            vec![(DEST, FakeStack::at(DEST, status))],
            change_set(
                DEST,
                &[(
                    "Channel",
                    "AWS::MediaLive::Channel",
                    ChangeAction::Modify,
                    None,
                )],
            ),
        );
        let medialive = FakeMediaLive::new(&log);
        let aws = aws_with(fake.client(), Some(medialive.client()));
        let mut job = update_job(DEST, dest_template(6_000_000));
        job.restart_channel = Some(CHANNEL_ID.to_owned());
        job.live = Some(listed(DEST, status));

        let outcome = run_job(aws, job, stack_progress(DEST)).await;

        assert_eq!(outcome.result, "failed", "{status}: {outcome:?}");
        let message = outcome.message.clone().unwrap_or_default();
        assert!(
            message.contains(status) && message.contains("lunora rollback"),
            "{status}: {message}"
        );
        assert_eq!(fake.create_change_set.num_calls(), 0, "{status}");
        assert_eq!(fake.execute_change_set.num_calls(), 0, "{status}");
        assert_eq!(medialive.stop_channel.num_calls(), 0, "{status}");
        // A stuck stack is not "rolled back cleanly" (exit 4) nor a success.
        let (exit, _) = verdict(&[outcome]);
        assert_eq!(exit, Verdict::Failed, "{status}");
    }
}

// ----------------------------------------------------------- 4. retries

/// CloudFormation's answer when it throttles (awsQuery protocol, HTTP 400).
const THROTTLED: &str = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>8d2f4c1e-0f5b-4a7e-9d8b-3c1f2e6a7b90</RequestId>
</ErrorResponse>"#;

/// DescribeStacks throttled `times` times, then answered.
fn throttled_describe(times: usize) -> Rule {
    mock!(Cfn::describe_stacks)
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .times(times)
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name(FLOW)
                        .stack_id(stack_id(FLOW))
                        .creation_time(DateTime::from_secs(1_767_225_600))
                        .stack_status(StackStatus::UpdateComplete)
                        .build(),
                )
                .build()
        })
        .build()
}

/// The SDK configuration `lunora` itself builds (`Aws::connect`), with its
/// retry settings; the endpoint is never reached (the mock answers).
async fn lunora_sdk() -> SdkConfig {
    let settings = AwsSettings {
        endpoint_url: Some("http://127.0.0.1:9".to_owned()),
        ..AwsSettings::default()
    };
    Aws::connect(&settings, "us-east-1").await.unwrap().sdk
}

/// A mock CloudFormation client built from `sdk` (so with its retry
/// configuration), optionally overriding the retry configuration.
fn cfn_from(sdk: &SdkConfig, rule: &Rule, retry: Option<RetryConfig>) -> Cfn {
    let mut config = aws_sdk_cloudformation::config::Builder::from(sdk)
        .with_test_defaults_v2()
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(rule),
        );
    if let Some(retry) = retry {
        config = config.retry_config(retry);
    }
    Cfn::from_conf(config.build())
}

/// 4a. Throttled twice, DescribeStacks succeeds on the third attempt
///     with lunora's retry configuration; without retries it fails.
#[tokio::test]
async fn throttling_is_retried_and_the_third_attempt_succeeds() {
    let sdk = lunora_sdk().await;

    let rule = throttled_describe(2);
    let aws = aws_with(cfn_from(&sdk, &rule, None), None);
    let info = cfn::describe(&aws, FLOW)
        .await
        .expect("two throttles are retried")
        .expect("the stack exists");
    assert_eq!(info.status, "UPDATE_COMPLETE");
    assert_eq!(
        rule.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );

    // The same script with retries off: the first throttle is the error.
    let rule = throttled_describe(2);
    let one_attempt = RetryConfig::standard().with_max_attempts(1);
    let aws = aws_with(cfn_from(&sdk, &rule, Some(one_attempt)), None);
    let err = cfn::describe(&aws, FLOW)
        .await
        .expect_err("without retries a throttle is an error");
    let message = format!("{err:#}");
    assert!(
        message.contains("Throttling") && message.contains("Rate exceeded"),
        "{message}"
    );
    assert_eq!(rule.num_calls(), 1);
}

/// 4b. It is lunora's configuration, not the SDK default, that carries a
///     burst of throttling: four throttles then success passes with
///     lunora's settings and fails with the SDK's standard three attempts.
#[tokio::test]
async fn lunoras_retry_config_outlasts_the_sdk_default() {
    let sdk = lunora_sdk().await;

    let rule = throttled_describe(4);
    let aws = aws_with(cfn_from(&sdk, &rule, None), None);
    let info = cfn::describe(&aws, FLOW)
        .await
        .expect("lunora retries past four throttles")
        .expect("the stack exists");
    assert_eq!(info.status, "UPDATE_COMPLETE");
    assert_eq!(rule.num_calls(), 5);

    let rule = throttled_describe(4);
    let sdk_default = RetryConfig::standard().with_initial_backoff(Duration::from_millis(5));
    let aws = aws_with(cfn_from(&sdk, &rule, Some(sdk_default)), None);
    let err = cfn::describe(&aws, FLOW)
        .await
        .expect_err("the SDK default gives up after three attempts");
    assert!(format!("{err:#}").contains("Throttling"), "{err:#}");
    assert_eq!(rule.num_calls(), 3);
}

// ------------------------------------------- the one stack listing

fn stack_named(name: &str, status: StackStatus) -> Stack {
    Stack::builder()
        .stack_name(name)
        .stack_id(stack_id(name))
        .creation_time(DateTime::from_secs(1_767_225_600))
        .stack_status(status)
        .build()
}

/// The listing (DescribeStacks without a stack name) follows NextToken to
/// the last page, drops deleted stacks, and asks for no stack by name.
#[tokio::test]
async fn the_stack_listing_reads_every_page() {
    let rule = mock!(Cfn::describe_stacks)
        .sequence()
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack_named(FLOW, StackStatus::UpdateComplete))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack_named(DEST, StackStatus::CreateComplete))
                .stacks(stack_named(
                    "lunora-prod-dest-gone",
                    StackStatus::DeleteComplete,
                ))
                .build()
        })
        .build();
    let aws = aws_with(
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&rule]),
        None,
    );

    let stacks = cfn::describe_all(&aws).await.unwrap().unwrap();

    let got: Vec<(&str, &str)> = stacks
        .iter()
        .map(|s| (s.name.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(got, [(DEST, "CREATE_COMPLETE"), (FLOW, "UPDATE_COMPLETE")]);
    assert_eq!(rule.num_calls(), 2, "one request per page");
}

fn access_denied(action: &str, resource: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/ci is not authorized to perform: {action} on resource: {resource} with an explicit deny in an identity-based policy</Message></Error>
  <RequestId>8d2f4c1e-0f5b-4a7e-9d8b-3c1f2e6a7b91</RequestId>
</ErrorResponse>"#
    )
}

/// A policy that allows DescribeStacks only on named stacks (AWS's own
/// example: Deny DescribeStacks with `NotResource:
/// arn:aws:cloudformation:*:*:stack/*/*`) refuses the listing: it is
/// reported as refused, not as an error, for the caller to read the
/// stacks by name.
#[tokio::test]
async fn a_refused_stack_listing_is_told_apart_from_a_failed_one() {
    let rule = mock!(Cfn::describe_stacks)
        .sequence()
        .http_status(
            403,
            Some(access_denied(
                "cloudformation:DescribeStacks",
                "arn:aws:cloudformation:us-east-1:123456789012:stack/*/*",
            )),
        )
        .build();
    let aws = aws_with(
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&rule]),
        None,
    );
    assert!(cfn::describe_all(&aws).await.unwrap().is_none());

    let broken = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>ValidationError</Code><Message>Invalid NextToken</Message></Error>
  <RequestId>8d2f4c1e-0f5b-4a7e-9d8b-3c1f2e6a7b93</RequestId>
</ErrorResponse>"#;
    let rule = mock!(Cfn::describe_stacks)
        .sequence()
        .http_status(400, Some(broken.to_owned()))
        .build();
    let aws = aws_with(
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&rule]),
        None,
    );
    let message = format!("{:#}", cfn::describe_all(&aws).await.unwrap_err());
    assert!(
        message.starts_with(
            "cannot list the stacks: cloudformation:DescribeStacks failed: ValidationError"
        ),
        "{message}"
    );
}

/// The example's account as a fake CloudFormation: every stack of the
/// config deployed with the template lunora renders (a no-change plan),
/// the stack of a removed destination, a deleted stack and another
/// deployment's stack. `listing` says whether DescribeStacks without a
/// stack name is allowed, `list_stacks` whether ListStacks is.
struct Account {
    log: Log,
    listing: Rule,
    named: Rule,
    list_stacks: Rule,
    get_template: Rule,
    caller: Rule,
}

const REMOVED: &str = "lunora-player-prod-dest-gone";

impl Account {
    fn new(desired: &[DesiredStack], listing: bool, list_stacks: bool) -> Self {
        let log = Log::default();
        let mut templates: BTreeMap<String, String> = desired
            .iter()
            .map(|d| (d.name.clone(), d.template.clone()))
            .collect();
        templates.insert(REMOVED.to_owned(), dest_template(6_000_000));
        let templates = Arc::new(templates);
        let live: Vec<Stack> = templates
            .keys()
            .map(|n| stack_named(n, StackStatus::UpdateComplete))
            .chain([
                stack_named("lunora-player-prod-dest-old", StackStatus::DeleteComplete),
                stack_named("other-prod-flow", StackStatus::CreateComplete),
            ])
            .collect();
        let listing = if listing {
            let (log, live) = (log.clone(), live.clone());
            mock!(Cfn::describe_stacks)
                .match_requests(|r| r.stack_name().is_none())
                .then_compute_output(move |_| {
                    log.record("DescribeStacks *".to_owned());
                    DescribeStacksOutput::builder()
                        .set_stacks(Some(live.clone()))
                        .build()
                })
        } else {
            mock!(Cfn::describe_stacks)
                .match_requests(|r| r.stack_name().is_none())
                .sequence()
                .http_status(
                    403,
                    Some(access_denied(
                        "cloudformation:DescribeStacks",
                        "arn:aws:cloudformation:us-east-1:123456789012:stack/*/*",
                    )),
                )
                .repeatedly()
                .build()
        };
        let named = {
            let (log, templates) = (log.clone(), templates.clone());
            mock!(Cfn::describe_stacks)
                .match_requests(|r| r.stack_name().is_some())
                .then_compute_output(move |req| {
                    let name = req.stack_name().unwrap_or_default();
                    log.record(format!("DescribeStacks {name}"));
                    assert!(
                        templates.contains_key(name),
                        "DescribeStacks of `{name}`, not a live stack of the deployment"
                    );
                    DescribeStacksOutput::builder()
                        .stacks(stack_named(name, StackStatus::UpdateComplete))
                        .build()
                })
        };
        let list_stacks = if list_stacks {
            let (log, live) = (log.clone(), live.clone());
            mock!(Cfn::list_stacks).then_compute_output(move |_| {
                log.record("ListStacks".to_owned());
                let summaries = live.iter().map(|s| {
                    StackSummary::builder()
                        .stack_name(s.stack_name().unwrap())
                        .stack_id(s.stack_id().unwrap())
                        .creation_time(DateTime::from_secs(1_767_225_600))
                        .stack_status(s.stack_status().unwrap().clone())
                        .build()
                });
                ListStacksOutput::builder()
                    .set_stack_summaries(Some(summaries.collect()))
                    .build()
            })
        } else {
            mock!(Cfn::list_stacks)
                .sequence()
                .http_status(
                    403,
                    Some(access_denied(
                        "cloudformation:ListStacks",
                        "arn:aws:cloudformation:us-east-1:123456789012:stack/*/*",
                    )),
                )
                .repeatedly()
                .build()
        };
        let get_template = {
            let (log, templates) = (log.clone(), templates.clone());
            mock!(Cfn::get_template).then_compute_output(move |req| {
                let name = req.stack_name().unwrap_or_default();
                log.record(format!("GetTemplate {name}"));
                GetTemplateOutput::builder()
                    .template_body(templates.get(name).expect("GetTemplate of a live stack"))
                    .build()
            })
        };
        let caller = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("123456789012")
                .arn("arn:aws:iam::123456789012:user/ci")
                .build()
        });
        Self {
            log,
            listing,
            named,
            list_stacks,
            get_template,
            caller,
        }
    }

    fn aws(&self) -> Aws {
        let none: [&Rule; 0] = [];
        Aws::from_clients(
            sdk(),
            mock_client!(
                aws_sdk_cloudformation,
                RuleMode::MatchAny,
                [
                    &self.listing,
                    &self.named,
                    &self.list_stacks,
                    &self.get_template
                ]
            ),
            mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&self.caller]),
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, none),
            mock_client!(aws_sdk_medialive, RuleMode::MatchAny, none),
        )
    }
}

fn example() -> Deployment {
    lunora::config::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lunora.yaml"),
    )
    .unwrap()
}

fn recorded_notes(aws: &mut Aws) -> Arc<Mutex<Vec<String>>> {
    let notes = Arc::new(Mutex::new(Vec::new()));
    let sink = notes.clone();
    aws.notes = Notes::new(move |text| sink.lock().unwrap().push(text.to_owned()));
    notes
}

/// With the listing refused (AWS's suggested Deny on DescribeStacks
/// without a stack name), plan reads each stack of the config by name
/// and finds the removed destination's stack with ListStacks: the same
/// plan as with the listing, one note saying why, and a later read in
/// the same command does not ask for the listing again.
#[tokio::test]
async fn a_refused_stack_listing_is_read_stack_by_stack_and_plans_the_same() {
    let deployment = example();
    let desired = plan_cmd::desired_stacks(&deployment).unwrap();

    let open = Account::new(&desired, true, true);
    let mut aws = open.aws();
    let open_notes = recorded_notes(&mut aws);
    let with_listing = plan_cmd::build(&deployment, &aws, true).await.unwrap().plan;
    assert_eq!(
        open.log.only(&["DescribeStacks", "ListStacks"]),
        ["DescribeStacks *"]
    );
    assert!(open_notes.lock().unwrap().is_empty());

    let locked = Account::new(&desired, false, true);
    let mut aws = locked.aws();
    let notes = recorded_notes(&mut aws);
    let by_name = plan_cmd::build(&deployment, &aws, true).await.unwrap().plan;

    assert_eq!(
        serde_json::to_value(&by_name).unwrap(),
        serde_json::to_value(&with_listing).unwrap()
    );
    let deleted: Vec<&str> = by_name
        .stacks
        .iter()
        .filter(|s| s.action == StackAction::Delete)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(deleted, [REMOVED], "the removed destination is still found");
    assert_eq!(
        by_name
            .stacks
            .iter()
            .filter(|s| s.action == StackAction::NoChange)
            .count(),
        desired.len(),
        "every stack of the config is found, unchanged"
    );
    assert_eq!(locked.listing.num_calls(), 1);
    assert_eq!(locked.log.count("ListStacks"), 1);
    let mut described: Vec<String> = locked.log.only(&["DescribeStacks"]);
    described.sort();
    let mut expected: Vec<String> = desired
        .iter()
        .map(|d| d.name.as_str())
        .chain([REMOVED])
        .map(|n| format!("DescribeStacks {n}"))
        .collect();
    expected.sort();
    assert_eq!(
        described, expected,
        "each live stack of the deployment once"
    );
    assert_eq!(
        locked.log.only(&["GetTemplate"]).len(),
        open.log.only(&["GetTemplate"]).len()
    );
    let said = notes.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("listing the stacks was refused")
            && said[0].contains("reading each stack by name"),
        "{said:?}"
    );

    // The same command reads again: straight by name, no second note.
    let again = LiveStacks::read(&aws, &deployment).await.unwrap();
    assert!(again.get(REMOVED).is_some());
    assert_eq!(locked.listing.num_calls(), 1, "the refusal is remembered");
    assert_eq!(notes.lock().unwrap().len(), 1);
}

/// With ListStacks refused as well, the stacks of removed destinations
/// cannot be found: the command fails on one line naming the permission,
/// rather than plan a deploy that would leave them (and their channels)
/// behind.
#[tokio::test]
async fn a_refused_listing_and_list_stacks_fail_naming_the_permission() {
    let deployment = example();
    let desired = plan_cmd::desired_stacks(&deployment).unwrap();
    let locked = Account::new(&desired, false, false);
    let aws = locked.aws();

    let err = plan_cmd::build(&deployment, &aws, true)
        .await
        .expect_err("ListStacks refused");

    let message = format!("{err:#}");
    assert!(
        message.starts_with("cannot find the stacks of destinations removed from the config: cloudformation:ListStacks failed: AccessDenied")
            && message.contains("(hint: allow cloudformation:ListStacks")
            && !message.contains('\n'),
        "{message}"
    );
}

/// A wait whose events cannot be read (refused after the update began)
/// falls back to DescribeStacks at every poll, and still ends when the
/// stack settles.
#[tokio::test]
async fn a_wait_whose_events_cannot_be_read_follows_describe_stacks() {
    let log = Log::default();
    let stack = FakeStack::at(DEST, "UPDATE_COMPLETE").then(
        "ExecuteChangeSet",
        vec![
            "UPDATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE",
        ],
        vec![],
    );
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, stack)],
        change_set(
            DEST,
            &[(
                "Channel",
                "AWS::MediaLive::Channel",
                ChangeAction::Modify,
                Some(Replacement::False),
            )],
        ),
    );
    let denied = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: cloudformation:DescribeStackEvents</Message></Error>
  <RequestId>8d2f4c1e-0f5b-4a7e-9d8b-3c1f2e6a7b92</RequestId>
</ErrorResponse>"#;
    // The events before the update are read; every later read is refused.
    let events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build())
        .http_status(403, Some(denied.to_owned()))
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &fake.describe_stacks,
            &events,
            &fake.create_change_set,
            &fake.describe_change_set,
            &fake.execute_change_set,
        ]
    );
    let aws = aws_with(client, None);

    let outcome = run_job(
        aws,
        update_job(DEST, dest_template(6_000_000)),
        stack_progress(DEST),
    )
    .await;

    assert_eq!(outcome.result, "deployed", "{outcome:?}");
    assert_eq!(events.num_calls(), 4, "one read before, three polls");
    assert_eq!(
        log.count(&format!("DescribeStacks {DEST}")),
        3,
        "{:?}",
        log.entries()
    );
}

// ---------------------------------------------------- 5. replacements

/// 5a. A change set that says `Replacement: True` for the flow makes the
///     plan replace it (critical `FlowReplacement`), even where the
///     templates alone show only a modification; deploy refuses it unless
///     `--allow-replace Flow`. The preview change set is deleted.
#[tokio::test]
async fn a_change_set_replacing_the_flow_is_critical_and_needs_allow_replace() {
    let log = Log::default();
    let fake = FakeCfn::new(
        &log,
        vec![(FLOW, FakeStack::at(FLOW, "UPDATE_COMPLETE"))],
        change_set(
            FLOW,
            &[(
                "Flow",
                "AWS::MediaConnect::Flow",
                ChangeAction::Modify,
                Some(Replacement::True),
            )],
        ),
    );
    let aws = aws_with(fake.client(), None);
    let (before, after) = (
        flow_template("us-east-1a", 200),
        flow_template("us-east-1a", 400),
    );

    let changes = cfn::preview_update(&aws, FLOW, &after, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        changes,
        [ChangeSetChange {
            logical_id: "Flow".to_owned(),
            resource_type: "AWS::MediaConnect::Flow".to_owned(),
            action: "Modify".to_owned(),
            replacement: Some("True".to_owned()),
        }]
    );
    assert_eq!(
        fake.delete_change_set.num_calls(),
        1,
        "plan leaves no change set behind"
    );
    assert_eq!(fake.execute_change_set.num_calls(), 0);

    let want = desired(FLOW, "flow", after.clone());
    // Control: from the templates alone, MaxLatency is an in-place change.
    let templates_only = plan_stack(&want, Some(&live(FLOW, before.clone())));
    assert!(
        critical(&templates_only).is_empty(),
        "{:?}",
        templates_only.risks
    );

    let mut live_flow = live(FLOW, before);
    live_flow.change_set = Some(changes);
    let plan = plan_stack(&want, Some(&live_flow));
    assert_eq!(plan.action, StackAction::Update);
    let flow = plan
        .resources
        .iter()
        .find(|r| r.logical_id == "Flow")
        .unwrap();
    assert_eq!(flow.action, ResourceAction::Replace);
    assert_eq!(critical(&plan), [(RiskKind::FlowReplacement, Some("Flow"))]);

    let refused = blocked(&[&plan], &DeployOptions::default());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("--allow-replace Flow"), "{refused:?}");
    let other = DeployOptions {
        allow_replace: vec!["BackupSource".to_owned()],
        ..DeployOptions::default()
    };
    assert_eq!(
        blocked(&[&plan], &other).len(),
        1,
        "naming another resource does not allow the flow"
    );
    let allowed = DeployOptions {
        allow_replace: vec!["Flow".to_owned()],
        ..DeployOptions::default()
    };
    assert!(blocked(&[&plan], &allowed).is_empty());
}

/// 5b. Moving the flow to another Availability Zone (create-only) is a
///     replacement even when the change set, like the emulator's, has no
///     `Replacement` field.
#[test]
fn an_availability_zone_change_is_a_replacement_even_when_the_change_set_says_nothing() {
    let mut live_flow = live(FLOW, flow_template("us-east-1a", 200));
    live_flow.change_set = Some(vec![ChangeSetChange {
        logical_id: "Flow".to_owned(),
        resource_type: "AWS::MediaConnect::Flow".to_owned(),
        action: "Modify".to_owned(),
        replacement: None,
    }]);
    let want = desired(FLOW, "flow", flow_template("us-east-1b", 200));

    let plan = plan_stack(&want, Some(&live_flow));

    let flow = plan
        .resources
        .iter()
        .find(|r| r.logical_id == "Flow")
        .unwrap();
    assert_eq!(flow.action, ResourceAction::Replace, "{flow:?}");
    assert!(
        flow.replacement_reasons
            .iter()
            .any(|r| r.contains("AvailabilityZone")),
        "{flow:?}"
    );
    assert_eq!(critical(&plan), [(RiskKind::FlowReplacement, Some("Flow"))]);
    let refused = blocked(&[&plan], &DeployOptions::default());
    assert!(
        refused.len() == 1 && refused[0].contains("--allow-replace Flow"),
        "{refused:?}"
    );
    let allowed = DeployOptions {
        allow_replace: vec!["Flow".to_owned()],
        ..DeployOptions::default()
    };
    assert!(blocked(&[&plan], &allowed).is_empty());
}

// ----------------------------------------------- 6. a running channel

/// 6a. Updating a running channel is a critical `RunningChannel` risk that
///     deploy refuses unless `--restart-running`.
#[test]
fn a_running_channel_blocks_an_update_unless_restart_running() {
    let want = desired(DEST, "platforms", dest_template(6_000_000));
    let mut running = live(DEST, dest_template(4_500_000));
    running.running_channels.insert("Channel".to_owned());

    let plan = plan_stack(&want, Some(&running));

    assert_eq!(plan.action, StackAction::Update);
    assert_eq!(
        critical(&plan),
        [(RiskKind::RunningChannel, Some("Channel"))]
    );
    let refused = blocked(&[&plan], &DeployOptions::default());
    assert!(
        refused.len() == 1 && refused[0].contains("--restart-running"),
        "{refused:?}"
    );
    // Naming the channel in --allow-replace is not consent to restart it.
    let wrong = DeployOptions {
        allow_replace: vec!["Channel".to_owned()],
        ..DeployOptions::default()
    };
    assert_eq!(blocked(&[&plan], &wrong).len(), 1);
    let restart = DeployOptions {
        restart_running: true,
        ..DeployOptions::default()
    };
    assert!(blocked(&[&plan], &restart).is_empty());

    // Control: the same change to an idle channel is not blocked.
    let idle = plan_stack(&want, Some(&live(DEST, dest_template(4_500_000))));
    assert!(critical(&idle).is_empty(), "{:?}", idle.risks);
    assert!(blocked(&[&idle], &DeployOptions::default()).is_empty());
}

/// 6b. With `restart_channel`, run_job stops the channel, waits for IDLE,
///     updates the stack, starts the channel and waits for RUNNING, in
///     that order.
#[tokio::test]
async fn run_job_stops_the_channel_updates_and_starts_it_again() {
    let log = Log::default();
    let ml = "AWS::MediaLive::Channel";
    let stack = FakeStack::at(DEST, "UPDATE_COMPLETE").then(
        "ExecuteChangeSet",
        vec!["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"],
        vec![
            vec![
                stack_event(DEST, 10, "UPDATE_IN_PROGRESS", Some("User Initiated")),
                event(DEST, 11, "Channel", ml, "UPDATE_IN_PROGRESS", None),
            ],
            vec![
                event(DEST, 20, "Channel", ml, "UPDATE_COMPLETE", None),
                stack_event(DEST, 21, "UPDATE_COMPLETE", None),
            ],
        ],
    );
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, stack)],
        change_set(
            DEST,
            &[(
                "Channel",
                ml,
                ChangeAction::Modify,
                Some(Replacement::False),
            )],
        ),
    );
    let medialive = FakeMediaLive::new(&log);
    let aws = aws_with(fake.client(), Some(medialive.client()));
    let mut job = update_job(DEST, dest_template(6_000_000));
    job.restart_channel = Some(CHANNEL_ID.to_owned());

    let outcome = run_job(aws, job, stack_progress(DEST)).await;

    assert_eq!(outcome.result, "deployed", "{outcome:?}");
    assert_eq!(verdict(&[outcome]).0, Verdict::Complete);
    assert_eq!(medialive.stop_channel.num_calls(), 1);
    assert_eq!(medialive.start_channel.num_calls(), 1);
    assert_eq!(fake.execute_change_set.num_calls(), 1);
    let order: Vec<String> = log
        .only(&[
            "StopChannel",
            "DescribeChannel",
            "CreateChangeSet",
            "ExecuteChangeSet",
            "StartChannel",
        ])
        .into_iter()
        .collect();
    let c = CHANNEL_ID;
    assert_eq!(
        order,
        [
            format!("StopChannel {c}"),
            format!("DescribeChannel {c} STOPPING"),
            format!("DescribeChannel {c} STOPPING"),
            format!("DescribeChannel {c} IDLE"),
            format!("CreateChangeSet {DEST}"),
            format!("ExecuteChangeSet {DEST}"),
            format!("StartChannel {c}"),
            format!("DescribeChannel {c} STARTING"),
            format!("DescribeChannel {c} RUNNING"),
        ]
    );
    // The channel was started only once the update had finished.
    let entries = log.entries();
    let start = entries
        .iter()
        .position(|e| e.starts_with("StartChannel"))
        .unwrap();
    let last_status = entries[..start]
        .iter()
        .rposition(|e| *e == format!("DescribeStacks {DEST}"))
        .unwrap();
    let execute = entries
        .iter()
        .position(|e| e.starts_with("ExecuteChangeSet"))
        .unwrap();
    assert!(
        entries[execute..start]
            .iter()
            .filter(|e| **e == format!("DescribeStacks {DEST}"))
            .count()
            >= 2
            && last_status > execute,
        "{entries:?}"
    );
}

/// 6c. A running channel that lunora stopped for an update is started
///     again when the update fails before it changed anything (here the
///     change set itself fails): the stack is as it was, so the channel
///     must not be left dark without a word.
#[tokio::test]
async fn run_job_starts_the_channel_again_when_the_change_set_fails() {
    let log = Log::default();
    let failed = DescribeChangeSetOutput::builder()
        .change_set_id(change_set_arn(DEST))
        .change_set_name("lunora-deploy")
        .stack_name(DEST)
        .stack_id(stack_id(DEST))
        .status(ChangeSetStatus::Failed)
        .execution_status(ExecutionStatus::Unavailable)
        .status_reason(
            "Template error: instance of Fn::GetAtt references undefined resource Chanel",
        )
        .build();
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, FakeStack::at(DEST, "UPDATE_COMPLETE"))],
        failed,
    );
    let medialive = FakeMediaLive::new(&log);
    let aws = aws_with(fake.client(), Some(medialive.client()));
    let mut job = update_job(DEST, dest_template(6_000_000));
    job.restart_channel = Some(CHANNEL_ID.to_owned());

    let outcome = run_job(aws, job, stack_progress(DEST)).await;

    assert_eq!(outcome.result, "failed", "{outcome:?}");
    assert_eq!(fake.execute_change_set.num_calls(), 0);
    assert_eq!(medialive.stop_channel.num_calls(), 1);
    assert_eq!(
        medialive.start_channel.num_calls(),
        1,
        "the channel was stopped for the update and left stopped: {outcome:?}\n{:?}",
        log.entries()
    );
}

// ------------------------------------------- 7. an empty change set

/// 7. A change set with no changes: the stack is `unchanged`, nothing is
///    executed and the change set is deleted.
#[tokio::test]
async fn an_empty_change_set_is_unchanged_and_deleted() {
    let log = Log::default();
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, FakeStack::at(DEST, "UPDATE_COMPLETE"))],
        empty_change_set(DEST),
    );
    let aws = aws_with(fake.client(), None);

    let outcomes: Vec<StackOutcome> = run_stage(
        &aws,
        vec![update_job(DEST, dest_template(6_000_000))],
        &quiet_progress(),
    )
    .await;

    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].result, "unchanged", "{outcomes:?}");
    assert_eq!(verdict(&outcomes).0, Verdict::Complete);
    assert_eq!(fake.delete_change_set.num_calls(), 1);
    assert_eq!(fake.execute_change_set.num_calls(), 0);
    assert_eq!(
        log.only(&["DeleteChangeSet"]),
        [format!("DeleteChangeSet {DEST} {}", change_set_arn(DEST))],
        "the change set it made is the one deleted"
    );
}

// ------------------------------------------------- status: CloudWatch reads

/// The emulator does not answer CloudWatch; scripted answers show that
/// `status` reads alarm states and the newest datapoint of a metric.
#[tokio::test]
async fn status_reads_alarm_states_and_the_newest_metric_datapoint() {
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::primitives::DateTime as CwDateTime;
    use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult, StateValue};
    use lunora::aws::media::{alarm_states, latest_metrics, MetricQuery};

    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("lunora-player-prod-youtube-input-loss")
                    .state_value(StateValue::Alarm)
                    .build(),
            )
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("lunora-player-prod-youtube-dropped-frames")
                    .state_value(StateValue::Ok)
                    .build(),
            )
            .build()
    });
    let metrics = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(
                MetricDataResult::builder()
                    .id("m0_0")
                    .timestamps(CwDateTime::from_secs(1_000))
                    .values(1.5)
                    .timestamps(CwDateTime::from_secs(2_000))
                    .values(6.25)
                    .build(),
            )
            .build()
    });
    let none: [&Rule; 0] = [];
    let mut aws = aws_with(
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, none),
        None,
    );
    aws.cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&alarms, &metrics]);

    let names = vec![
        "lunora-player-prod-youtube-input-loss".to_owned(),
        "lunora-player-prod-youtube-dropped-frames".to_owned(),
        "lunora-player-prod-gone-input-loss".to_owned(),
    ];
    let states = alarm_states(&aws, &names).await.unwrap();
    assert_eq!(
        states
            .get("lunora-player-prod-youtube-input-loss")
            .map(String::as_str),
        Some("ALARM")
    );
    assert_eq!(
        states
            .get("lunora-player-prod-youtube-dropped-frames")
            .map(String::as_str),
        Some("OK")
    );
    assert!(!states.contains_key("lunora-player-prod-gone-input-loss"));

    let values = latest_metrics(
        &aws,
        &[MetricQuery {
            key: "bitrate:youtube".into(),
            namespace: "AWS/MediaLive".into(),
            metric: "NetworkIn".into(),
            dimensions: vec![
                ("ChannelId".into(), "1234567".into()),
                ("Pipeline".into(), "0".into()),
            ],
            stat: "Average".into(),
            period: 60,
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        values.get("bitrate:youtube"),
        Some(&6.25),
        "the newest datapoint wins"
    );
    assert_eq!(alarms.num_calls(), 1);
    assert_eq!(metrics.num_calls(), 1);
}

// ------------------------------------- issue 8, item 4: waiter deadlines

/// A wait limit short enough for a test (`--wait-timeout` in the CLI).
const SHORT_WAIT: Duration = Duration::from_millis(400);

/// A stack that stays `UPDATE_IN_PROGRESS` forever (no emulator can hang
/// one): `run_job` gives up at the wait deadline, names the stack, its
/// status and the limit, and reports the stack `interrupted`, which fails
/// the run (exit 1).
#[tokio::test]
async fn a_stack_that_never_settles_is_interrupted_at_the_wait_deadline() {
    let log = Log::default();
    let stuck = FakeStack::at(DEST, "UPDATE_COMPLETE").then(
        "ExecuteChangeSet",
        vec!["UPDATE_IN_PROGRESS"],
        vec![],
    );
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, stuck)],
        change_set(
            DEST,
            &[(
                "Channel",
                "AWS::MediaLive::Channel",
                ChangeAction::Modify,
                Some(Replacement::False),
            )],
        ),
    );
    let mut aws = aws_with(fake.client(), None);
    aws.timeouts.wait = Some(SHORT_WAIT);

    let start = std::time::Instant::now();
    let outcome = run_job(
        aws,
        update_job(DEST, dest_template(6_000_000)),
        stack_progress(DEST),
    )
    .await;

    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(outcome.result, "interrupted", "{outcome:?}");
    let message = outcome.message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!("stack `{DEST}` is still UPDATE_IN_PROGRESS"))
            && message.contains("gave up after 400 ms")
            && message.contains("--wait-timeout"),
        "{message}"
    );
    assert_eq!(verdict(std::slice::from_ref(&outcome)).0, Verdict::Failed);
    assert_eq!(fake.execute_change_set.num_calls(), 1);
}

/// A rollback that CloudFormation never finishes: `recover_stuck` gives up
/// at the deadline with a `TimedOut` naming the stack.
#[tokio::test]
async fn recover_stuck_gives_up_at_the_wait_deadline() {
    let log = Log::default();
    let stuck = FakeStack::at(DEST, "UPDATE_ROLLBACK_FAILED").then(
        "ContinueUpdateRollback",
        vec!["UPDATE_ROLLBACK_IN_PROGRESS"],
        vec![],
    );
    let fake = FakeCfn::new(&log, vec![(DEST, stuck)], empty_change_set(DEST));
    let mut aws = aws_with(fake.client(), None);
    aws.timeouts.wait = Some(SHORT_WAIT);

    let err = recover_stuck(
        &aws,
        &[listed(DEST, "UPDATE_ROLLBACK_FAILED")],
        &quiet_progress(),
    )
    .await
    .expect_err("a rollback that never ends is an error");
    let timed_out = lunora::aws::TimedOut::find(&err).expect("a TimedOut error");
    assert_eq!(timed_out.after, SHORT_WAIT);
    assert!(
        timed_out.what.contains(&format!(
            "stack `{DEST}` is still UPDATE_ROLLBACK_IN_PROGRESS"
        )),
        "{err:#}"
    );
}

/// A change set that CloudFormation never computes: creating it gives up
/// at the deadline, names the stack, and deletes the change set.
#[tokio::test]
async fn a_change_set_never_computed_gives_up_at_the_wait_deadline() {
    let log = Log::default();
    let pending = DescribeChangeSetOutput::builder()
        .change_set_id(change_set_arn(DEST))
        .change_set_name("lunora-deploy")
        .stack_name(DEST)
        .stack_id(stack_id(DEST))
        .status(ChangeSetStatus::CreateInProgress)
        .build();
    let fake = FakeCfn::new(
        &log,
        vec![(DEST, FakeStack::at(DEST, "UPDATE_COMPLETE"))],
        pending,
    );
    let mut aws = aws_with(fake.client(), None);
    aws.timeouts.wait = Some(SHORT_WAIT);

    let err = cfn::create_change_set(
        &aws,
        DEST,
        &dest_template(6_000_000),
        &BTreeMap::new(),
        aws_sdk_cloudformation::types::ChangeSetType::Update,
        "lunora-deploy-1",
    )
    .await
    .expect_err("a change set never computed is an error");
    let timed_out = lunora::aws::TimedOut::find(&err).expect("a TimedOut error");
    assert!(
        timed_out.what.contains(&format!(
            "the change set for stack `{DEST}` is still CREATE_IN_PROGRESS"
        )),
        "{err:#}"
    );
    assert_eq!(
        fake.delete_change_set.num_calls(),
        1,
        "the change set is cleaned up"
    );
}

/// A channel that never reaches RUNNING: `start`'s wait gives up at the
/// deadline naming the channel and its state.
#[tokio::test]
async fn a_channel_that_never_starts_gives_up_at_the_wait_deadline() {
    let describe = mock!(MediaLive::describe_channel).then_output(|| {
        DescribeChannelOutput::builder()
            .id(CHANNEL_ID)
            .state(ChannelState::Starting)
            .build()
    });
    let none: [&Rule; 0] = [];
    let mut aws = aws_with(
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, none),
        Some(mock_client!(
            aws_sdk_medialive,
            RuleMode::MatchAny,
            [&describe]
        )),
    );
    aws.timeouts.wait = Some(SHORT_WAIT);

    let err = lunora::aws::media::wait_channel(&aws, CHANNEL_ID, "RUNNING")
        .await
        .expect_err("a channel that never starts is an error");
    let message = format!("{err:#}");
    assert!(
        message.contains(&format!(
            "channel `{CHANNEL_ID}` did not reach RUNNING (it is STARTING)"
        )) && message.contains("gave up after 400 ms"),
        "{message}"
    );
    assert!(describe.num_calls() >= 2, "it polled");
}

// ---------------------------------------- a retried ExecuteChangeSet

const UNAVAILABLE: &str = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>Service unavailable</Message></Error>
  <RequestId>1b2c3d4e-0f5b-4a7e-9d8b-3c1f2e6a7b90</RequestId>
</ErrorResponse>"#;

fn already(status: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>InvalidChangeSetStatus</Code><Message>ChangeSet [{}] cannot be executed in its current status of [{status}]</Message></Error>
  <RequestId>2b2c3d4e-0f5b-4a7e-9d8b-3c1f2e6a7b90</RequestId>
</ErrorResponse>"#,
        change_set_arn(DEST)
    )
}

/// The first ExecuteChangeSet reaches CloudFormation but its answer is
/// lost (a 503 here); the SDK retries and CloudFormation says the change
/// set already executes. That is what was asked: no error. Any other
/// refusal is still an error.
#[tokio::test]
async fn a_retried_execute_that_finds_its_change_set_running_is_not_an_error() {
    let sdk = lunora_sdk().await;
    for status in ["EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE"] {
        let rule = mock!(Cfn::execute_change_set)
            .sequence()
            .http_status(503, Some(UNAVAILABLE.to_owned()))
            .http_status(400, Some(already(status)))
            .build();
        let mut aws = aws_with(cfn_from(&sdk, &rule, None), None);
        aws.pending_change_sets = Default::default();
        cfn::execute_change_set(&aws, DEST, &change_set_arn(DEST))
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 2, "retried once");
    }
    let failed = mock!(Cfn::execute_change_set)
        .sequence()
        .http_status(400, Some(already("FAILED")))
        .build();
    let aws = aws_with(cfn_from(&sdk, &failed, None), None);
    let err = cfn::execute_change_set(&aws, DEST, &change_set_arn(DEST))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("[FAILED]"), "{err:#}");
}
