//! The release store: records in sequence order, append-only, verified on
//! every read; and the deploy lock.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::audit::{rfc3339, Actor, AuditRecord};
use super::backend::Backend;
use super::location::Location;
use super::lock::{LockGuard, LockInfo, LOCK_FILE};
use super::record::{check_no_secrets, parse_id, Release, ReleaseKind};
use super::ReleaseError;

const RELEASES: &str = "releases";
/// When lunora started each destination's channel (for `status` uptime:
/// MediaLive does not report a start time).
const SESSIONS: &str = "sessions";
/// The audit trail of the operating actions (`crate::release::audit`).
const AUDIT: &str = "audit";

/// A channel start lunora recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub channel_id: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// Who started it (absent in the records of lunora before the HTTP
    /// face).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<Actor>,
}

/// One record as listed: verified, or corrupt with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseEntry {
    Valid(Box<Release>),
    /// Bad JSON, unknown fields, digest mismatch, a name that does not
    /// match the id, a sequence recorded twice, ...
    Corrupt {
        /// Full path or `s3://` URL.
        file: String,
        reason: String,
    },
}

/// The latest run (see [`ReleaseStore::latest_run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRun {
    /// The newest record.
    pub latest: Release,
    /// The ids of the records the run wrote, oldest first (several only
    /// for a schema 1 run recorded stage by stage).
    pub records: Vec<String>,
    /// The release before the run, if any.
    pub before: Option<Release>,
}

/// A record file, known by name before it is read.
#[derive(Debug, Clone)]
struct Slot {
    /// File name, `<id>.json`.
    name: String,
    /// The id part of the name.
    id: String,
    /// The sequence in the name; `None` for a name that is not an id.
    sequence: Option<u64>,
}

/// The release records and deploy lock of one project and environment.
#[derive(Debug, Clone)]
pub struct ReleaseStore {
    backend: Backend,
    project: String,
    environment: String,
}

impl ReleaseStore {
    /// A store under `dir` (the resolved `state:` directory): records go to
    /// `<dir>/<project>-<environment>/releases/`.
    pub fn local(dir: impl Into<PathBuf>, project: &str, environment: &str) -> Self {
        Self {
            backend: Backend::Local {
                root: dir.into().join(format!("{project}-{environment}")),
            },
            project: project.to_owned(),
            environment: environment.to_owned(),
        }
    }

    /// A store in `s3://bucket/prefix`: records go to
    /// `prefix/<project>-<environment>/releases/`. The client should use
    /// path-style addressing when it talks to an endpoint override.
    pub fn s3(
        client: aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        project: &str,
        environment: &str,
    ) -> Self {
        let prefix = prefix.trim_matches('/');
        let root = if prefix.is_empty() {
            format!("{project}-{environment}")
        } else {
            format!("{prefix}/{project}-{environment}")
        };
        Self {
            backend: Backend::S3 {
                client,
                bucket: bucket.to_owned(),
                root,
            },
            project: project.to_owned(),
            environment: environment.to_owned(),
        }
    }

    /// A store at `location`; an S3 location needs `s3`.
    pub fn open(
        location: &Location,
        project: &str,
        environment: &str,
        s3: Option<&aws_sdk_s3::Client>,
    ) -> Result<Self, ReleaseError> {
        match location {
            Location::Local(dir) => Ok(Self::local(dir, project, environment)),
            Location::S3 { bucket, prefix } => {
                let client = s3.ok_or_else(|| ReleaseError::NoS3Client {
                    location: location.to_string(),
                })?;
                Ok(Self::s3(
                    client.clone(),
                    bucket,
                    prefix,
                    project,
                    environment,
                ))
            }
        }
    }

    /// `<dir>/<project>-<environment>` or `s3://bucket/prefix/<project>-<environment>`.
    pub fn location(&self) -> String {
        self.backend.describe()
    }

    /// The full path or URL of a release's record file.
    pub fn record_file(&self, id: &str) -> String {
        self.backend.display(&format!("{RELEASES}/{id}.json"))
    }

    /// The full path or URL of the lock file.
    pub fn lock_file(&self) -> String {
        self.backend.display(LOCK_FILE)
    }

    /// Every record, oldest first, each verified. A record that cannot be
    /// trusted is listed as [`ReleaseEntry::Corrupt`] rather than failing
    /// the listing, like a file that is not a record (a stray file). Files
    /// whose names start with `.` (temporary files) are ignored.
    pub async fn list(&self) -> Result<Vec<ReleaseEntry>, ReleaseError> {
        let slots = self.slots().await?;
        let duplicates = duplicates(&slots);
        let mut entries = Vec::with_capacity(slots.len());
        for slot in &slots {
            let file = self.file(slot);
            if let Some(files) = slot.sequence.and_then(|s| duplicates.get(&s)) {
                entries.push(ReleaseEntry::Corrupt {
                    file,
                    reason: format!(
                        "its sequence is recorded more than once ({})",
                        files.join(", ")
                    ),
                });
                continue;
            }
            entries.push(match self.load(slot).await? {
                Ok(release) => ReleaseEntry::Valid(Box::new(release)),
                Err(reason) => ReleaseEntry::Corrupt { file, reason },
            });
        }
        Ok(entries)
    }

    /// The newest release. If the newest record is corrupt, an error naming
    /// it: an older release is never used in its place.
    pub async fn latest(&self) -> Result<Option<Release>, ReleaseError> {
        let slots = self.slots().await?;
        match slots.last() {
            None => Ok(None),
            Some(slot) => self.load_trusted(&slots, slot).await.map(Some),
        }
    }

    /// The sequence the next release must have: the highest recorded one
    /// (valid or not) plus one.
    pub async fn next_sequence(&self) -> Result<u64, ReleaseError> {
        let slots = self.slots().await?;
        Ok(last_sequence(&slots) + 1)
    }

    /// The release `id`. Also accepts the sequence part alone (`r000003`
    /// or `3`) when exactly one record has it. A corrupt record is an
    /// error naming the file and the reason; an unknown id is an error
    /// listing the nearest ids.
    pub async fn get(&self, id: &str) -> Result<Release, ReleaseError> {
        let slots = self.slots().await?;
        let slot = self.find(&slots, id)?;
        self.load_trusted(&slots, slot).await
    }

    /// The release recorded just before `before_id`, or `None` if it is the
    /// first. If that record is corrupt, an error naming it: an older
    /// release is never used in its place.
    pub async fn previous(&self, before_id: &str) -> Result<Option<Release>, ReleaseError> {
        let slots = self.slots().await?;
        let slot = self.find(&slots, before_id)?;
        let Some(index) = slots.iter().position(|s| s.name == slot.name) else {
            return Ok(None);
        };
        match index.checked_sub(1).and_then(|i| slots.get(i)) {
            None => Ok(None),
            Some(prev) => self.load_trusted(&slots, prev).await.map(Some),
        }
    }

    /// The latest run and the release before it: what a plain `rollback`
    /// returns to. The run is the newest record, together with the schema 1
    /// records of the same run just before it ([`super::continues_run`]).
    /// `None` when the store holds no release. A corrupt record on the way
    /// is an error naming it: an older release is never used in its place.
    pub async fn latest_run(&self) -> Result<Option<LatestRun>, ReleaseError> {
        let slots = self.slots().await?;
        let Some(last) = slots.last() else {
            return Ok(None);
        };
        let latest = self.load_trusted(&slots, last).await?;
        let mut records = vec![latest.id.clone()];
        let mut current = latest.clone();
        let mut index = slots.len() - 1;
        let before = loop {
            let Some(prev_slot) = index.checked_sub(1).and_then(|i| slots.get(i)) else {
                break None;
            };
            let prev = self.load_trusted(&slots, prev_slot).await?;
            if !super::run::continues_run(&prev, &current) {
                break Some(prev);
            }
            records.insert(0, prev.id.clone());
            current = prev;
            index -= 1;
        };
        Ok(Some(LatestRun {
            latest,
            records,
            before,
        }))
    }

    /// Checks the whole store before a deploy or rollback changes anything:
    /// the records can be listed and read, every one of them is valid (no
    /// truncated, altered, copied or misnamed record, no stray file among
    /// them), and the store can be written (a probe object is created and
    /// removed again). A damaged store is [`ReleaseError::Damaged`].
    pub async fn check(&self) -> Result<(), ReleaseError> {
        let damaged = |problems: Vec<String>| ReleaseError::Damaged {
            store: self.location(),
            problems,
        };
        let entries = match self.list().await {
            Ok(entries) => entries,
            Err(e) => return Err(damaged(vec![e.to_string()])),
        };
        let problems: Vec<String> = entries
            .iter()
            .filter_map(|e| match e {
                ReleaseEntry::Corrupt { file, reason } => Some(format!("{file}: {reason}")),
                ReleaseEntry::Valid(_) => None,
            })
            .collect();
        if !problems.is_empty() {
            return Err(damaged(problems));
        }
        // A dot name: listings ignore it, like a crashed write's temp file,
        // should the removal below fail.
        let probe = format!(
            "{RELEASES}/.lunora-probe-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        );
        let written = self
            .backend
            .create_new(&probe, b"lunora write probe\n")
            .await
            .map_err(|e| damaged(vec![format!("it cannot be written: {e}")]))?;
        if !written {
            return Err(damaged(vec![format!(
                "the write probe `{}` already exists",
                self.backend.display(&probe)
            )]));
        }
        self.backend.delete(&probe, None).await.map_err(|e| {
            damaged(vec![format!(
                "a probe written to it cannot be removed: {e}"
            )])
        })?;
        Ok(())
    }

    /// Records `release`. Refuses a record that does not verify, that holds
    /// a secret-looking parameter, that belongs to another deployment, whose
    /// id exists, whose sequence is not the last one plus one, or that rolls
    /// back to a release not in the store. Hold the deploy lock while
    /// calling this.
    pub async fn append(&self, release: &Release) -> Result<(), ReleaseError> {
        release.verify()?;
        check_no_secrets(release)?;
        let expected = format!("{}-{}", self.project, self.environment);
        let found = format!("{}-{}", release.project, release.environment);
        if found != expected {
            return Err(ReleaseError::WrongDeployment {
                id: release.id.clone(),
                found,
                expected,
            });
        }
        let slots = self.slots().await?;
        if slots.iter().any(|s| s.id == release.id) {
            return Err(self.already_exists(&release.id));
        }
        let expected = last_sequence(&slots) + 1;
        if release.sequence != expected {
            return Err(ReleaseError::OutOfOrder {
                id: release.id.clone(),
                sequence: release.sequence,
                expected,
                store: self.location(),
            });
        }
        if let ReleaseKind::Rollback { to, .. } = &release.kind {
            if !slots.iter().any(|s| &s.id == to) {
                return Err(ReleaseError::UnknownRollbackTarget {
                    id: release.id.clone(),
                    to: to.clone(),
                    store: self.location(),
                });
            }
        }
        let rel = format!("{RELEASES}/{}.json", release.id);
        if !self.backend.create_new(&rel, &release.to_json()).await? {
            return Err(self.already_exists(&release.id));
        }
        // A writer that bypassed the lock may have recorded the same
        // sequence under another timestamp meanwhile: say so now, loudly
        // (readers refuse both records until a human picks one).
        let slots = self.slots().await?;
        let same: Vec<String> = slots
            .iter()
            .filter(|s| s.sequence == Some(release.sequence))
            .map(|s| self.file(s))
            .collect();
        if same.len() > 1 {
            return Err(ReleaseError::SequenceConflict {
                sequence: release.sequence,
                files: same,
            });
        }
        Ok(())
    }

    /// Takes the deploy lock, or fails with [`ReleaseError::LockHeld`]
    /// (exit code 3) naming the holder. Create-new semantics: a local
    /// no-clobber create, `If-None-Match: *` on S3.
    pub async fn acquire(&self, info: LockInfo) -> Result<LockGuard, ReleaseError> {
        let file = self.lock_file();
        let bytes = info.to_json();
        // The holder may release between our failed create and our read:
        // then try again, a few times.
        for _ in 0..3 {
            if self.backend.create_new(LOCK_FILE, &bytes).await? {
                let etag = self.backend.read(LOCK_FILE).await?.and_then(|o| o.etag);
                return Ok(LockGuard {
                    backend: self.backend.clone(),
                    info,
                    etag,
                });
            }
            if let Some(held) = self.lock_holder().await? {
                return Err(ReleaseError::LockHeld {
                    file,
                    lock: Box::new(held),
                });
            }
        }
        Err(ReleaseError::LockUnreadable {
            file,
            reason: "it kept appearing and disappearing while lunora tried to take it".to_owned(),
        })
    }

    /// Who holds the lock now, if anyone. An unreadable lock file is
    /// [`ReleaseError::LockUnreadable`].
    pub async fn lock_holder(&self) -> Result<Option<LockInfo>, ReleaseError> {
        let Some(object) = self.backend.read(LOCK_FILE).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&object.bytes)
            .map(Some)
            .map_err(|e| ReleaseError::LockUnreadable {
                file: self.lock_file(),
                reason: format!("not valid lock JSON: {e}"),
            })
    }

    /// Removes the lock whoever holds it (`--force-unlock`); returns what
    /// it held, if it was readable. Only for a holder that is gone.
    pub async fn force_unlock(&self) -> Result<Option<LockInfo>, ReleaseError> {
        let holder = match self.backend.read(LOCK_FILE).await? {
            None => return Ok(None),
            Some(object) => serde_json::from_slice::<LockInfo>(&object.bytes).ok(),
        };
        self.backend.delete(LOCK_FILE, None).await?;
        Ok(holder)
    }

    /// Records that `by` started a destination's channel at `at`.
    pub async fn record_start(
        &self,
        dest: &str,
        channel_id: &str,
        at: time::OffsetDateTime,
        by: Actor,
    ) -> Result<(), ReleaseError> {
        let rel = format!("{SESSIONS}/{dest}.json");
        let bytes = serde_json::to_vec(&Session {
            channel_id: channel_id.to_owned(),
            started_at: rfc3339(at),
            started_by: Some(by),
        })
        .unwrap_or_default();
        self.backend.delete(&rel, None).await?;
        self.backend.create_new(&rel, &bytes).await?;
        Ok(())
    }

    /// When lunora started this destination's channel, if it recorded it
    /// for this very channel (a replaced channel has another id).
    pub async fn started_at(
        &self,
        dest: &str,
        channel_id: &str,
    ) -> Result<Option<String>, ReleaseError> {
        Ok(self.session(dest, channel_id).await?.map(|s| s.started_at))
    }

    /// The start lunora recorded for this destination's very channel.
    pub async fn session(
        &self,
        dest: &str,
        channel_id: &str,
    ) -> Result<Option<Session>, ReleaseError> {
        let Some(object) = self
            .backend
            .read(&format!("{SESSIONS}/{dest}.json"))
            .await?
        else {
            return Ok(None);
        };
        Ok(serde_json::from_slice::<Session>(&object.bytes)
            .ok()
            .filter(|s| s.channel_id == channel_id))
    }

    /// Appends `record` to the audit trail as an object of its own
    /// (`audit/<YYYYMMDDTHHMMSS.nnnnnnnnnZ>-<action>.json`, created, never
    /// replaced); returns its full path or URL.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<String, ReleaseError> {
        let bytes = serde_json::to_vec(record).unwrap_or_default();
        let now = time::OffsetDateTime::now_utc();
        let stamp = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.nanosecond()
        );
        let action: String = record
            .action
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        // Two actions in the same nanosecond (two processes): the second
        // takes the next free name.
        for n in 0..10 {
            let suffix = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            let rel = format!("{AUDIT}/{stamp}-{action}{suffix}.json");
            if self.backend.create_new(&rel, &bytes).await? {
                return Ok(self.backend.display(&rel));
            }
        }
        Err(ReleaseError::AuditNameTaken {
            name: format!("{AUDIT}/{stamp}-{action}.json"),
            store: self.location(),
        })
    }

    /// The audit trail, oldest first. An object that is not a record
    /// (damaged, or a newer lunora's) is left out.
    pub async fn audit_log(&self) -> Result<Vec<AuditRecord>, ReleaseError> {
        let mut names: Vec<String> = self
            .backend
            .list(AUDIT)
            .await?
            .into_iter()
            .filter(|name| !name.starts_with('.') && name.ends_with(".json"))
            .collect();
        names.sort();
        let mut records = Vec::with_capacity(names.len());
        for name in names {
            if let Some(object) = self.backend.read(&format!("{AUDIT}/{name}")).await? {
                if let Ok(record) = serde_json::from_slice::<AuditRecord>(&object.bytes) {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }

    /// Forgets a destination's start (it was stopped).
    pub async fn clear_start(&self, dest: &str) -> Result<(), ReleaseError> {
        self.backend
            .delete(&format!("{SESSIONS}/{dest}.json"), None)
            .await?;
        Ok(())
    }

    fn already_exists(&self, id: &str) -> ReleaseError {
        ReleaseError::AlreadyExists {
            id: id.to_owned(),
            store: self.location(),
        }
    }

    fn file(&self, slot: &Slot) -> String {
        self.backend.display(&format!("{RELEASES}/{}", slot.name))
    }

    /// The record files, in sequence order; names that are not ids last.
    async fn slots(&self) -> Result<Vec<Slot>, ReleaseError> {
        let mut slots: Vec<Slot> = self
            .backend
            .list(RELEASES)
            .await?
            .into_iter()
            .filter(|name| !name.starts_with('.'))
            .map(|name| {
                // A stray file is listed too (as corrupt: its name is not a
                // release id), so that `releases` shows it.
                let id = name.strip_suffix(".json").unwrap_or(&name).to_owned();
                let sequence = name.ends_with(".json").then(|| parse_id(&id)).flatten();
                Slot { sequence, id, name }
            })
            .collect();
        slots.sort_by(|a, b| {
            (a.sequence.is_none(), a.sequence, &a.name).cmp(&(
                b.sequence.is_none(),
                b.sequence,
                &b.name,
            ))
        });
        Ok(slots)
    }

    /// The slot of `id`: an exact id, or a sequence (`r000003`, `3`) that
    /// exactly one record has.
    fn find<'a>(&self, slots: &'a [Slot], id: &str) -> Result<&'a Slot, ReleaseError> {
        if let Some(slot) = slots.iter().find(|s| s.id == id) {
            return Ok(slot);
        }
        let wanted = sequence_query(id);
        if let Some(seq) = wanted {
            let matching: Vec<&Slot> = slots.iter().filter(|s| s.sequence == Some(seq)).collect();
            match matching.as_slice() {
                [slot] => return Ok(slot),
                [] => {}
                many => {
                    return Err(ReleaseError::SequenceConflict {
                        sequence: seq,
                        files: many.iter().map(|s| self.file(s)).collect(),
                    })
                }
            }
        }
        Err(ReleaseError::NotFound {
            id: id.to_owned(),
            store: self.location(),
            nearest: nearest(slots, id, wanted),
        })
    }

    /// Reads and checks one record: `Ok(Err(reason))` if it is corrupt.
    async fn load(&self, slot: &Slot) -> Result<Result<Release, String>, ReleaseError> {
        let Some(object) = self
            .backend
            .read(&format!("{RELEASES}/{}", slot.name))
            .await?
        else {
            return Ok(Err(
                "the record disappeared while it was being read".to_owned()
            ));
        };
        Ok(self.decode(slot, &object.bytes))
    }

    fn decode(&self, slot: &Slot, bytes: &[u8]) -> Result<Release, String> {
        if slot.sequence.is_none() {
            return Err(format!(
                "`{}` is not a release file name (`r<sequence>-<YYYYMMDDTHHMMSSZ>.json`)",
                slot.name
            ));
        }
        // A newer lunora's record says so, rather than failing on its new
        // fields.
        #[derive(serde::Deserialize)]
        struct Schema {
            schema: u32,
        }
        if let Ok(Schema { schema }) = serde_json::from_slice::<Schema>(bytes) {
            if !(super::record::OLDEST_SCHEMA..=super::SCHEMA).contains(&schema) {
                return Err(format!(
                    "schema {schema} is not supported (this lunora reads schemas {} to {}; upgrade lunora?)",
                    super::record::OLDEST_SCHEMA,
                    super::SCHEMA
                ));
            }
        }
        let release: Release = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a valid release record: {e}"))?;
        if let Some(problem) = release.problem() {
            return Err(problem);
        }
        if release.id != slot.id {
            return Err(format!(
                "it records release `{}` but is named `{}`",
                release.id, slot.name
            ));
        }
        if release.project != self.project || release.environment != self.environment {
            return Err(format!(
                "it belongs to `{}-{}`, not `{}-{}`",
                release.project, release.environment, self.project, self.environment
            ));
        }
        Ok(release)
    }

    /// Loads `slot`, turning corruption (or a duplicated sequence) into an
    /// error.
    async fn load_trusted(&self, slots: &[Slot], slot: &Slot) -> Result<Release, ReleaseError> {
        if let Some(seq) = slot.sequence {
            let same: Vec<String> = slots
                .iter()
                .filter(|s| s.sequence == Some(seq))
                .map(|s| self.file(s))
                .collect();
            if same.len() > 1 {
                return Err(ReleaseError::SequenceConflict {
                    sequence: seq,
                    files: same,
                });
            }
        }
        self.load(slot)
            .await?
            .map_err(|reason| ReleaseError::Corrupt {
                file: self.file(slot),
                reason,
            })
    }
}

fn last_sequence(slots: &[Slot]) -> u64 {
    slots.iter().filter_map(|s| s.sequence).max().unwrap_or(0)
}

/// Sequences recorded by more than one file, with their file names.
fn duplicates(slots: &[Slot]) -> BTreeMap<u64, Vec<String>> {
    let mut by_seq: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for slot in slots {
        if let Some(seq) = slot.sequence {
            by_seq.entry(seq).or_default().push(slot.name.clone());
        }
    }
    by_seq.retain(|_, names| names.len() > 1);
    by_seq
}

/// The sequence a user means by `r000003`, `3` or a full id.
fn sequence_query(id: &str) -> Option<u64> {
    if let Some(seq) = parse_id(id) {
        return Some(seq);
    }
    let digits = id.strip_prefix('r').unwrap_or(id);
    let digits = digits.split('-').next().unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Up to three ids nearest to `id`: by sequence when it has one, else by
/// edit distance.
fn nearest(slots: &[Slot], id: &str, sequence: Option<u64>) -> Vec<String> {
    let mut ranked: Vec<(u64, &str)> = slots
        .iter()
        .map(|s| {
            let distance = match (sequence, s.sequence) {
                (Some(want), Some(have)) => want.abs_diff(have),
                _ => strsim::levenshtein(id, &s.id) as u64,
            };
            (distance, s.id.as_str())
        })
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .take(3)
        .map(|(_, id)| id.to_owned())
        .collect()
}
