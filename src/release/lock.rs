//! The deploy lock: `lock.json` next to `releases/`, created with
//! create-new semantics so that one deploy or rollback runs at a time.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::backend::Backend;
use super::record::timestamp;
use super::ReleaseError;

pub(super) const LOCK_FILE: &str = "lock.json";

/// Who holds the lock, as written in `lock.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// The caller (an ARN or a user name).
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// The command that holds it, e.g. `deploy --stage flow`.
    pub command: String,
    /// RFC 3339 UTC, second precision.
    pub started_at: String,
}

impl LockInfo {
    /// Lock information for this process on this host, started `now`.
    pub fn new(holder: impl Into<String>, command: impl Into<String>, now: OffsetDateTime) -> Self {
        Self {
            holder: holder.into(),
            host: host_name(),
            pid: std::process::id(),
            command: command.into(),
            started_at: timestamp(now),
        }
    }

    pub(super) fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// The host name, from the kernel or the environment; `unknown` if
/// neither says.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A held deploy lock.
///
/// Call [`LockGuard::release`] on every path, including errors: dropping
/// the guard does not remove the lock (an async S3 call cannot run in
/// `Drop`), so a leaked or crashed holder leaves `lock.json` behind, and
/// the next deploy is refused until someone runs with `--force-unlock`.
#[must_use = "call `release().await` when the deploy is done"]
#[derive(Debug)]
pub struct LockGuard {
    pub(super) backend: Backend,
    pub(super) info: LockInfo,
    /// The lock object's ETag on S3, so release deletes only our lock.
    pub(super) etag: Option<String>,
}

impl LockGuard {
    /// What this guard wrote to `lock.json`.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Removes the lock if it is still ours. If it was force-unlocked, or
    /// force-unlocked and taken by someone else, returns
    /// [`ReleaseError::LockLost`] and leaves the other holder's lock alone.
    pub async fn release(self) -> Result<(), ReleaseError> {
        let file = self.backend.display(LOCK_FILE);
        let current = self.backend.read(LOCK_FILE).await?;
        let Some(current) = current else {
            return Err(ReleaseError::LockLost {
                file,
                current: None,
            });
        };
        match serde_json::from_slice::<LockInfo>(&current.bytes) {
            Ok(info) if info == self.info => {}
            Ok(other) => {
                return Err(ReleaseError::LockLost {
                    file,
                    current: Some(Box::new(other)),
                })
            }
            Err(_) => {
                return Err(ReleaseError::LockLost {
                    file,
                    current: None,
                })
            }
        }
        // Between the read and the delete another process could
        // force-unlock and re-acquire. On S3 the delete is conditional on
        // the ETag we just read, which closes that gap where S3 honours
        // `If-Match` on DeleteObject; locally the window is a few
        // microseconds and needs a human running `--force-unlock` inside
        // it.
        let etag = current.etag.or(self.etag);
        if self.backend.delete(LOCK_FILE, etag.as_deref()).await? {
            Ok(())
        } else {
            Err(ReleaseError::LockLost {
                file,
                current: None,
            })
        }
    }
}
