//! The deployed stacks of a deployment and their outputs: where every
//! operation (status, start, stop, failover, outputs) finds the resources
//! it acts on. Resources are found from the stacks' outputs, never by
//! name.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::cfn;
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
#[derive(Debug, Clone, Serialize)]
pub struct DestinationIds {
    pub channel_id: Option<String>,
    pub input_id: Option<String>,
    /// The rtp-fec flow output (none in mediaconnect mode).
    pub output_arn: Option<String>,
}

/// The ids other tools need, from the stacks' outputs only: what `lunora
/// outputs` prints and a deploy shows at its end.
#[derive(Debug, Clone, Serialize)]
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

async fn outputs_of(aws: &Aws, stack: &str) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    Ok(cfn::describe(aws, stack)
        .await?
        .filter(|i| i.is_deployed() && i.status != "ROLLBACK_COMPLETE")
        .map(|i| i.outputs))
}

enum Read {
    List(Vec<String>),
    Stack(String, Option<BTreeMap<String, String>>),
}

/// Reads the flow stack, every destination stack of the config and every
/// `{prefix}-dest-*` stack, concurrently.
pub async fn read_stacks(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Stacks> {
    let flow_stack = deployment.stack_name(&StackId::Flow);
    let dest_prefix = format!("{}-dest-", deployment.prefix());
    let mut set: JoinSet<anyhow::Result<Read>> = JoinSet::new();
    {
        let aws = aws.clone();
        let prefix = dest_prefix.clone();
        set.spawn(async move { Ok(Read::List(cfn::stacks_with_prefix(&aws, &prefix).await?)) });
    }
    let mut wanted: Vec<String> = vec![flow_stack.clone()];
    wanted.extend(
        deployment
            .destinations
            .iter()
            .map(|d| deployment.stack_name(&StackId::Destination(d.destination.id.clone()))),
    );
    for name in wanted.clone() {
        let aws = aws.clone();
        set.spawn(async move {
            let outputs = outputs_of(&aws, &name).await?;
            Ok(Read::Stack(name, outputs))
        });
    }
    let mut listed = Vec::new();
    let mut read: BTreeMap<String, Option<BTreeMap<String, String>>> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        match joined?? {
            Read::List(names) => listed = names,
            Read::Stack(name, outputs) => {
                read.insert(name, outputs);
            }
        }
    }
    // Destination stacks no longer in the config.
    for name in listed {
        if !read.contains_key(&name) {
            let aws = aws.clone();
            set.spawn(async move {
                let outputs = outputs_of(&aws, &name).await?;
                Ok(Read::Stack(name, outputs))
            });
        }
    }
    while let Some(joined) = set.join_next().await {
        if let Read::Stack(name, outputs) = joined?? {
            read.insert(name, outputs);
        }
    }
    let flow = read.remove(&flow_stack).flatten();
    let dests = read
        .into_iter()
        .filter_map(|(stack, outputs)| {
            let id = stack.strip_prefix(&dest_prefix)?.to_owned();
            Some((
                id,
                DeployedDest {
                    stack,
                    outputs: outputs?,
                },
            ))
        })
        .collect();
    Ok(Stacks {
        flow_stack,
        flow,
        dests,
    })
}
