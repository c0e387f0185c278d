//! `lunora thumbnail DEST [-o FILE]` and `lunora thumbnail --source
//! primary|backup`: saves the latest JPEG of a destination's channel or of
//! the flow's source. A face over [`crate::ops::thumbnail`].

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::aws::AwsSettings;
use crate::cli::{FailoverTarget, ThumbnailArgs};
use crate::health::SourceRole;
use crate::output::{Console, Report};

/// What `thumbnail` saved.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailReport {
    pub subject: String,
    /// The file written; `-` for stdout.
    pub file: String,
    pub bytes: usize,
    pub notes: Vec<String>,
    /// The picture went to stdout: print nothing else there.
    #[serde(skip)]
    pub to_stdout: bool,
}

impl fmt::Display for ThumbnailReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.to_stdout {
            return Ok(());
        }
        writeln!(
            f,
            "saved the thumbnail of {} to {} ({:.1} KiB)",
            self.subject,
            self.file,
            self.bytes as f64 / 1024.0
        )?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

impl Report for ThumbnailReport {
    fn kind(&self) -> &'static str {
        "thumbnail"
    }
}

pub async fn run(
    config: &Path,
    args: &ThumbnailArgs,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<ThumbnailReport> {
    // stdout carries one document: with `-o -` that is the JPEG itself.
    if args.output_file.as_deref() == Some(Path::new("-")) {
        anyhow::ensure!(
            console.format == crate::cli::OutputFormat::Text,
            "`-o -` writes the JPEG to stdout, so there is no room for `--output {}` there (hint: `-o FILE` to get the report as well)",
            match console.format {
                crate::cli::OutputFormat::Json => "json",
                _ => "markdown",
            }
        );
    }
    let ids: Vec<String> = args.destination.iter().cloned().collect();
    let (deployment, aws) =
        super::connect_for_destinations(config, &ids, settings, console, "thumbnail").await?;
    let (picture, default_name) = match (&args.destination, args.source) {
        (Some(id), _) => (
            crate::ops::thumbnail::of_destination(&aws, &deployment, id).await?,
            format!("{id}-thumbnail.jpg"),
        ),
        (None, Some(source)) => {
            let role = match source {
                FailoverTarget::Primary => SourceRole::Primary,
                FailoverTarget::Backup => SourceRole::Backup,
            };
            (
                crate::ops::thumbnail::of_source(&aws, &deployment, role).await?,
                format!("{}-source-thumbnail.jpg", role.as_str()),
            )
        }
        (None, None) => anyhow::bail!("name a destination, or `--source primary|backup`"),
    };
    let path = args
        .output_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_name));
    let to_stdout = path.as_os_str() == "-";
    if to_stdout {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match out.write_all(&picture.jpeg).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    } else {
        crate::fsread::write_atomically(&path, &picture.jpeg)?;
    }
    Ok(ThumbnailReport {
        subject: picture.subject,
        file: path.display().to_string(),
        bytes: picture.jpeg.len(),
        notes: picture.note.into_iter().collect(),
        to_stdout,
    })
}
