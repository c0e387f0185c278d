//! The release record: what was deployed, by whom, sealed with a digest.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::ReleaseError;

/// The record format this lunora writes. Schema 2 (one record per deploy
/// or rollback run, with the run's [`RunOutcome`]) replaced schema 1 (one
/// record per completed stage, no outcome); both are read.
pub const SCHEMA: u32 = 2;
/// The oldest record format this lunora still reads.
pub const OLDEST_SCHEMA: u32 = 1;

/// `created_at`: RFC 3339, UTC, second precision.
const CREATED_AT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
/// The time part of a release id.
const ID_STAMP: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// One deploy or rollback, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Record format, [`SCHEMA`].
    pub schema: u32,
    /// `r{sequence:06}-{YYYYMMDDTHHMMSSZ}`: sorts in sequence order.
    pub id: String,
    /// 1, 2, 3, ...: the previous release's plus one.
    pub sequence: u64,
    /// Deploy or rollback, and the stages it completed.
    pub kind: ReleaseKind,
    /// How the run ended (schema 2). Absent in schema 1 records, which
    /// were written after each completed stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// RFC 3339 UTC, second precision.
    pub created_at: String,
    pub caller_arn: String,
    pub account_id: String,
    pub region: String,
    pub project: String,
    pub environment: String,
    pub git_commit: Option<String>,
    /// `sha256:<hex>` of the config (and presets) it was deployed from.
    pub config_digest: String,
    /// The deployed state of every stack after this release, in stage
    /// order: rollback redeploys exactly these.
    pub stacks: Vec<RecordedStack>,
    /// `sha256:<hex>` of the canonical JSON of this record with `digest`
    /// set to `""`.
    pub digest: String,
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReleaseKind {
    /// A deploy of these stages.
    Deploy { stages: Vec<String> },
    /// A rollback of these stages to release `to`.
    Rollback { to: String, stages: Vec<String> },
}

impl ReleaseKind {
    /// The stages this release deployed.
    pub fn stages(&self) -> &[String] {
        match self {
            Self::Deploy { stages } | Self::Rollback { stages, .. } => stages,
        }
    }

    /// `deploy` or `rollback`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Deploy { .. } => "deploy",
            Self::Rollback { .. } => "rollback",
        }
    }
}

/// How a deploy or rollback run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Every stage in scope deployed.
    Completed,
    /// A stack failed (or failed and rolled back): the run stopped at its
    /// stage.
    Failed,
    /// The run was cut short: a wait hit its deadline, or an error stopped
    /// the stage loop. What had changed is recorded.
    Interrupted,
}

impl RunOutcome {
    /// `completed`, `failed` or `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stack as deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedStack {
    pub name: String,
    pub stage: String,
    /// The exact template body deployed.
    pub template: String,
    /// Lowercase hex SHA-256 of `template`.
    pub template_sha256: String,
    pub parameters: BTreeMap<String, String>,
}

impl RecordedStack {
    /// A stack record; computes `template_sha256`.
    pub fn new(
        name: impl Into<String>,
        stage: impl Into<String>,
        template: impl Into<String>,
        parameters: BTreeMap<String, String>,
    ) -> Self {
        let template = template.into();
        Self {
            name: name.into(),
            stage: stage.into(),
            template_sha256: sha256_hex(template.as_bytes()),
            template,
            parameters,
        }
    }
}

/// The caller-supplied part of a release; [`Release::new`] adds the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// The store's next sequence ([`super::ReleaseStore::next_sequence`]).
    pub sequence: u64,
    pub kind: ReleaseKind,
    /// How the run ended.
    pub outcome: RunOutcome,
    pub caller_arn: String,
    pub account_id: String,
    pub region: String,
    pub project: String,
    pub environment: String,
    pub git_commit: Option<String>,
    /// `sha256:<64 hex>`; see [`sha256_digest`].
    pub config_digest: String,
    pub stacks: Vec<RecordedStack>,
}

impl Release {
    /// Seals a new record: fills `schema`, `id` and `created_at` (from
    /// `now`, truncated to the second, in UTC) and computes the digest.
    /// Refuses an inconsistent record and secret-looking parameters.
    pub fn new(draft: NewRelease, now: OffsetDateTime) -> Result<Self, ReleaseError> {
        let now = now.to_offset(UtcOffset::UTC);
        let id = release_id(draft.sequence, now);
        let created_at = format_time(now, CREATED_AT);
        let mut release = Self {
            schema: SCHEMA,
            id,
            sequence: draft.sequence,
            kind: draft.kind,
            outcome: Some(draft.outcome),
            created_at,
            caller_arn: draft.caller_arn,
            account_id: draft.account_id,
            region: draft.region,
            project: draft.project,
            environment: draft.environment,
            git_commit: draft.git_commit,
            config_digest: draft.config_digest,
            stacks: draft.stacks,
            digest: String::new(),
        };
        check_no_secrets(&release)?;
        release.digest = release.compute_digest();
        release.verify()?;
        Ok(release)
    }

    /// Checks the record against itself: schema, digest, id, time, template
    /// hashes, stack names, rollback target.
    pub fn verify(&self) -> Result<(), ReleaseError> {
        self.problem().map_or(Ok(()), |reason| {
            Err(ReleaseError::Invalid {
                id: self.id.clone(),
                reason,
            })
        })
    }

    /// What is wrong with this record, if anything.
    pub(super) fn problem(&self) -> Option<String> {
        if !(OLDEST_SCHEMA..=SCHEMA).contains(&self.schema) {
            return Some(format!(
                "schema {} is not supported (this lunora reads schemas {OLDEST_SCHEMA} to {SCHEMA}; upgrade lunora?)",
                self.schema
            ));
        }
        match (self.schema, self.outcome) {
            (1, Some(_)) => {
                return Some("a schema 1 record has no `outcome` (it came with schema 2)".into())
            }
            (2.., None) => {
                return Some(format!(
                    "a schema {} record must say the run's `outcome`",
                    self.schema
                ))
            }
            _ => {}
        }
        let computed = self.compute_digest();
        if self.digest != computed {
            return Some(format!(
                "digest mismatch: the record says `{}`, its content hashes to `{computed}`",
                self.digest
            ));
        }
        if self.sequence == 0 {
            return Some("sequence 0 (sequences start at 1)".to_owned());
        }
        let Ok(created) = PrimitiveDateTime::parse(&self.created_at, CREATED_AT) else {
            return Some(format!(
                "created_at `{}` is not an RFC 3339 UTC time like 2026-11-24T05:15:00Z",
                self.created_at
            ));
        };
        let expected_id = release_id(self.sequence, created.assume_utc());
        if self.id != expected_id {
            return Some(format!(
                "id `{}` does not match its sequence and time (expected `{expected_id}`)",
                self.id
            ));
        }
        if !is_sha256_digest(&self.config_digest) {
            return Some(format!(
                "config_digest `{}` is not `sha256:` followed by 64 lowercase hex digits",
                self.config_digest
            ));
        }
        if let ReleaseKind::Rollback { to, .. } = &self.kind {
            match parse_id(to) {
                Some(seq) if seq < self.sequence => {}
                Some(_) => {
                    return Some(format!(
                        "rolls back to `{to}`, which is not an earlier release"
                    ))
                }
                None => return Some(format!("rolls back to `{to}`, which is not a release id")),
            }
        }
        let mut names = BTreeSet::new();
        for stack in &self.stacks {
            if !names.insert(stack.name.as_str()) {
                return Some(format!("stack `{}` is recorded twice", stack.name));
            }
            if stack.template_sha256 != sha256_hex(stack.template.as_bytes()) {
                return Some(format!(
                    "the template of stack `{}` does not match its template_sha256",
                    stack.name
                ));
            }
        }
        None
    }

    /// `sha256:<hex>` of the canonical JSON of this record with `digest`
    /// set to `""`: keys sorted, no whitespace.
    pub fn compute_digest(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.digest.clear();
        // A struct of strings, integers and maps always serialises.
        let value = serde_json::to_value(&unsealed).unwrap_or(serde_json::Value::Null);
        let mut canonical = String::new();
        write_canonical(&value, &mut canonical);
        sha256_digest(canonical.as_bytes())
    }

    /// The stored form: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// The recorded stack named `name`.
    pub fn stack(&self, name: &str) -> Option<&RecordedStack> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

/// Refuses a record whose parameters hold what looks like a literal secret:
/// a key containing `password`, `passphrase`, `secret` or `streamkey`
/// (any case, `_`/`-` ignored) whose value is not empty, not a
/// `{{resolve:secretsmanager|ssm-secure|ssm:...}}` reference and not an ARN.
/// The error names the stack and key, never the value.
pub fn check_no_secrets(release: &Release) -> Result<(), ReleaseError> {
    for stack in &release.stacks {
        for (key, value) in &stack.parameters {
            if looks_secret(key) && !is_reference(value) {
                return Err(ReleaseError::SecretParameter {
                    id: release.id.clone(),
                    stack: stack.name.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    Ok(())
}

fn looks_secret(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ["password", "passphrase", "secret", "streamkey"]
        .iter()
        .any(|word| key.contains(word))
}

fn is_reference(value: &str) -> bool {
    let dynamic = ["secretsmanager", "ssm-secure", "ssm"]
        .iter()
        .any(|service| {
            value
                .strip_prefix("{{resolve:")
                .and_then(|rest| rest.strip_prefix(service))
                .is_some_and(|rest| rest.starts_with(':') && rest.ends_with("}}"))
        });
    let arn = value.starts_with("arn:")
        && !value.contains(char::is_whitespace)
        && value.splitn(6, ':').count() == 6;
    value.is_empty() || dynamic || arn
}

/// `r{sequence:06}-{YYYYMMDDTHHMMSSZ}` for a sequence and a time (taken in
/// UTC, seconds).
pub fn release_id(sequence: u64, at: OffsetDateTime) -> String {
    format!(
        "r{sequence:06}-{}",
        format_time(at.to_offset(UtcOffset::UTC), ID_STAMP)
    )
}

/// The sequence of a well-formed release id.
pub(super) fn parse_id(id: &str) -> Option<u64> {
    let (seq, stamp) = id.strip_prefix('r')?.split_once('-')?;
    if seq.len() < 6 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    PrimitiveDateTime::parse(stamp, ID_STAMP).ok()?;
    seq.parse().ok()
}

fn format_time(at: OffsetDateTime, format: &[FormatItem<'_>]) -> String {
    // Every format item here is a plain date or time component: formatting
    // cannot fail for a valid OffsetDateTime.
    at.format(format).unwrap_or_default()
}

/// The current time as written in records and locks.
pub(super) fn timestamp(at: OffsetDateTime) -> String {
    format_time(at.to_offset(UtcOffset::UTC), CREATED_AT)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in hash {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// `sha256:<lowercase hex>`, the form of `config_digest` and `digest`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace,
/// strings escaped as serde_json does (non-ASCII kept as UTF-8). Independent
/// of serde_json's `preserve_order` feature (which the dependency tree
/// turns on). Other tools can recompute a digest with Python's
/// `json.dumps(record, sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False)`.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;

    fn draft() -> NewRelease {
        NewRelease {
            sequence: 3,
            kind: ReleaseKind::Deploy {
                stages: vec!["base".into()],
            },
            outcome: RunOutcome::Completed,
            caller_arn: "arn:aws:iam::123456789012:user/ops".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            project: "player".into(),
            environment: "prod".into(),
            git_commit: Some("0123456789abcdef".into()),
            config_digest: sha256_digest(b"config"),
            stacks: vec![RecordedStack::new(
                "player-prod-base",
                "base",
                "{\"Resources\":{}}\n",
                BTreeMap::from([(
                    "StreamKeyArn".into(),
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf".into(),
                )]),
            )],
        }
    }

    #[test]
    fn new_fills_id_time_and_a_verifiable_digest() {
        let r = Release::new(draft(), datetime!(2026-11-24 05:15:00.75 +01:00)).unwrap();
        assert_eq!(r.id, "r000003-20261124T041500Z");
        assert_eq!(r.created_at, "2026-11-24T04:15:00Z");
        assert_eq!(r.schema, 2);
        assert_eq!(r.outcome, Some(RunOutcome::Completed));
        assert!(r.digest.starts_with("sha256:") && r.digest.len() == 71);
        r.verify().unwrap();
        assert_eq!(parse_id(&r.id), Some(3));
    }

    #[test]
    fn digest_is_canonical_and_covers_every_field() {
        let r = Release::new(draft(), datetime!(2026-11-24 05:15:00 UTC)).unwrap();
        // Pinned: a change to the canonical form would turn every stored
        // record corrupt, so it must be deliberate (and a new schema). The
        // value equals Python's `json.dumps(record, sort_keys=True,
        // separators=(",", ":"), ensure_ascii=False)` hashed with SHA-256.
        assert_eq!(
            r.digest,
            "sha256:b24c8597249b54d1068253a59210f79bac732b2acd839dd556b7ee676110db27"
        );
        // A schema 1 record (no `outcome`) hashes exactly as the lunora
        // that wrote schema 1 did: its history stays valid.
        let mut old = r.clone();
        old.schema = 1;
        old.outcome = None;
        assert_eq!(
            old.compute_digest(),
            "sha256:91aab7e894f30ee07c687758e0342164264e7d71cc09e8e5a6ca996cf89b9f34"
        );
        old.digest = old.compute_digest();
        old.verify().unwrap();
        assert!(!String::from_utf8(old.to_json())
            .unwrap()
            .contains("outcome"));

        let mut t = r.clone();
        t.stacks[0].parameters.insert("Extra".into(), "x".into());
        assert!(t
            .verify()
            .unwrap_err()
            .to_string()
            .contains("digest mismatch"));

        let mut t = r.clone();
        t.git_commit = None;
        assert!(t.verify().is_err());

        // Reformatting the stored JSON does not change the digest.
        let compact: Release = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        compact.verify().unwrap();
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v = serde_json::json!({"b": [1, {"z": "\"", "a": null}], "a": true});
        let mut s = String::new();
        write_canonical(&v, &mut s);
        assert_eq!(s, r#"{"a":true,"b":[1,{"a":null,"z":"\""}]}"#);
    }

    #[test]
    fn verify_rejects_inconsistent_records() {
        let r = Release::new(draft(), datetime!(2026-11-24 05:15:00 UTC)).unwrap();
        let reseal = |mut r: Release| {
            r.digest = r.compute_digest();
            r.verify().unwrap_err().to_string()
        };
        let mut t = r.clone();
        t.id = "r000004-20261124T051500Z".into();
        assert!(reseal(t).contains("does not match its sequence"));
        let mut t = r.clone();
        t.stacks[0].template.push(' ');
        assert!(reseal(t).contains("template_sha256"));
        let mut t = r.clone();
        t.config_digest = "abc".into();
        assert!(reseal(t).contains("config_digest"));
        let mut t = r.clone();
        t.kind = ReleaseKind::Rollback {
            to: "r000003-20261124T051500Z".into(),
            stages: vec![],
        };
        assert!(reseal(t).contains("not an earlier release"));
        let mut t = r.clone();
        t.schema = 3;
        assert!(reseal(t).contains("schema 3"));
        let mut t = r.clone();
        t.outcome = None;
        assert!(reseal(t).contains("must say the run's `outcome`"));
        let mut t = r;
        t.schema = 1;
        assert!(reseal(t).contains("schema 1 record has no `outcome`"));
    }

    #[test]
    fn secret_guard_refuses_literal_values_and_never_echoes_them() {
        for (key, value, refused) in [
            ("DbPassword", "hunter2", true),
            ("stream_key", "live_abc", true),
            ("SrtPassphrase", "correct-horse", true),
            ("ClientSecret", "arn:aws:secretsmanager", true),
            ("StreamKey", "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x:SecretString:key}}", false),
            ("PasswordParam", "{{resolve:ssm-secure:/lunora/pw}}", false),
            ("StreamKeySecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf", false),
            ("Secret", "", false),
            ("Bitrate", "6000", false),
        ] {
            let mut d = draft();
            d.stacks[0].parameters = BTreeMap::from([(key.to_owned(), value.to_owned())]);
            let result = Release::new(d, datetime!(2026-11-24 05:15:00 UTC));
            assert_eq!(result.is_err(), refused, "{key}={value}");
            if let Err(e) = result {
                let msg = e.to_string();
                assert!(msg.contains(key) && msg.contains("player-prod-base"), "{msg}");
                assert!(!msg.contains(value), "{msg}");
            }
        }
    }

    #[test]
    fn ids_parse_only_when_well_formed() {
        assert_eq!(parse_id("r000001-20261124T051500Z"), Some(1));
        assert_eq!(parse_id("r1234567-20261124T051500Z"), Some(1_234_567));
        for bad in [
            "r01-20261124T051500Z",
            "r000001-20261324T051500Z",
            "x000001-20261124T051500Z",
            "r000001",
            "r00000a-20261124T051500Z",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
