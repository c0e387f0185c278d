//! Release history and the deploy lock.
//!
//! Why this module exists: the product promises that "release history is
//! append-only and written atomically" and that "rollback redeploys the
//! exact recorded templates and parameters, not a re-render of today's
//! config". A [`Release`] is that record: the exact template body and
//! parameters of *every* stack after a deploy or rollback, who made it,
//! from which commit and config, sealed with a SHA-256 digest that is
//! checked on every read. A record that fails the check is reported as
//! corrupt, never used.
//!
//! The [`ReleaseStore`] keeps the records and the deploy lock in one place,
//! either a local directory (default `.lunora/` next to the config) or an
//! S3 prefix, with the same behaviour:
//!
//! ```text
//! <root>/<project>-<environment>/
//!     lock.json                            held while a deploy or rollback runs
//!     releases/r000001-20261124T051500Z.json
//!     releases/r000002-20261125T093000Z.json
//!     sessions/<destination>.json          when and by whom its channel was started
//!     audit/20261125T201455.123456789Z-stop.json   one per start, stop, failover
//! ```
//!
//! Records are created, never replaced: locally through a temporary file,
//! fsync and a no-clobber rename; on S3 with `If-None-Match: *`. A record
//! whose sequence is not the last one plus one is refused. No secret value
//! is ever written: templates hold `{{resolve:secretsmanager:...}}`
//! references, and [`check_no_secrets`] refuses parameters that look like a
//! secret but are not a reference or an ARN.
//!
//! Callers hold the deploy lock ([`ReleaseStore::acquire`]) while they
//! deploy and append: the lock serialises writers. The conditional create
//! only guards one record name, so two writers that skip the lock could
//! both record the same sequence under different timestamps; readers
//! detect that and refuse to pick either ([`ReleaseError::SequenceConflict`]).

mod audit;
mod backend;
pub mod history;
mod location;
mod lock;
mod record;
mod run;
mod store;

use std::path::PathBuf;

pub use audit::{channel_hours, Actor, AuditRecord};
pub use location::{parse_location, Location};
pub use lock::{LockGuard, LockInfo};
pub use record::{
    check_no_secrets, release_id, sha256_digest, sha256_hex, NewRelease, RecordedStack, Release,
    ReleaseKind, RunOutcome, OLDEST_SCHEMA, SCHEMA,
};
pub use run::{continues_run, SCHEMA1_RUN_GAP};
pub use store::{LatestRun, ReleaseEntry, ReleaseStore, Session};

use crate::output::ExitStatus;

/// Everything that can go wrong with release records and the lock.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The `state:` setting cannot be understood.
    #[error("invalid state location `{value}`: {reason}")]
    InvalidLocation { value: String, reason: String },

    /// A local file operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An S3 call failed.
    #[error("S3 {op} on `{url}` failed: {message}")]
    S3 {
        op: &'static str,
        url: String,
        message: String,
    },

    /// The store is on S3 but no S3 client was given.
    #[error("the release store `{location}` is on S3, but no S3 client was given")]
    NoS3Client { location: String },

    /// A stored record cannot be trusted.
    #[error("release record `{file}` is corrupt: {reason} (hint: restore it from a backup or move it aside; lunora never repairs or skips a record silently)")]
    Corrupt { file: String, reason: String },

    /// A record being built or appended is inconsistent.
    #[error("release `{id}` is invalid: {reason}")]
    Invalid { id: String, reason: String },

    /// No record with this id.
    #[error("no release `{id}` in {store}{}", nearest_hint(nearest))]
    NotFound {
        id: String,
        store: String,
        nearest: Vec<String>,
    },

    /// A record with this id already exists.
    #[error("release `{id}` already exists in {store}; release history is append-only")]
    AlreadyExists { id: String, store: String },

    /// Every name tried for an audit record was taken.
    #[error("no free name for the audit record `{name}` in {store}")]
    AuditNameTaken { name: String, store: String },

    /// The record's sequence is not the last one plus one.
    #[error("release `{id}` has sequence {sequence}, but the next sequence in {store} is {expected} (another deploy recorded a release meanwhile? rerun the command)")]
    OutOfOrder {
        id: String,
        sequence: u64,
        expected: u64,
        store: String,
    },

    /// Two records claim the same sequence (writers that bypassed the lock).
    #[error("release sequence {sequence} is recorded more than once: {} (hint: keep the one that matches the deployed stacks and move the others aside)", files.join(", "))]
    SequenceConflict { sequence: u64, files: Vec<String> },

    /// A rollback record names a release that is not in the store.
    #[error("release `{id}` rolls back to `{to}`, which is not in {store}")]
    UnknownRollbackTarget {
        id: String,
        to: String,
        store: String,
    },

    /// A record of another project or environment.
    #[error("release `{id}` belongs to `{found}`, not to this store's `{expected}`")]
    WrongDeployment {
        id: String,
        found: String,
        expected: String,
    },

    /// A parameter that looks like a secret holds a literal value.
    #[error("refusing to record release `{id}`: parameter `{key}` of stack `{stack}` looks like a secret, and its value is neither a `{{{{resolve:...}}}}` dynamic reference nor an ARN (the value is not shown; hint: pass secrets as Secrets Manager references)")]
    SecretParameter {
        id: String,
        stack: String,
        key: String,
    },

    /// The store failed its check before a deploy or rollback: nothing
    /// was changed. Exit code 1.
    #[error("the release store `{store}` is damaged, so nothing was changed: {} (hint: `lunora releases` shows what is damaged; restore those files from a backup or move them aside, then run the command again)", problems.join("; "))]
    Damaged {
        store: String,
        problems: Vec<String>,
    },

    /// Another deploy holds the lock. Exit code 3.
    #[error("the deploy lock `{file}` is held by {} on {} (pid {}, `{}`) since {} (hint: wait for it to finish; if that process is gone, rerun with `--force-unlock`)", lock.holder, lock.host, lock.pid, lock.command, lock.started_at)]
    LockHeld { file: String, lock: Box<LockInfo> },

    /// A lock file exists but cannot be read. Exit code 3.
    #[error("the deploy lock `{file}` exists but cannot be read: {reason} (hint: if no deploy is running, rerun with `--force-unlock`)")]
    LockUnreadable { file: String, reason: String },

    /// The lock was removed or taken over while we held it.
    #[error("the deploy lock `{file}` was {} while this command held it", lost_how(current.as_deref()))]
    LockLost {
        file: String,
        current: Option<Box<LockInfo>>,
    },
}

impl ReleaseError {
    /// True when another deploy holds the lock (or an unreadable lock file
    /// is in the way): a safety gate, not a failure.
    pub fn is_lock_held(&self) -> bool {
        matches!(self, Self::LockHeld { .. } | Self::LockUnreadable { .. })
    }

    /// The exit status this error implies: 3 for a held lock, else 1.
    pub fn exit_status(&self) -> ExitStatus {
        if self.is_lock_held() {
            ExitStatus::Refused
        } else {
            ExitStatus::Failure
        }
    }
}

fn nearest_hint(nearest: &[String]) -> String {
    if nearest.is_empty() {
        " (it holds no releases)".to_owned()
    } else {
        format!(" (nearest: {}; see `lunora releases`)", nearest.join(", "))
    }
}

fn lost_how(current: Option<&LockInfo>) -> String {
    match current {
        None => "removed (force-unlocked?)".to_owned(),
        Some(l) => format!(
            "taken over by {} on {} (pid {}) at {}",
            l.holder, l.host, l.pid, l.started_at
        ),
    }
}

/// The release store the config names (`state:`), S3 through `aws`.
pub fn open_store(
    deployment: &crate::config::Deployment,
    aws: Option<&crate::aws::Aws>,
) -> anyhow::Result<crate::release::ReleaseStore> {
    let dir = deployment
        .path
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let location = parse_location(deployment.config.state.as_deref(), dir)?;
    if location.is_s3() && aws.is_none() {
        anyhow::bail!(
            "the release store `{location}` is in S3, which needs AWS credentials (hint: set credentials, or use a local `state:` directory)"
        );
    }
    Ok(ReleaseStore::open(
        &location,
        &deployment.config.project,
        &deployment.config.environment,
        aws.map(|a| &a.s3),
    )?)
}
