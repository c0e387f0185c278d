//! The deployed stacks of a deployment and their outputs: where every
//! operation (status, start, stop, failover, outputs) finds the resources
//! it acts on, and what plan, deploy and rollback know of each stack
//! before they change it. Resources are found from the stacks' outputs,
//! never by name. All of it comes from one DescribeStacks listing per
//! command ([`LiveStacks`]): CloudFormation throttles DescribeStacks, and
//! every round trip costs tens of milliseconds. Where IAM refuses the
//! listing, the stacks are read by name instead, with the same result.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::aws::cfn::{self, StackInfo};
use crate::aws::Aws;
use crate::config::{Deployment, StackId};

/// A deployed destination stack.
#[derive(Debug, Clone)]
pub struct DeployedDest {
    pub stack: String,
    pub outputs: BTreeMap<String, String>,
}

/// The deployed stacks of a deployment and their outputs.
#[derive(Debug, Clone)]
pub struct Stacks {
    pub flow_stack: String,
    /// The flow stack's outputs, when it is deployed.
    pub flow: Option<BTreeMap<String, String>>,
    /// Deployed destination stacks by destination id, in the config or not.
    pub dests: BTreeMap<String, DeployedDest>,
}

impl Stacks {
    /// The flow's ARN, or an error saying the flow stack is not deployed.
    pub fn flow_arn(&self) -> anyhow::Result<&str> {
        self.flow
            .as_ref()
            .and_then(|o| o.get("FlowArn"))
            .map(String::as_str)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the flow stack `{}` is not deployed (hint: `lunora deploy`)",
                    self.flow_stack
                )
            })
    }
}

/// One destination's ids, as the existing backend needs them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationIds {
    pub channel_id: Option<String>,
    pub input_id: Option<String>,
    /// The rtp-fec flow output (none in mediaconnect mode).
    pub output_arn: Option<String>,
}

/// The ids other tools need, from the stacks' outputs only: what `lunora
/// outputs` prints and a deploy shows at its end.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployedIds {
    pub flow_arn: String,
    /// `ip:port` of the primary source.
    pub ingest_endpoint: Option<String>,
    /// `ip:port` of the backup source, when there is one.
    pub backup_ingest_endpoint: Option<String>,
    /// Deployed destinations of the config, by id.
    pub destinations: BTreeMap<String, DestinationIds>,
}

impl Stacks {
    /// The ids of the deployed flow and of the config's deployed
    /// destinations; an error when the flow stack is not deployed.
    pub fn ids(&self, deployment: &Deployment) -> anyhow::Result<DeployedIds> {
        let flow_arn = self.flow_arn()?.to_owned();
        let flow = self.flow.clone().unwrap_or_default();
        let endpoint =
            |ip: &str, port: &str| Some(format!("{}:{}", flow.get(ip)?, flow.get(port)?));
        let destinations = deployment
            .destinations
            .iter()
            .filter_map(|d| {
                let id = &d.destination.id;
                let o = &self.dests.get(id)?.outputs;
                Some((
                    id.clone(),
                    DestinationIds {
                        channel_id: o.get("ChannelId").cloned(),
                        input_id: o.get("InputId").cloned(),
                        output_arn: o.get("OutputArn").cloned(),
                    },
                ))
            })
            .collect();
        Ok(DeployedIds {
            ingest_endpoint: endpoint("IngestIp", "IngestPort"),
            backup_ingest_endpoint: endpoint("BackupIngestIp", "BackupIngestPort"),
            flow_arn,
            destinations,
        })
    }
}

/// The live stacks of one deployment (`{project}-{environment}-*`), as
/// one DescribeStacks listing read them: what plan, deploy and rollback
/// know of each stack's state, parameters and outputs, read once per
/// command instead of once per stack and again at every step.
#[derive(Debug, Clone, Default)]
pub struct LiveStacks {
    by_name: BTreeMap<String, StackInfo>,
}

impl LiveStacks {
    /// Lists the account's stacks (one request per page of the listing,
    /// [`cfn::describe_all`]) and keeps the deployment's. When IAM refuses
    /// the listing (a policy that allows DescribeStacks only on named
    /// stacks), reads the stacks by name instead, as lunora did before the
    /// listing: see [`Self::read_by_name`].
    pub async fn read(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Self> {
        let prefix = format!("{}-", deployment.prefix());
        let listed = if aws.stack_listing_refused() {
            None
        } else {
            cfn::describe_all(aws).await?
        };
        let stacks = match listed {
            Some(stacks) => stacks,
            None => {
                if aws.refuse_stack_listing() {
                    aws.notes.note(
                        "listing the stacks was refused (cloudformation:DescribeStacks without a stack name is denied): reading each stack by name instead, one request per stack plus ListStacks",
                    );
                }
                Self::read_by_name(aws, deployment).await?
            }
        };
        Ok(Self {
            by_name: stacks
                .into_iter()
                .filter(|s| s.name.starts_with(&prefix))
                .map(|s| (s.name.clone(), s))
                .collect(),
        })
    }

    /// The deployment's stacks without the listing: DescribeStacks for
    /// every stack of the config, concurrently with one ListStacks that
    /// finds the others (a removed destination's stack), then
    /// DescribeStacks for those. Needs `cloudformation:DescribeStacks` on
    /// the deployment's stacks and `cloudformation:ListStacks`
    /// (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html>).
    /// A refused ListStacks is an error: without it, a plan could not show
    /// (nor a deploy delete) the stack of a destination removed from the
    /// config, whose channel may still be running.
    async fn read_by_name(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Vec<StackInfo>> {
        let prefix = format!("{}-", deployment.prefix());
        let wanted: BTreeSet<String> = deployment
            .stacks()
            .map(|id| deployment.stack_name(id))
            .collect();
        let (names, stacks) = tokio::join!(
            cfn::stack_names(aws, &prefix),
            describe_each(aws, wanted.iter().cloned())
        );
        let names =
            names.context("cannot find the stacks of destinations removed from the config")?;
        let mut stacks = stacks?;
        stacks.extend(describe_each(aws, names.into_iter().filter(|n| !wanted.contains(n))).await?);
        stacks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(stacks)
    }

    /// A stack by name, if it exists (in any status but deleted).
    pub fn get(&self, name: &str) -> Option<&StackInfo> {
        self.by_name.get(name)
    }

    /// The stacks whose name starts with `prefix`, by name.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a StackInfo> {
        self.by_name
            .values()
            .filter(move |s| s.name.starts_with(prefix))
    }

    /// Every stack, by name.
    pub fn iter(&self) -> impl Iterator<Item = &StackInfo> {
        self.by_name.values()
    }

    /// Replaces what is known of a stack (read again after it changed).
    pub fn insert(&mut self, info: StackInfo) {
        self.by_name.insert(info.name.clone(), info);
    }

    /// Forgets a stack (deleted).
    pub fn remove(&mut self, name: &str) {
        self.by_name.remove(name);
    }
}

/// DescribeStacks for each of `names`, concurrently: the stacks that
/// exist (deleted ones are not found by name).
async fn describe_each(
    aws: &Aws,
    names: impl IntoIterator<Item = String>,
) -> anyhow::Result<Vec<StackInfo>> {
    let mut reads = JoinSet::new();
    for name in names {
        let aws = aws.clone();
        reads.spawn(async move { cfn::describe(&aws, &name).await });
    }
    let mut stacks = Vec::new();
    while let Some(joined) = reads.join_next().await {
        if let Some(info) = joined.context("a stack read task failed")?? {
            if info.status != "DELETE_COMPLETE" {
                stacks.push(info);
            }
        }
    }
    Ok(stacks)
}

/// The outputs of a stack that has something deployed.
fn outputs_of(info: &StackInfo) -> Option<BTreeMap<String, String>> {
    (info.is_deployed() && info.status != "ROLLBACK_COMPLETE").then(|| info.outputs.clone())
}

/// Reads the flow stack and every destination stack (`{prefix}-dest-*`,
/// in the config or not) with one DescribeStacks listing.
pub async fn read_stacks(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Stacks> {
    Ok(Stacks::from_live(
        &LiveStacks::read(aws, deployment).await?,
        deployment,
    ))
}

impl Stacks {
    /// The flow stack and every destination stack (`{prefix}-dest-*`, in
    /// the config or not) of a listing already read.
    pub fn from_live(live: &LiveStacks, deployment: &Deployment) -> Self {
        let flow_stack = deployment.stack_name(&StackId::Flow);
        let dest_prefix = format!("{}-dest-", deployment.prefix());
        let flow = live.get(&flow_stack).and_then(outputs_of);
        let dests = live
            .with_prefix(&dest_prefix)
            .filter_map(|info| {
                let id = info.name.strip_prefix(&dest_prefix)?.to_owned();
                Some((
                    id,
                    DeployedDest {
                        stack: info.name.clone(),
                        outputs: outputs_of(info)?,
                    },
                ))
            })
            .collect();
        Self {
            flow_stack,
            flow,
            dests,
        }
    }
}
