//! `lunora releases`: the recorded release history, oldest first, so that
//! an operator can pick a `rollback --to` target and see who changed what,
//! with each run's outcome and the stages it completed. Corrupt records
//! (and stray files) are shown, never hidden. Schema 1 records that one run
//! wrote stage by stage show as one release (see
//! [`crate::release::continues_run`]), under the id of its last record.

use std::fmt::{self, Write as _};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::output::Report;
use crate::release::{continues_run, Release, ReleaseEntry, ReleaseKind, ReleaseStore, RunOutcome};

/// What `releases` found.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasesReport {
    /// Where the history lives.
    pub store: String,
    pub releases: Vec<ReleaseLine>,
    /// The text's width (`None`: every column, no limit; `lunora
    /// releases` sets it from the terminal unless `--wide`).
    #[serde(skip)]
    pub width: Option<usize>,
}

/// One record: a summary of a valid release, or why it cannot be trusted.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ReleaseLine {
    Ok(Box<ReleaseSummary>),
    Corrupt { file: String, reason: String },
}

/// A valid release, without its templates.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSummary {
    pub id: String,
    pub sequence: u64,
    /// `deploy` or `rollback`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The stages the run completed.
    pub stages: Vec<String>,
    /// How the run ended: `completed`, `failed` or `interrupted`; `null`
    /// for a schema 1 record, which did not say.
    pub outcome: Option<RunOutcome>,
    /// The record format.
    pub schema: u32,
    /// The ids of the records of this run, oldest first: several for a
    /// schema 1 run recorded stage by stage, else just `id`.
    pub records: Vec<String>,
    /// For a rollback: the release it restored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub created_at: String,
    pub caller_arn: String,
    pub account_id: String,
    pub region: String,
    pub git_commit: Option<String>,
    pub config_digest: String,
    /// Every stack's name, in stage order.
    pub stacks: Vec<String>,
    pub digest: String,
}

impl ReleaseSummary {
    fn what(&self) -> String {
        let stages = self.stages.join(", ");
        match &self.to {
            Some(to) => format!("rollback to {to} ({stages})"),
            None => format!("deploy of {stages}"),
        }
    }

    fn outcome(&self) -> &'static str {
        self.outcome.map_or("-", RunOutcome::as_str)
    }

    /// For a run recorded stage by stage: its records.
    fn grouped(&self) -> String {
        if self.records.len() > 1 {
            format!(
                "  (one run recorded stage by stage: {})",
                self.records.join(", ")
            )
        } else {
            String::new()
        }
    }

    fn commit(&self) -> &str {
        self.git_commit
            .as_deref()
            .map_or("-", |c| c.get(..7).unwrap_or(c))
    }
}

fn summary(r: Release) -> ReleaseSummary {
    let to = match &r.kind {
        ReleaseKind::Rollback { to, .. } => Some(to.clone()),
        ReleaseKind::Deploy { .. } => None,
    };
    ReleaseSummary {
        kind: r.kind.name().to_owned(),
        stages: r.kind.stages().to_vec(),
        outcome: r.outcome,
        schema: r.schema,
        records: vec![r.id.clone()],
        to,
        stacks: r.stacks.iter().map(|s| s.name.clone()).collect(),
        id: r.id,
        sequence: r.sequence,
        created_at: r.created_at,
        caller_arn: r.caller_arn,
        account_id: r.account_id,
        region: r.region,
        git_commit: r.git_commit,
        config_digest: r.config_digest,
        digest: r.digest,
    }
}

pub async fn run(store: &ReleaseStore) -> anyhow::Result<ReleasesReport> {
    let entries = store.list().await?;
    let mut releases: Vec<ReleaseLine> = Vec::new();
    // The record just before, when it was valid: a schema 1 run continues.
    let mut previous: Option<Release> = None;
    for entry in entries {
        match entry {
            ReleaseEntry::Valid(r) => {
                let r = *r;
                let continues = previous.as_ref().is_some_and(|p| continues_run(p, &r));
                previous = Some(r.clone());
                let mut line = summary(r);
                if continues {
                    if let Some(ReleaseLine::Ok(run)) = releases.pop() {
                        let mut records = run.records;
                        records.append(&mut line.records);
                        line.records = records;
                    }
                }
                releases.push(ReleaseLine::Ok(Box::new(line)));
            }
            ReleaseEntry::Corrupt { file, reason } => {
                previous = None;
                releases.push(ReleaseLine::Corrupt { file, reason });
            }
        }
    }
    Ok(ReleasesReport {
        store: store.location(),
        releases,
        width: None,
    })
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
            return writeln!(f, "no releases recorded in {}", self.store);
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
        out
    }
}
