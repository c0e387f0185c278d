//! The MediaLive quota preflight, as a pure comparison: what the account
//! uses, what the deploy adds, and the Region's quotas go in; a verdict per
//! quota comes out.
//!
//! Why it exists: MediaLive's default quotas are small (5 channels, 5 push
//! inputs, 5 input security groups per Region, account-wide) and the
//! example config has 5 destinations, so one channel that already exists
//! makes the last destination stack fail in the middle of a deploy. The
//! check runs before anything changes; `deploy` refuses (exit 3) and `plan`
//! shows the same table. Reading the account and the quotas is the AWS
//! boundary's job (`crate::aws::quota`); nothing here does I/O.
//!
//! How a deploy is counted (the peak during the run, not the end state):
//! - a resource the plan adds (a new destination stack, a new input
//!   security group in the flow stack) counts +1;
//! - a replaced resource counts +1 too: CloudFormation creates the
//!   replacement before it deletes the old one, so both exist for a while;
//! - deletions count 0: lunora deletes removed destinations only after
//!   every stage has deployed, so they free nothing for this run's creates.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DesiredStack, ResourceAction, StackPlan};

/// MediaLive's quotas page: the documented defaults and what each quota
/// counts (https://docs.aws.amazon.com/medialive/latest/ug/limits.html).
pub const QUOTAS_PAGE: &str = "https://docs.aws.amazon.com/medialive/latest/ug/limits.html";

/// Where to ask for more: AWS's "requesting a quota increase" guide
/// (https://docs.aws.amazon.com/servicequotas/latest/userguide/request-quota-increase.html).
pub const INCREASE_GUIDE: &str =
    "https://docs.aws.amazon.com/servicequotas/latest/userguide/request-quota-increase.html";

/// MediaLive input types that MediaLive counts as push inputs ("Inputs of
/// type push (not including VPC push inputs)", quotas page above). RTP,
/// RTMP push and SRT listener inputs are the push inputs that take a
/// source from the public internet
/// (https://docs.aws.amazon.com/medialive/latest/ug/purpose-input-security-groups.html);
/// UDP push is the API's older name of a push input type. UNVERIFIED:
/// whether MEDIACONNECT inputs count against this quota; they are not
/// counted here.
pub const PUSH_INPUT_TYPES: [&str; 4] = ["RTP_PUSH", "RTMP_PUSH", "SRT_LISTENER", "UDP_PUSH"];

/// One of the quotas the preflight checks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum QuotaKind {
    Channels,
    PushInputs,
    InputSecurityGroups,
}

impl QuotaKind {
    pub const ALL: [QuotaKind; 3] = [
        QuotaKind::Channels,
        QuotaKind::PushInputs,
        QuotaKind::InputSecurityGroups,
    ];

    /// The quota's name on MediaLive's quotas page.
    pub fn documented_name(self) -> &'static str {
        match self {
            QuotaKind::Channels => "Channels",
            QuotaKind::PushInputs => "Inputs of type push (not including VPC push inputs)",
            QuotaKind::InputSecurityGroups => "Input security groups",
        }
    }

    /// The default on MediaLive's quotas page (per account and Region).
    pub fn documented_default(self) -> u64 {
        match self {
            QuotaKind::Channels | QuotaKind::PushInputs | QuotaKind::InputSecurityGroups => 5,
        }
    }

    /// Quota codes seen for these quotas in public infrastructure code
    /// (Terraform `aws_servicequotas_service_quota` resources), not in an
    /// AWS document: UNVERIFIED. A Service Quotas entry matches by code or
    /// by name ([`QuotaKind::matches_name`]).
    pub fn known_codes(self) -> &'static [&'static str] {
        match self {
            QuotaKind::Channels => &["L-D1AFAF75"],
            QuotaKind::PushInputs => &["L-9E233AF7"],
            QuotaKind::InputSecurityGroups => &[],
        }
    }

    /// Whether a Service Quotas `QuotaName` is this quota. UNVERIFIED: the
    /// names Service Quotas uses for MediaLive; these are the quotas page's
    /// names and their short forms, compared without case.
    pub fn matches_name(self, name: &str) -> bool {
        let n = name.trim().to_ascii_lowercase();
        let names: &[&str] = match self {
            QuotaKind::Channels => &["channels", "channels per region", "maximum channels"],
            QuotaKind::PushInputs => &[
                "push inputs",
                "inputs of type push",
                "inputs of type push (not including vpc push inputs)",
                "maximum push inputs",
            ],
            QuotaKind::InputSecurityGroups => {
                &["input security groups", "maximum input security groups"]
            }
        };
        names.contains(&n.as_str())
    }

    /// What is counted, in words.
    pub fn counted(self) -> &'static str {
        match self {
            QuotaKind::Channels => "MediaLive channels",
            QuotaKind::PushInputs => {
                "MediaLive push inputs (RTP_PUSH, RTMP_PUSH, SRT_LISTENER, UDP_PUSH; not VPC)"
            }
            QuotaKind::InputSecurityGroups => "MediaLive input security groups",
        }
    }
}

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaKind::Channels => "channels",
            QuotaKind::PushInputs => "push inputs",
            QuotaKind::InputSecurityGroups => "input security groups",
        })
    }
}

/// Where a quota value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QuotaSource {
    /// Service Quotas, the value applied to this account.
    ServiceQuotasApplied,
    /// Service Quotas, AWS's default for the Region.
    ServiceQuotasDefault,
    /// Service Quotas did not answer for it: MediaLive's documented default.
    DocumentedDefault,
}

impl fmt::Display for QuotaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaSource::ServiceQuotasApplied => {
                f.write_str("Service Quotas (applied to the account)")
            }
            QuotaSource::ServiceQuotasDefault => f.write_str("Service Quotas (AWS default)"),
            QuotaSource::DocumentedDefault => write!(f, "documented default ({QUOTAS_PAGE})"),
        }
    }
}

/// One quota's value, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaValue {
    pub kind: QuotaKind,
    pub value: u64,
    pub source: QuotaSource,
    /// Service Quotas' name and code, when it answered.
    pub name: String,
    pub code: Option<String>,
}

impl QuotaValue {
    /// MediaLive's documented default for `kind`.
    pub fn documented(kind: QuotaKind) -> Self {
        Self {
            kind,
            value: kind.documented_default(),
            source: QuotaSource::DocumentedDefault,
            name: kind.documented_name().to_owned(),
            code: None,
        }
    }
}

/// How many of each the account has now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub channels: u64,
    pub push_inputs: u64,
    pub input_security_groups: u64,
}

/// How many of each a deploy adds at its peak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Additions {
    pub channels: u64,
    pub push_inputs: u64,
    pub input_security_groups: u64,
}

impl Usage {
    fn get(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::Channels => self.channels,
            QuotaKind::PushInputs => self.push_inputs,
            QuotaKind::InputSecurityGroups => self.input_security_groups,
        }
    }
}

impl Additions {
    fn get(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::Channels => self.channels,
            QuotaKind::PushInputs => self.push_inputs,
            QuotaKind::InputSecurityGroups => self.input_security_groups,
        }
    }
}

/// The verdict for one quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaCheck {
    pub kind: QuotaKind,
    pub in_use: u64,
    pub to_add: u64,
    pub quota: u64,
    pub source: QuotaSource,
    /// The quota to raise, by name (and code when Service Quotas gave one).
    pub quota_name: String,
    pub quota_code: Option<String>,
    /// True when `in_use + to_add` is more than the quota.
    pub exceeded: bool,
}

impl QuotaCheck {
    /// Where to raise it: the Service Quotas console page of MediaLive's
    /// quotas in the Region.
    pub fn console_url(&self, region: &str) -> String {
        let base = format!(
            "https://{region}.console.aws.amazon.com/servicequotas/home/services/medialive/quotas"
        );
        match &self.quota_code {
            Some(code) => format!("{base}/{code}"),
            None => base,
        }
    }

    /// One line: the numbers, the verdict, the quota's source.
    pub fn line(&self) -> String {
        format!(
            "{}: {} in use + {} to add = {} of {} ({}){}",
            self.kind,
            self.in_use,
            self.to_add,
            self.in_use.saturating_add(self.to_add),
            self.quota,
            self.source,
            if self.exceeded {
                ": EXCEEDS the quota"
            } else {
                ""
            }
        )
    }

    /// What to do about an exceeded quota.
    pub fn hint(&self, region: &str) -> String {
        let code = self
            .quota_code
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        format!(
            "raise the MediaLive quota \"{}\"{code} in {region} to at least {} ({}; how: {INCREASE_GUIDE}), or remove {} that are not needed",
            self.quota_name,
            self.in_use.saturating_add(self.to_add),
            self.console_url(region),
            self.kind.counted()
        )
    }
}

/// The quota part of a plan: the account's usage, the quotas, and the
/// verdict for what the plan adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaReport {
    pub region: String,
    pub usage: Usage,
    pub quotas: Vec<QuotaValue>,
    pub checks: Vec<QuotaCheck>,
    /// Why a source is what it is (Service Quotas unreachable, ...).
    pub notes: Vec<String>,
    /// Set when the account's usage could not be read: no verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl QuotaReport {
    /// The report for `additions`, from what was read of the account.
    pub fn new(
        region: &str,
        usage: Usage,
        quotas: Vec<QuotaValue>,
        additions: Additions,
        notes: Vec<String>,
    ) -> Self {
        let checks = evaluate(usage, additions, &quotas);
        Self {
            region: region.to_owned(),
            usage,
            quotas,
            checks,
            notes,
            error: None,
        }
    }

    /// No verdict: the account's usage could not be read.
    pub fn unavailable(region: &str, error: String) -> Self {
        Self {
            region: region.to_owned(),
            usage: Usage::default(),
            quotas: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
            error: Some(error),
        }
    }

    /// The same account and quotas, for other additions (a deploy of one
    /// stage adds only that stage's resources).
    pub fn with_additions(&self, additions: Additions) -> Self {
        if self.error.is_some() {
            return self.clone();
        }
        Self::new(
            &self.region,
            self.usage,
            self.quotas.clone(),
            additions,
            self.notes.clone(),
        )
    }

    /// The checks that fail.
    pub fn exceeded(&self) -> Vec<&QuotaCheck> {
        self.checks.iter().filter(|c| c.exceeded).collect()
    }

    /// The refusal message when a quota would be exceeded.
    pub fn refusal(&self) -> Option<String> {
        let exceeded = self.exceeded();
        if exceeded.is_empty() {
            return None;
        }
        let lines: Vec<String> = exceeded
            .iter()
            .map(|c| {
                format!(
                    "MediaLive quota \"{}\" would be exceeded in {}: {} (hint: {})",
                    c.quota_name,
                    self.region,
                    c.line(),
                    c.hint(&self.region)
                )
            })
            .collect();
        Some(format!(
            "deploy refused, nothing was changed:\n{}",
            lines.join("\n")
        ))
    }
}

/// The verdict for each quota: `in_use + to_add` against the quota's
/// value; a quota missing from `quotas` uses the documented default.
pub fn evaluate(usage: Usage, additions: Additions, quotas: &[QuotaValue]) -> Vec<QuotaCheck> {
    QuotaKind::ALL
        .iter()
        .map(|&kind| {
            let q = quotas
                .iter()
                .find(|q| q.kind == kind)
                .cloned()
                .unwrap_or_else(|| QuotaValue::documented(kind));
            let in_use = usage.get(kind);
            let to_add = additions.get(kind);
            QuotaCheck {
                kind,
                in_use,
                to_add,
                quota: q.value,
                source: q.source,
                quota_name: q.name,
                quota_code: q.code,
                // Adding nothing never fails the check, even over a quota
                // someone lowered below today's usage.
                exceeded: to_add > 0 && in_use.saturating_add(to_add) > q.value,
            }
        })
        .collect()
}

/// Whether a MediaLive input type is counted as a push input.
pub fn is_push_input(input_type: &str) -> bool {
    PUSH_INPUT_TYPES.contains(&input_type)
}

/// What the changing stacks add at the peak of the run (see the module
/// docs): added and replaced channels, push inputs and input security
/// groups, read from the resource changes and, for an input's type, the
/// desired template.
pub fn additions(stacks: &[&StackPlan], desired: &[DesiredStack]) -> Additions {
    let mut out = Additions::default();
    for s in stacks {
        let template: Option<Value> = desired
            .iter()
            .find(|d| d.name == s.name)
            .and_then(|d| serde_json::from_str(&d.template).ok());
        for r in &s.resources {
            if !matches!(r.action, ResourceAction::Add | ResourceAction::Replace) {
                continue;
            }
            match r.resource_type.as_str() {
                "AWS::MediaLive::Channel" => out.channels += 1,
                "AWS::MediaLive::InputSecurityGroup" => out.input_security_groups += 1,
                "AWS::MediaLive::Input" => {
                    let props = template.as_ref().and_then(|t| {
                        t.pointer(&format!("/Resources/{}/Properties", r.logical_id))
                    });
                    let push = props
                        .and_then(|p| p.get("Type"))
                        .and_then(Value::as_str)
                        .is_some_and(is_push_input);
                    let vpc = props.and_then(|p| p.get("Vpc")).is_some();
                    if push && !vpc {
                        out.push_inputs += 1;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

impl fmt::Display for QuotaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.error {
            writeln!(f, "  not checked: {e}")?;
        }
        for c in &self.checks {
            writeln!(f, "  {}", c.line())?;
            if c.exceeded {
                writeln!(f, "      {}", c.hint(&self.region))?;
            }
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

impl QuotaReport {
    /// A markdown table (for `plan --output markdown`).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.error {
            out.push_str(&format!("Not checked: {e}\n"));
            return out;
        }
        out.push_str(
            "| quota | in use | to add | quota value | source | |\n|---|---|---|---|---|---|\n",
        );
        for c in &self.checks {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                c.quota_name.replace('|', "\\|"),
                c.in_use,
                c.to_add,
                c.quota,
                c.source,
                if c.exceeded {
                    format!("**exceeded**: {}", c.hint(&self.region))
                } else {
                    "ok".to_owned()
                }
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("\n_Note: {}_\n", n.replace('|', "\\|")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ResourceChange;

    fn q(kind: QuotaKind, value: u64, source: QuotaSource) -> QuotaValue {
        QuotaValue {
            kind,
            value,
            source,
            name: kind.documented_name().to_owned(),
            code: None,
        }
    }

    #[test]
    fn in_use_plus_to_add_is_compared_with_the_quota() {
        // (in use, to add, quota, exceeded)
        let table = [
            (0, 5, 5, false),
            (1, 5, 5, true),
            (4, 1, 5, false),
            (5, 1, 5, true),
            (5, 0, 5, false),
            (7, 0, 5, false),
            (7, 1, 5, true),
            (0, 0, 0, false),
            (0, 1, 0, true),
            (10, 5, 20, false),
            (u64::MAX, 1, 5, true),
        ];
        for (in_use, to_add, quota, exceeded) in table {
            let checks = evaluate(
                Usage {
                    channels: in_use,
                    ..Usage::default()
                },
                Additions {
                    channels: to_add,
                    ..Additions::default()
                },
                &[q(
                    QuotaKind::Channels,
                    quota,
                    QuotaSource::ServiceQuotasApplied,
                )],
            );
            assert_eq!(
                checks[0].exceeded, exceeded,
                "{in_use} + {to_add} against {quota}"
            );
        }
    }

    #[test]
    fn a_missing_quota_is_the_documented_default_and_says_so() {
        let checks = evaluate(Usage::default(), Additions::default(), &[]);
        assert_eq!(checks.len(), 3);
        for c in checks {
            assert_eq!(c.quota, 5);
            assert_eq!(c.source, QuotaSource::DocumentedDefault);
            assert!(c.line().contains("documented default"), "{}", c.line());
            assert!(c.line().contains(QUOTAS_PAGE));
        }
    }

    #[test]
    fn the_refusal_names_the_numbers_the_quota_and_where_to_raise_it() {
        let report = QuotaReport::new(
            "us-east-1",
            Usage {
                channels: 1,
                push_inputs: 0,
                input_security_groups: 0,
            },
            vec![QuotaValue {
                kind: QuotaKind::Channels,
                value: 5,
                source: QuotaSource::ServiceQuotasDefault,
                name: "Channels".into(),
                code: Some("L-TEST".into()),
            }],
            Additions {
                channels: 5,
                push_inputs: 4,
                input_security_groups: 1,
            },
            Vec::new(),
        );
        let text = report.refusal().expect("a quota is exceeded");
        assert!(text.contains("1 in use + 5 to add = 6 of 5"), "{text}");
        assert!(text.contains("\"Channels\" (L-TEST)"), "{text}");
        assert!(text.contains("Service Quotas (AWS default)"), "{text}");
        assert!(text.contains("servicequotas/home/services/medialive/quotas/L-TEST"));
        assert!(text.contains(INCREASE_GUIDE));
        assert!(!text.contains("push inputs:"), "{text}");
        assert!(report
            .with_additions(Additions::default())
            .refusal()
            .is_none());
    }

    #[test]
    fn quota_names_match_without_case_and_only_their_own_quota() {
        assert!(QuotaKind::Channels.matches_name("Channels"));
        assert!(!QuotaKind::Channels.matches_name("Channels with HEVC outputs"));
        assert!(QuotaKind::PushInputs.matches_name("Push inputs"));
        assert!(!QuotaKind::PushInputs.matches_name("Inputs of type VPC push"));
        assert!(QuotaKind::InputSecurityGroups.matches_name("input security groups"));
    }

    fn change(id: &str, ty: &str, action: ResourceAction) -> ResourceChange {
        ResourceChange {
            logical_id: id.into(),
            resource_type: ty.into(),
            action,
            properties: Vec::new(),
            property_changes: Vec::new(),
            replacement_reasons: Vec::new(),
        }
    }

    fn stack(name: &str, resources: Vec<ResourceChange>) -> StackPlan {
        StackPlan {
            resources,
            ..crate::plan::plan_stack(&desired(name, "RTP_PUSH"), None)
        }
    }

    fn desired(name: &str, input_type: &str) -> DesiredStack {
        DesiredStack {
            name: name.into(),
            stage: "s".into(),
            template: format!(
                r#"{{"Resources":{{"Input":{{"Type":"AWS::MediaLive::Input","Properties":{{"Type":"{input_type}"}}}}}}}}"#
            ),
            parameters: Default::default(),
        }
    }

    #[test]
    fn adds_and_replacements_count_modifications_and_removals_do_not() {
        let rtp = stack(
            "a",
            vec![
                change("Input", "AWS::MediaLive::Input", ResourceAction::Add),
                change("Channel", "AWS::MediaLive::Channel", ResourceAction::Add),
            ],
        );
        let mediaconnect = stack(
            "b",
            vec![
                change("Input", "AWS::MediaLive::Input", ResourceAction::Add),
                change("Channel", "AWS::MediaLive::Channel", ResourceAction::Add),
            ],
        );
        let replaced = stack(
            "c",
            vec![
                change("Input", "AWS::MediaLive::Input", ResourceAction::Replace),
                change("Channel", "AWS::MediaLive::Channel", ResourceAction::Modify),
            ],
        );
        let removed = stack(
            "d",
            vec![change(
                "Channel",
                "AWS::MediaLive::Channel",
                ResourceAction::Remove,
            )],
        );
        let flow = stack(
            "flow",
            vec![change(
                "InputSecurityGroup",
                "AWS::MediaLive::InputSecurityGroup",
                ResourceAction::Add,
            )],
        );
        let d = [
            desired("a", "RTP_PUSH"),
            desired("b", "MEDIACONNECT"),
            desired("c", "RTMP_PUSH"),
            desired("d", "RTP_PUSH"),
        ];
        let got = additions(&[&rtp, &mediaconnect, &replaced, &removed, &flow], &d);
        assert_eq!(
            got,
            Additions {
                channels: 2,
                push_inputs: 2,
                input_security_groups: 1,
            }
        );
    }
}
