//! `lunora presets list|show ID`: the preset library as the config at hand
//! sees it (built-in presets plus the config's own directories). The
//! documents are built in [`crate::presets::catalog`], which `lunora
//! serve` shares; this face only presents them.

use std::fmt;
use std::path::Path;

use anyhow::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::output::{Console, Report};
use crate::presets::catalog::{audio_summary, library, rendition_summary, PresetList};
use crate::presets::model::{Platform, Preset};
use crate::presets::{rules, Origin};

impl fmt::Display for PresetList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<20} {:<13} DESCRIPTION", "PRESET", "PLATFORM")?;
        for p in &self.presets {
            writeln!(
                f,
                "{:<20} {:<13} {}",
                p.id,
                p.platform.as_deref().unwrap_or("(generic)"),
                p.description
            )?;
        }
        writeln!(f)?;
        writeln!(f, "{:<20} {:<13} NAME", "PLATFORM", "KIND")?;
        for p in &self.platforms {
            writeln!(f, "{:<20} {:<13} {}", p.id, p.kind, p.name)?;
        }
        Ok(())
    }
}

/// `lunora presets list`.
pub fn list(config: &Path, _console: &Console) -> anyhow::Result<PresetList> {
    Ok(PresetList::of(&library(config)?))
}

impl Report for PresetList {
    fn kind(&self) -> &'static str {
        "presets"
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetDetail {
    pub preset: Preset,
    pub origin: Origin,
    pub platform: Option<Platform>,
    /// MediaLive and platform rules the preset breaks (empty when sound).
    pub problems: Vec<Diagnostic>,
}

pub fn show(config: &Path, id: &str, _console: &Console) -> anyhow::Result<PresetDetail> {
    let lib = library(config)?;
    let entry = lib
        .presets
        .get(id)
        .with_context(|| format!("unknown preset `{id}` (hint: {})", lib.preset_hint(id)))?;
    let platform = entry
        .value
        .platform
        .as_ref()
        .and_then(|p| lib.platforms.get(p))
        .map(|e| e.value.clone());
    let mut problems: Vec<rules::Problem> = rules::medialive_problems(&entry.value);
    if let Some(p) = &platform {
        problems.extend(rules::platform_problems(&entry.value, p));
    }
    Ok(PresetDetail {
        preset: entry.value.clone(),
        origin: entry.origin.clone(),
        platform,
        problems: problems
            .into_iter()
            .map(|p| entry.diagnostic(&p.field, p.message).hint(p.hint))
            .collect(),
    })
}

impl fmt::Display for PresetDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.preset;
        writeln!(f, "{}: {}", p.id, p.description)?;
        writeln!(f, "  file:      {}", self.origin)?;
        writeln!(
            f,
            "  platform:  {}",
            p.platform.as_deref().unwrap_or("(generic)")
        )?;
        for (i, r) in rendition_summary(p).iter().enumerate() {
            let v = &p.renditions[i];
            writeln!(
                f,
                "  video:     {r}, {} {}, keyframe every {} s, {} B-frames",
                rules::enum_name(&v.profile),
                rules::enum_name(&v.level),
                v.gop_seconds,
                v.b_frames
            )?;
        }
        writeln!(f, "  audio:     {}", audio_summary(p))?;
        if let Some(platform) = &self.platform {
            let v = &platform.video;
            writeln!(
                f,
                "  limits:    {} takes up to {}p{}, keyframe every {} s or less",
                platform.name, v.max_height, v.max_fps, v.max_gop_seconds
            )?;
            for band in &v.bitrate {
                let src = platform.sources.get(&band.source);
                writeln!(
                    f,
                    "             up to {}p{}: {}{} kbit/s ({}{})",
                    band.max_height,
                    band.max_fps,
                    band.min_kbps.map(|m| format!("{m}-")).unwrap_or_default(),
                    band.max_kbps,
                    src.map(|s| s.url.as_str()).unwrap_or("?"),
                    if src.is_some_and(|s| !s.verified) {
                        ", UNVERIFIED"
                    } else {
                        ""
                    }
                )?;
            }
        }
        if self.problems.is_empty() {
            writeln!(
                f,
                "  rules:     follows MediaLive's rules and its platform's limits"
            )?;
        } else {
            for d in &self.problems {
                writeln!(f, "  problem:   {d}")?;
            }
        }
        Ok(())
    }
}

impl Report for PresetDetail {
    fn kind(&self) -> &'static str {
        "preset"
    }
}
