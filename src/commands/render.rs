//! `lunora render [--out DIR] [--check]`: writes one template per stack, or
//! checks that the committed ones are current. DIR defaults to `stacks/`
//! next to the config file; a DIR given is relative to the current
//! directory.
//!
//! Everything is rendered in memory first; only then is each file written
//! through a temporary file and a rename, so an error never leaves a
//! half-written `stacks/`. Templates of destinations that were removed
//! from the config are deleted, so `stacks/` always mirrors the config.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::Deployment;
use crate::output::{Console, ExitStatus, Report};
use crate::render::{self, RenderedStack, INLINE_TEMPLATE_LIMIT};

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Written (new or changed).
    Written,
    /// Already identical.
    Unchanged,
    /// A stale template of a stack that is no longer rendered, deleted.
    Removed,
    /// `--check`: the file is missing.
    Missing,
    /// `--check`: the file differs from a fresh render.
    Differs,
    /// `--check`: the file belongs to no rendered stack.
    Extra,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReport {
    pub stack: Option<String>,
    pub stage: Option<String>,
    pub path: PathBuf,
    pub bytes: usize,
    pub status: FileStatus,
    /// Over CloudFormation's inline limit: deploy uploads it to S3.
    pub needs_s3: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderReport {
    pub out: PathBuf,
    pub check: bool,
    pub files: Vec<FileReport>,
}

impl RenderReport {
    fn stale(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| {
            matches!(
                f.status,
                FileStatus::Missing | FileStatus::Differs | FileStatus::Extra
            )
        })
    }
}

/// Renders into `out` (default [`default_out`]), or with `check_only` compares
/// with it.
pub fn run(
    config: &Path,
    out: Option<&Path>,
    check_only: bool,
    console: &Console,
) -> anyhow::Result<RenderReport> {
    let deployment = super::load(config, console)?;
    let stacks = render::render(&deployment)?;
    let out = out.map_or_else(|| default_out(config), Path::to_path_buf);
    if check_only {
        check(&deployment, &stacks, &out)
    } else {
        write(&deployment, &stacks, &out)
    }
}

/// `stacks/` next to the config file, as `.lunora/` and `presets/` are, so
/// that `lunora -c DIR/lunora.yaml render` does the same from anywhere.
pub fn default_out(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new("")).join("stacks")
}

/// Files in `dir` that look like this deployment's templates.
fn existing_templates(deployment: &Deployment, dir: &Path) -> anyhow::Result<BTreeSet<PathBuf>> {
    let prefix = format!("{}-", deployment.prefix());
    let mut out = BTreeSet::new();
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ours = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
            .is_some_and(|rest| rest == "base" || rest == "flow" || rest.starts_with("dest-"));
        if ours {
            out.insert(path);
        }
    }
    Ok(out)
}

fn file_report(s: &RenderedStack, path: PathBuf, status: FileStatus) -> FileReport {
    FileReport {
        stack: Some(s.name.clone()),
        stage: Some(s.stage.clone()),
        path,
        bytes: s.template.len(),
        status,
        needs_s3: s.template.len() > INLINE_TEMPLATE_LIMIT,
    }
}

fn orphan_report(path: PathBuf, status: FileStatus) -> FileReport {
    FileReport {
        stack: None,
        stage: None,
        path,
        bytes: 0,
        status,
        needs_s3: false,
    }
}

fn check(
    deployment: &Deployment,
    stacks: &[RenderedStack],
    dir: &Path,
) -> anyhow::Result<RenderReport> {
    let mut leftover = existing_templates(deployment, dir)?;
    let mut files = Vec::new();
    for s in stacks {
        let path = dir.join(s.file_name());
        leftover.remove(&path);
        let status = match fs_err::read_to_string(&path) {
            Ok(text) if text == s.template => FileStatus::Unchanged,
            Ok(_) => FileStatus::Differs,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileStatus::Missing,
            Err(e) => return Err(e.into()),
        };
        files.push(file_report(s, path, status));
    }
    files.extend(
        leftover
            .into_iter()
            .map(|p| orphan_report(p, FileStatus::Extra)),
    );
    Ok(RenderReport {
        out: dir.to_path_buf(),
        check: true,
        files,
    })
}

fn write(
    deployment: &Deployment,
    stacks: &[RenderedStack],
    dir: &Path,
) -> anyhow::Result<RenderReport> {
    fs_err::create_dir_all(dir)?;
    let mut leftover = existing_templates(deployment, dir)?;
    let mut files = Vec::new();
    for s in stacks {
        let path = dir.join(s.file_name());
        leftover.remove(&path);
        let unchanged = fs_err::read_to_string(&path).is_ok_and(|t| t == s.template);
        if !unchanged {
            write_atomically(&path, s.template.as_bytes())?;
        }
        let status = if unchanged {
            FileStatus::Unchanged
        } else {
            FileStatus::Written
        };
        files.push(file_report(s, path, status));
    }
    for path in leftover {
        fs_err::remove_file(&path)?;
        files.push(orphan_report(path, FileStatus::Removed));
    }
    Ok(RenderReport {
        out: dir.to_path_buf(),
        check: false,
        files,
    })
}

pub use crate::fsread::write_atomically;

impl fmt::Display for RenderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check {
            let stale: Vec<&FileReport> = self.stale().collect();
            if stale.is_empty() {
                return writeln!(
                    f,
                    "`{}` is up to date ({} templates)",
                    self.out.display(),
                    self.files.len()
                );
            }
            writeln!(
                f,
                "`{}` is stale; run `lunora render` and commit the result:",
                self.out.display()
            )?;
            for s in stale {
                let why = match s.status {
                    FileStatus::Missing => "missing",
                    FileStatus::Differs => "differs from a fresh render",
                    _ => "belongs to no stack in the config",
                };
                writeln!(f, "  {}: {why}", s.path.display())?;
            }
            return Ok(());
        }
        for file in &self.files {
            let status = match file.status {
                FileStatus::Written => "written",
                FileStatus::Removed => "removed",
                _ => "unchanged",
            };
            write!(
                f,
                "{:<9} {} ({} bytes)",
                status,
                file.path.display(),
                file.bytes
            )?;
            if file.needs_s3 {
                write!(
                    f,
                    " over the {INLINE_TEMPLATE_LIMIT}-byte inline limit: deploy uploads it to S3"
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl Report for RenderReport {
    fn kind(&self) -> &'static str {
        "render"
    }

    fn status(&self) -> ExitStatus {
        if self.check && self.stale().next().is_some() {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }
}
