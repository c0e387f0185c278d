//! `lunora add destination` and `lunora remove destination`: the
//! "Add destination" form of the original request, as commands that edit
//! lunora.yaml in place. The checks, the edit and the validation are the
//! operation [`crate::ops::destination`]; this face turns the options into
//! a request, asks for the confirmation of a remove, and presents the
//! reports.
//!
//! Both refuse, with one line and the file untouched, when the config is
//! already invalid, when an option is missing or wrong, or when the new
//! config would not validate; only then is the file replaced (temporary
//! file and rename, keeping its mode). Offline: nothing here calls AWS.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context as _};

use crate::cli::{AddDestinationArgs, RemoveDestinationArgs};
use crate::ops::destination::{self as op, AddRequest};
pub use crate::ops::destination::{AddReport, CostChange, RemoveReport};
use crate::output::{Console, Report};

/// Runs `lunora add destination`.
pub fn add(path: &Path, args: &AddDestinationArgs, console: &Console) -> anyhow::Result<AddReport> {
    let req = AddRequest {
        id: args.id.clone(),
        platform: args.platform.clone(),
        preset: args.preset.clone(),
        ingest_url: args.ingest_url.clone(),
        stream_key_secret: args.stream_key_secret.clone(),
        json_key: args.json_key.clone(),
        stage: args.stage.clone(),
    };
    let prepared = op::prepare_add(path, &req)?;
    op::write(path, &prepared.original, &prepared.edited)?;
    for w in &prepared.warnings {
        console.warn(w);
    }
    Ok(prepared.report)
}

/// Runs `lunora remove destination`.
pub fn remove(path: &Path, args: &RemoveDestinationArgs) -> anyhow::Result<RemoveReport> {
    let prepared = op::prepare_remove(path, &args.id)?;
    let question = format!(
        "remove destination `{}` from `{}` (the next deploy deletes {})?",
        args.id,
        path.display(),
        prepared.report.deletes.join(", ")
    );
    if !super::confirm(&question, args.yes)? {
        bail!("not confirmed; nothing was written");
    }
    op::write(path, &prepared.original, &prepared.edited)
        .with_context(|| format!("cannot remove destination `{}`", args.id))?;
    Ok(prepared.report)
}

fn signed(usd: f64) -> String {
    if usd < 0.0 {
        format!("-${:.2}", -usd)
    } else {
        format!("+${usd:.2}")
    }
}

impl fmt::Display for CostChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "monthly cost ({} h streaming, with lunora's stop behaviour): ${:.2} -> ${:.2} ({})",
            self.streaming_hours,
            self.before_usd,
            self.after_usd,
            signed(self.change_usd)
        )
    }
}

impl fmt::Display for AddReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "added destination `{}` to {}, in stage `{}` ({}):",
            self.destination,
            self.config.display(),
            self.stage,
            self.stage_reason
        )?;
        writeln!(f)?;
        for line in self.block.lines() {
            writeln!(f, "  {line}")?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.cost)?;
        writeln!(
            f,
            "next: `{}` shows what the next deploy creates",
            self.next
        )
    }
}

impl fmt::Display for RemoveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "removed destination `{}` from {}",
            self.destination,
            self.config.display()
        )?;
        if !self.stages.is_empty() {
            write!(f, " and from stage `{}`", self.stages.join("`, `"))?;
        }
        writeln!(f)?;
        writeln!(f, "the next deploy deletes {}", self.deletes.join(", "))?;
        writeln!(f, "{}", self.cost)?;
        writeln!(
            f,
            "next: `{}` shows the deletion before any deploy",
            self.next
        )
    }
}

impl Report for AddReport {
    fn kind(&self) -> &'static str {
        "add-destination"
    }
}

impl Report for RemoveReport {
    fn kind(&self) -> &'static str {
        "remove-destination"
    }
}
