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

pub use crate::ops::stacks::DestinationIds;

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
    let ids = read_stacks(&aws, &deployment).await?.ids(&deployment)?;
    Ok(OutputsReport {
        flow_arn: ids.flow_arn,
        ingest_endpoint: ids.ingest_endpoint,
        backup_ingest_endpoint: ids.backup_ingest_endpoint,
        destinations: ids.destinations,
        format: match format {
            OutputsFormat::Env => Format::Env,
            OutputsFormat::Json => Format::Json,
        },
    })
}
