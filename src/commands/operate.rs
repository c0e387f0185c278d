//! `lunora start DEST... | --all` and `lunora stop DEST... | --all
//! [--keep-flow]`: the command-line face of [`crate::ops::operate`], which
//! switches destinations on and off during an event without touching the
//! others. This module connects, runs the operation with the terminal's
//! progress and presents its report; an unknown id is refused before any
//! AWS call.

use std::fmt;
use std::path::Path;

use crate::aws::AwsSettings;
use crate::ops::operate::{self, Action, Actor};
use crate::output::{Console, ExitStatus, Report};
use crate::progress::Progress;

pub use crate::ops::operate::{DestinationOutcome, FlowOutcome, OperateReport};

impl fmt::Display for OperateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.action == Action::Start {
            if let Some(fl) = &self.flow {
                writeln!(f, "{:<16} flow: {}", fl.action, fl.message)?;
            }
        }
        for d in &self.destinations {
            writeln!(f, "{:<16} {}: {}", d.result, d.id, d.message)?;
        }
        if self.action == Action::Stop {
            if let Some(fl) = &self.flow {
                writeln!(f, "{:<16} flow: {}", fl.action, fl.message)?;
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

impl Report for OperateReport {
    fn kind(&self) -> &'static str {
        self.action.as_str()
    }

    /// A destination that failed (or a flow left unsettled) is exit 1.
    fn status(&self) -> ExitStatus {
        if self.failed() {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }

    /// With `--output json`, start and stop stream their progress as JSON
    /// Lines (`crate::progress`); the report ends the stream on one line.
    fn json_line(&self) -> bool {
        true
    }
}

/// `lunora start DEST... | --all`.
pub async fn start(
    config: &Path,
    destinations: &[String],
    all: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<OperateReport> {
    let (deployment, aws) =
        super::connect_for_destinations(config, destinations, settings, console, "start").await?;
    let progress = Progress::new(console);
    operate::start(&aws, &deployment, destinations, all, &Actor::Cli, &progress).await
}

/// `lunora stop DEST... | --all [--keep-flow]`.
pub async fn stop(
    config: &Path,
    destinations: &[String],
    all: bool,
    keep_flow: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<OperateReport> {
    let (deployment, aws) =
        super::connect_for_destinations(config, destinations, settings, console, "stop").await?;
    let progress = Progress::new(console);
    operate::stop(
        &aws,
        &deployment,
        destinations,
        all,
        keep_flow,
        &Actor::Cli,
        &progress,
    )
    .await
}
