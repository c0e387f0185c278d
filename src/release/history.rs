//! The release history as a document: what `lunora releases` prints and
//! what `lunora serve`'s admin page shows. Schema 1 records that one run
//! wrote stage by stage read as one release, under the id of its last
//! record.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    continues_run, Release, ReleaseEntry, ReleaseError, ReleaseKind, ReleaseStore, RunOutcome,
};

/// What `releases` found.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasesReport {
    /// Where the history lives.
    pub store: String,
    pub releases: Vec<ReleaseLine>,
    /// `lunora releases` with guards that stop channels, and credentials:
    /// the newest stops the guards made, newest first (the stop
    /// sequence's executions; see `status`).
    #[serde(default)]
    pub guard_stops: Vec<crate::ops::guard_records::GuardStop>,
    /// Why the guard stops could not be read, if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_stops_error: Option<String>,
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
    pub fn what(&self) -> String {
        let stages = self.stages.join(", ");
        match &self.to {
            Some(to) => format!("rollback to {to} ({stages})"),
            None => format!("deploy of {stages}"),
        }
    }

    pub fn outcome(&self) -> &'static str {
        self.outcome.map_or("-", RunOutcome::as_str)
    }

    /// For a run recorded stage by stage: its records.
    pub fn grouped(&self) -> String {
        if self.records.len() > 1 {
            format!(
                "  (one run recorded stage by stage: {})",
                self.records.join(", ")
            )
        } else {
            String::new()
        }
    }

    pub fn commit(&self) -> &str {
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

/// The store's history, oldest first.
pub async fn read(store: &ReleaseStore) -> Result<ReleasesReport, ReleaseError> {
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
        guard_stops: Vec::new(),
        guard_stops_error: None,
        width: None,
    })
}
