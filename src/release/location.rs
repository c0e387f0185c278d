//! Where the release store lives: the config's `state:` setting.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ReleaseError;

/// A release store's location, before the `<project>-<environment>/`
/// directory is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory (absolute, or relative to the working directory).
    Local(PathBuf),
    /// An S3 bucket and key prefix (no leading or trailing `/`; may be
    /// empty).
    S3 { bucket: String, prefix: String },
}

impl Location {
    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(dir) => write!(f, "{}", dir.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Resolves the config's `state:` setting: `None` is `<config_dir>/.lunora`,
/// `s3://bucket[/prefix]` is S3, anything else a directory relative to
/// `config_dir` (or absolute).
pub fn parse_location(state: Option<&str>, config_dir: &Path) -> Result<Location, ReleaseError> {
    let Some(state) = state else {
        return Ok(Location::Local(config_dir.join(".lunora")));
    };
    let invalid = |reason: &str| ReleaseError::InvalidLocation {
        value: state.to_owned(),
        reason: reason.to_owned(),
    };
    if state.trim().is_empty() {
        return Err(invalid(
            "it is empty (hint: leave `state:` out for `.lunora` next to the config, or write `s3://bucket/prefix`)",
        ));
    }
    if let Some(rest) = state.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid(
                "no bucket name after `s3://` (hint: write `s3://my-bucket/lunora`)",
            ));
        }
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        {
            return Err(invalid(&format!(
                "`{bucket}` is not an S3 bucket name (lowercase letters, digits, `.` and `-`)"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part.is_empty() && !prefix.is_empty())
        {
            return Err(invalid("the prefix has an empty path segment (`//`)"));
        }
        return Ok(Location::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    if let Some((scheme, _)) = state.split_once("://") {
        return Err(invalid(&format!(
            "`{scheme}://` is not supported (hint: use a directory or `s3://bucket/prefix`)"
        )));
    }
    Ok(Location::Local(config_dir.join(state)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn resolves_every_form() {
        let dir = Path::new("/srv/live");
        assert_eq!(
            parse_location(None, dir).unwrap(),
            Location::Local(dir.join(".lunora"))
        );
        assert_eq!(
            parse_location(Some("state"), dir).unwrap(),
            Location::Local(dir.join("state"))
        );
        assert_eq!(
            parse_location(Some("/var/lunora"), dir).unwrap(),
            Location::Local(PathBuf::from("/var/lunora"))
        );
        let s3 = parse_location(Some("s3://ops-state/lunora/"), dir).unwrap();
        assert_eq!(
            s3,
            Location::S3 {
                bucket: "ops-state".into(),
                prefix: "lunora".into()
            }
        );
        assert_eq!(s3.to_string(), "s3://ops-state/lunora");
        assert_eq!(
            parse_location(Some("s3://ops-state"), dir).unwrap(),
            Location::S3 {
                bucket: "ops-state".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn rejects_bad_locations_clearly() {
        let dir = Path::new(".");
        for (state, needle) in [
            ("s3://", "no bucket name"),
            ("s3:///prefix", "no bucket name"),
            ("s3://My_Bucket/x", "not an S3 bucket name"),
            ("s3://b/a//c", "empty path segment"),
            ("gs://bucket", "`gs://` is not supported"),
            ("", "empty"),
        ] {
            let err = parse_location(Some(state), dir).unwrap_err().to_string();
            assert!(err.contains(needle), "{state}: {err}");
        }
    }
}
