//! `lunora outputs [--format env|json]`: the ids the existing backend (a
//! Lambda) needs, read from the deployed stacks' outputs only: the flow
//! ARN, the ingest endpoints, and per destination its channel id, input id
//! and flow output ARN. Data on stdout, nothing else: `env` gives sorted
//! `LUNORA_*=value` lines for an environment file, `json` one object.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::connect_operating as connect;
use crate::aws::AwsSettings;
use crate::cli::OutputsFormat;
use crate::ops::stacks::read_stacks;
use crate::output::{Console, Report};

/// One destination's ids.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationIds {
    pub channel_id: Option<String>,
    pub input_id: Option<String>,
    /// The rtp-fec flow output (none in mediaconnect mode).
    pub output_arn: Option<String>,
}

/// What `outputs` prints.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputsReport {
    pub flow_arn: String,
    /// `ip:port` of the primary source.
    pub ingest_endpoint: Option<String>,
    /// `ip:port` of the backup source, when there is one.
    pub backup_ingest_endpoint: Option<String>,
    /// Deployed destinations of the config, by id.
    pub destinations: BTreeMap<String, DestinationIds>,
    #[serde(skip)]
    pub format: Format,
}

/// How [`OutputsReport`] prints as text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Env,
    Json,
}

impl OutputsReport {
    /// `LUNORA_*` name -> value, sorted by name.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("LUNORA_FLOW_ARN".to_owned(), self.flow_arn.clone());
        if let Some(v) = &self.ingest_endpoint {
            env.insert("LUNORA_INGEST_ENDPOINT".to_owned(), v.clone());
        }
        if let Some(v) = &self.backup_ingest_endpoint {
            env.insert("LUNORA_BACKUP_INGEST_ENDPOINT".to_owned(), v.clone());
        }
        for (id, d) in &self.destinations {
            let key = id.to_uppercase().replace('-', "_");
            for (suffix, value) in [
                ("CHANNEL_ID", &d.channel_id),
                ("INPUT_ID", &d.input_id),
                ("OUTPUT_ARN", &d.output_arn),
            ] {
                if let Some(v) = value {
                    env.insert(format!("LUNORA_{key}_{suffix}"), v.clone());
                }
            }
        }
        env
    }
}

impl fmt::Display for OutputsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            Format::Env => {
                for (k, v) in self.env() {
                    writeln!(f, "{k}={v}")?;
                }
                Ok(())
            }
            Format::Json => {
                let text = crate::output::json_document(self, false).map_err(|_| fmt::Error)?;
                writeln!(f, "{text}")
            }
        }
    }
}

impl Report for OutputsReport {
    fn kind(&self) -> &'static str {
        "outputs"
    }

    fn markdown(&self) -> String {
        self.to_string()
    }
}

pub async fn run(
    config: &Path,
    format: OutputsFormat,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<OutputsReport> {
    let (deployment, aws) = connect(config, settings, console, "outputs").await?;
    let stacks = read_stacks(&aws, &deployment).await?;
    let flow_arn = stacks.flow_arn()?.to_owned();
    let flow = stacks.flow.clone().unwrap_or_default();
    let endpoint = |ip: &str, port: &str| Some(format!("{}:{}", flow.get(ip)?, flow.get(port)?));
    let destinations = deployment
        .destinations
        .iter()
        .filter_map(|d| {
            let id = &d.destination.id;
            let o = &stacks.dests.get(id)?.outputs;
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
    Ok(OutputsReport {
        ingest_endpoint: endpoint("IngestIp", "IngestPort"),
        backup_ingest_endpoint: endpoint("BackupIngestIp", "BackupIngestPort"),
        flow_arn,
        destinations,
        format: match format {
            OutputsFormat::Env => Format::Env,
            OutputsFormat::Json => Format::Json,
        },
    })
}
