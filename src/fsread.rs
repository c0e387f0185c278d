//! Bounded reads of the files a user hands lunora.
//!
//! `fs::read_to_string` reads until the file ends, so `-c /dev/zero`, a
//! rates file on a FIFO or a runaway plan file would take all the memory
//! there is before lunora could say anything. Every user file therefore goes
//! through [`read_bounded`]: it reads at most `limit + 1` bytes (through
//! `Read::take`) and refuses the file when it got more than `limit`, naming
//! the file and the limit. [`read_to_string_bounded`] also checks that the
//! text is UTF-8 and names the line and column of the first byte that is not.
//!
//! The limits are generous (a real file is a few kilobytes) and documented in
//! the README under "Limits".

use std::fmt;
use std::io::Read;

use anyhow::Context as _;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// `lunora.yaml`. The example is 3 KiB; 50 destinations (a flow's output
/// quota) with long descriptions stay far below 1 MiB.
pub const CONFIG_LIMIT: u64 = MIB;
/// One preset or platform file (the built-in ones are under 4 KiB).
pub const PRESET_LIMIT: u64 = MIB;
/// The rates file of `cost --rates` (the built-in one is under 16 KiB).
pub const RATES_LIMIT: u64 = MIB;
/// A plan file of `plan --out`: it holds every stack's template, and a
/// CloudFormation template may be up to 1 MB (from S3); 52 stacks (base,
/// flow, 50 destinations) of 1 MB fit in 64 MiB.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>
pub const PLAN_LIMIT: u64 = 64 * MIB;
/// One object of the release store (a release record or the lock file).
/// Records hold the templates of the stacks a release deployed, like a
/// plan file.
pub const STORE_LIMIT: u64 = 64 * MIB;

/// Why a user file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The OS refused (missing file, permissions, a directory, ...).
    #[error("{}: cannot read the {what}: {}", path.display(), crate::presets::io_reason(source))]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than its limit (or endless, like `/dev/zero`).
    #[error("{}: the {what} is larger than lunora's limit of {} (hint: {})", path.display(), Limit(*limit), HINT_TOO_LARGE)]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{}:{line}:{column}: the {what} is not UTF-8 text: byte 0x{byte:02X} {} (hint: {})", path.display(), utf8_reason(*byte), HINT_NOT_UTF8)]
    NotUtf8 {
        path: PathBuf,
        what: &'static str,
        line: usize,
        column: usize,
        byte: u8,
    },
}

const HINT_TOO_LARGE: &str =
    "check that the path names the file you meant; lunora's inputs are small text files";
const HINT_NOT_UTF8: &str = "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)";

fn utf8_reason(byte: u8) -> &'static str {
    if (0xA0..=0xFF).contains(&byte) {
        "does not start a valid UTF-8 sequence here (Latin-1 or another legacy encoding?)"
    } else {
        "does not start a valid UTF-8 sequence here"
    }
}

/// A byte count as the README writes it (`1 MiB`, `64 MiB`).
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub u64);

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n >= MIB && n % MIB == 0 {
            write!(f, "{} MiB", n / MIB)
        } else if n >= KIB && n % KIB == 0 {
            write!(f, "{} KiB", n / KIB)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

impl ReadError {
    /// The OS error kind, when the OS refused.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Self::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// The same problem as a located diagnostic (for the config, preset,
    /// platform and rates files), with `io_hint` as the hint of an OS error.
    pub fn diagnostic(&self, io_hint: &str) -> Diagnostic {
        match self {
            Self::Io { path, what, source } => Diagnostic::new(
                path,
                "",
                format!(
                    "cannot read the {what}: {}",
                    crate::presets::io_reason(source)
                ),
            )
            .hint(io_hint),
            Self::TooLarge { path, what, limit } => Diagnostic::new(
                path,
                "",
                format!(
                    "the {what} is larger than lunora's limit of {}",
                    Limit(*limit)
                ),
            )
            .hint(HINT_TOO_LARGE),
            Self::NotUtf8 {
                path,
                what,
                line,
                column,
                byte,
            } => Diagnostic::new(
                path,
                "",
                format!(
                    "the {what} is not UTF-8 text: byte 0x{byte:02X} {}",
                    utf8_reason(*byte)
                ),
            )
            .at(Some((*line, *column)))
            .hint(HINT_NOT_UTF8),
        }
    }
}

/// Reads at most `limit` bytes of `path`; a file with more is an error
/// naming `what` and the limit. Never reads more than `limit + 1` bytes.
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        what,
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            what,
            limit,
        });
    }
    Ok(bytes)
}

/// Reads `path` as UTF-8 text of at most `limit` bytes. Text that is not
/// UTF-8 is an error naming the line and column of the first bad byte.
pub fn read_to_string_bounded(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = e.utf8_error().valid_up_to();
        let (line, column) = position(bytes, valid);
        ReadError::NotUtf8 {
            path: path.to_path_buf(),
            what,
            line,
            column,
            byte: bytes[valid],
        }
    })
}

/// A plan file of `plan --out`, for `deploy --plan` (bounded by
/// [`PLAN_LIMIT`]).
pub fn read_plan_file(path: &Path) -> Result<String, ReadError> {
    read_to_string_bounded(path, PLAN_LIMIT, "plan file")
}

/// The 1-based line and column (in characters) of byte `offset`, where
/// everything before `offset` is valid UTF-8.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
    text_position(before)
}

/// The 1-based line and column of the character that follows `before`.
pub fn text_position(before: &str) -> (usize, usize) {
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Writes through a temporary file in the same directory and a rename:
/// readers see the old file or the new one, never half of one.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_then_rename(path, path, bytes, None)
}

/// Writes `bytes` to a temporary file next to `target` (with
/// `permissions`, if given), then renames it over `target`; messages name
/// `path`, the file as the user gave it.
fn write_then_rename(
    path: &std::path::Path,
    target: &std::path::Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> anyhow::Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .and_then(|()| match permissions {
            Some(p) => tmp.as_file().set_permissions(p),
            None => Ok(()),
        })
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    tmp.persist(target)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(())
}

/// Replaces an existing file the way [`write_atomically`] writes one,
/// keeping the file's permissions (a temporary file is created `0600`).
/// A read-only file is refused rather than replaced: the rename would
/// replace it regardless of its mode.
///
/// A symbolic link is followed: its target is replaced, the link stays.
pub fn replace_keeping_mode(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let target =
        std::fs::canonicalize(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let permissions = std::fs::metadata(&target)
        .with_context(|| format!("cannot read `{}`", path.display()))?
        .permissions();
    if permissions.readonly() {
        anyhow::bail!(
            "`{}` is read-only; nothing was written (make it writable first, e.g. `chmod u+w`)",
            path.display()
        );
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&target)
        .with_context(|| format!("cannot write `{}`; nothing was written", path.display()))?;
    write_then_rename(path, &target, bytes, Some(permissions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn replaces_a_file_keeping_its_mode_and_refuses_a_read_only_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        replace_keeping_mode(&path, b"new").expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert_eq!(mode(&path), 0o640);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        let err = replace_keeping_mode(&path, b"newer").expect_err("read-only");
        assert!(err.to_string().contains("is read-only"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        // Through a symbolic link: the target changes, the link stays.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        replace_keeping_mode(&link, b"linked").expect("replace");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&path).expect("read"), b"linked");
    }

    #[test]
    fn reads_at_most_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        assert_eq!(read_bounded(&path, 5, "file").expect("fits"), b"12345");
        let err = read_bounded(&path, 4, "file").expect_err("too large");
        assert!(err.to_string().contains("limit of 4 bytes"), "{err}");
    }

    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let err = read_bounded(Path::new("/dev/zero"), MIB, "config file").expect_err("endless");
        assert!(matches!(err, ReadError::TooLarge { .. }));
        assert!(err.to_string().contains("limit of 1 MiB"), "{err}");
    }

    #[test]
    fn names_the_line_and_column_of_a_bad_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"a: 1\nb: caf\xe9\n").expect("write");
        let err = read_to_string_bounded(&path, MIB, "config file").expect_err("latin-1");
        let d = err.diagnostic("");
        assert_eq!((d.line, d.column), (Some(2), Some(7)));
        assert!(d.message.contains("byte 0xE9"), "{}", d.message);
        // Columns count characters, not bytes.
        std::fs::write(
            &path,
            "é: \u{2014}".bytes().chain([0xFF]).collect::<Vec<_>>(),
        )
        .expect("write");
        let d = read_to_string_bounded(&path, MIB, "f")
            .expect_err("bad")
            .diagnostic("");
        assert_eq!((d.line, d.column), (Some(1), Some(5)));
    }
}
