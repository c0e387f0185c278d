//! Desired stacks against live stacks: what a deploy would change, and what
//! in it is risky.
//!
//! Pure: the rendered templates and what was read from AWS (or from the
//! release store, offline) go in; a [`Plan`] comes out. Resource-level
//! changes come from comparing the templates themselves and are then
//! merged with what a change set reported, so a replacement is found even
//! where the change set (or an emulator) says nothing: lunora knows the
//! create-only properties of every resource type it renders.

pub mod property;
pub mod quota;
pub mod risk;
pub mod saved;

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use property::PropertyChange;
pub use risk::{Risk, RiskKind, SecurityChange, Severity};

/// What a deploy does to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StackAction {
    /// The stack does not exist yet.
    Create,
    /// The stack exists and its template or parameters differ.
    Update,
    /// The stack exists and matches.
    NoChange,
    /// The stack exists but is no longer in the config (a removed destination).
    Delete,
}

/// What a deploy does to one resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceAction {
    Add,
    Modify,
    /// Modified, and CloudFormation may replace it (the change set says
    /// "Conditional").
    MayReplace,
    /// Replaced: a new physical resource (new id, new ARN, new addresses).
    Replace,
    Remove,
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ResourceAction,
    /// Top-level properties that differ.
    pub properties: Vec<String>,
    /// The values that differ, before and after, for a modified or
    /// replaced resource (empty for one added or removed): computed from
    /// the live and rendered templates, secrets redacted.
    pub property_changes: Vec<PropertyChange>,
    /// Why it is replaced: the create-only properties that changed, or the
    /// change set's word for it.
    pub replacement_reasons: Vec<String>,
}

/// One change reported by a CloudFormation change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetChange {
    pub logical_id: String,
    pub resource_type: String,
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// `True`, `False`, `Conditional` (or absent).
    pub replacement: Option<String>,
}

/// What is known about a stack as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveStack {
    pub name: String,
    /// CloudFormation status, e.g. `UPDATE_COMPLETE`; `None` offline.
    pub status: Option<String>,
    /// The deployed template (canonical JSON).
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    /// CloudFormation's stack id and last change time, to notice a stack
    /// that moved between plan and deploy.
    pub stack_id: Option<String>,
    pub last_updated: Option<String>,
    pub outputs: BTreeMap<String, String>,
    /// What a change set reported, when one was made.
    pub change_set: Option<Vec<ChangeSetChange>>,
    /// The id (ARN) of that change set when it was kept to be executed
    /// (a deploy executes exactly the change set it showed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_set_id: Option<String>,
    /// Logical ids of MediaLive channels that are running now.
    pub running_channels: BTreeSet<String>,
}

/// A stack the deploy wants, as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredStack {
    pub name: String,
    pub stage: String,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
}

/// The plan for one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackPlan {
    pub name: String,
    /// The stage it deploys in (`None` for a stack to delete).
    pub stage: Option<String>,
    pub action: StackAction,
    pub live_status: Option<String>,
    pub resources: Vec<ResourceChange>,
    /// Unified diff of the canonical templates (and parameters), secrets
    /// redacted as in [`PropertyChange`].
    pub diff: String,
    pub risks: Vec<Risk>,
    pub security: Vec<SecurityChange>,
    /// sha256 of the desired template (to check a saved plan).
    pub template_sha256: Option<String>,
    /// The live stack's id and last change time at plan time.
    pub live_stack_id: Option<String>,
    pub live_last_updated: Option<String>,
    /// sha256 of the live template at plan time (a saved plan is stale
    /// when it changed).
    pub live_template_sha256: Option<String>,
    /// Things the reader should know (a change set that could not be made,
    /// a failed stack that a deploy replaces).
    pub notes: Vec<String>,
    /// With `--restore-source`, when the flow prefers another source than
    /// the template (after `lunora failover`): the config's source, which
    /// deploy or rollback puts back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_primary_source: Option<String>,
    /// The change set prepared for this stack, which a deploy executes
    /// as it is (only during a deploy or rollback; `plan` deletes its
    /// change sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_set_id: Option<String>,
    /// The flow prefers another source than its deployed template says
    /// (set by `lunora failover` or by hand): operator state that deploy
    /// and rollback keep unless `--restore-source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_drift: Option<SourceDrift>,
}

/// A flow whose preferred source is not its template's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDrift {
    /// The source the live flow prefers.
    pub live: String,
    /// The source the config (the desired template) names.
    pub config: String,
}

impl StackPlan {
    /// True when a deploy would change this stack.
    pub fn changes(&self) -> bool {
        self.action != StackAction::NoChange
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub add: usize,
    pub modify: usize,
    pub replace: usize,
    pub remove: usize,
}

/// sha256 of a text, as `sha256:<hex>`.
pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn resources(template: &str) -> BTreeMap<String, Value> {
    serde_json::from_str::<Value>(template)
        .ok()
        .and_then(|v| v.get("Resources").and_then(Value::as_object).cloned())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

fn resource_type(r: &Value) -> String {
    r.get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn properties(r: &Value) -> BTreeMap<String, Value> {
    r.get("Properties")
        .and_then(Value::as_object)
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default()
}

/// Resource-level changes between two templates, with replacements found
/// from the create-only properties.
pub fn resource_changes(live: &str, desired: &str) -> Vec<ResourceChange> {
    let before = resources(live);
    let after = resources(desired);
    let mut out = Vec::new();
    for (id, new) in &after {
        let Some(old) = before.get(id) else {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: resource_type(new),
                action: ResourceAction::Add,
                properties: Vec::new(),
                property_changes: Vec::new(),
                replacement_reasons: Vec::new(),
            });
            continue;
        };
        if old == new {
            continue;
        }
        let (old_props, new_props) = (properties(old), properties(new));
        let keys: BTreeSet<&String> = old_props.keys().chain(new_props.keys()).collect();
        let changed: Vec<String> = keys
            .into_iter()
            .filter(|k| old_props.get(*k) != new_props.get(*k))
            .cloned()
            .collect();
        let mut reasons = Vec::new();
        if resource_type(old) != resource_type(new) {
            reasons.push(format!(
                "Type {} -> {}",
                resource_type(old),
                resource_type(new)
            ));
        }
        for path in risk::create_only(&resource_type(new)) {
            if risk::lookup(&old_props, path) != risk::lookup(&new_props, path) {
                reasons.push(format!("{path} is create-only"));
            }
        }
        out.push(ResourceChange {
            logical_id: id.clone(),
            resource_type: resource_type(new),
            action: if reasons.is_empty() {
                ResourceAction::Modify
            } else {
                ResourceAction::Replace
            },
            properties: changed,
            property_changes: property::changes(&old_props, &new_props),
            replacement_reasons: reasons,
        });
    }
    for (id, old) in &before {
        if !after.contains_key(id) {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: resource_type(old),
                action: ResourceAction::Remove,
                properties: Vec::new(),
                property_changes: Vec::new(),
                replacement_reasons: Vec::new(),
            });
        }
    }
    out
}

/// Merges what a change set reported into the template-based changes: a
/// change set can add replacements (`True`, `Conditional`) and changes that
/// templates alone do not show (a re-resolved dynamic reference); it never
/// downgrades a replacement lunora found itself.
fn merge_change_set(changes: &mut Vec<ResourceChange>, change_set: &[ChangeSetChange]) {
    for c in change_set {
        let action = match (c.action.as_str(), c.replacement.as_deref()) {
            ("Add", _) => ResourceAction::Add,
            ("Remove", _) => ResourceAction::Remove,
            (_, Some("True")) => ResourceAction::Replace,
            (_, Some("Conditional")) => ResourceAction::MayReplace,
            _ => ResourceAction::Modify,
        };
        match changes.iter_mut().find(|r| r.logical_id == c.logical_id) {
            Some(existing) => {
                if action > existing.action
                    && existing.action != ResourceAction::Remove
                    && existing.action != ResourceAction::Add
                {
                    existing.action = action;
                    existing.replacement_reasons.push(format!(
                        "the change set says Replacement: {}",
                        c.replacement.as_deref().unwrap_or("?")
                    ));
                }
            }
            None => changes.push(ResourceChange {
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                action,
                properties: Vec::new(),
                property_changes: Vec::new(),
                replacement_reasons: match action {
                    ResourceAction::Replace | ResourceAction::MayReplace => {
                        vec![format!(
                            "the change set says Replacement: {}",
                            c.replacement.as_deref().unwrap_or("?")
                        )]
                    }
                    _ => Vec::new(),
                },
            }),
        }
    }
    changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
}

/// Unified diff of two texts, labelled.
pub fn unified_diff(before: &str, after: &str, label: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (live)"), &format!("{label} (rendered)"))
        .to_string()
}

fn parameters_text(p: &BTreeMap<String, String>) -> String {
    p.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Plans one desired stack against what is live (`None`: not deployed).
pub fn plan_stack(desired: &DesiredStack, live: Option<&LiveStack>) -> StackPlan {
    let template_sha256 = Some(sha256(&desired.template));
    let Some(live) = live else {
        let resources = resource_changes("{}", &desired.template);
        let risks = risk::stack_risks(
            &desired.name,
            "{}",
            &desired.template,
            &resources,
            &BTreeSet::new(),
        );
        let security = risk::security_changes("{}", &desired.template);
        return StackPlan {
            name: desired.name.clone(),
            stage: Some(desired.stage.clone()),
            action: StackAction::Create,
            live_status: None,
            resources,
            diff: unified_diff("", &property::redacted(&desired.template), &desired.name),
            risks,
            security,
            template_sha256,
            live_stack_id: None,
            live_last_updated: None,
            live_template_sha256: None,
            notes: Vec::new(),
            restore_primary_source: None,
            change_set_id: None,
            source_drift: None,
        };
    };
    let same = live.template == desired.template && live.parameters == desired.parameters;
    let mut resources = resource_changes(&live.template, &desired.template);
    if let Some(cs) = &live.change_set {
        merge_change_set(&mut resources, cs);
    }
    let changed = !same || !resources.is_empty();
    let mut diff = unified_diff(
        &property::redacted(&live.template),
        &property::redacted(&desired.template),
        &desired.name,
    );
    if live.parameters != desired.parameters {
        diff.push_str(&unified_diff(
            &parameters_text(&live.parameters),
            &parameters_text(&desired.parameters),
            &format!("{} parameters", desired.name),
        ));
    }
    let risks = risk::stack_risks(
        &desired.name,
        &live.template,
        &desired.template,
        &resources,
        &live.running_channels,
    );
    let security = risk::security_changes(&live.template, &desired.template);
    StackPlan {
        name: desired.name.clone(),
        stage: Some(desired.stage.clone()),
        action: if changed {
            StackAction::Update
        } else {
            StackAction::NoChange
        },
        live_status: live.status.clone(),
        resources,
        diff,
        risks,
        security,
        template_sha256,
        live_stack_id: live.stack_id.clone(),
        live_last_updated: live.last_updated.clone(),
        live_template_sha256: Some(sha256(&live.template)),
        notes: Vec::new(),
        restore_primary_source: None,
        change_set_id: if changed {
            live.change_set_id.clone()
        } else {
            None
        },
        source_drift: None,
    }
}

/// Plans the deletion of a live stack that the config no longer has.
pub fn plan_delete(live: &LiveStack) -> StackPlan {
    let resources = resource_changes(&live.template, "{}");
    let mut risks = risk::stack_risks(
        &live.name,
        &live.template,
        "{}",
        &resources,
        &live.running_channels,
    );
    risks.push(Risk {
        severity: Severity::Warning,
        kind: RiskKind::DestinationRemoved,
        stack: live.name.clone(),
        logical_id: None,
        message: format!(
            "`{}` is not in the config any more: deploy deletes the stack and its channel",
            live.name
        ),
    });
    StackPlan {
        name: live.name.clone(),
        stage: None,
        action: StackAction::Delete,
        live_status: live.status.clone(),
        resources,
        diff: unified_diff(&property::redacted(&live.template), "", &live.name),
        risks,
        security: Vec::new(),
        template_sha256: None,
        live_stack_id: live.stack_id.clone(),
        live_last_updated: live.last_updated.clone(),
        live_template_sha256: Some(sha256(&live.template)),
        notes: Vec::new(),
        restore_primary_source: None,
        change_set_id: None,
        source_drift: None,
    }
}

/// Totals over every stack plan.
pub fn counts(stacks: &[StackPlan]) -> Counts {
    let mut c = Counts::default();
    for s in stacks {
        match s.action {
            StackAction::Create => c.create += 1,
            StackAction::Update => c.update += 1,
            StackAction::Delete => c.delete += 1,
            StackAction::NoChange => c.unchanged += 1,
        }
        for r in &s.resources {
            match r.action {
                ResourceAction::Add => c.add += 1,
                ResourceAction::Modify => c.modify += 1,
                ResourceAction::MayReplace | ResourceAction::Replace => c.replace += 1,
                ResourceAction::Remove => c.remove += 1,
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(resources: Value) -> String {
        crate::render::canonical_json(&serde_json::json!({"Resources": resources}))
    }

    #[test]
    fn a_changed_create_only_property_is_a_replacement() {
        let live = template(
            serde_json::json!({"Flow": {"Type": "AWS::MediaConnect::Flow", "Properties": {"Name": "a", "AvailabilityZone": "us-east-1a", "Source": {"Name": "primary", "WhitelistCidr": "1.2.3.4/32"}}}}),
        );
        let az = template(
            serde_json::json!({"Flow": {"Type": "AWS::MediaConnect::Flow", "Properties": {"Name": "a", "AvailabilityZone": "us-east-1b", "Source": {"Name": "primary", "WhitelistCidr": "1.2.3.4/32"}}}}),
        );
        let changes = resource_changes(&live, &az);
        assert_eq!(changes[0].action, ResourceAction::Replace);
        assert_eq!(
            changes[0].replacement_reasons,
            vec!["AvailabilityZone is create-only"]
        );
        let source_name = live.replace("\"primary\"", "\"main\"");
        assert_eq!(
            resource_changes(&live, &source_name)[0].replacement_reasons,
            vec!["Source.Name is create-only"]
        );
        let cidr = live.replace("1.2.3.4/32", "1.2.3.5/32");
        assert_eq!(
            resource_changes(&live, &cidr)[0].action,
            ResourceAction::Modify
        );
    }

    #[test]
    fn change_sets_add_replacements_but_never_remove_them() {
        let mut changes = vec![ResourceChange {
            logical_id: "Channel".into(),
            resource_type: "AWS::MediaLive::Channel".into(),
            action: ResourceAction::Modify,
            properties: vec!["EncoderSettings".into()],
            property_changes: vec![],
            replacement_reasons: vec![],
        }];
        merge_change_set(
            &mut changes,
            &[ChangeSetChange {
                logical_id: "Channel".into(),
                resource_type: "AWS::MediaLive::Channel".into(),
                action: "Modify".into(),
                replacement: Some("Conditional".into()),
            }],
        );
        assert_eq!(changes[0].action, ResourceAction::MayReplace);
        let mut replaced = vec![ResourceChange {
            action: ResourceAction::Replace,
            ..changes[0].clone()
        }];
        merge_change_set(
            &mut replaced,
            &[ChangeSetChange {
                logical_id: "Channel".into(),
                resource_type: "AWS::MediaLive::Channel".into(),
                action: "Modify".into(),
                replacement: Some("False".into()),
            }],
        );
        assert_eq!(replaced[0].action, ResourceAction::Replace);
    }

    #[test]
    fn identical_stacks_have_no_change() {
        let t = template(serde_json::json!({"T": {"Type": "AWS::SNS::Topic"}}));
        let desired = DesiredStack {
            name: "s".into(),
            stage: "base".into(),
            template: t.clone(),
            parameters: BTreeMap::new(),
        };
        let live = LiveStack {
            name: "s".into(),
            template: t,
            ..LiveStack::default()
        };
        let p = plan_stack(&desired, Some(&live));
        assert_eq!(p.action, StackAction::NoChange);
        assert!(p.resources.is_empty());
    }

    #[test]
    fn no_literal_stream_key_reaches_the_plan() {
        let key = "live_123456789_abcdefghijklmnopqrstuvwx";
        let channel = |name: &str| {
            template(
                serde_json::json!({"Channel": {"Type": "AWS::MediaLive::Channel", "Properties": {
                    "Name": name,
                    "Destinations": [{"Id": "rtmp", "Settings": [{"Url": "rtmp://live.twitch.tv/app", "StreamName": key}]}]
                }}}),
            )
        };
        let desired = DesiredStack {
            name: "s".into(),
            stage: "platforms".into(),
            template: channel("b"),
            parameters: BTreeMap::new(),
        };
        let live = LiveStack {
            name: "s".into(),
            template: channel("a"),
            ..LiveStack::default()
        };
        // An update's diff shows only the lines near the change; a create's
        // or a delete's shows the whole template, the key redacted.
        for (plan, whole) in [
            (plan_stack(&desired, Some(&live)), false),
            (plan_stack(&desired, None), true),
            (plan_delete(&live), true),
        ] {
            let json = serde_json::to_string(&plan).unwrap_or_default();
            assert!(!json.contains(key), "{json}");
            assert_eq!(json.contains(property::REDACTED), whole, "{json}");
        }
    }
}
