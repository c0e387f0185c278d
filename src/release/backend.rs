//! The storage primitives under the release store: list, read, create-new
//! and delete, for a local directory and for S3. Everything above this
//! file is shared, so both backends behave the same.
//!
//! Paths are relative to the store's root (`<project>-<environment>/`)
//! and use `/`: `lock.json`, `releases/<id>.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::ReleaseError;
use crate::fsread::STORE_LIMIT;

/// A stored object: its bytes and, on S3, its ETag.
pub(super) struct Object {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Backend {
    Local {
        root: PathBuf,
    },
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        /// `prefix/<project>-<environment>` (no trailing `/`).
        root: String,
    },
}

impl Backend {
    /// Where the store lives, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Local { root } => root.display().to_string(),
            Self::S3 { bucket, root, .. } => format!("s3://{bucket}/{root}"),
        }
    }

    /// The full path or URL of `rel`, for messages.
    pub fn display(&self, rel: &str) -> String {
        match self {
            Self::Local { root } => root.join(rel).display().to_string(),
            Self::S3 { bucket, root, .. } => format!("s3://{bucket}/{root}/{rel}"),
        }
    }

    fn local(root: &Path, rel: &str) -> PathBuf {
        rel.split('/')
            .fold(root.to_path_buf(), |p, part| p.join(part))
    }

    fn key(root: &str, rel: &str) -> String {
        format!("{root}/{rel}")
    }

    /// The names of the files directly in `dir` (empty if it does not
    /// exist).
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, ReleaseError> {
        match self {
            Self::Local { root } => {
                let path = Self::local(root, dir);
                let entries = match std::fs::read_dir(&path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(source) => return Err(io("list", &path, source)),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|source| io("list", &path, source))?;
                    let is_file = entry
                        .file_type()
                        .map_err(|source| io("list", &entry.path(), source))?
                        .is_file();
                    if is_file {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                Ok(names)
            }
            Self::S3 {
                client,
                bucket,
                root,
            } => {
                let prefix = format!("{}/", Self::key(root, dir));
                let mut names = Vec::new();
                let mut token = None;
                loop {
                    let out = client
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(&prefix)
                        .delimiter("/")
                        .set_continuation_token(token.take())
                        .send()
                        .await
                        .map_err(|e| s3_error("ListObjectsV2", bucket, &prefix, &e))?;
                    names.extend(
                        out.contents()
                            .iter()
                            .filter_map(|o| o.key()?.strip_prefix(&prefix))
                            .filter(|name| !name.is_empty())
                            .map(str::to_owned),
                    );
                    match out.next_continuation_token() {
                        Some(next) if out.is_truncated() == Some(true) => {
                            token = Some(next.to_owned());
                        }
                        _ => return Ok(names),
                    }
                }
            }
        }
    }

    /// The object at `rel`, or `None` if there is none.
    pub async fn read(&self, rel: &str) -> Result<Option<Object>, ReleaseError> {
        match self {
            Self::Local { root } => {
                let path = Self::local(root, rel);
                match crate::fsread::read_bounded(&path, STORE_LIMIT, "store object") {
                    Ok(bytes) => Ok(Some(Object { bytes, etag: None })),
                    Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => Ok(None),
                    Err(crate::fsread::ReadError::Io { source, .. }) => {
                        Err(io("read", &path, source))
                    }
                    Err(_) => Err(io("read", &path, too_large())),
                }
            }
            Self::S3 {
                client,
                bucket,
                root,
            } => {
                let key = Self::key(root, rel);
                let out = match client.get_object().bucket(bucket).key(&key).send().await {
                    Ok(out) => out,
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                        return Ok(None)
                    }
                    Err(e) => return Err(s3_error("GetObject", bucket, &key, &e)),
                };
                let etag = out.e_tag().map(str::to_owned);
                let s3_error = |message: String| ReleaseError::S3 {
                    op: "GetObject",
                    url: format!("s3://{bucket}/{key}"),
                    message,
                };
                // Bounded like a local read: stop at the limit, whatever
                // Content-Length said.
                let mut body = out.body;
                let mut bytes = Vec::new();
                while let Some(chunk) =
                    body.try_next().await.map_err(|e| s3_error(e.to_string()))?
                {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as u64 > STORE_LIMIT {
                        return Err(s3_error(too_large().to_string()));
                    }
                }
                Ok(Some(Object { bytes, etag }))
            }
        }
    }

    /// Creates `rel` with `bytes` unless it exists: `Ok(false)` if it did.
    /// Readers never see a partial object.
    pub async fn create_new(&self, rel: &str, bytes: &[u8]) -> Result<bool, ReleaseError> {
        match self {
            Self::Local { root } => create_new_local(&Self::local(root, rel), bytes),
            Self::S3 {
                client,
                bucket,
                root,
            } => {
                let key = Self::key(root, rel);
                // `If-None-Match: *` makes S3 refuse the write when the key
                // exists (412), or when a concurrent conditional write to
                // it is in flight (409): the create is atomic and never
                // overwrites. moto 5.2.1, the test emulator, honours it
                // (tests/release.rs checks), so no HeadObject pre-check is
                // needed; a pre-check would only narrow, never close, the
                // race on a store that ignored the header.
                let result = client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .content_type("application/json")
                    .if_none_match("*")
                    .body(ByteStream::from(bytes.to_vec()))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(true),
                    Err(e) if is_precondition_failure(&e) => Ok(false),
                    Err(e) => Err(s3_error("PutObject", bucket, &key, &e)),
                }
            }
        }
    }

    /// Deletes `rel`. On S3 with `etag`, only if the object still has that
    /// ETag (`Ok(false)` if it changed). A missing object is not an error.
    pub async fn delete(&self, rel: &str, etag: Option<&str>) -> Result<bool, ReleaseError> {
        match self {
            Self::Local { root } => {
                let path = Self::local(root, rel);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
                    Err(source) => Err(io("delete", &path, source)),
                }
            }
            Self::S3 {
                client,
                bucket,
                root,
            } => {
                let key = Self::key(root, rel);
                let result = client
                    .delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .set_if_match(etag.map(str::to_owned))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(true),
                    Err(e) if is_precondition_failure(&e) => Ok(false),
                    Err(e) => Err(s3_error("DeleteObject", bucket, &key, &e)),
                }
            }
        }
    }
}

/// Temp file in the same directory, write, fsync, no-clobber rename (an
/// atomic `renameat2(RENAME_NOREPLACE)` or `link` on Linux), fsync the
/// directory. The temp file is removed on every error path.
fn create_new_local(path: &Path, bytes: &[u8]) -> Result<bool, ReleaseError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| io("create directory", dir, source))?;
    if path.exists() {
        return Ok(false);
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".lunora-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|source| io("create a temporary file in", dir, source))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|source| io("write", tmp.path(), source))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io("create", path, e.error)),
    }
    // Make the new directory entry durable. Not every platform can open a
    // directory for syncing; the record itself is already synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
}

/// The error of a store object over [`STORE_LIMIT`].
fn too_large() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "the object is larger than lunora's limit of {} for a release record or lock file",
            crate::fsread::Limit(STORE_LIMIT)
        ),
    )
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> ReleaseError {
    ReleaseError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn is_precondition_failure<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(
        err.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) || err
        .raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
}

fn s3_error<E, R>(op: &'static str, bucket: &str, key: &str, err: &SdkError<E, R>) -> ReleaseError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    ReleaseError::S3 {
        op,
        url: format!("s3://{bucket}/{key}"),
        message: DisplayErrorContext(err).to_string(),
    }
}
