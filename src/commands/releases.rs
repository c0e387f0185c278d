//! `lunora releases`: the recorded release history, oldest first, so that
//! an operator can pick a `rollback --to` target and see who changed what,
//! with each run's outcome and the stages it completed. Corrupt records
//! (and stray files) are shown, never hidden. Schema 1 records that one run
//! wrote stage by stage show as one release (see
//! [`crate::release::continues_run`]), under the id of its last record.
//! The history is read in [`crate::release::history`], which `lunora
//! serve` shares; this face presents it. With guards that stop channels
//! (and credentials), the stops the guards made follow the releases: a
//! channel a guard stopped changed without anyone running lunora
//! ([`crate::ops::guard_records`]).

use std::fmt::{self, Write as _};

use crate::output::Report;
use crate::release::history::{ReleaseLine, ReleaseSummary, ReleasesReport};
use crate::release::ReleaseStore;

/// How many guard stops `releases` shows.
const GUARD_STOPS: i32 = 20;

/// `lunora releases`; `guards`: the connection and deployment to read the
/// guard stops with (online only; nothing is read without guards).
pub async fn run(
    store: &ReleaseStore,
    guards: Option<(&crate::aws::Aws, &crate::config::Deployment)>,
) -> anyhow::Result<ReleasesReport> {
    let mut report = crate::release::history::read(store).await?;
    if let Some((aws, deployment)) = guards {
        match crate::ops::guard_records::read_for(aws, deployment, GUARD_STOPS).await {
            Ok(stops) => report.guard_stops = stops,
            Err(e) => report.guard_stops_error = Some(format!("{e:#}")),
        }
    }
    Ok(report)
}

/// The guard stops as text lines: `TIME  DEST  stopped by guard: ...`.
fn guard_stop_lines(report: &ReleasesReport) -> String {
    let mut out = String::new();
    if !report.guard_stops.is_empty() {
        let _ = writeln!(out, "\nguard stops (newest first):");
        for s in &report.guard_stops {
            let at = s.started_at.as_deref().unwrap_or("-");
            let _ = writeln!(out, "{at}  {}  {}", s.destination, s.line());
        }
    }
    if let Some(e) = &report.guard_stops_error {
        let _ = writeln!(out, "note: the guards' stop records could not be read: {e}");
    }
    out
}

impl ReleasesReport {
    fn valid(&self) -> impl Iterator<Item = &ReleaseSummary> {
        self.releases.iter().filter_map(|l| match l {
            ReleaseLine::Ok(s) => Some(s.as_ref()),
            ReleaseLine::Corrupt { .. } => None,
        })
    }
}

fn stacks(n: usize) -> String {
    if n == 1 {
        "1 stack".to_owned()
    } else {
        format!("{n} stacks")
    }
}

/// The caller without the part every caller of the account shares
/// (`arn:aws:sts::123456789012:`): `assumed-role/Deployer/ci`.
fn short_caller(arn: &str) -> &str {
    arn.splitn(6, ':')
        .nth(5)
        .filter(|r| !r.is_empty())
        .unwrap_or(arn)
}

impl fmt::Display for ReleasesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::screen::Align::{Left, Whole};
        if self.releases.is_empty() {
            writeln!(f, "no releases recorded in {}", self.store)?;
            return f.write_str(&crate::screen::fit(&guard_stop_lines(self), self.width));
        }
        let mut out = String::new();
        let valid: Vec<&ReleaseSummary> = self.valid().collect();
        if !valid.is_empty() {
            // At a width: what an operator picks a rollback target by (the
            // id holds the time) and who ran it; `--wide`: every column.
            let table = match self.width {
                // Who ran it on a line of its own under what it did.
                Some(_) => crate::screen::table(
                    &["RELEASE", "OUTCOME", "WHAT"],
                    &[Whole, Whole, Left],
                    &valid
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.clone(),
                                s.outcome().to_owned(),
                                format!(
                                    "{}{}\nby {}",
                                    s.what(),
                                    s.grouped(),
                                    short_caller(&s.caller_arn)
                                ),
                            ]
                        })
                        .collect::<Vec<_>>(),
                    self.width,
                    0,
                ),
                None => crate::screen::table(
                    &[
                        "RELEASE", "OUTCOME", "WHAT", "TIME", "CALLER", "COMMIT", "STACKS",
                    ],
                    &[Left; 7],
                    &valid
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.clone(),
                                s.outcome().to_owned(),
                                format!("{}{}", s.what(), s.grouped()),
                                s.created_at.clone(),
                                s.caller_arn.clone(),
                                s.commit().to_owned(),
                                stacks(s.stacks.len()),
                            ]
                        })
                        .collect::<Vec<_>>(),
                    None,
                    0,
                ),
            };
            out.push_str(&table);
        }
        for line in &self.releases {
            if let ReleaseLine::Corrupt { file, reason } = line {
                let _ = writeln!(out, "CORRUPT {file}: {reason}");
            }
        }
        out.push_str(&guard_stop_lines(self));
        f.write_str(&crate::screen::fit(&out, self.width))
    }
}

impl Report for ReleasesReport {
    fn kind(&self) -> &'static str {
        "releases"
    }

    fn markdown(&self) -> String {
        let mut out = format!("### lunora releases: `{}`\n\n", self.store);
        if self.releases.is_empty() {
            out.push_str("No releases recorded.\n");
            let stops = guard_stop_lines(self);
            if !stops.is_empty() {
                out.push_str(&format!("\n```\n{}\n```\n", stops.trim()));
            }
            return out;
        }
        out.push_str(
            "| release | what | outcome | time | caller | commit | stacks |\n|---|---|---|---|---|---|---|\n",
        );
        for line in &self.releases {
            match line {
                ReleaseLine::Ok(s) => out.push_str(&format!(
                    "| `{}` | {}{} | {} | {} | `{}` | `{}` | {} |\n",
                    s.id,
                    s.what(),
                    s.grouped(),
                    s.outcome(),
                    s.created_at,
                    s.caller_arn,
                    s.commit(),
                    s.stacks.len()
                )),
                ReleaseLine::Corrupt { file, reason } => out.push_str(&format!(
                    "| **CORRUPT** `{file}` | {} | | | | | |\n",
                    reason.replace('|', "\\|")
                )),
            }
        }
        let stops = guard_stop_lines(self);
        if !stops.is_empty() {
            out.push_str(&format!("\n```\n{}\n```\n", stops.trim()));
        }
        out
    }
}
