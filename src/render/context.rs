//! The values each template receives, computed from the deployment.
//!
//! Names, ARNs, export names and MediaLive's encoder numbers are decided
//! here, once, so the templates only place them. Export names in
//! particular are shared by the stack that exports and the stacks that
//! import, and must never be spelt twice.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::model::{DestinationKind, FailoverMode, FeedCodec, InputMode};
use crate::config::{Deployment, ResolvedDestination};
use crate::presets::model::{H264Profile, RateControl};
use crate::presets::rules::enum_name;

/// Names of the cross-stack exports.
#[derive(Debug, Serialize)]
struct Exports {
    mediaconnect_role_arn: String,
    medialive_role_arn: String,
    alarm_topic_arn: String,
    flow_arn: String,
    flow_egress_ip: String,
    input_security_group_id: String,
    stop_sequence_arn: String,
    start_sequence_arn: String,
    guard_sequence_role: String,
    guard_scheduler_role_arn: String,
    guard_events_role_arn: String,
}

fn exports(d: &Deployment) -> Exports {
    let base = d.stack_name(&crate::config::StackId::Base);
    let flow = d.stack_name(&crate::config::StackId::Flow);
    Exports {
        mediaconnect_role_arn: format!("{base}-MediaConnectSecretsRoleArn"),
        medialive_role_arn: format!("{base}-MediaLiveRoleArn"),
        alarm_topic_arn: format!("{base}-AlarmTopicArn"),
        flow_arn: format!("{flow}-FlowArn"),
        flow_egress_ip: format!("{flow}-EgressIp"),
        input_security_group_id: format!("{flow}-InputSecurityGroupId"),
        stop_sequence_arn: format!("{base}-StopSequenceArn"),
        start_sequence_arn: format!("{base}-StartSequenceArn"),
        guard_sequence_role: format!("{base}-GuardSequenceRoleName"),
        guard_scheduler_role_arn: format!("{base}-GuardSchedulerRoleArn"),
        guard_events_role_arn: format!("{base}-GuardEventsRoleArn"),
    }
}

#[derive(Debug, Serialize)]
struct Tag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value")]
    value: String,
}

/// Tags as a map (MediaLive) and as a Key/Value list (everything else).
fn tags(d: &Deployment, destination: Option<&str>) -> (BTreeMap<String, String>, Vec<Tag>) {
    let mut map = d.config.tags.clone();
    map.insert("project".into(), d.config.project.clone());
    map.insert("environment".into(), d.config.environment.clone());
    map.insert("managed-by".into(), "lunora".into());
    if let Some(dest) = destination {
        map.insert("destination".into(), dest.to_owned());
    }
    let list = map
        .iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    (map, list)
}

fn flow_name(d: &Deployment) -> String {
    d.prefix()
}

fn arn_prefix(d: &Deployment, service: &str) -> String {
    format!(
        "arn:{}:{service}:{}:{}",
        crate::config::partition(&d.config.region),
        d.config.region,
        d.config.account_id
    )
}

/// Flow ARNs are `...:flow:<generated id>:<name>`: the name pins the pattern
/// to this deployment's flow before the flow exists.
fn flow_arn_pattern(d: &Deployment) -> String {
    format!("{}:flow:*:{}", arn_prefix(d, "mediaconnect"), flow_name(d))
}

fn description(d: &Deployment, what: &str) -> String {
    format!("lunora {}: {what}", d.prefix())
}

/// EventBridge rule names are at most 64 characters of `[.-_A-Za-z0-9]`
/// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
const RULE_NAME_LIMIT: usize = 64;

/// The name of one of this deployment's EventBridge rules:
/// `{prefix}-{stem}`. The alarm topic's policy lets EventBridge publish only
/// for rules named `{prefix}-*`, so every rule keeps the prefix; a stem
/// that would overflow the limit is cut and made unique again with a short
/// stable hash of the full stem.
fn rule_name(d: &Deployment, stem: &str) -> String {
    let full = format!("{}-{stem}", d.prefix());
    if full.len() <= RULE_NAME_LIMIT {
        return full;
    }
    let hash = crate::plan::sha256(stem);
    let hash = &hash["sha256:".len().."sha256:".len() + 8];
    let keep = RULE_NAME_LIMIT - hash.len() - 1;
    // Names are ASCII (validated slugs), so byte slicing is safe.
    format!("{}-{hash}", full[..keep].trim_end_matches('-'))
}

/// The ARN pattern of this deployment's EventBridge rules (all named
/// `{prefix}-...`, see [`rule_name`]): the only rules that may publish to
/// the alarm topic. Rules on the default event bus have ARNs
/// `arn:...:events:<region>:<account>:rule/<name>`.
fn rule_arn_pattern(d: &Deployment) -> String {
    format!("{}:rule/{}-*", arn_prefix(d, "events"), d.prefix())
}

#[derive(Debug, Serialize)]
struct BaseContext {
    description: String,
    prefix: String,
    account_id: String,
    flow_name: String,
    flow_arn_pattern: String,
    passphrase_secret_arns: Vec<String>,
    log_group_arns: Vec<String>,
    log_groups_arn: String,
    mediapackage_channel_arns: Vec<String>,
    password_parameter_arns: Vec<String>,
    mediaconnect_mode: bool,
    alarm_emails: Vec<String>,
    account_root_arn: String,
    rule_arn_pattern: String,
    guards: Option<BaseGuards>,
    budget: Option<BudgetView>,
    tags: Vec<Tag>,
    exports: Exports,
}

/// The guard state machines of the base stack.
#[derive(Debug, Serialize)]
struct BaseGuards {
    stop_machine: String,
    start_machine: String,
    session_machine: String,
    /// `max_session_hours` in seconds (the session machine's Wait).
    session_seconds: Option<i64>,
    session_hours: Option<i64>,
    /// The tag values that mark this deployment's channels.
    project: String,
    environment: String,
    schedule: bool,
    auto_stop: bool,
    /// The stop sequence's ARN, and the start sequence's with a schedule:
    /// the machines encrypted with the guard key (the encryption context
    /// `aws:states:stateMachineArn` of their KMS calls).
    stop_machine_arn: String,
    encrypted_machine_arns: Vec<String>,
}

#[derive(Debug, Serialize)]
struct BudgetNotification {
    kind: &'static str,
    percent: u32,
}

#[derive(Debug, Serialize)]
struct BudgetView {
    name: String,
    amount: f64,
    tag_filter: String,
    emails: Vec<String>,
    notifications: Vec<BudgetNotification>,
}

/// Whether any guard that acts on channels is set (the budget only
/// alerts, and needs no state machine).
fn acting_guards(d: &Deployment) -> Option<&crate::config::model::Guards> {
    d.config.guards.as_ref().filter(|g| g.acts())
}

fn base_guards(d: &Deployment) -> Option<BaseGuards> {
    let g = acting_guards(d)?;
    let prefix = d.prefix();
    let machine_arn = |name: &str| format!("{}:stateMachine:{name}", arn_prefix(d, "states"));
    let stop_machine_arn = machine_arn(&format!("{prefix}-guard-stop"));
    let mut encrypted_machine_arns = vec![stop_machine_arn.clone()];
    if g.schedule.is_some() {
        encrypted_machine_arns.push(machine_arn(&format!("{prefix}-guard-start")));
    }
    Some(BaseGuards {
        stop_machine_arn,
        encrypted_machine_arns,
        stop_machine: format!("{prefix}-guard-stop"),
        start_machine: format!("{prefix}-guard-start"),
        session_machine: format!("{prefix}-guard-session"),
        session_seconds: g.max_session_hours.map(|h| h * 3600),
        session_hours: g.max_session_hours,
        project: d.config.project.clone(),
        environment: d.config.environment.clone(),
        schedule: g.schedule.is_some(),
        auto_stop: g.auto_stop.is_some(),
    })
}

fn budget_view(d: &Deployment) -> Option<BudgetView> {
    let b = d.config.guards.as_ref()?.budget.as_ref()?;
    Some(BudgetView {
        name: d.prefix(),
        amount: b.monthly_usd,
        // Cost allocation tags are filtered as `user:KEY$VALUE`; lunora
        // tags every resource with `project`.
        tag_filter: format!("user:project${}", d.config.project),
        emails: b.emails.clone(),
        notifications: vec![
            BudgetNotification {
                kind: "ACTUAL",
                percent: 80,
            },
            BudgetNotification {
                kind: "ACTUAL",
                percent: 100,
            },
            BudgetNotification {
                kind: "FORECASTED",
                percent: 100,
            },
        ],
    })
}

pub(super) fn base(d: &Deployment) -> minijinja::Value {
    let flow = &d.config.flow;
    let mut secrets: Vec<String> = std::iter::once(&flow.source)
        .chain(flow.backup.as_ref())
        .map(|s| s.passphrase_secret_arn.clone())
        .collect();
    secrets.sort();
    secrets.dedup();
    let logs = arn_prefix(d, "logs");
    let mut mediapackage: Vec<String> = d
        .destinations
        .iter()
        .filter_map(|r| r.destination.mediapackage.as_ref())
        .map(|mp| {
            // A v1 channel ARN ends in a generated id, not the channel id:
            // without the ARN, the account's channels are the narrowest
            // scope that can be written before deploy.
            mp.channel_arn
                .clone()
                .unwrap_or_else(|| format!("{}:channels/*", arn_prefix(d, "mediapackage")))
        })
        .collect();
    mediapackage.sort();
    mediapackage.dedup();
    let mut parameters: Vec<String> = d
        .destinations
        .iter()
        .filter_map(|r| r.destination.auth.as_ref())
        .map(|a| format!("{}:parameter{}", arn_prefix(d, "ssm"), a.password_parameter))
        .collect();
    parameters.sort();
    parameters.dedup();
    minijinja::Value::from_serialize(BaseContext {
        description: description(d, "IAM roles and alarm topic"),
        prefix: d.prefix(),
        account_id: d.config.account_id.clone(),
        flow_name: flow_name(d),
        flow_arn_pattern: flow_arn_pattern(d),
        passphrase_secret_arns: secrets,
        // MediaLive's log group is `ElementalMediaLive`
        // (https://docs.aws.amazon.com/medialive/latest/ug/working-with-logs.html).
        // CloudWatch Logs checks most actions against the log group ARN with
        // the trailing `:*`, which also covers its log streams
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html).
        log_group_arns: vec![
            format!("{logs}:log-group:ElementalMediaLive"),
            format!("{logs}:log-group:ElementalMediaLive:*"),
        ],
        log_groups_arn: format!("{logs}:log-group:*"),
        mediapackage_channel_arns: mediapackage,
        password_parameter_arns: parameters,
        mediaconnect_mode: d.config.input_mode == InputMode::Mediaconnect,
        alarm_emails: d.config.alarms.emails.clone(),
        account_root_arn: format!(
            "arn:{}:iam::{}:root",
            crate::config::partition(&d.config.region),
            d.config.account_id
        ),
        rule_arn_pattern: rule_arn_pattern(d),
        guards: base_guards(d),
        budget: budget_view(d),
        tags: tags(d, None).1,
        exports: exports(d),
    })
}

#[derive(Debug, Serialize)]
struct SourceView {
    name: String,
    description: String,
    port: u32,
    allowed_cidr: String,
    min_latency_ms: u32,
    passphrase_secret_arn: String,
}

#[derive(Debug, Serialize)]
struct FailoverView {
    mode: &'static str,
    recovery_window_ms: u32,
    primary_source: String,
}

#[derive(Debug, Serialize)]
struct FlowView {
    name: String,
    availability_zone: String,
    source: SourceView,
    backup: Option<SourceView>,
    failover: Option<FailoverView>,
}

/// The names of the flow stack's monitoring resources.
#[derive(Debug, Serialize)]
struct FlowMonitoring {
    primary_disconnected: String,
    primary_no_bitrate: String,
    failover_to_backup: String,
    backup_down: String,
    /// Only in FAILOVER mode: in MERGE mode both sources are in use by
    /// design, so "the backup is in use" is no alarm.
    failover_alarm: bool,
    health_rule: String,
    dashboard_name: String,
    dashboard_body: String,
}

#[derive(Debug, Serialize)]
struct FlowContext {
    description: String,
    flow: FlowView,
    monitoring: FlowMonitoring,
    rtp_fec: bool,
    tags: Vec<Tag>,
    tags_map: BTreeMap<String, String>,
    exports: Exports,
}

fn source_view(
    s: &crate::config::model::SrtSource,
    default_name: &str,
    default_port: u32,
) -> SourceView {
    let name = s.name.clone().unwrap_or_else(|| default_name.to_owned());
    SourceView {
        description: s
            .description
            .clone()
            .unwrap_or_else(|| format!("SRT listener ({name})")),
        name,
        port: s.port.unwrap_or(default_port),
        allowed_cidr: s.allowed_cidr.clone(),
        min_latency_ms: s
            .min_latency_ms
            .unwrap_or(crate::config::DEFAULT_MIN_LATENCY_MS),
        passphrase_secret_arn: s.passphrase_secret_arn.clone(),
    }
}

pub(super) fn flow(d: &Deployment) -> minijinja::Value {
    let f = &d.config.flow;
    let source = source_view(&f.source, "primary", crate::config::DEFAULT_SRT_PORT);
    let backup = f.backup.as_ref().map(|b| source_view(b, "backup", 0));
    let failover = backup.as_ref().map(|_| {
        let settings = f.failover.clone().unwrap_or_default();
        FailoverView {
            mode: match settings.mode {
                FailoverMode::Failover => "FAILOVER",
                FailoverMode::Merge => "MERGE",
            },
            recovery_window_ms: settings
                .recovery_window_ms
                .unwrap_or(crate::config::DEFAULT_RECOVERY_WINDOW_MS),
            primary_source: settings
                .primary_source
                .unwrap_or_else(|| source.name.clone()),
        }
    });
    let (_, tags) = tags(d, None);
    // The input security group's tags are create-only: a change would
    // replace it and change the id every destination imports. It gets
    // lunora's fixed tags only, never the user's.
    let tags_map = BTreeMap::from([
        ("environment".to_owned(), d.config.environment.clone()),
        ("managed-by".to_owned(), "lunora".to_owned()),
        ("project".to_owned(), d.config.project.clone()),
    ]);
    let prefix = d.prefix();
    let failover_alarm = failover.as_ref().is_some_and(|f| f.mode == "FAILOVER");
    let monitoring = FlowMonitoring {
        primary_disconnected: format!("{prefix}-flow-primary-disconnected"),
        primary_no_bitrate: format!("{prefix}-flow-primary-no-bitrate"),
        failover_to_backup: format!("{prefix}-flow-failover-to-backup"),
        backup_down: format!("{prefix}-flow-backup-down"),
        failover_alarm,
        health_rule: rule_name(d, "flow-health"),
        dashboard_name: prefix.clone(),
        dashboard_body: dashboard_body(
            &prefix,
            &source.name,
            backup.as_ref().map(|b| b.name.as_str()),
            failover_alarm,
        ),
    };
    minijinja::Value::from_serialize(FlowContext {
        description: description(d, "MediaConnect SRT ingest flow"),
        flow: FlowView {
            name: flow_name(d),
            availability_zone: f.availability_zone.clone(),
            source,
            backup,
            failover,
        },
        monitoring,
        rtp_fec: d.config.input_mode == InputMode::RtpFec,
        tags,
        tags_map,
        exports: exports(d),
    })
}

/// The CloudWatch dashboard of the deployment, as the JSON string
/// `DashboardBody` takes
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
///
/// The template passes it through `Fn::Sub`, which fills in `${FlowArn}`,
/// `${PrimarySourceArn}`, `${BackupSourceArn}` and `${AWS::Region}`;
/// nothing else in it contains `${`. Source names are validated slugs.
///
/// MediaConnect source metrics (`SourceConnected`, `SourceBitRate`,
/// and `SourceSelected`, the source in use under FAILOVER as AWS's CDK
/// documents it: https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_aws-mediaconnect-alpha.IFlow.html)
/// are per flow and source
/// (https://docs.aws.amazon.com/mediaconnect/latest/ug/monitor-with-cloudwatch-metrics-source-health.html).
/// The flow stack deploys before any channel exists, so the MediaLive
/// widgets are CloudWatch metric math `SEARCH` expressions
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html)
/// over every channel of the Region, and say so in their titles. The
/// MediaLive metric names and dimensions are MediaLive's
/// (https://docs.aws.amazon.com/medialive/latest/ug/eml-metrics-alpha-list.html).
fn dashboard_body(prefix: &str, primary: &str, backup: Option<&str>, failover: bool) -> String {
    use serde_json::json;
    let source = |metric: &str, var: &str, label: &str| {
        json!([
            "AWS/MediaConnect",
            metric,
            "FlowARN",
            "${FlowArn}",
            "SourceARN",
            format!("${{{var}}}"),
            {"label": label}
        ])
    };
    let sources = |metric: &str| {
        let mut out = vec![source(metric, "PrimarySourceArn", primary)];
        if let Some(b) = backup {
            out.push(source(metric, "BackupSourceArn", b));
        }
        out
    };
    let graph = |title: &str, stat: &str, metrics: Vec<serde_json::Value>| {
        json!({
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stacked": false,
            "stat": stat,
            "period": 60,
            "metrics": metrics,
        })
    };
    let search = |id: &str, schema: &str, metric: &str, stat: &str| {
        json!([{
            "id": id,
            "expression": format!("SEARCH('{schema} MetricName=\"{metric}\"', '{stat}', 60)"),
            "label": metric,
        }])
    };
    const ALL: &str = "all MediaLive channels in this Region";
    const CHANNEL: &str = "{AWS/MediaLive,ChannelId,Pipeline}";
    // Output4xxErrors/Output5xxErrors are published per output group: a
    // search by namespace and metric name finds them whatever their
    // dimension set.
    const ANY: &str = "Namespace=\"AWS/MediaLive\"";
    let mut properties = vec![
        graph(
            "Flow sources connected (1 = connected)",
            "Minimum",
            sources("SourceConnected"),
        ),
        graph(
            "Flow source bitrate (bits/s)",
            "Average",
            sources("SourceBitRate"),
        ),
    ];
    if failover {
        if let Some(b) = backup {
            properties.push(graph(
                "Source in use under failover (1 = in use)",
                "Maximum",
                vec![
                    source("SourceSelected", "PrimarySourceArn", primary),
                    source("SourceSelected", "BackupSourceArn", b),
                ],
            ));
        }
    }
    properties.extend([
        graph(
            &format!("MediaLive input loss seconds: {ALL}"),
            "Sum",
            vec![search("inputloss", CHANNEL, "InputLossSeconds", "Sum")],
        ),
        graph(
            &format!("MediaLive active alerts: {ALL}"),
            "Maximum",
            vec![search("alerts", CHANNEL, "ActiveAlerts", "Maximum")],
        ),
        graph(
            &format!("MediaLive output 4xx/5xx errors: {ALL}"),
            "Sum",
            vec![
                search("out4xx", ANY, "Output4xxErrors", "Sum"),
                search("out5xx", ANY, "Output5xxErrors", "Sum"),
            ],
        ),
        graph(
            &format!("MediaLive network in: {ALL}"),
            "Average",
            vec![search("netin", CHANNEL, "NetworkIn", "Average")],
        ),
    ]);
    let mut widgets = vec![json!({
        "type": "text",
        "x": 0,
        "y": 0,
        "width": 24,
        "height": 2,
        "properties": {
            "markdown": format!(
                "## lunora {prefix}\nFlow widgets show this deployment's MediaConnect flow and its sources. MediaLive widgets show **{ALL}**: the flow stack is deployed before any channel exists, so it cannot name them."
            ),
        },
    })];
    for (i, p) in properties.into_iter().enumerate() {
        widgets.push(json!({
            "type": "metric",
            "x": (i % 2) * 12,
            "y": 2 + (i / 2) * 6,
            "width": 12,
            "height": 6,
            "properties": p,
        }));
    }
    serde_json::to_string(&super::sorted(&json!({ "widgets": widgets }))).unwrap_or_default()
}

#[derive(Debug, Serialize)]
struct Names {
    channel: String,
    input: String,
    output: String,
    alert_rule: String,
}

#[derive(Debug, Serialize)]
struct InputSpec {
    codec: &'static str,
    resolution: &'static str,
    maximum_bitrate: &'static str,
}

/// The channel's input specification: MediaLive's billing class of the
/// input, which must cover what the encoder sends.
fn input_spec(d: &Deployment) -> InputSpec {
    let e = &d.config.encoder;
    InputSpec {
        codec: match e.codec {
            FeedCodec::H264 => "AVC",
            FeedCodec::H265 => "HEVC",
            FeedCodec::Mpeg2 => "MPEG2",
        },
        resolution: match e.height {
            0..=576 => "SD",
            577..=1080 => "HD",
            _ => "UHD",
        },
        maximum_bitrate: if e.bitrate_mbps <= 10.0 {
            "MAX_10_MBPS"
        } else if e.bitrate_mbps <= 20.0 {
            "MAX_20_MBPS"
        } else {
            "MAX_50_MBPS"
        },
    }
}

#[derive(Debug, Serialize)]
struct VideoView {
    name: String,
    width: u32,
    height: u32,
    profile: String,
    level: String,
    rate_control: String,
    bitrate: Option<u64>,
    max_bitrate: Option<u64>,
    qvbr_quality_level: Option<u32>,
    buf_size: u64,
    framerate_numerator: u32,
    framerate_denominator: u32,
    gop_seconds: f64,
    b_frames: u32,
    scene_change_detect: &'static str,
    entropy_encoding: &'static str,
}

#[derive(Debug, Serialize)]
struct AudioView {
    profile: String,
    coding_mode: String,
    sample_rate: u32,
    bitrate: u32,
    rate_control: String,
}

#[derive(Debug, Serialize)]
struct RtmpView {
    url: String,
    stream_name: String,
    username: Option<String>,
    password_param: Option<String>,
}

#[derive(Debug, Serialize)]
struct MediaPackageView {
    channel_id: String,
}

#[derive(Debug, Serialize)]
struct DestView {
    id: String,
}

#[derive(Debug, Serialize)]
struct DestinationContext {
    description: String,
    dest: DestView,
    names: Names,
    rtp_fec: bool,
    input_mode: &'static str,
    input_spec: InputSpec,
    videos: Vec<VideoView>,
    audio: AudioView,
    rtmp: Option<RtmpView>,
    mediapackage: Option<MediaPackageView>,
    guard: Option<DestGuards>,
    tags: Vec<Tag>,
    tags_map: BTreeMap<String, String>,
    exports: Exports,
}

/// The guard resources of one destination stack.
#[derive(Debug, Serialize)]
struct DestGuards {
    policy_name: String,
    auto_stop: Option<AutoStopView>,
    schedules: Vec<ScheduleView>,
}

#[derive(Debug, Serialize)]
struct AutoStopView {
    alarm_name: String,
    rule_name: String,
    minutes: i64,
    /// The rule's InputTemplate, for `Fn::Sub` (`${ChannelId}`,
    /// `${FlowArn}`, `${OutputArn}`) and EventBridge (`<alarm>`, `<time>`).
    input_template: String,
}

#[derive(Debug, Serialize)]
struct ScheduleView {
    logical_id: String,
    name: String,
    description: String,
    expression: String,
    time_zone: String,
    /// `start` or `stop`: which sequence the schedule runs.
    action: &'static str,
    /// The target's Input, for `Fn::Sub`.
    input: String,
}

/// The stop and start sequences' input for one destination, as a JSON
/// string for `Fn::Sub`: `${ChannelId}`, `${FlowArn}` and (rtp-fec)
/// `${OutputArn}` are filled in by CloudFormation. `trigger` is spliced in
/// as it is (EventBridge placeholders must stay unquoted).
fn sequence_input(d: &Deployment, id: &str, trigger: &str) -> String {
    let mut fields = vec![
        format!("\"destination\": {}", serde_json::Value::from(id)),
        "\"channel_id\": \"${ChannelId}\"".to_owned(),
        "\"flow_arn\": \"${FlowArn}\"".to_owned(),
    ];
    if d.config.input_mode == InputMode::RtpFec {
        fields.push("\"output_arn\": \"${OutputArn}\"".to_owned());
    }
    fields.push(format!("\"trigger\": {trigger}"));
    format!("{{{}}}", fields.join(", "))
}

/// `sunday-service` -> `SundayService`, for logical ids.
fn camel(slug: &str) -> String {
    slug.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn dest_guards(d: &Deployment, id: &str) -> Option<DestGuards> {
    let g = acting_guards(d)?;
    let prefix = d.prefix();
    let auto_stop = g.auto_stop.as_ref().map(|a| {
        let alarm_name = format!("{prefix}-{id}-guard-input-lost");
        // EventBridge fills in <alarm> and <time> from the event
        // (InputTransformer: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html);
        // unquoted, a string value is inserted as a quoted JSON string.
        let trigger = "{\"kind\": \"auto-stop\", \"source\": <alarm>, \"time\": <time>}";
        AutoStopView {
            rule_name: rule_name(d, &format!("{id}-guard-auto-stop")),
            alarm_name,
            minutes: a.input_lost_minutes,
            input_template: sequence_input(d, id, trigger),
        }
    });
    let mut schedules = Vec::new();
    if let Some(s) = &g.schedule {
        for w in s
            .windows
            .iter()
            .filter(|w| w.destinations.iter().any(|x| x == id))
        {
            // Validation parsed every window; one that does not parse here
            // cannot reach rendering.
            let Some(times) = crate::config::window_times(w) else {
                continue;
            };
            let (start, stop) = times.expressions(w);
            for (action, expression) in [("start", start), ("stop", stop)] {
                // EventBridge Scheduler fills in its context attributes
                // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
                let trigger = format!(
                    "{{\"kind\": \"schedule-{action}\", \"source\": \"<aws.scheduler.schedule-arn>\", \"time\": \"<aws.scheduler.scheduled-time>\", \"window\": {}}}",
                    serde_json::Value::from(w.name.as_str())
                );
                schedules.push(ScheduleView {
                    logical_id: format!("Guard{}{}", camel(&w.name), camel(action)),
                    name: rule_name(d, &format!("{id}-{}-{action}", w.name)),
                    description: format!("lunora {prefix}: {action} {id} for window {}", w.name),
                    expression,
                    time_zone: s.time_zone.clone(),
                    action,
                    input: sequence_input(d, id, &trigger),
                });
            }
        }
    }
    Some(DestGuards {
        policy_name: format!("guard-{id}"),
        auto_stop,
        schedules,
    })
}

/// The CloudFormation dynamic reference that resolves the stream key at
/// deploy time; the key itself never passes through lunora.
fn stream_key_reference(key: &crate::config::model::SecretRef) -> String {
    match key.json_key() {
        Some(k) => format!(
            "{{{{resolve:secretsmanager:{}:SecretString:{k}}}}}",
            key.arn()
        ),
        None => format!("{{{{resolve:secretsmanager:{}}}}}", key.arn()),
    }
}

fn video_views(r: &ResolvedDestination) -> Vec<VideoView> {
    let rtmp = r.destination.kind == DestinationKind::Rtmp;
    r.preset
        .renditions
        .iter()
        .map(|v| {
            let bitrate = v.bitrate_kbps.map(|k| u64::from(k) * 1000);
            let max_bitrate = match v.rate_control {
                RateControl::Cbr => None,
                _ => v.max_bitrate_kbps.map(|k| u64::from(k) * 1000),
            };
            let peak = max_bitrate.or(bitrate).unwrap_or(0);
            let buffer = v.buffer_seconds.unwrap_or(2.0);
            VideoView {
                name: v.name.clone(),
                width: v.width,
                height: v.height,
                profile: enum_name(&v.profile),
                level: enum_name(&v.level),
                rate_control: enum_name(&v.rate_control),
                bitrate: match v.rate_control {
                    RateControl::Qvbr => None,
                    _ => bitrate,
                },
                max_bitrate,
                qvbr_quality_level: v.qvbr_quality_level,
                buf_size: (peak as f64 * buffer).round() as u64,
                framerate_numerator: v.framerate.numerator,
                framerate_denominator: v.framerate.denominator,
                gop_seconds: v.gop_seconds,
                b_frames: v.b_frames,
                scene_change_detect: if rtmp { "DISABLED" } else { "ENABLED" },
                entropy_encoding: if v.profile == H264Profile::Baseline {
                    "CAVLC"
                } else {
                    "CABAC"
                },
            }
        })
        .collect()
}

pub(super) fn destination(d: &Deployment, id: &str) -> minijinja::Value {
    // Stages only name validated destinations, so the lookup succeeds; an
    // empty context would fail the strict template loudly, not silently.
    let Some(r) = d.destinations.iter().find(|r| r.destination.id == id) else {
        return minijinja::Value::UNDEFINED;
    };
    let prefix = d.prefix();
    let a = &r.preset.audio;
    let rtmp = match r.destination.kind {
        DestinationKind::Rtmp => Some(RtmpView {
            url: r.ingest_url.clone().unwrap_or_default(),
            stream_name: r
                .destination
                .stream_key
                .as_ref()
                .map(stream_key_reference)
                .unwrap_or_default(),
            username: r.destination.auth.as_ref().map(|a| a.username.clone()),
            password_param: r
                .destination
                .auth
                .as_ref()
                .map(|a| a.password_parameter.clone()),
        }),
        DestinationKind::Mediapackage => None,
    };
    let mediapackage = r
        .destination
        .mediapackage
        .as_ref()
        .map(|mp| MediaPackageView {
            channel_id: mp.channel_id.clone(),
        });
    let (tags_map, tags) = tags(d, Some(id));
    minijinja::Value::from_serialize(DestinationContext {
        description: description(
            d,
            &format!(
                "destination {id} ({}, preset {})",
                r.platform.name, r.preset.id
            ),
        ),
        dest: DestView { id: id.to_owned() },
        names: Names {
            channel: format!("{prefix}-{id}"),
            input: format!("{prefix}-{id}-input"),
            output: format!("{prefix}-{id}"),
            alert_rule: rule_name(d, &format!("{id}-channel-alerts")),
        },
        rtp_fec: d.config.input_mode == InputMode::RtpFec,
        input_mode: d.config.input_mode.as_str(),
        input_spec: input_spec(d),
        videos: video_views(r),
        audio: AudioView {
            profile: enum_name(&a.profile),
            coding_mode: enum_name(&a.coding_mode),
            sample_rate: a.sample_rate,
            bitrate: a.bitrate_kbps * 1000,
            rate_control: enum_name(&a.rate_control),
        },
        rtmp,
        mediapackage,
        guard: dest_guards(d, id),
        tags,
        tags_map,
        exports: exports(d),
    })
}
