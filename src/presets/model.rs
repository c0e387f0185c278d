//! The typed model of preset files and platform limit files.
//!
//! A preset is what a channel encodes (H.264 renditions and one AAC track),
//! written with MediaLive's own enum spellings so a preset author can read
//! it against the MediaLive documentation. A platform file is what a
//! destination platform accepts, each number with its source.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An encoder preset: `presets/<id>.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Unique id, the file name without `.yaml`.
    pub id: String,
    /// One line for `lunora presets list`.
    pub description: String,
    /// The platform this preset is made for; omitted for generic presets,
    /// which any platform may use if they fit its limits.
    #[serde(default)]
    pub platform: Option<String>,
    /// Video renditions: exactly one for RTMP, a ladder for MediaPackage.
    pub renditions: Vec<Rendition>,
    /// The audio track shared by every rendition.
    pub audio: Audio,
}

/// One H.264 video encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rendition {
    /// Short name, e.g. `1080p30`; used in MediaLive names.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate: an integer (`30`) or a fraction (`30000/1001`).
    pub framerate: Framerate,
    /// Target bitrate in kbit/s (CBR and VBR).
    #[serde(default)]
    pub bitrate_kbps: Option<u32>,
    /// Maximum bitrate in kbit/s (VBR and QVBR).
    #[serde(default)]
    pub max_bitrate_kbps: Option<u32>,
    /// QVBR quality level, 1-10 (QVBR only).
    #[serde(default)]
    pub qvbr_quality_level: Option<u32>,
    /// `CBR`, `VBR` or `QVBR`.
    pub rate_control: RateControl,
    /// H.264 profile.
    pub profile: H264Profile,
    /// H.264 level, or `H264_LEVEL_AUTO`.
    pub level: H264Level,
    /// Keyframe interval (GOP length) in seconds.
    pub gop_seconds: f64,
    /// B-frames between reference frames, 0-7.
    #[serde(default = "default_b_frames")]
    pub b_frames: u32,
    /// Encoder buffer in seconds of bitrate (default 2).
    #[serde(default)]
    pub buffer_seconds: Option<f64>,
}

fn default_b_frames() -> u32 {
    2
}

/// A frame rate, integer or fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framerate {
    pub numerator: u32,
    pub denominator: u32,
}

impl Framerate {
    /// Frames per second as a float.
    pub fn fps(self) -> f64 {
        f64::from(self.numerator) / f64::from(self.denominator.max(1))
    }
}

impl std::fmt::Display for Framerate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.denominator == 1 {
            write!(f, "{}", self.numerator)
        } else {
            write!(f, "{}/{}", self.numerator, self.denominator)
        }
    }
}

impl Serialize for Framerate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.denominator == 1 {
            s.serialize_u32(self.numerator)
        } else {
            s.serialize_str(&self.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Framerate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u32),
            Text(String),
        }
        let invalid = || {
            serde::de::Error::custom(
                "invalid frame rate: write an integer like `30` or a fraction like `30000/1001`",
            )
        };
        match Raw::deserialize(d).map_err(|_| invalid())? {
            Raw::Int(n) => Ok(Self {
                numerator: n,
                denominator: 1,
            }),
            Raw::Text(t) => {
                let (n, den) = t.split_once('/').ok_or_else(invalid)?;
                let numerator = n.trim().parse().map_err(|_| invalid())?;
                let denominator = den.trim().parse().map_err(|_| invalid())?;
                Ok(Self {
                    numerator,
                    denominator,
                })
            }
        }
    }
}

impl JsonSchema for Framerate {
    fn schema_name() -> String {
        "Framerate".to_owned()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        serde_json::from_value(serde_json::json!({
            "description": "An integer (`30`) or a fraction (`30000/1001`).",
            "oneOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": "^[0-9]+/[0-9]+$"}
            ]
        }))
        .unwrap_or(schemars::schema::Schema::Bool(true))
    }
}

/// H.264 rate control (MediaLive `RateControlMode`; MULTIPLEX is not
/// offered: lunora does not build multiplexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RateControl {
    Cbr,
    Vbr,
    Qvbr,
}

/// H.264 profile (MediaLive `H264Profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum H264Profile {
    Baseline,
    Main,
    High,
    #[serde(rename = "HIGH_10BIT")]
    High10Bit,
    #[serde(rename = "HIGH_422")]
    High422,
    #[serde(rename = "HIGH_422_10BIT")]
    High422_10Bit,
}

/// H.264 level (MediaLive `H264Level`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum H264Level {
    #[serde(rename = "H264_LEVEL_1")]
    L1,
    #[serde(rename = "H264_LEVEL_1_1")]
    L1_1,
    #[serde(rename = "H264_LEVEL_1_2")]
    L1_2,
    #[serde(rename = "H264_LEVEL_1_3")]
    L1_3,
    #[serde(rename = "H264_LEVEL_2")]
    L2,
    #[serde(rename = "H264_LEVEL_2_1")]
    L2_1,
    #[serde(rename = "H264_LEVEL_2_2")]
    L2_2,
    #[serde(rename = "H264_LEVEL_3")]
    L3,
    #[serde(rename = "H264_LEVEL_3_1")]
    L3_1,
    #[serde(rename = "H264_LEVEL_3_2")]
    L3_2,
    #[serde(rename = "H264_LEVEL_4")]
    L4,
    #[serde(rename = "H264_LEVEL_4_1")]
    L4_1,
    #[serde(rename = "H264_LEVEL_4_2")]
    L4_2,
    #[serde(rename = "H264_LEVEL_5")]
    L5,
    #[serde(rename = "H264_LEVEL_5_1")]
    L5_1,
    #[serde(rename = "H264_LEVEL_5_2")]
    L5_2,
    #[serde(rename = "H264_LEVEL_AUTO")]
    Auto,
}

/// The AAC audio track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audio {
    /// AAC profile.
    pub profile: AacProfile,
    /// Channel layout (MediaLive `AacCodingMode`).
    pub coding_mode: AacCodingMode,
    /// Sample rate in Hz: 32000, 44100 or 48000.
    pub sample_rate: u32,
    /// Bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// `CBR` or `VBR`.
    #[serde(default)]
    pub rate_control: AacRateControl,
}

/// AAC profile (MediaLive `AacProfile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AacProfile {
    Lc,
    Hev1,
    Hev2,
}

/// AAC channel layout (MediaLive `AacCodingMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AacCodingMode {
    #[serde(rename = "CODING_MODE_1_0")]
    Mono,
    #[serde(rename = "CODING_MODE_1_1")]
    DualMono,
    #[serde(rename = "CODING_MODE_2_0")]
    Stereo,
    #[serde(rename = "CODING_MODE_5_1")]
    Surround,
    #[serde(rename = "AD_RECEIVER_MIX")]
    AdReceiverMix,
}

/// AAC rate control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AacRateControl {
    #[default]
    Cbr,
    Vbr,
}

/// What a platform accepts: `presets/platforms/<id>.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Platform id, used as `platform:` in destinations and presets.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `rtmp` or `mediapackage`.
    pub kind: PlatformKind,
    /// Where each number in this file comes from, by key.
    pub sources: BTreeMap<String, Source>,
    /// Ingest rules (RTMP platforms).
    #[serde(default)]
    pub ingest: Option<IngestRules>,
    /// The preset `lunora add destination` offers first for this
    /// platform; it must pass the platform's limits.
    #[serde(default)]
    pub recommended_preset: Option<String>,
    /// Video limits.
    pub video: VideoLimits,
    /// Audio limits.
    pub audio: AudioLimits,
}

/// Kind of platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    Rtmp,
    Mediapackage,
}

/// Where a number comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The page or document.
    pub url: String,
    /// The date of the document or of when it was read (YYYY or YYYY-MM-DD).
    pub date: String,
    /// False when the number could not be confirmed and is an assumption.
    pub verified: bool,
    /// Anything a reader should know.
    #[serde(default)]
    pub note: Option<String>,
}

/// Ingest rules of an RTMP platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRules {
    /// The default ingest URL (without stream key), if the platform has one.
    #[serde(default)]
    pub default_url: Option<String>,
    /// Only `rtmps://` is accepted.
    #[serde(default)]
    pub requires_rtmps: bool,
    /// How many path segments the platform's ingest URLs have (for
    /// platforms without a default URL); a longer path likely ends with
    /// the stream key.
    #[serde(default)]
    pub path_segments: Option<usize>,
    /// Key of the source in `sources`.
    pub source: String,
}

/// Video limits of a platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoLimits {
    /// Allowed H.264 profiles (empty = any).
    #[serde(default)]
    pub profiles: Vec<H264Profile>,
    /// Allowed rate control modes (empty = any).
    #[serde(default)]
    pub rate_control: Vec<RateControl>,
    /// Largest frame height.
    pub max_height: u32,
    /// Highest frame rate.
    pub max_fps: f64,
    /// Longest keyframe interval in seconds.
    pub max_gop_seconds: f64,
    /// Bitrate limits by resolution and frame rate; the first band whose
    /// `max_height` and `max_fps` both cover a rendition applies.
    #[serde(default)]
    pub bitrate: Vec<BitrateBand>,
    /// Key of the source in `sources`.
    pub source: String,
}

/// A bitrate range for renditions up to a height and frame rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BitrateBand {
    /// Applies to renditions up to this height.
    pub max_height: u32,
    /// Applies to renditions up to this frame rate.
    pub max_fps: f64,
    /// Lowest video bitrate in kbit/s.
    #[serde(default)]
    pub min_kbps: Option<u32>,
    /// Highest video bitrate in kbit/s.
    pub max_kbps: u32,
    /// Key of the source in `sources`.
    pub source: String,
}

/// Audio limits of a platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioLimits {
    /// Allowed AAC profiles (empty = any).
    #[serde(default)]
    pub profiles: Vec<AacProfile>,
    /// Allowed channel layouts (empty = any).
    #[serde(default)]
    pub coding_modes: Vec<AacCodingMode>,
    /// Allowed sample rates (empty = any).
    #[serde(default)]
    pub sample_rates: Vec<u32>,
    /// Highest audio bitrate in kbit/s.
    pub max_bitrate_kbps: u32,
    /// Key of the source in `sources`.
    pub source: String,
}
