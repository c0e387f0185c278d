//! `lunora rollback [--to RELEASE] [--stage S]`: redeploys a recorded
//! release, the exact templates and parameters it recorded (never a
//! re-render of today's config), in reverse stage order, through the same
//! gates and progress as deploy (`--restart-running` stops, updates and
//! starts a running channel exactly as deploy does; the flow keeps its
//! live preferred source unless `--restore-source`), and records the
//! rollback run as one release, whatever its outcome.
//!
//! Without `--to`, the target is the release before the latest run: every
//! stack goes back to where it was before it, even when that run was
//! recorded stage by stage (schema 1 records, see
//! [`crate::release::continues_run`]). The release store is checked before
//! anything changes.
//!
//! Stacks stuck after a failed update are recovered first:
//! `UPDATE_ROLLBACK_FAILED` through ContinueUpdateRollback, `UPDATE_FAILED`
//! through RollbackStack. The plan of what it will do is printed before it
//! acts.
//!
//! The rollback itself is [`crate::ops::rollback`]; this face connects,
//! takes the deploy lock, shows the plan, asks, and prints the report.

use std::path::Path;

use super::{DeployOutput, Terminal};
use crate::aws::AwsSettings;
use crate::ops::deploy::DeployOptions;
use crate::output::Console;

pub async fn run(
    config: &Path,
    to: Option<&str>,
    options: &DeployOptions,
    yes: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<DeployOutput> {
    let started = std::time::Instant::now();
    let (deployment, aws, caller) = super::connect(config, settings, console, "rollback").await?;
    let store = super::open_store(&deployment, Some(&aws))?;
    let lock = super::lock(&store, &caller, "rollback", options.force_unlock, console).await?;
    let review = Terminal { console, yes };
    let result =
        crate::ops::rollback::rollback(&deployment, &aws, &store, &caller, to, options, &review)
            .await;
    super::discard_unexecuted(&aws, console).await;
    lock.release().await?;
    let mut report = result?;
    report.finish(started);
    Ok(DeployOutput::new(report, console))
}
