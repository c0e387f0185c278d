//! The release store: history, append-only atomic writes, corruption
//! detection, the deploy lock and the secret guard, for the local
//! directory backend and for S3 (against the moto emulator, one emulator
//! per S3 test). Every scenario is written once against a [`Raw`] view of
//! the storage and run on both backends, so they behave the same.
//!
//! S3 tests need `pip install -r tests/emulator/requirements.txt`.
#![allow(clippy::unwrap_used)]

use crate::common::emulator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lunora::commands::releases;
use lunora::output::ExitStatus;
use lunora::release::{
    parse_location, sha256_digest, Actor, AuditRecord, LockInfo, NewRelease, RecordedStack,
    Release, ReleaseEntry, ReleaseError, ReleaseKind, ReleaseStore, RunOutcome,
};
use time::macros::datetime;
use time::OffsetDateTime;

const PROJECT: &str = "player";
const BUCKET: &str = "lunora-state";
const PREFIX: &str = "team/lunora";

// --- fixtures ---------------------------------------------------------------

fn stacks(environment: &str, variant: &str) -> Vec<RecordedStack> {
    let base = format!("{{\n  \"Resources\": {{\n    \"Topic\": {{\"Type\": \"AWS::SNS::Topic\", \"Properties\": {{\"DisplayName\": \"{variant}\"}}}}\n  }}\n}}\n");
    let flow = "{\n  \"Resources\": {\n    \"Flow\": {\"Type\": \"AWS::MediaConnect::Flow\", \"Properties\": {\"Source\": {\"Decryption\": {\"SecretArn\": \"{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:srt-Ab12Cd}}\"}}}}\n  }\n}\n";
    vec![
        RecordedStack::new(
            format!("{PROJECT}-{environment}-base"),
            "base",
            base,
            BTreeMap::new(),
        ),
        RecordedStack::new(
            format!("{PROJECT}-{environment}-flow"),
            "flow",
            flow,
            BTreeMap::from([
                ("IngestCidr".to_owned(), "203.0.113.10/32".to_owned()),
                (
                    "StreamKeySecretArn".to_owned(),
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:yt-AbCdEf".to_owned(),
                ),
            ]),
        ),
    ]
}

fn draft(environment: &str, sequence: u64, kind: ReleaseKind, variant: &str) -> NewRelease {
    NewRelease {
        sequence,
        kind,
        outcome: RunOutcome::Completed,
        caller_arn: "arn:aws:sts::123456789012:assumed-role/Deployer/ci".to_owned(),
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        project: PROJECT.to_owned(),
        environment: environment.to_owned(),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        config_digest: sha256_digest(variant.as_bytes()),
        stacks: stacks(environment, variant),
    }
}

fn deploy(stages: &[&str]) -> ReleaseKind {
    ReleaseKind::Deploy {
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn minute(m: u8) -> OffsetDateTime {
    datetime!(2026-11-24 05:00:00 UTC) + time::Duration::minutes(m.into())
}

/// Seals and appends a release with the store's next sequence.
async fn record(store: &ReleaseStore, env: &str, kind: ReleaseKind, at: u8) -> Release {
    let seq = store.next_sequence().await.unwrap();
    let release = Release::new(draft(env, seq, kind, &format!("v{at}")), minute(at)).unwrap();
    store.append(&release).await.unwrap();
    release
}

/// Three releases: deploy base+flow, deploy flow, rollback to the first.
async fn three(store: &ReleaseStore, env: &str) -> [Release; 3] {
    let r1 = record(store, env, deploy(&["base", "flow"]), 1).await;
    let r2 = record(store, env, deploy(&["flow"]), 2).await;
    let seq = store.next_sequence().await.unwrap();
    let mut d = draft(
        env,
        seq,
        ReleaseKind::Rollback {
            to: r1.id.clone(),
            stages: vec!["flow".to_owned()],
        },
        "v1",
    );
    d.stacks = r1.stacks.clone();
    let r3 = Release::new(d, minute(3)).unwrap();
    store.append(&r3).await.unwrap();
    [r1, r2, r3]
}

fn valid(entries: &[ReleaseEntry]) -> Vec<&Release> {
    entries
        .iter()
        .filter_map(|e| match e {
            ReleaseEntry::Valid(r) => Some(r.as_ref()),
            ReleaseEntry::Corrupt { .. } => None,
        })
        .collect()
}

fn corrupt(entries: &[ReleaseEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|e| match e {
            ReleaseEntry::Corrupt { file, reason } => Some((file.clone(), reason.clone())),
            ReleaseEntry::Valid(_) => None,
        })
        .collect()
}

// --- raw access to the storage, to look at and damage it ----------------------

/// The store's storage, bypassing the store.
enum Raw {
    Local(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        root: String,
    },
}

impl Raw {
    async fn read(&self, rel: &str) -> Vec<u8> {
        match self {
            Self::Local(root) => std::fs::read(root.join(rel)).unwrap(),
            Self::S3 { client, root } => client
                .get_object()
                .bucket(BUCKET)
                .key(format!("{root}/{rel}"))
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
                .to_vec(),
        }
    }

    /// Overwrites (or creates) `rel`, as a careless human or a broken
    /// tool would.
    async fn write(&self, rel: &str, bytes: Vec<u8>) {
        match self {
            Self::Local(root) => std::fs::write(root.join(rel), bytes).unwrap(),
            Self::S3 { client, root } => {
                client
                    .put_object()
                    .bucket(BUCKET)
                    .key(format!("{root}/{rel}"))
                    .body(bytes.into())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Every object under the root, relative, sorted.
    async fn names(&self) -> Vec<String> {
        let mut names = match self {
            Self::Local(root) => walk(root, root),
            Self::S3 { client, root } => client
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix(format!("{root}/"))
                .send()
                .await
                .unwrap()
                .contents()
                .iter()
                .map(|o| o.key().unwrap()[root.len() + 1..].to_owned())
                .collect(),
        };
        names.sort();
        names
    }

    fn display(&self, rel: &str) -> String {
        match self {
            Self::Local(root) => root.join(rel).display().to_string(),
            Self::S3 { root, .. } => format!("s3://{BUCKET}/{root}/{rel}"),
        }
    }
}

fn walk(root: &Path, dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(root, &path));
        } else {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    out
}

/// A store and its raw storage for one environment.
trait Backend {
    fn open(&self, env: &str) -> (ReleaseStore, Raw);
}

struct LocalBackend(tempfile::TempDir);

impl LocalBackend {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
}

impl Backend for LocalBackend {
    fn open(&self, env: &str) -> (ReleaseStore, Raw) {
        let dir = self.0.path().join(".lunora");
        (
            ReleaseStore::local(&dir, PROJECT, env),
            Raw::Local(dir.join(format!("{PROJECT}-{env}"))),
        )
    }
}

struct S3Backend {
    client: aws_sdk_s3::Client,
    _emulator: emulator::Emulator,
}

impl S3Backend {
    async fn start() -> Self {
        let emulator = emulator::Emulator::start();
        let sdk = emulator.sdk_config().await;
        let config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        client.create_bucket().bucket(BUCKET).send().await.unwrap();
        Self {
            client,
            _emulator: emulator,
        }
    }
}

impl Backend for S3Backend {
    fn open(&self, env: &str) -> (ReleaseStore, Raw) {
        (
            ReleaseStore::s3(self.client.clone(), BUCKET, PREFIX, PROJECT, env),
            Raw::S3 {
                client: self.client.clone(),
                root: format!("{PREFIX}/{PROJECT}-{env}"),
            },
        )
    }
}

// --- scenarios, run on both backends ----------------------------------------

async fn history(backend: &impl Backend, env: &str) {
    let (store, raw) = backend.open(env);
    assert!(store.list().await.unwrap().is_empty());
    assert_eq!(store.latest().await.unwrap(), None);
    assert_eq!(store.next_sequence().await.unwrap(), 1);

    let [r1, r2, r3] = three(&store, env).await;
    assert_eq!(r1.id, "r000001-20261124T050100Z");
    assert_eq!(r3.id, "r000003-20261124T050300Z");

    let entries = store.list().await.unwrap();
    assert_eq!(valid(&entries), [&r1, &r2, &r3]);
    assert!(corrupt(&entries).is_empty());

    assert_eq!(store.get(&r2.id).await.unwrap(), r2);
    assert_eq!(store.get("r000002").await.unwrap(), r2);
    assert_eq!(store.get("2").await.unwrap(), r2);
    assert_eq!(store.latest().await.unwrap().as_ref(), Some(&r3));
    assert_eq!(store.previous(&r3.id).await.unwrap().as_ref(), Some(&r2));
    assert_eq!(store.previous(&r2.id).await.unwrap().as_ref(), Some(&r1));
    assert_eq!(store.previous(&r1.id).await.unwrap(), None);
    assert_eq!(store.next_sequence().await.unwrap(), 4);

    // The rollback recorded the first release's exact templates.
    assert_eq!(r3.stacks, r1.stacks);
    assert_ne!(r2.stacks, r1.stacks);

    // An unknown id names the nearest ones.
    let err = store.get("r000009-20261124T050900Z").await.unwrap_err();
    assert!(matches!(err, ReleaseError::NotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&r3.id) && msg.contains(&r2.id), "{msg}");
    let err = store.previous("nope").await.unwrap_err();
    assert!(matches!(err, ReleaseError::NotFound { .. }), "{err}");

    // Exactly the records, at the documented paths; no temporary files.
    assert_eq!(
        raw.names().await,
        [
            format!("releases/{}.json", r1.id),
            format!("releases/{}.json", r2.id),
            format!("releases/{}.json", r3.id),
        ]
    );
    assert_eq!(
        store.record_file(&r1.id),
        raw.display(&format!("releases/{}.json", r1.id))
    );
    // The stored form parses back to the same record.
    let stored: Release =
        serde_json::from_slice(&raw.read(&format!("releases/{}.json", r2.id)).await).unwrap();
    assert_eq!(stored, r2);

    // Another environment is another history.
    let (other, _) = backend.open(&format!("{env}-other"));
    assert!(other.list().await.unwrap().is_empty());
}

async fn append_only(backend: &impl Backend, env: &str) {
    let (store, raw) = backend.open(env);
    let [r1, r2, _] = three(&store, env).await;
    let before = raw.names().await;
    let bytes = raw.read(&format!("releases/{}.json", r2.id)).await;

    // The same record again: refused, nothing changed.
    let err = store.append(&r2).await.unwrap_err();
    assert!(matches!(err, ReleaseError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(raw.read(&format!("releases/{}.json", r2.id)).await, bytes);

    // A sequence that skips, or one that is already taken.
    for seq in [5, 3, 1] {
        let r = Release::new(draft(env, seq, deploy(&["flow"]), "x"), minute(9)).unwrap();
        let err = store.append(&r).await.unwrap_err();
        match err {
            ReleaseError::OutOfOrder {
                sequence, expected, ..
            } => assert_eq!((sequence, expected), (seq, 4)),
            other => panic!("sequence {seq}: {other}"),
        }
    }

    // Another deployment's record.
    let r = Release::new(draft("elsewhere", 4, deploy(&["flow"]), "x"), minute(9)).unwrap();
    let err = store.append(&r).await.unwrap_err();
    assert!(matches!(err, ReleaseError::WrongDeployment { .. }), "{err}");

    // A rollback to a release that is not there.
    let kind = ReleaseKind::Rollback {
        to: "r000002-20991231T000000Z".to_owned(),
        stages: vec!["flow".to_owned()],
    };
    let r = Release::new(draft(env, 4, kind, "x"), minute(9)).unwrap();
    let err = store.append(&r).await.unwrap_err();
    assert!(
        matches!(err, ReleaseError::UnknownRollbackTarget { .. }),
        "{err}"
    );

    // A record altered after sealing.
    let mut r = Release::new(draft(env, 4, deploy(&["flow"]), "x"), minute(9)).unwrap();
    r.region = "eu-west-1".to_owned();
    let err = store.append(&r).await.unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    // A literal secret in a parameter, even in a correctly sealed record.
    let mut r = Release::new(draft(env, 4, deploy(&["flow"]), "x"), minute(9)).unwrap();
    r.stacks[1]
        .parameters
        .insert("RtmpPassword".to_owned(), "hunter2-literal".to_owned());
    r.digest = r.compute_digest();
    r.verify().unwrap();
    let err = store.append(&r).await.unwrap_err();
    assert!(matches!(err, ReleaseError::SecretParameter { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("RtmpPassword") && msg.contains(&format!("{PROJECT}-{env}-flow")));
    assert!(!msg.contains("hunter2-literal"), "{msg}");

    // Nothing was written by any refusal, and history is intact.
    assert_eq!(raw.names().await, before);

    // Two writers racing with the same record: both may pass the listing,
    // only the conditional create decides. Exactly one wins.
    let r4 = Release::new(draft(env, 4, deploy(&["flow"]), "race"), minute(9)).unwrap();
    let (a, b) = tokio::join!(store.append(&r4), store.append(&r4));
    let errors: Vec<ReleaseError> = [a, b].into_iter().filter_map(Result::err).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(errors[0], ReleaseError::AlreadyExists { .. }),
        "{}",
        errors[0]
    );
    assert_eq!(store.latest().await.unwrap().as_ref(), Some(&r4));
    assert_eq!(store.get(&r1.id).await.unwrap(), r1);
}

/// A fresh store with three releases, for one kind of damage.
async fn damaged(backend: &impl Backend, env: &str) -> (ReleaseStore, Raw, [Release; 3]) {
    let (store, raw) = backend.open(env);
    let releases = three(&store, env).await;
    (store, raw, releases)
}

fn file_of(r: &Release) -> String {
    format!("releases/{}.json", r.id)
}

async fn corruption(backend: &impl Backend) {
    // Truncated newest record: listed as corrupt; latest refuses to fall
    // back to r2; get names the file and the reason.
    let (store, raw, [_, r2, r3]) = damaged(backend, "truncated").await;
    let bytes = raw.read(&file_of(&r3)).await;
    raw.write(&file_of(&r3), bytes[..bytes.len() / 2].to_vec())
        .await;
    let entries = store.list().await.unwrap();
    assert_eq!(valid(&entries).len(), 2);
    let bad = corrupt(&entries);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, raw.display(&file_of(&r3)));
    assert!(
        bad[0].1.contains("not a valid release record"),
        "{}",
        bad[0].1
    );
    assert!(matches!(entries[2], ReleaseEntry::Corrupt { .. }));
    for err in [
        store.latest().await.unwrap_err(),
        store.get(&r3.id).await.unwrap_err(),
    ] {
        assert!(matches!(err, ReleaseError::Corrupt { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&raw.display(&file_of(&r3))), "{msg}");
        assert!(msg.contains("not a valid release record"), "{msg}");
    }
    assert_eq!(store.previous(&r3.id).await.unwrap().as_ref(), Some(&r2));
    // The next sequence still counts the damaged record.
    assert_eq!(store.next_sequence().await.unwrap(), 4);

    // An empty file.
    let (store, raw, [_, _, r3]) = damaged(backend, "empty").await;
    raw.write(&file_of(&r3), Vec::new()).await;
    let err = store.latest().await.unwrap_err();
    assert!(err.to_string().contains(&file_of(&r3)), "{err}");

    // One flipped byte in the middle record's template: digest mismatch.
    let (store, raw, [r1, r2, r3]) = damaged(backend, "flipped").await;
    let mut bytes = raw.read(&file_of(&r2)).await;
    let at = find(&bytes, b"DisplayName").unwrap();
    bytes[at] ^= 0x01;
    raw.write(&file_of(&r2), bytes).await;
    let entries = store.list().await.unwrap();
    assert_eq!(valid(&entries), [&r1, &r3]);
    let bad = corrupt(&entries);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].1.contains("digest mismatch"), "{}", bad[0].1);
    assert!(matches!(entries[1], ReleaseEntry::Corrupt { .. }));
    assert_eq!(store.latest().await.unwrap().as_ref(), Some(&r3));
    let err = store.get(&r2.id).await.unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    // Rolling back from r3 must not silently skip the damaged r2.
    let err = store.previous(&r3.id).await.unwrap_err();
    assert!(err.to_string().contains(&file_of(&r2)), "{err}");

    // An unknown field in the oldest record.
    let (store, raw, [r1, r2, r3]) = damaged(backend, "unknown-field").await;
    let mut value: serde_json::Value =
        serde_json::from_slice(&raw.read(&file_of(&r1)).await).unwrap();
    value["approved_by"] = serde_json::json!("mallory");
    raw.write(&file_of(&r1), serde_json::to_vec_pretty(&value).unwrap())
        .await;
    let entries = store.list().await.unwrap();
    assert_eq!(valid(&entries), [&r2, &r3]);
    assert!(corrupt(&entries)[0]
        .1
        .contains("unknown field `approved_by`"));
    assert!(store.get(&r1.id).await.is_err());
    assert_eq!(store.latest().await.unwrap().as_ref(), Some(&r3));

    // A record from a newer lunora (another schema, new fields).
    let (store, raw, [_, _, r3]) = damaged(backend, "newer").await;
    let mut value: serde_json::Value =
        serde_json::from_slice(&raw.read(&file_of(&r3)).await).unwrap();
    value["schema"] = serde_json::json!(3);
    value["signatures"] = serde_json::json!([]);
    raw.write(&file_of(&r3), serde_json::to_vec(&value).unwrap())
        .await;
    let err = store.latest().await.unwrap_err();
    assert!(
        err.to_string().contains("schema 3 is not supported"),
        "{err}"
    );

    // An unknown field in the kind.
    let (store, raw, [_, _, r3]) = damaged(backend, "unknown-kind-field").await;
    let mut value: serde_json::Value =
        serde_json::from_slice(&raw.read(&file_of(&r3)).await).unwrap();
    value["kind"]["forced"] = serde_json::json!(true);
    raw.write(&file_of(&r3), serde_json::to_vec(&value).unwrap())
        .await;
    let err = store.latest().await.unwrap_err();
    assert!(err.to_string().contains("unknown field `forced`"), "{err}");

    // An unknown field inside a stack record.
    let (store, raw, [_, _, r3]) = damaged(backend, "unknown-stack-field").await;
    let mut value: serde_json::Value =
        serde_json::from_slice(&raw.read(&file_of(&r3)).await).unwrap();
    value["stacks"][0]["note"] = serde_json::json!("x");
    raw.write(&file_of(&r3), serde_json::to_vec(&value).unwrap())
        .await;
    let err = store.latest().await.unwrap_err();
    assert!(err.to_string().contains("unknown field `note`"), "{err}");

    // A record under another release's name; and a stray JSON file.
    let (store, raw, [_, _, r3]) = damaged(backend, "misnamed").await;
    let misnamed = "releases/r000004-20261124T051000Z.json";
    raw.write(misnamed, raw.read(&file_of(&r3)).await).await;
    let err = store.latest().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(misnamed) && msg.contains("is named"), "{msg}");
    assert_eq!(store.next_sequence().await.unwrap(), 5);
    raw.write("releases/notes.json", b"{}".to_vec()).await;
    let entries = store.list().await.unwrap();
    assert_eq!(entries.len(), 5);
    let bad = corrupt(&entries);
    assert!(bad[1].0.ends_with("notes.json"), "{bad:?}");
    assert!(bad[1].1.contains("not a release file name"), "{bad:?}");

    // Two records with one sequence (writers that bypassed the lock):
    // neither is trusted.
    let (store, raw, [r1, r2, r3]) = damaged(backend, "twice").await;
    let twin = Release::new(draft("twice", 3, deploy(&["base"]), "twin"), minute(30)).unwrap();
    raw.write(&file_of(&twin), twin.to_json()).await;
    let entries = store.list().await.unwrap();
    assert_eq!(valid(&entries), [&r1, &r2]);
    let bad = corrupt(&entries);
    assert_eq!(bad.len(), 2);
    assert!(bad[0].1.contains("more than once"), "{bad:?}");
    for err in [
        store.latest().await.unwrap_err(),
        store.get("r000003").await.unwrap_err(),
        store.get(&r3.id).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, ReleaseError::SequenceConflict { sequence: 3, .. }),
            "{err}"
        );
    }
}

/// `check` accepts a sound store without leaving anything behind, and
/// refuses every kind of damage with [`ReleaseError::Damaged`] (exit 1)
/// naming the file.
async fn store_check(backend: &impl Backend) {
    let is_damaged = |err: ReleaseError, needle: &str| {
        let msg = err.to_string();
        assert!(matches!(err, ReleaseError::Damaged { .. }), "{msg}");
        assert_eq!(err.exit_status(), ExitStatus::Failure);
        assert!(msg.contains("lunora releases"), "{msg}");
        assert!(msg.contains(needle), "{needle} not in: {msg}");
    };

    // Empty, then sound: fine, and the probe leaves nothing behind.
    let (store, raw) = backend.open("check-sound");
    store.check().await.unwrap();
    three(&store, "check-sound").await;
    let before = raw.names().await;
    store.check().await.unwrap();
    assert_eq!(raw.names().await, before);

    // A truncated latest record.
    let (store, raw, [_, _, r3]) = damaged(backend, "check-truncated").await;
    let bytes = raw.read(&file_of(&r3)).await;
    raw.write(&file_of(&r3), bytes[..bytes.len() - 20].to_vec())
        .await;
    is_damaged(store.check().await.unwrap_err(), &file_of(&r3));

    // One flipped bit in the latest record.
    let (store, raw, [_, _, r3]) = damaged(backend, "check-flipped").await;
    let mut bytes = raw.read(&file_of(&r3)).await;
    let at = find(&bytes, b"DisplayName").unwrap();
    bytes[at] ^= 0x20;
    raw.write(&file_of(&r3), bytes).await;
    is_damaged(store.check().await.unwrap_err(), "digest mismatch");

    // The latest record copied under the next name.
    let (store, raw, [_, _, r3]) = damaged(backend, "check-copied").await;
    raw.write(
        "releases/r000004-20261124T051000Z.json",
        raw.read(&file_of(&r3)).await,
    )
    .await;
    is_damaged(store.check().await.unwrap_err(), "is named");

    // A stray file, JSON or not.
    for stray in ["releases/notes.json", "releases/README"] {
        let env = format!("check-stray-{}", stray.len());
        let (store, raw, _) = damaged(backend, &env).await;
        raw.write(stray, b"hello".to_vec()).await;
        is_damaged(store.check().await.unwrap_err(), stray);
        // `releases` shows it.
        let report = releases::run(&store, None).await.unwrap();
        assert!(
            report
                .to_string()
                .contains(&format!("CORRUPT {}", raw.display(stray))),
            "{report}"
        );
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn lock(backend: &impl Backend) {
    let (store, raw) = backend.open("prod");
    assert_eq!(store.lock_holder().await.unwrap(), None);
    let first = LockInfo::new(
        "arn:aws:sts::123456789012:assumed-role/Deployer/ci",
        "deploy --stage flow",
        minute(5),
    );
    let guard = store.acquire(first.clone()).await.unwrap();
    assert_eq!(guard.info(), &first);
    assert_eq!(raw.names().await, ["lock.json"]);
    let written: serde_json::Value = serde_json::from_slice(&raw.read("lock.json").await).unwrap();
    for key in ["holder", "host", "pid", "command", "started_at"] {
        assert!(
            written.get(key).is_some(),
            "lock.json lacks {key}: {written}"
        );
    }
    assert_eq!(written["started_at"], "2026-11-24T05:05:00Z");
    assert_eq!(store.lock_holder().await.unwrap().as_ref(), Some(&first));

    // Held: a typed error that maps to exit 3 and names holder and time.
    let second = LockInfo::new(
        "arn:aws:iam::123456789012:user/alice",
        "rollback",
        minute(6),
    );
    let err = store.acquire(second.clone()).await.unwrap_err();
    assert!(err.is_lock_held());
    assert_eq!(err.exit_status(), ExitStatus::Refused);
    match &err {
        ReleaseError::LockHeld { lock, file } => {
            assert_eq!(lock.as_ref(), &first);
            assert_eq!(file, &raw.display("lock.json"));
        }
        other => panic!("expected LockHeld, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("Deployer/ci"), "{msg}");
    assert!(msg.contains("2026-11-24T05:05:00Z"), "{msg}");
    assert!(msg.contains("--force-unlock"), "{msg}");

    // Released: free again.
    guard.release().await.unwrap();
    assert_eq!(store.lock_holder().await.unwrap(), None);
    assert!(raw.names().await.is_empty());

    // Force-unlock a stale holder; its late release must not remove the
    // new holder's lock.
    let stale = store.acquire(second.clone()).await.unwrap();
    assert_eq!(store.force_unlock().await.unwrap().as_ref(), Some(&second));
    assert_eq!(store.force_unlock().await.unwrap(), None);
    let third = LockInfo::new("arn:aws:iam::123456789012:user/bob", "deploy", minute(7));
    let current = store.acquire(third.clone()).await.unwrap();
    let err = stale.release().await.unwrap_err();
    assert!(matches!(err, ReleaseError::LockLost { .. }), "{err}");
    assert!(err.to_string().contains("user/bob"), "{err}");
    assert_eq!(store.lock_holder().await.unwrap().as_ref(), Some(&third));
    current.release().await.unwrap();

    // An unreadable lock file still blocks, and force-unlock clears it.
    raw.write("lock.json", b"{\"holder\": ".to_vec()).await;
    let err = store.acquire(first.clone()).await.unwrap_err();
    assert!(matches!(err, ReleaseError::LockUnreadable { .. }), "{err}");
    assert_eq!(err.exit_status(), ExitStatus::Refused);
    assert!(err.to_string().contains("--force-unlock"), "{err}");
    assert_eq!(store.force_unlock().await.unwrap(), None);
    store.acquire(first).await.unwrap().release().await.unwrap();

    // The lock lives next to the records, not among them.
    let (store, raw) = backend.open("with-history");
    let guard = store
        .acquire(LockInfo::new("ci", "deploy", minute(8)))
        .await
        .unwrap();
    let r = record(&store, "with-history", deploy(&["base"]), 8).await;
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert_eq!(raw.names().await, ["lock.json".to_owned(), file_of(&r)]);
    guard.release().await.unwrap();
}

/// Sessions and the audit trail say who acted, through which face; a
/// session recorded by an older lunora (no `started_by`) still reads.
async fn sessions_and_audit(backend: &impl Backend) {
    let (store, raw) = backend.open("prod");
    let browser = Actor::Http {
        client: "203.0.113.7:52114".parse().unwrap(),
    };
    store
        .record_start("youtube", "1234567", minute(10), browser)
        .await
        .unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&raw.read("sessions/youtube.json").await).unwrap();
    assert_eq!(
        written,
        serde_json::json!({
            "channel_id": "1234567",
            "started_at": "2026-11-24T05:10:00Z",
            "started_by": {"via": "http", "client": "203.0.113.7:52114"},
        })
    );
    let session = store.session("youtube", "1234567").await.unwrap().unwrap();
    assert_eq!(session.started_by, Some(browser));
    assert_eq!(
        store
            .started_at("youtube", "1234567")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-11-24T05:10:00Z")
    );
    // Another channel id (the channel was replaced): not its session.
    assert_eq!(store.started_at("youtube", "7654321").await.unwrap(), None);

    // A record of an older lunora, without `started_by`.
    raw.write(
        "sessions/twitch.json",
        br#"{"channel_id":"42","started_at":"2026-11-24T05:00:00Z"}"#.to_vec(),
    )
    .await;
    let old = store.session("twitch", "42").await.unwrap().unwrap();
    assert_eq!(old.started_at, "2026-11-24T05:00:00Z");
    assert_eq!(old.started_by, None);
    store.clear_start("twitch").await.unwrap();
    assert_eq!(store.started_at("twitch", "42").await.unwrap(), None);

    // The audit trail: one object per action, appended, read oldest first.
    assert!(store.audit_log().await.unwrap().is_empty());
    let mut start = AuditRecord::now("start", Actor::Cli);
    start
        .destinations
        .insert("youtube".into(), "started".into());
    start.flow = Some("started".into());
    let mut failover = AuditRecord::now("failover", browser);
    failover.to = Some("backup".into());
    failover.source = Some("backup".into());
    failover.changed = Some(true);
    let first = store.append_audit(&start).await.unwrap();
    let second = store.append_audit(&failover).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(store.audit_log().await.unwrap(), [start, failover]);
    let audit: Vec<String> = raw
        .names()
        .await
        .into_iter()
        .filter(|n| n.starts_with("audit/"))
        .collect();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(audit[0].ends_with("-start.json"), "{audit:?}");
    assert!(audit[1].ends_with("-failover.json"), "{audit:?}");
    assert_eq!(raw.display(&audit[1]), second);
    let written: serde_json::Value = serde_json::from_slice(&raw.read(&audit[1]).await).unwrap();
    assert_eq!(
        written["by"],
        serde_json::json!({"via": "http", "client": "203.0.113.7:52114"})
    );
    // The trail is no release: the history stays empty.
    assert!(store.list().await.unwrap().is_empty());
}

// --- local backend ------------------------------------------------------------

#[tokio::test]
async fn local_history_in_order_with_get_latest_previous() {
    history(&LocalBackend::new(), "prod").await;
}

#[tokio::test]
async fn local_history_is_append_only_and_leaves_no_temp_files() {
    let backend = LocalBackend::new();
    append_only(&backend, "prod").await;
    // Every refusal above went through the store; the directory holds only
    // the four records (a temp file would start with `.lunora-`).
    let root = backend.0.path().join(".lunora/player-prod/releases");
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.starts_with('r') && n.ends_with(".json")));
}

#[tokio::test]
async fn local_temp_files_of_a_crashed_write_are_ignored() {
    let backend = LocalBackend::new();
    let (store, raw) = backend.open("prod");
    let [_, _, r3] = three(&store, "prod").await;
    // What a write killed before its rename leaves behind.
    raw.write("releases/.lunora-abc123.tmp", b"{\"schema\"".to_vec())
        .await;
    assert_eq!(store.list().await.unwrap().len(), 3);
    assert_eq!(store.latest().await.unwrap().as_ref(), Some(&r3));
}

#[tokio::test]
async fn local_corruption_is_listed_and_never_used() {
    corruption(&LocalBackend::new()).await;
}

#[tokio::test]
async fn local_store_check_refuses_every_damage_before_a_deploy() {
    let backend = LocalBackend::new();
    store_check(&backend).await;
    // `releases/` is a file.
    let (store, raw) = backend.open("check-file");
    let Raw::Local(root) = &raw else {
        unreachable!()
    };
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("releases"), b"not a directory").unwrap();
    let err = store.check().await.unwrap_err();
    assert!(matches!(err, ReleaseError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("releases"), "{err}");
}

/// A schema 1 record as the lunora before schema 2 wrote it: one per
/// completed stage, no outcome.
fn schema1(sequence: u64, stages: &[&str], at: u8, variant: &str) -> Release {
    let mut r = Release::new(draft("prod", sequence, deploy(stages), variant), minute(at)).unwrap();
    r.schema = 1;
    r.outcome = None;
    r.digest = r.compute_digest();
    r.verify().unwrap();
    r
}

#[tokio::test]
async fn schema1_records_of_one_run_are_one_release() {
    let backend = LocalBackend::new();
    let (store, raw) = backend.open("prod");
    // Run 1 (base, flow); run 2 recorded stage by stage (flow, then flow
    // and platforms, then again after removing a destination); then one
    // schema 2 run.
    let r1 = schema1(1, &["base"], 1, "a");
    let r2 = schema1(2, &["base", "flow"], 3, "a");
    let r3 = schema1(3, &["flow"], 30, "b");
    let r4 = schema1(4, &["flow", "platforms"], 35, "b");
    let r5 = schema1(5, &["flow", "platforms"], 36, "b");
    let Raw::Local(root) = &raw else {
        unreachable!()
    };
    std::fs::create_dir_all(root.join("releases")).unwrap();
    for r in [&r1, &r2, &r3, &r4, &r5] {
        raw.write(&file_of(r), r.to_json()).await;
    }
    let run = store.latest_run().await.unwrap().unwrap();
    assert_eq!(run.latest, r5);
    assert_eq!(run.records, [r3.id.as_str(), &r4.id, &r5.id]);
    assert_eq!(run.before.as_ref(), Some(&r2));

    let report = releases::run(&store, None).await.unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let list = json["releases"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{json}");
    assert_eq!(list[0]["id"], r2.id.as_str());
    assert_eq!(list[0]["records"], serde_json::json!([r1.id, r2.id]));
    assert_eq!(list[0]["outcome"], serde_json::Value::Null);
    assert_eq!(list[1]["id"], r5.id.as_str());
    assert_eq!(list[1]["stages"], serde_json::json!(["flow", "platforms"]));
    let text = report.to_string();
    assert!(
        text.contains(&format!(
            "(one run recorded stage by stage: {}, {}, {})",
            r3.id, r4.id, r5.id
        )),
        "{text}"
    );

    // A schema 2 record after them is a run of its own.
    let r6 = record(&store, "prod", deploy(&["flow"]), 40).await;
    assert_eq!(r6.schema, 2);
    let run = store.latest_run().await.unwrap().unwrap();
    assert_eq!(run.records, [r6.id.as_str()]);
    assert_eq!(run.before.as_ref(), Some(&r5));
    // Old records stay readable one by one (`rollback --to`).
    assert_eq!(store.get(&r3.id).await.unwrap(), r3);
}

#[tokio::test]
async fn local_lock_acquire_held_release_force_unlock() {
    lock(&LocalBackend::new()).await;
}

#[tokio::test]
async fn local_store_location_follows_the_state_setting() {
    let dir = tempfile::tempdir().unwrap();
    let location = parse_location(None, dir.path()).unwrap();
    let store = ReleaseStore::open(&location, PROJECT, "prod", None).unwrap();
    assert_eq!(
        store.location(),
        dir.path().join(".lunora/player-prod").display().to_string()
    );
    let r = record(&store, "prod", deploy(&["base"]), 1).await;
    assert!(dir
        .path()
        .join(format!(".lunora/player-prod/releases/{}.json", r.id))
        .is_file());

    let location = parse_location(Some("state/releases"), dir.path()).unwrap();
    let store = ReleaseStore::open(&location, PROJECT, "prod", None).unwrap();
    assert!(store.location().ends_with("state/releases/player-prod"));

    let location = parse_location(Some("s3://bucket/p"), dir.path()).unwrap();
    let err = ReleaseStore::open(&location, PROJECT, "prod", None).unwrap_err();
    assert!(err.to_string().contains("s3://bucket/p"), "{err}");
    let err = parse_location(Some("s3://"), dir.path()).unwrap_err();
    assert!(err.to_string().contains("no bucket"), "{err}");
}

#[tokio::test]
async fn releases_command_lists_text_and_json_with_corrupt_entries() {
    let backend = LocalBackend::new();
    let (store, raw) = backend.open("prod");

    let empty = releases::run(&store, None).await.unwrap();
    assert_eq!(
        empty.to_string(),
        format!("no releases recorded in {}\n", store.location())
    );

    let [r1, r2, r3] = three(&store, "prod").await;
    let bytes = raw.read(&file_of(&r2)).await;
    raw.write(&file_of(&r2), bytes[..10].to_vec()).await;

    let mut report = releases::run(&store, None).await.unwrap();
    // Without a width (`--wide`): every column, one line per release.
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("RELEASE  ") && lines[0].ends_with("  STACKS"),
        "{text}"
    );
    let what = format!("rollback to {} (flow)", r1.id).len();
    let expected_first = format!(
        "{}  completed  {:<what$}  2026-11-24T05:01:00Z  arn:aws:sts::123456789012:assumed-role/Deployer/ci  0123456  2 stacks",
        r1.id, "deploy of base, flow",
    );
    assert_eq!(lines[1], expected_first, "{text}");
    assert!(
        lines[2].starts_with(&format!(
            "{}  completed  rollback to {} (flow)  2026-11-24T05:03:00Z",
            r3.id, r1.id
        )),
        "{text}"
    );
    assert!(lines[2].ends_with("0123456  2 stacks"), "{text}");
    // A corrupt record is listed after them, never hidden.
    assert!(
        lines[3].starts_with(&format!(
            "CORRUPT {}: not a valid release record",
            raw.display(&file_of(&r2))
        )),
        "{text}"
    );
    // At 80 columns: the release, its outcome, what it did and who, the
    // caller without the account's common prefix.
    report.width = Some(80);
    let narrow = report.to_string();
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    assert!(
        narrow
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .eq(["RELEASE", "OUTCOME", "WHAT"]),
        "{narrow}"
    );
    assert!(narrow.contains("by assumed-role/Deployer/ci"), "{narrow}");
    assert!(
        narrow.contains(&format!("{}  completed", r3.id)),
        "{narrow}"
    );
    assert!(!narrow.contains("arn:aws:sts"), "{narrow}");
    assert!(narrow.contains("\nCORRUPT"), "{narrow}");

    let json: serde_json::Value =
        serde_json::from_str(&lunora::output::json_document(&report, false).unwrap()).unwrap();
    let _: lunora::release::history::ReleasesReport =
        crate::common::contract::check(json.clone(), "releases");
    assert_eq!(json["kind"], "releases");
    let list = json["releases"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["status"], "ok");
    assert_eq!(list[0]["id"], r1.id.as_str());
    assert_eq!(list[0]["type"], "deploy");
    assert_eq!(list[0]["stages"], serde_json::json!(["base", "flow"]));
    assert_eq!(
        list[0]["stacks"],
        serde_json::json!(["player-prod-base", "player-prod-flow"])
    );
    assert!(list[0].get("to").is_none());
    assert_eq!(list[0]["outcome"], "completed");
    assert_eq!(list[0]["schema"], 2);
    assert_eq!(list[0]["records"], serde_json::json!([r1.id]));
    // Templates stay out of the listing.
    assert!(!json.to_string().contains("AWS::SNS::Topic"));
    assert_eq!(list[1]["status"], "corrupt");
    assert_eq!(list[1]["file"], raw.display(&file_of(&r2)).as_str());
    assert_eq!(list[2]["type"], "rollback");
    assert_eq!(list[2]["to"], r1.id.as_str());

    let markdown = lunora::output::Report::markdown(&report);
    assert!(markdown.contains("**CORRUPT**"), "{markdown}");
    assert!(markdown.contains(&format!(
        "| `{}` | deploy of base, flow | completed |",
        r1.id
    )));
}

// --- S3 backend (one emulator per test) ---------------------------------------

#[tokio::test]
async fn s3_history_is_append_only_with_conditional_creates() {
    let backend = S3Backend::start().await;
    history(&backend, "prod").await;
    append_only(&backend, "append").await;

    // The emulator honours If-None-Match on PutObject: the guarantee the
    // store's create-new relies on.
    let key = format!("{PREFIX}/{PROJECT}-prod/releases/r000001-20261124T050100Z.json");
    let err = backend
        .client
        .put_object()
        .bucket(BUCKET)
        .key(&key)
        .if_none_match("*")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap_err();
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(412), "{err:?}");
}

#[tokio::test]
async fn s3_corruption_is_listed_and_never_used() {
    let backend = S3Backend::start().await;
    corruption(&backend).await;
}

#[tokio::test]
async fn s3_store_check_refuses_every_damage_before_a_deploy() {
    let backend = S3Backend::start().await;
    store_check(&backend).await;
}

#[tokio::test]
async fn local_sessions_and_audit_records_carry_the_actor() {
    sessions_and_audit(&LocalBackend::new()).await;
}

#[tokio::test]
async fn s3_sessions_and_audit_records_carry_the_actor() {
    let backend = S3Backend::start().await;
    sessions_and_audit(&backend).await;
}

#[tokio::test]
async fn s3_lock_acquire_held_release_force_unlock() {
    let backend = S3Backend::start().await;
    lock(&backend).await;
}

#[cfg(unix)]
#[tokio::test]
async fn an_endless_or_oversized_store_file_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = ReleaseStore::local(dir.path(), PROJECT, "prod");
    let root = dir.path().join(format!("{PROJECT}-prod"));
    std::fs::create_dir_all(&root).unwrap();
    // The lock file is /dev/zero: refused at the limit, within a second.
    std::os::unix::fs::symlink("/dev/zero", root.join("lock.json")).unwrap();
    let started = std::time::Instant::now();
    let err = store.lock_holder().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("lock.json`: the object is larger than lunora's limit of 64 MiB"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn s3_an_oversized_store_object_stops_at_the_limit() {
    let backend = S3Backend::start().await;
    let (store, raw) = backend.open("prod");
    raw.write("lock.json", vec![b' '; 64 * 1024 * 1024 + 1])
        .await;
    let err = store.lock_holder().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the object is larger than lunora's limit of 64 MiB"),
        "{err}"
    );
}
