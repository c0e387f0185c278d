//! Which changes are dangerous, and the security table.
//!
//! A replaced flow means a new ingest IP (the encoder must be re-pointed);
//! touching MediaPackage can change the HLS player URL; a running channel
//! cannot be edited without an outage. These are found from the templates
//! and the live state, not only from a change set's `Replacement` field,
//! which emulators leave out and which says "Conditional" too often to
//! gate on.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ResourceAction, ResourceChange};

/// How bad a risk is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth reading.
    Warning,
    /// Deploy refuses it (exit 3) unless the user names it in an override.
    Critical,
}

/// What kind of risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RiskKind {
    /// The MediaConnect flow would be replaced: new ingest IP.
    FlowReplacement,
    /// Another protected resource (a flow source) would be replaced.
    ProtectedReplacement,
    /// Something touches MediaPackage (the HLS player URL).
    Mediapackage,
    /// A running MediaLive channel would be updated.
    RunningChannel,
    /// A destination's stack would be deleted.
    DestinationRemoved,
    /// An input would be replaced (new endpoint, the flow output follows).
    InputReplacement,
    /// IAM permissions grow.
    IamBroadening,
    /// An ingest or input allow-list grows.
    CidrBroadening,
    /// The flow prefers another source than its template (after a failover).
    FailoverDrift,
}

/// One risk of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub severity: Severity,
    pub kind: RiskKind,
    pub stack: String,
    pub logical_id: Option<String>,
    pub message: String,
}

/// One row of the security table (like `cdk diff`'s).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityChange {
    /// `+` granted or widened, `-` revoked.
    pub change: char,
    /// `iam` or `cidr`.
    pub kind: String,
    /// The logical id of the role, flow, source or security group.
    pub logical_id: String,
    /// IAM: effect, actions and resources; CIDR: the property and range.
    pub detail: String,
}

/// The create-only properties (change means replacement) of every
/// resource type lunora renders, from the `createOnlyProperties` of their
/// CloudFormation resource type schemas, as the template reference lists
/// them under "Update requires: Replacement", e.g.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-mediaconnect-flow.html
pub fn create_only(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::MediaConnect::Flow" => &["Name", "AvailabilityZone", "Source.Name"],
        "AWS::MediaConnect::FlowSource" => &["FlowArn", "Name", "Protocol"],
        "AWS::MediaConnect::FlowOutput" => &["FlowArn", "Name"],
        "AWS::MediaLive::Input" => &["Type", "Vpc", "RouterSettings", "InputNetworkLocation"],
        "AWS::MediaLive::InputSecurityGroup" => &["Tags"],
        "AWS::MediaLive::Channel" => &["Vpc"],
        "AWS::IAM::Role" => &["RoleName", "Path"],
        "AWS::SNS::Topic" => &["TopicName", "FifoTopic"],
        "AWS::SNS::Subscription" => &["Endpoint", "Protocol", "TopicArn"],
        "AWS::CloudWatch::Alarm" => &["AlarmName"],
        "AWS::CloudWatch::Dashboard" => &["DashboardName"],
        "AWS::Events::Rule" => &["Name"],
        "AWS::SNS::TopicPolicy" => &[],
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
        "AWS::KMS::Key" => &["KeySpec", "KeyUsage", "MultiRegion"],
        "AWS::MediaPackage::Channel" => &["Id", "Tags"],
        "AWS::MediaPackage::OriginEndpoint" => &["Id"],
        _ => &[],
    }
}

/// The value at a dotted property path.
pub fn lookup<'a>(props: &'a BTreeMap<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = props.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}

fn resource<'a>(template: &'a Value, id: &str) -> Option<&'a Value> {
    template.get("Resources")?.get(id)
}

fn parse(template: &str) -> Value {
    serde_json::from_str(template).unwrap_or(Value::Null)
}

/// The risks of one stack's changes.
pub fn stack_risks(
    stack: &str,
    live: &str,
    desired: &str,
    changes: &[ResourceChange],
    running_channels: &BTreeSet<String>,
) -> Vec<Risk> {
    let (live_v, desired_v) = (parse(live), parse(desired));
    let mut out = Vec::new();
    let mut push = |severity, kind, id: &str, message: String| {
        out.push(Risk {
            severity,
            kind,
            stack: stack.to_owned(),
            logical_id: Some(id.to_owned()),
            message,
        });
    };
    for c in changes {
        let id = c.logical_id.as_str();
        let replaced = matches!(
            c.action,
            ResourceAction::Replace | ResourceAction::MayReplace | ResourceAction::Remove
        );
        let why = if c.replacement_reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.replacement_reasons.join(", "))
        };
        let verb = match c.action {
            ResourceAction::Remove => "removed",
            ResourceAction::MayReplace => "possibly replaced",
            _ => "replaced",
        };
        match c.resource_type.as_str() {
            "AWS::MediaConnect::Flow" if replaced => push(
                Severity::Critical,
                RiskKind::FlowReplacement,
                id,
                format!("the flow `{id}` would be {verb}{why}: new flow ARN and ingest IP, the encoder must be re-pointed"),
            ),
            "AWS::MediaConnect::FlowSource" if replaced => push(
                Severity::Critical,
                RiskKind::ProtectedReplacement,
                id,
                format!("the flow source `{id}` would be {verb}{why}: its ingest address changes"),
            ),
            t if t.starts_with("AWS::MediaPackage::") => push(
                Severity::Critical,
                RiskKind::Mediapackage,
                id,
                format!("`{id}` ({t}) is MediaPackage: a change can move the HLS player URL"),
            ),
            "AWS::MediaLive::Channel" => {
                let mp = |v: &Value| {
                    resource(v, id)
                        .and_then(|r| r.pointer("/Properties/Destinations"))
                        .and_then(Value::as_array)
                        .map(|d| d.iter().filter_map(|x| x.get("MediaPackageSettings")).cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                };
                let (before, after) = (mp(&live_v), mp(&desired_v));
                if c.action != ResourceAction::Add && before != after && !(before.is_empty() && after.is_empty()) {
                    push(
                        Severity::Critical,
                        RiskKind::Mediapackage,
                        id,
                        format!("`{id}` changes where it delivers to MediaPackage: the HLS player may go dark"),
                    );
                }
                if c.action != ResourceAction::Add && running_channels.contains(id) {
                    push(
                        Severity::Critical,
                        RiskKind::RunningChannel,
                        id,
                        format!("the channel `{id}` is running: MediaLive only edits idle channels, so the update needs a stop and start (an outage)"),
                    );
                }
            }
            "AWS::MediaLive::Input" if replaced && c.action != ResourceAction::Remove => push(
                Severity::Warning,
                RiskKind::InputReplacement,
                id,
                format!("the input `{id}` would be {verb}{why}: new input id and endpoint"),
            ),
            _ => {}
        }
    }
    let security = security_changes(live, desired);
    let is_update = !matches!(live_v.get("Resources"), None | Some(Value::Null));
    if is_update {
        for s in security.iter().filter(|s| s.change == '+') {
            out.push(Risk {
                severity: Severity::Warning,
                kind: if s.kind == "iam" {
                    RiskKind::IamBroadening
                } else {
                    RiskKind::CidrBroadening
                },
                stack: stack.to_owned(),
                logical_id: Some(s.logical_id.clone()),
                message: format!("`{}` grants more: {}", s.logical_id, s.detail),
            });
        }
    }
    out
}

fn as_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

/// One statement of a resource policy (an SNS topic policy): who may do
/// what on which resource, under which condition.
fn resource_policy_statement(s: &Value) -> String {
    let mut actions = as_list(s.get("Action"));
    actions.sort();
    let mut resources = as_list(s.get("Resource"));
    resources.sort();
    let mut text = format!(
        "policy {} {} {} on {}",
        s.get("Effect").and_then(Value::as_str).unwrap_or("Allow"),
        s.get("Principal").map(Value::to_string).unwrap_or_default(),
        actions.join(", "),
        resources.join(", ")
    );
    if let Some(condition) = s.get("Condition") {
        text.push_str(&format!(" if {condition}"));
    }
    text
}

/// IAM statements of every role, and the statements of every resource
/// policy (an SNS topic policy: who may publish to the alarm topic; a KMS
/// key policy: who may use the key):
/// (logical id, rendered statement).
fn iam_statements(template: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    for (id, r) in resources {
        let kind = r.get("Type").and_then(Value::as_str);
        // Resource policies: the alarm topic's (who may publish) and the
        // guard key's (who may use and administer it).
        let resource_policy = match kind {
            Some("AWS::SNS::TopicPolicy") => Some("/Properties/PolicyDocument/Statement"),
            Some("AWS::KMS::Key") => Some("/Properties/KeyPolicy/Statement"),
            _ => None,
        };
        if let Some(pointer) = resource_policy {
            let statements = r.pointer(pointer).and_then(Value::as_array);
            for s in statements.into_iter().flatten() {
                out.insert((id.clone(), resource_policy_statement(s)));
            }
            continue;
        }
        // A policy attached to a role from another resource (a
        // destination stack adds its channel to the base stack's guard
        // role this way) grants as much as one written in the role.
        if matches!(kind, Some("AWS::IAM::RolePolicy" | "AWS::IAM::Policy")) {
            let statements = r
                .pointer("/Properties/PolicyDocument/Statement")
                .and_then(Value::as_array);
            for s in statements.into_iter().flatten() {
                out.insert((id.clone(), identity_statement(s)));
            }
            continue;
        }
        if kind != Some("AWS::IAM::Role") {
            continue;
        }
        let trust = r
            .pointer("/Properties/AssumeRolePolicyDocument/Statement")
            .and_then(Value::as_array);
        for s in trust.into_iter().flatten() {
            let principal = s.get("Principal").map(Value::to_string).unwrap_or_default();
            out.insert((
                id.clone(),
                format!(
                    "trust {} {principal}",
                    s.get("Effect").and_then(Value::as_str).unwrap_or("Allow")
                ),
            ));
        }
        let policies = r.pointer("/Properties/Policies").and_then(Value::as_array);
        for p in policies.into_iter().flatten() {
            let statements = p
                .pointer("/PolicyDocument/Statement")
                .and_then(Value::as_array);
            for s in statements.into_iter().flatten() {
                out.insert((id.clone(), identity_statement(s)));
            }
        }
    }
    out
}

/// An identity-policy statement as a table row: effect, actions, resources.
fn identity_statement(s: &Value) -> String {
    let mut actions = as_list(s.get("Action"));
    actions.sort();
    let mut resources = as_list(s.get("Resource"));
    resources.sort();
    format!(
        "{} {} on {}",
        s.get("Effect").and_then(Value::as_str).unwrap_or("Allow"),
        actions.join(", "),
        resources.join(", ")
    )
}

/// Allow-listed CIDRs: (logical id, property, CIDR).
fn cidrs(template: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    for (id, r) in resources {
        let t = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let props = r.get("Properties");
        let mut add = |prop: &str, v: Option<&Value>| {
            if let Some(s) = v.and_then(Value::as_str) {
                out.insert((id.clone(), prop.to_owned(), s.to_owned()));
            }
        };
        match t {
            "AWS::MediaConnect::Flow" => add(
                "Source.WhitelistCidr",
                props.and_then(|p| p.pointer("/Source/WhitelistCidr")),
            ),
            "AWS::MediaConnect::FlowSource" => {
                add("WhitelistCidr", props.and_then(|p| p.get("WhitelistCidr")))
            }
            "AWS::MediaLive::InputSecurityGroup" => {
                for rule in props
                    .and_then(|p| p.get("WhitelistRules"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match rule.get("Cidr") {
                        Some(Value::String(s)) => {
                            out.insert((id.clone(), "WhitelistRules".to_owned(), s.clone()));
                        }
                        Some(other) => {
                            out.insert((
                                id.clone(),
                                "WhitelistRules".to_owned(),
                                other.to_string(),
                            ));
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn contained(cidr: &str, within: &[&str]) -> bool {
    let Ok(net) = cidr.parse::<Ipv4Net>() else {
        return within.contains(&cidr);
    };
    within
        .iter()
        .any(|w| w.parse::<Ipv4Net>().is_ok_and(|outer| outer.contains(&net)))
}

/// The security table: IAM statements and allow-listed CIDRs granted (`+`)
/// or revoked (`-`) between two templates. A CIDR inside one that was
/// already allowed is not a broadening.
pub fn security_changes(live: &str, desired: &str) -> Vec<SecurityChange> {
    let (before, after) = (parse(live), parse(desired));
    let mut out = Vec::new();
    let (old_iam, new_iam) = (iam_statements(&before), iam_statements(&after));
    for (id, s) in new_iam.difference(&old_iam) {
        out.push(SecurityChange {
            change: '+',
            kind: "iam".into(),
            logical_id: id.clone(),
            detail: s.clone(),
        });
    }
    for (id, s) in old_iam.difference(&new_iam) {
        out.push(SecurityChange {
            change: '-',
            kind: "iam".into(),
            logical_id: id.clone(),
            detail: s.clone(),
        });
    }
    let (old_cidr, new_cidr) = (cidrs(&before), cidrs(&after));
    for (id, prop, cidr) in new_cidr.difference(&old_cidr) {
        let previous: Vec<&str> = old_cidr
            .iter()
            .filter(|(i, p, _)| i == id && p == prop)
            .map(|(_, _, c)| c.as_str())
            .collect();
        if !contained(cidr, &previous) {
            out.push(SecurityChange {
                change: '+',
                kind: "cidr".into(),
                logical_id: id.clone(),
                detail: format!("{prop} allows {cidr}"),
            });
        }
    }
    for (id, prop, cidr) in old_cidr.difference(&new_cidr) {
        out.push(SecurityChange {
            change: '-',
            kind: "cidr".into(),
            logical_id: id.clone(),
            detail: format!("{prop} no longer allows {cidr}"),
        });
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(cidr: &str, az: &str) -> String {
        serde_json::json!({"Resources": {"Flow": {"Type": "AWS::MediaConnect::Flow", "Properties": {
            "Name": "f", "AvailabilityZone": az, "Source": {"Name": "primary", "WhitelistCidr": cidr}}}}})
        .to_string()
    }

    #[test]
    fn a_wider_cidr_is_a_broadening_and_a_narrower_one_is_not() {
        let wider = security_changes(&flow("203.0.113.10/32", "a"), &flow("203.0.113.0/24", "a"));
        assert!(wider
            .iter()
            .any(|s| s.change == '+' && s.detail.contains("203.0.113.0/24")));
        let narrower =
            security_changes(&flow("203.0.113.0/24", "a"), &flow("203.0.113.10/32", "a"));
        assert!(narrower.iter().all(|s| s.change == '-'));
    }

    #[test]
    fn a_key_policy_statement_is_in_the_security_table() {
        let key = serde_json::json!({"Resources": {"GuardKey": {"Type": "AWS::KMS::Key", "Properties": {
            "KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                "Action": ["kms:Decrypt"], "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "states.us-east-1.amazonaws.com"}}}]}}}}})
        .to_string();
        let new = security_changes("{}", &key);
        assert_eq!(new.len(), 1);
        assert!(new[0].detail.contains("kms:Decrypt"), "{}", new[0].detail);
        assert!(
            new[0].detail.contains("kms:ViaService"),
            "{}",
            new[0].detail
        );
    }

    #[test]
    fn a_topic_policy_statement_is_in_the_security_table() {
        let t = |sources: &str| {
            serde_json::json!({"Resources": {"AlarmTopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "AlarmTopic"}],
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish", "Resource": {"Ref": "AlarmTopic"},
                    "Condition": {"ArnLike": {"aws:SourceArn": sources}}}]}}}}})
            .to_string()
        };
        let new = security_changes("{}", &t("arn:aws:events:us-east-1:1:rule/p-*"));
        assert_eq!(new.len(), 1);
        assert_eq!((new[0].change, new[0].kind.as_str()), ('+', "iam"));
        assert!(
            new[0].detail.contains("events.amazonaws.com"),
            "{}",
            new[0].detail
        );
        assert!(new[0].detail.contains("rule/p-*"), "{}", new[0].detail);
        // A wider condition is a new grant, and a warning on update.
        let wider = t("arn:aws:events:us-east-1:1:rule/*");
        let narrow = t("arn:aws:events:us-east-1:1:rule/p-*");
        let changes = security_changes(&narrow, &wider);
        assert!(changes
            .iter()
            .any(|c| c.change == '+' && c.detail.contains("rule/*")));
        let risks = stack_risks("s-base", &narrow, &wider, &[], &BTreeSet::new());
        assert!(risks.iter().any(|r| r.kind == RiskKind::IamBroadening));
    }

    /// The guards' roles and the policy each destination adds to the
    /// guard role show up in the security table as they are rendered, with
    /// no special case for them.
    #[test]
    fn guard_grants_are_in_the_security_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/guards/lunora.yaml");
        let with = crate::config::load(&path).expect("the guards fixture loads");
        let mut without = with.clone();
        without.config.guards = None;
        let before = crate::render::render(&without).expect("renders");
        let after = crate::render::render(&with).expect("renders");
        let mut rows = Vec::new();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.name, a.name);
            for c in security_changes(&b.template, &a.template) {
                assert_eq!(c.change, '+', "{c:?}");
                rows.push(format!("{} {} {}", a.name, c.logical_id, c.detail));
            }
        }
        let has = |needle: &[&str]| {
            assert!(
                rows.iter().any(|r| needle.iter().all(|n| r.contains(n))),
                "no row with {needle:?} in:\n{}",
                rows.join("\n")
            );
        };
        has(&[
            "-base",
            "GuardSequenceRole",
            "trust Allow",
            "states.amazonaws.com",
        ]);
        has(&[
            "-base",
            "GuardSequenceRole",
            "Allow medialive:ListChannels on *",
        ]);
        has(&[
            "-base",
            "GuardSequenceRole",
            "mediaconnect:DescribeFlow, mediaconnect:StartFlow, mediaconnect:StopFlow on arn:aws:mediaconnect:us-east-1:123456789012:flow:*:lunora-player-prod",
        ]);
        has(&[
            "-base",
            "GuardEventsRole",
            "states:StartExecution",
            "StopSequence",
        ]);
        has(&[
            "-base",
            "GuardSchedulerRole",
            "states:StartExecution",
            "StartSequence",
        ]);
        has(&[
            "-base",
            "GuardSessionRole",
            "states:StartExecution",
            "StopSequence",
        ]);
        has(&[
            "-dest-twitch",
            "GuardPolicy",
            "medialive:DescribeChannel, medialive:StartChannel, medialive:StopChannel on",
            "Channel",
        ]);
        has(&[
            "-dest-twitch",
            "GuardPolicy",
            "mediaconnect:UpdateFlowOutput on",
            "OutputArn",
        ]);
        // Nothing else changes: the flow stack has no guard.
        assert!(rows.iter().all(|r| !r.contains("-flow ")), "{rows:?}");
    }

    #[test]
    fn flow_replacement_is_critical() {
        let live = flow("203.0.113.10/32", "us-east-1a");
        let desired = flow("203.0.113.10/32", "us-east-1b");
        let changes = super::super::resource_changes(&live, &desired);
        let risks = stack_risks("s-flow", &live, &desired, &changes, &BTreeSet::new());
        assert_eq!(risks.len(), 1);
        assert_eq!(
            (risks[0].severity, risks[0].kind),
            (Severity::Critical, RiskKind::FlowReplacement)
        );
    }

    #[test]
    fn updating_a_running_channel_is_critical() {
        let t = |bitrate: u32| {
            serde_json::json!({"Resources": {"Channel": {"Type": "AWS::MediaLive::Channel", "Properties": {"EncoderSettings": {"Bitrate": bitrate}}}}}).to_string()
        };
        let changes = super::super::resource_changes(&t(1), &t(2));
        let running: BTreeSet<String> = ["Channel".to_owned()].into();
        let risks = stack_risks("s", &t(1), &t(2), &changes, &running);
        assert_eq!(risks[0].kind, RiskKind::RunningChannel);
        assert!(stack_risks("s", &t(1), &t(2), &changes, &BTreeSet::new()).is_empty());
    }
}
