//! `lunora failover --to primary|backup`: the command-line face of
//! [`crate::ops::failover`], the manual source switch. This module
//! connects, runs the operation and presents its report.

use std::fmt;
use std::path::Path;

use super::connect_operating as connect;
use crate::aws::AwsSettings;
use crate::cli::FailoverTarget;
use crate::ops::failover::{self as op, Actor, SourceTarget};
use crate::output::{Console, Report};

pub use crate::ops::failover::{FailoverReport, SourceChoice};

impl fmt::Display for FailoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let na = |v: &Option<String>| v.clone().unwrap_or_else(|| "n/a".into());
        if self.changed {
            writeln!(
                f,
                "the flow now prefers the {} source `{}`",
                self.to, self.source
            )?;
        } else {
            writeln!(
                f,
                "the flow already prefers the {} source `{}`; nothing changed",
                self.to, self.source
            )?;
        }
        writeln!(
            f,
            "  before: preferred {}, active {}",
            na(&self.before.preferred),
            na(&self.before.active)
        )?;
        writeln!(
            f,
            "  after:  preferred {}, active {}",
            na(&self.after.preferred),
            na(&self.after.active)
        )?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

impl Report for FailoverReport {
    fn kind(&self) -> &'static str {
        "failover"
    }
}

/// `lunora failover --to primary|backup`.
pub async fn run(
    config: &Path,
    to: FailoverTarget,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<FailoverReport> {
    let (deployment, aws) = connect(config, settings, console, "failover").await?;
    let to = match to {
        FailoverTarget::Primary => SourceTarget::Primary,
        FailoverTarget::Backup => SourceTarget::Backup,
    };
    op::failover(&aws, &deployment, to, &Actor::Cli).await
}
