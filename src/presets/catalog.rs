//! The preset library as documents: the list `lunora presets list`
//! prints and the platforms with their limits. Both faces (the CLI and
//! `lunora serve`'s admin page and API) serve these same documents.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Platform, Preset};
use super::{rules, Library, Origin};
use crate::config;
use crate::diagnostic::Diagnostics;

/// The library for `config`: its directories when the file exists, the
/// built-in collection when it does not (presets can be browsed without a
/// config).
pub fn library(config: &Path) -> anyhow::Result<Library> {
    if !config.exists() {
        return Ok(Library::built_in()?);
    }
    let text =
        crate::fsread::read_to_string_bounded(config, crate::fsread::CONFIG_LIMIT, "config file")
            .map_err(|e| Diagnostics::one(e.diagnostic("check the file's permissions")))?;
    let no_hint = |_: &str, _: &str| None;
    let loaded = crate::yaml::from_str::<config::Config>(config, &text, &no_hint)
        .map_err(Diagnostics::one)?;
    let base = config.parent().unwrap_or(Path::new("."));
    Ok(Library::load(&config::preset_dirs(base, &loaded.value))?)
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetSummary {
    pub id: String,
    pub platform: Option<String>,
    pub description: String,
    pub renditions: Vec<String>,
    pub audio: String,
    pub origin: Origin,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformSummary {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub origin: Origin,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetList {
    pub presets: Vec<PresetSummary>,
    pub platforms: Vec<PlatformSummary>,
}

pub fn rendition_summary(p: &Preset) -> Vec<String> {
    p.renditions
        .iter()
        .map(|v| {
            format!(
                "{} {}x{}@{} {} {} kbit/s",
                v.name,
                v.width,
                v.height,
                v.framerate,
                rules::enum_name(&v.rate_control),
                rules::peak_kbps(v)
            )
        })
        .collect()
}

pub fn audio_summary(p: &Preset) -> String {
    format!(
        "AAC {} {} {} Hz {} kbit/s",
        rules::enum_name(&p.audio.profile),
        rules::enum_name(&p.audio.coding_mode),
        p.audio.sample_rate,
        p.audio.bitrate_kbps
    )
}

impl PresetList {
    /// Every preset and platform of `lib`.
    pub fn of(lib: &Library) -> Self {
        Self {
            presets: lib
                .presets
                .values()
                .map(|e| PresetSummary {
                    id: e.value.id.clone(),
                    platform: e.value.platform.clone(),
                    description: e.value.description.clone(),
                    renditions: rendition_summary(&e.value),
                    audio: audio_summary(&e.value),
                    origin: e.origin.clone(),
                })
                .collect(),
            platforms: lib
                .platforms
                .values()
                .map(|e| PlatformSummary {
                    id: e.value.id.clone(),
                    name: e.value.name.clone(),
                    kind: rules::enum_name(&e.value.kind),
                    origin: e.origin.clone(),
                })
                .collect(),
        }
    }
}

/// A platform with its limits and where the file came from.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformDetail {
    pub platform: Platform,
    pub origin: Origin,
}

/// Every platform with its limits (`GET /api/admin/platforms`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformList {
    pub platforms: Vec<PlatformDetail>,
}

impl PlatformList {
    /// Every platform of `lib`, by id.
    pub fn of(lib: &Library) -> Self {
        Self {
            platforms: lib
                .platforms
                .values()
                .map(|e| PlatformDetail {
                    platform: e.value.clone(),
                    origin: e.origin.clone(),
                })
                .collect(),
        }
    }
}
