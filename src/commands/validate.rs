//! `lunora validate`: the config and the presets it uses, checked, with a
//! summary of what would be deployed. Runs in CI on every pull request.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::output::{Console, Report};
use crate::presets::rules::enum_name;

/// What `validate` found (`lunora.validate/v1`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateReport {
    pub config: PathBuf,
    pub valid: bool,
    pub project: String,
    pub environment: String,
    pub region: String,
    pub input_mode: String,
    pub destinations: Vec<DestinationSummary>,
    pub stages: Vec<StageSummary>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationSummary {
    pub id: String,
    pub kind: String,
    pub platform: String,
    pub preset: String,
    pub renditions: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSummary {
    pub name: String,
    pub stacks: Vec<String>,
}

pub fn run(config: &Path, console: &Console) -> anyhow::Result<ValidateReport> {
    let d = super::load(config, console)?;
    Ok(ValidateReport {
        config: config.to_path_buf(),
        valid: true,
        project: d.config.project.clone(),
        environment: d.config.environment.clone(),
        region: d.config.region.clone(),
        input_mode: d.config.input_mode.as_str().to_owned(),
        destinations: d
            .destinations
            .iter()
            .map(|r| DestinationSummary {
                id: r.destination.id.clone(),
                kind: enum_name(&r.destination.kind),
                platform: r.platform.id.clone(),
                preset: r.preset.id.clone(),
                renditions: r
                    .preset
                    .renditions
                    .iter()
                    .map(|v| {
                        format!(
                            "{}x{}@{} {} kbit/s",
                            v.width,
                            v.height,
                            v.framerate,
                            crate::presets::rules::peak_kbps(v)
                        )
                    })
                    .collect(),
            })
            .collect(),
        stages: d
            .stages
            .iter()
            .map(|s| StageSummary {
                name: s.name.clone(),
                stacks: s.stacks.iter().map(|id| d.stack_name(id)).collect(),
            })
            .collect(),
        warnings: d.warnings.clone(),
    })
}

impl fmt::Display for ValidateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stacks: usize = self.stages.iter().map(|s| s.stacks.len()).sum();
        writeln!(
            f,
            "`{}` is valid: {}-{} in {}, {} destinations, {} stacks in {} stages ({} input)",
            self.config.display(),
            self.project,
            self.environment,
            self.region,
            self.destinations.len(),
            stacks,
            self.stages.len(),
            self.input_mode,
        )?;
        for d in &self.destinations {
            writeln!(
                f,
                "  {:<12} {:<12} {:<13} {:<18} {}",
                d.id,
                d.kind,
                d.platform,
                d.preset,
                d.renditions.join(", ")
            )?;
        }
        for (i, s) in self.stages.iter().enumerate() {
            writeln!(f, "  stage {} `{}`: {}", i + 1, s.name, s.stacks.join(", "))?;
        }
        if !self.warnings.is_empty() {
            writeln!(f, "  {} warning(s), printed on stderr", self.warnings.len())?;
        }
        Ok(())
    }
}

impl Report for ValidateReport {
    fn kind(&self) -> &'static str {
        "validate"
    }

    fn markdown(&self) -> String {
        let mut out = format!(
            "### lunora validate: `{}` is valid\n\n| destination | kind | platform | preset | renditions |\n|---|---|---|---|---|\n",
            self.config.display()
        );
        for d in &self.destinations {
            out.push_str(&format!(
                "| `{}` | {} | {} | `{}` | {} |\n",
                d.id,
                d.kind,
                d.platform,
                d.preset,
                d.renditions.join("<br>")
            ));
        }
        if !self.warnings.is_empty() {
            out.push_str("\n**Warnings**\n\n");
            for w in &self.warnings {
                out.push_str(&format!("- {w}\n"));
            }
        }
        out
    }
}
