//! Reads what the MediaLive quota preflight compares: the account's
//! channels, push inputs and input security groups in the Region (MediaLive
//! List* calls, every page), and the Region's quotas from Service Quotas.
//! The comparison itself is pure and lives in [`crate::plan::quota`].
//!
//! Permissions: `medialive:ListChannels`, `medialive:ListInputs`,
//! `medialive:ListInputSecurityGroups`
//! (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselementalmedialive.html),
//! `servicequotas:ListServiceQuotas` and
//! `servicequotas:ListAWSDefaultServiceQuotas`
//! (https://docs.aws.amazon.com/service-authorization/latest/reference/list_servicequotas.html).
//! Without the Service Quotas ones the check falls back to MediaLive's
//! documented defaults and says so.

use anyhow::Context;

use super::{sdk_error, Aws};
use crate::plan::quota::{
    additions, is_push_input, QuotaKind, QuotaReport, QuotaSource, QuotaValue, Usage,
};
use crate::plan::{DesiredStack, StackPlan};

/// Service Quotas' service code for MediaLive
/// (https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html
/// takes a service code; `medialive` is the code ListServices gives for
/// AWS Elemental MediaLive. UNVERIFIED against a live account).
pub const SERVICE_CODE: &str = "medialive";

/// Counts the account's MediaLive channels, push inputs (not VPC) and
/// input security groups in the client's Region.
pub async fn usage(aws: &Aws) -> anyhow::Result<Usage> {
    // ListChannels, ListInputs, ListInputSecurityGroups are paginated with
    // NextToken (https://docs.aws.amazon.com/medialive/latest/apireference/channels.html,
    // .../inputs.html, .../inputsecuritygroups.html).
    let mut usage = Usage::default();
    let mut channels = aws.medialive.list_channels().into_paginator().send();
    while let Some(page) = channels.next().await {
        let page = page.map_err(|e| sdk_error("medialive:ListChannels", e))?;
        usage.channels += page.channels().len() as u64;
    }
    let mut inputs = aws.medialive.list_inputs().into_paginator().send();
    while let Some(page) = inputs.next().await {
        let page = page.map_err(|e| sdk_error("medialive:ListInputs", e))?;
        for input in page.inputs() {
            let push = input.r#type().is_some_and(|t| is_push_input(t.as_str()));
            // A VPC push input has destinations inside the VPC; those count
            // against their own quota (the quotas page).
            let vpc = input.destinations().iter().any(|d| d.vpc().is_some());
            if push && !vpc {
                usage.push_inputs += 1;
            }
        }
    }
    let mut groups = aws
        .medialive
        .list_input_security_groups()
        .into_paginator()
        .send();
    while let Some(page) = groups.next().await {
        let page = page.map_err(|e| sdk_error("medialive:ListInputSecurityGroups", e))?;
        usage.input_security_groups += page.input_security_groups().len() as u64;
    }
    Ok(usage)
}

/// One entry of a Service Quotas listing.
#[derive(Debug, Clone)]
struct Listed {
    name: String,
    code: String,
    value: Option<f64>,
}

/// Every quota of MediaLive that Service Quotas lists: the values applied
/// to the account (ListServiceQuotas) or AWS's defaults
/// (ListAWSDefaultServiceQuotas), every page.
async fn listed(aws: &Aws, applied: bool) -> anyhow::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let to_listed = |q: &aws_sdk_servicequotas::types::ServiceQuota| Listed {
        name: q.quota_name().unwrap_or_default().to_owned(),
        code: q.quota_code().unwrap_or_default().to_owned(),
        value: q.value(),
    };
    if applied {
        let mut pages = aws
            .servicequotas
            .list_service_quotas()
            .service_code(SERVICE_CODE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("servicequotas:ListServiceQuotas", e))?;
            out.extend(page.quotas().iter().map(to_listed));
        }
    } else {
        let mut pages = aws
            .servicequotas
            .list_aws_default_service_quotas()
            .service_code(SERVICE_CODE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error("servicequotas:ListAWSDefaultServiceQuotas", e))?;
            out.extend(page.quotas().iter().map(to_listed));
        }
    }
    Ok(out)
}

/// The entry for `kind`: by one of its known codes first, then by name.
fn find(list: &[Listed], kind: QuotaKind) -> Option<&Listed> {
    list.iter()
        .find(|q| kind.known_codes().contains(&q.code.as_str()))
        .or_else(|| list.iter().find(|q| kind.matches_name(&q.name)))
        .filter(|q| q.value.is_some_and(|v| v.is_finite() && v >= 0.0))
}

/// The Region's quotas: the applied value where Service Quotas has one,
/// else AWS's default from Service Quotas, else MediaLive's documented
/// default. The notes say why a documented default was used.
pub async fn quotas(aws: &Aws) -> (Vec<QuotaValue>, Vec<String>) {
    let mut notes = Vec::new();
    let applied = match listed(aws, true).await {
        Ok(l) => l,
        Err(e) => {
            notes.push(format!("{e:#}"));
            Vec::new()
        }
    };
    let defaults = match listed(aws, false).await {
        Ok(l) => l,
        Err(e) => {
            notes.push(format!("{e:#}"));
            Vec::new()
        }
    };
    let mut out = Vec::new();
    let mut documented = Vec::new();
    for kind in QuotaKind::ALL {
        let found = find(&applied, kind)
            .map(|q| (q, QuotaSource::ServiceQuotasApplied))
            .or_else(|| find(&defaults, kind).map(|q| (q, QuotaSource::ServiceQuotasDefault)));
        match found {
            Some((q, source)) => out.push(QuotaValue {
                kind,
                // Quotas are whole counts; Service Quotas sends a double.
                value: q.value.unwrap_or_default().floor() as u64,
                source,
                name: q.name.clone(),
                code: Some(q.code.clone()).filter(|c| !c.is_empty()),
            }),
            None => {
                documented.push(kind.to_string());
                out.push(QuotaValue::documented(kind));
            }
        }
    }
    if !documented.is_empty() {
        notes.push(format!(
            "Service Quotas gave no value for {}: using MediaLive's documented defaults",
            documented.join(", ")
        ));
    }
    (out, notes)
}

/// The quota check of a plan: the account's usage and the Region's quotas
/// against what the changing `stacks` add. A usage that cannot be read
/// gives a report with no verdict that says why.
pub async fn check(
    aws: &Aws,
    region: &str,
    stacks: &[&StackPlan],
    desired: &[DesiredStack],
) -> QuotaReport {
    let usage = match usage(aws)
        .await
        .context("cannot count the account's MediaLive channels, inputs and input security groups")
    {
        Ok(u) => u,
        Err(e) => return QuotaReport::unavailable(region, format!("{e:#}")),
    };
    let (quotas, notes) = quotas(aws).await;
    QuotaReport::new(region, usage, quotas, additions(stacks, desired), notes)
}
