//! The rules a preset must follow: MediaLive's own (what the channel API
//! would reject, or encode badly) and its platform's (what YouTube, Twitch
//! and the rest accept).
//!
//! cfn-lint types MediaLive encoder settings as plain strings and numbers,
//! so nothing downstream of lunora catches a wrong enum, an impossible AAC
//! combination or an H.264 level too low for 1080p60 before CloudFormation
//! is already halfway through a deploy. These checks are the only guard.
//! Sources: the MediaLive API reference (the 2017-10-14 `H264Settings` and
//! `AacSettings` shapes, https://docs.aws.amazon.com/medialive/latest/apireference/channels.html),
//! the MediaLive user guide's AAC audio settings
//! (https://docs.aws.amazon.com/medialive/latest/ug/audio-encode-aac.html)
//! and ITU-T H.264 Annex A (level limits).

use super::model::{
    AacCodingMode, AacProfile, H264Level, H264Profile, Platform, PlatformKind, Preset, RateControl,
    Rendition,
};

/// One broken rule, relative to the preset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path inside the preset file, e.g. `renditions[0].level`.
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Per-level limits from H.264 Annex A, table A-1: max macroblocks per
/// second, max frame size in macroblocks, max video bitrate in kbit/s for
/// Baseline/Main (High is allowed 1.25 times that).
fn level_limits(level: H264Level) -> Option<(u64, u64, u64, &'static str)> {
    use H264Level::*;
    Some(match level {
        L1 => (1_485, 99, 64, "1"),
        L1_1 => (3_000, 396, 192, "1.1"),
        L1_2 => (6_000, 396, 384, "1.2"),
        L1_3 => (11_880, 396, 768, "1.3"),
        L2 => (11_880, 396, 2_000, "2"),
        L2_1 => (19_800, 792, 4_000, "2.1"),
        L2_2 => (20_250, 1_620, 4_000, "2.2"),
        L3 => (40_500, 1_620, 10_000, "3"),
        L3_1 => (108_000, 3_600, 14_000, "3.1"),
        L3_2 => (216_000, 5_120, 20_000, "3.2"),
        L4 => (245_760, 8_192, 20_000, "4"),
        L4_1 => (245_760, 8_192, 50_000, "4.1"),
        L4_2 => (522_240, 8_704, 50_000, "4.2"),
        L5 => (589_824, 22_080, 135_000, "5"),
        L5_1 => (983_040, 36_864, 240_000, "5.1"),
        L5_2 => (2_073_600, 36_864, 240_000, "5.2"),
        Auto => return None,
    })
}

const ALL_LEVELS: [H264Level; 16] = {
    use H264Level::*;
    [
        L1, L1_1, L1_2, L1_3, L2, L2_1, L2_2, L3, L3_1, L3_2, L4, L4_1, L4_2, L5, L5_1, L5_2,
    ]
};

/// The lowest level that fits a rendition, for hints.
fn lowest_fitting_level(r: &Rendition, bitrate_kbps: u64) -> Option<&'static str> {
    ALL_LEVELS.iter().find_map(|&l| {
        let (mbps, fs, br, name) = level_limits(l)?;
        let (frame_mbs, mb_rate) = macroblocks(r);
        let br = scaled_bitrate(br, r.profile);
        (frame_mbs <= fs && mb_rate <= mbps && bitrate_kbps <= br).then_some(name)
    })
}

fn macroblocks(r: &Rendition) -> (u64, u64) {
    let frame = u64::from(r.width.div_ceil(16)) * u64::from(r.height.div_ceil(16));
    let rate = (frame as f64 * r.framerate.fps()).ceil() as u64;
    (frame, rate)
}

fn scaled_bitrate(base_kbps: u64, profile: H264Profile) -> u64 {
    match profile {
        H264Profile::Baseline | H264Profile::Main => base_kbps,
        // cpbBrVclFactor 1250 (High) and 3000/4000 (High 10/4:2:2): use the
        // conservative High factor for all High variants.
        _ => base_kbps * 5 / 4,
    }
}

/// The bitrate that counts against limits: the target for CBR and VBR, the
/// cap for QVBR.
pub fn peak_kbps(r: &Rendition) -> u32 {
    match r.rate_control {
        RateControl::Cbr => r.bitrate_kbps.unwrap_or(0),
        RateControl::Vbr | RateControl::Qvbr => r.max_bitrate_kbps.or(r.bitrate_kbps).unwrap_or(0),
    }
}

/// The AAC combinations lunora accepts: the ones it can show MediaLive
/// supports (domain brief §4). Returns the valid bitrates in kbit/s, as an
/// inclusive range or a list, for a profile, layout and sample rate.
fn aac_bitrates(profile: AacProfile, mode: AacCodingMode, rate: u32) -> Option<AacBitrates> {
    match (profile, mode, rate) {
        (AacProfile::Lc, AacCodingMode::Mono, 48_000) => Some(AacBitrates::Range(56, 288)),
        (AacProfile::Lc, AacCodingMode::Mono, 44_100) => Some(AacBitrates::Range(56, 256)),
        (AacProfile::Lc, AacCodingMode::Stereo, 48_000) => {
            Some(AacBitrates::List(&[96, 128, 160, 192]))
        }
        _ => None,
    }
}

enum AacBitrates {
    Range(u32, u32),
    List(&'static [u32]),
}

impl AacBitrates {
    fn contains(&self, kbps: u32) -> bool {
        match self {
            Self::Range(lo, hi) => (*lo..=*hi).contains(&kbps),
            Self::List(list) => list.contains(&kbps),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Range(lo, hi) => format!("{lo}-{hi} kbit/s"),
            Self::List(list) => {
                let items: Vec<String> = list.iter().map(u32::to_string).collect();
                format!("one of {} kbit/s", items.join(", "))
            }
        }
    }
}

/// Checks a preset against MediaLive's rules.
pub fn medialive_problems(preset: &Preset) -> Vec<Problem> {
    let mut out = Vec::new();
    if preset.renditions.is_empty() {
        out.push(Problem::new(
            "renditions",
            "a preset needs at least one rendition",
            "add a rendition with width, height, framerate and bitrate",
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, r) in preset.renditions.iter().enumerate() {
        let at = |f: &str| format!("renditions[{i}].{f}");
        if !names.insert(r.name.as_str()) {
            out.push(Problem::new(
                at("name"),
                format!("rendition name `{}` is used twice", r.name),
                "give every rendition its own name",
            ));
        }
        if r.name.is_empty()
            || !r
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            out.push(Problem::new(
                at("name"),
                format!("rendition name `{}` is not a plain name", r.name),
                "use letters, digits, `-` and `_` only, e.g. `1080p30`",
            ));
        }
        rendition_problems(r, &at, &mut out);
    }
    audio_problems(preset, &mut out);
    out
}

fn rendition_problems(r: &Rendition, at: &dyn Fn(&str) -> String, out: &mut Vec<Problem>) {
    if !(32..=4096).contains(&r.width) || r.width % 2 != 0 {
        out.push(Problem::new(
            at("width"),
            format!(
                "width {} is not an even number of pixels from 32 to 4096",
                r.width
            ),
            "use a standard width such as 1280 or 1920",
        ));
    }
    if !(32..=2160).contains(&r.height) || r.height % 2 != 0 {
        out.push(Problem::new(
            at("height"),
            format!(
                "height {} is not an even number of pixels from 32 to 2160",
                r.height
            ),
            "use a standard height such as 720 or 1080",
        ));
    }
    let fps = r.framerate.fps();
    if r.framerate.numerator == 0 || r.framerate.denominator == 0 || fps > 60.0 + 1e-9 {
        out.push(Problem::new(
            at("framerate"),
            format!("frame rate {} is outside 1-60 fps", r.framerate),
            "use 25, 30, 30000/1001, 50, 60 or 60000/1001",
        ));
    }
    match r.rate_control {
        RateControl::Cbr | RateControl::Vbr => match r.bitrate_kbps {
            None | Some(0) => out.push(Problem::new(
                at("bitrate_kbps"),
                "CBR and VBR need a bitrate",
                "set `bitrate_kbps`, e.g. 6000",
            )),
            Some(_) => {}
        },
        RateControl::Qvbr => {
            if r.max_bitrate_kbps.is_none() {
                out.push(Problem::new(
                    at("max_bitrate_kbps"),
                    "QVBR needs a maximum bitrate",
                    "set `max_bitrate_kbps`, e.g. 6000",
                ));
            }
            if r.bitrate_kbps.is_some() {
                out.push(Problem::new(
                    at("bitrate_kbps"),
                    "MediaLive ignores the target bitrate with QVBR",
                    "remove `bitrate_kbps`; QVBR uses `max_bitrate_kbps` and `qvbr_quality_level`",
                ));
            }
        }
    }
    if r.rate_control == RateControl::Vbr {
        match (r.bitrate_kbps, r.max_bitrate_kbps) {
            (_, None) => out.push(Problem::new(
                at("max_bitrate_kbps"),
                "VBR needs a maximum bitrate",
                "set `max_bitrate_kbps` at or above `bitrate_kbps`",
            )),
            (Some(b), Some(m)) if m < b => out.push(Problem::new(
                at("max_bitrate_kbps"),
                format!("maximum bitrate {m} kbit/s is below the target {b} kbit/s"),
                "raise `max_bitrate_kbps` or lower `bitrate_kbps`",
            )),
            _ => {}
        }
    }
    if r.rate_control == RateControl::Cbr && r.max_bitrate_kbps.is_some() {
        out.push(Problem::new(
            at("max_bitrate_kbps"),
            "a maximum bitrate means nothing with CBR",
            "remove `max_bitrate_kbps`, or use VBR",
        ));
    }
    match r.qvbr_quality_level {
        Some(q) if r.rate_control != RateControl::Qvbr => out.push(Problem::new(
            at("qvbr_quality_level"),
            format!("quality level {q} is only used with QVBR"),
            "remove `qvbr_quality_level`, or set `rate_control: QVBR`",
        )),
        Some(q) if !(1..=10).contains(&q) => out.push(Problem::new(
            at("qvbr_quality_level"),
            format!("quality level {q} is outside 1-10"),
            "use 7 or 8 for live sports, 6 for talking heads",
        )),
        _ => {}
    }
    if !(r.gop_seconds > 0.0 && r.gop_seconds <= 10.0) {
        out.push(Problem::new(
            at("gop_seconds"),
            format!(
                "keyframe interval {} s is outside (0, 10] seconds",
                r.gop_seconds
            ),
            "use 2: every streaming platform accepts a 2 s keyframe interval",
        ));
    } else {
        let frames = r.gop_seconds * fps;
        if fps > 0.0 && (frames - frames.round()).abs() > 0.05 && r.framerate.denominator == 1 {
            out.push(Problem::new(
                at("gop_seconds"),
                format!(
                    "a {} s keyframe interval at {} fps is not a whole number of frames",
                    r.gop_seconds, r.framerate
                ),
                "pick a keyframe interval that is a whole number of frames, e.g. 2",
            ));
        }
    }
    if r.b_frames > 7 {
        out.push(Problem::new(
            at("b_frames"),
            format!("{} B-frames is more than MediaLive's 7", r.b_frames),
            "use 2 or 3",
        ));
    }
    if r.profile == H264Profile::Baseline && r.b_frames > 0 {
        out.push(Problem::new(
            at("b_frames"),
            "the Baseline profile has no B-frames",
            "set `b_frames: 0`, or use the Main or High profile",
        ));
    }
    if let Some(buffer) = r.buffer_seconds {
        if !(buffer > 0.0 && buffer <= 10.0) {
            out.push(Problem::new(
                at("buffer_seconds"),
                format!("buffer of {buffer} s is outside (0, 10] seconds"),
                "use 2 (the default)",
            ));
        }
    }
    if let Some((max_mbps, max_fs, max_br, name)) = level_limits(r.level) {
        let (frame_mbs, mb_rate) = macroblocks(r);
        let peak = u64::from(peak_kbps(r));
        let max_br = scaled_bitrate(max_br, r.profile);
        let fits = frame_mbs <= max_fs && mb_rate <= max_mbps && peak <= max_br;
        if !fits {
            let what = if frame_mbs > max_fs || mb_rate > max_mbps {
                format!("{}x{} at {} fps", r.width, r.height, r.framerate)
            } else {
                format!("{peak} kbit/s")
            };
            let hint = match lowest_fitting_level(r, peak) {
                Some(l) => format!("use level {l} or higher, or `H264_LEVEL_AUTO`"),
                None => "lower the resolution, frame rate or bitrate".to_owned(),
            };
            out.push(Problem::new(
                at("level"),
                format!("H.264 level {name} cannot carry {what}"),
                hint,
            ));
        }
    }
}

fn audio_problems(preset: &Preset, out: &mut Vec<Problem>) {
    let a = &preset.audio;
    if ![32_000, 44_100, 48_000].contains(&a.sample_rate) {
        out.push(Problem::new(
            "audio.sample_rate",
            format!(
                "sample rate {} Hz is not 32000, 44100 or 48000",
                a.sample_rate
            ),
            "use 48000",
        ));
        return;
    }
    match aac_bitrates(a.profile, a.coding_mode, a.sample_rate) {
        Some(valid) if !valid.contains(a.bitrate_kbps) => out.push(Problem::new(
            "audio.bitrate_kbps",
            format!(
                "{} kbit/s is not a valid AAC bitrate for this profile, layout and sample rate",
                a.bitrate_kbps
            ),
            format!("use {}", valid.describe()),
        )),
        Some(_) => {}
        None => out.push(Problem::new(
            "audio",
            "lunora accepts only the AAC combinations it can show MediaLive supports",
            "use profile LC with CODING_MODE_2_0 at 48000 Hz (96/128/160/192 kbit/s) or CODING_MODE_1_0 at 44100/48000 Hz",
        )),
    }
}

/// Checks a preset against what a platform accepts. Problems name fields
/// of the preset file.
pub fn platform_problems(preset: &Preset, platform: &Platform) -> Vec<Problem> {
    let mut out = Vec::new();
    let name = &platform.name;
    if platform.kind == PlatformKind::Rtmp && preset.renditions.len() != 1 {
        out.push(Problem::new(
            "renditions",
            format!(
                "an RTMP push carries one rendition, this preset has {}",
                preset.renditions.len()
            ),
            "keep exactly one rendition in presets for RTMP platforms",
        ));
    }
    let v = &platform.video;
    for (i, r) in preset.renditions.iter().enumerate() {
        let at = |f: &str| format!("renditions[{i}].{f}");
        if !v.profiles.is_empty() && !v.profiles.contains(&r.profile) {
            out.push(Problem::new(
                at("profile"),
                format!(
                    "{name} does not accept the {} profile",
                    enum_name(&r.profile)
                ),
                format!("use one of {}", enum_list(&v.profiles)),
            ));
        }
        if !v.rate_control.is_empty() && !v.rate_control.contains(&r.rate_control) {
            out.push(Problem::new(
                at("rate_control"),
                format!("{name} needs {}", enum_list(&v.rate_control)),
                format!("set `rate_control: {}`", enum_name(&v.rate_control[0])),
            ));
        }
        if r.height > v.max_height {
            out.push(Problem::new(
                at("height"),
                format!(
                    "{name} accepts at most {}p, this is {}p",
                    v.max_height, r.height
                ),
                format!("lower the resolution to {}p", v.max_height),
            ));
        }
        let fps = r.framerate.fps();
        if fps > v.max_fps + 0.01 {
            out.push(Problem::new(
                at("framerate"),
                format!(
                    "{name} accepts at most {} fps, this is {}",
                    v.max_fps, r.framerate
                ),
                format!("lower the frame rate to {}", v.max_fps),
            ));
        }
        if r.gop_seconds > v.max_gop_seconds + 1e-9 {
            out.push(Problem::new(
                at("gop_seconds"),
                format!(
                    "{name} wants a keyframe at least every {} s, this is {} s",
                    v.max_gop_seconds, r.gop_seconds
                ),
                "use `gop_seconds: 2`",
            ));
        }
        if v.bitrate.is_empty() {
            continue;
        }
        let peak = peak_kbps(r);
        let field = match r.rate_control {
            RateControl::Cbr => "bitrate_kbps",
            _ => "max_bitrate_kbps",
        };
        match v
            .bitrate
            .iter()
            .find(|b| r.height <= b.max_height && fps <= b.max_fps + 0.01)
        {
            None => out.push(Problem::new(
                at("height"),
                format!("{name} lists no bitrate for {}p{}", r.height, r.framerate),
                "use a resolution and frame rate the platform lists",
            )),
            Some(band) => {
                if peak > band.max_kbps {
                    out.push(Problem::new(
                        at(field),
                        format!(
                            "{peak} kbit/s is above {name}'s {} kbit/s for {}p{}",
                            band.max_kbps, r.height, r.framerate
                        ),
                        format!("lower it to {} or less", band.max_kbps),
                    ));
                }
                if let Some(min) = band.min_kbps {
                    if peak < min {
                        out.push(Problem::new(
                            at(field),
                            format!(
                                "{peak} kbit/s is below {name}'s {min} kbit/s for {}p{}",
                                r.height, r.framerate
                            ),
                            format!("raise it to at least {min}"),
                        ));
                    }
                }
            }
        }
    }
    let a = &platform.audio;
    let audio = &preset.audio;
    if !a.profiles.is_empty() && !a.profiles.contains(&audio.profile) {
        out.push(Problem::new(
            "audio.profile",
            format!("{name} does not accept AAC {}", enum_name(&audio.profile)),
            format!("use {}", enum_list(&a.profiles)),
        ));
    }
    if !a.coding_modes.is_empty() && !a.coding_modes.contains(&audio.coding_mode) {
        out.push(Problem::new(
            "audio.coding_mode",
            format!("{name} does not accept {}", enum_name(&audio.coding_mode)),
            format!("use {}", enum_list(&a.coding_modes)),
        ));
    }
    if !a.sample_rates.is_empty() && !a.sample_rates.contains(&audio.sample_rate) {
        let list: Vec<String> = a.sample_rates.iter().map(u32::to_string).collect();
        out.push(Problem::new(
            "audio.sample_rate",
            format!("{name} does not accept {} Hz audio", audio.sample_rate),
            format!("use {} Hz", list.join(" or ")),
        ));
    }
    if audio.bitrate_kbps > a.max_bitrate_kbps {
        out.push(Problem::new(
            "audio.bitrate_kbps",
            format!(
                "{} kbit/s audio is above {name}'s {} kbit/s",
                audio.bitrate_kbps, a.max_bitrate_kbps
            ),
            "use 128",
        ));
    }
    out
}

/// The YAML spelling of an enum value.
pub fn enum_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn enum_list<T: serde::Serialize>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| format!("`{}`", enum_name(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::model::*;
    use super::*;

    fn rendition() -> Rendition {
        Rendition {
            name: "1080p30".into(),
            width: 1920,
            height: 1080,
            framerate: Framerate {
                numerator: 30,
                denominator: 1,
            },
            bitrate_kbps: Some(6000),
            max_bitrate_kbps: None,
            qvbr_quality_level: None,
            rate_control: RateControl::Cbr,
            profile: H264Profile::High,
            level: H264Level::L4_1,
            gop_seconds: 2.0,
            b_frames: 2,
            buffer_seconds: None,
        }
    }

    fn preset(r: Rendition) -> Preset {
        Preset {
            id: "p".into(),
            description: "d".into(),
            platform: None,
            renditions: vec![r],
            audio: Audio {
                profile: AacProfile::Lc,
                coding_mode: AacCodingMode::Stereo,
                sample_rate: 48_000,
                bitrate_kbps: 128,
                rate_control: AacRateControl::Cbr,
            },
        }
    }

    #[test]
    fn a_sound_preset_has_no_problems() {
        assert_eq!(medialive_problems(&preset(rendition())), vec![]);
    }

    #[test]
    fn level_4_1_cannot_carry_1080p60() {
        let mut r = rendition();
        r.framerate.numerator = 60;
        let p = medialive_problems(&preset(r));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "renditions[0].level");
        assert!(p[0].hint.contains("4.2"), "{:?}", p[0]);
    }

    #[test]
    fn baseline_has_no_b_frames() {
        let mut r = rendition();
        r.profile = H264Profile::Baseline;
        let p = medialive_problems(&preset(r));
        assert!(p.iter().any(|p| p.field == "renditions[0].b_frames"));
    }

    #[test]
    fn aac_stereo_needs_a_listed_bitrate() {
        let mut p = preset(rendition());
        p.audio.bitrate_kbps = 100;
        let problems = medialive_problems(&p);
        assert_eq!(problems[0].field, "audio.bitrate_kbps");
        p.audio.bitrate_kbps = 128;
        p.audio.sample_rate = 44_100;
        assert_eq!(medialive_problems(&p)[0].field, "audio");
    }

    #[test]
    fn qvbr_needs_a_cap() {
        let mut r = rendition();
        r.rate_control = RateControl::Qvbr;
        let fields: Vec<String> = medialive_problems(&preset(r))
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert!(fields.contains(&"renditions[0].max_bitrate_kbps".to_owned()));
        assert!(fields.contains(&"renditions[0].bitrate_kbps".to_owned()));
    }
}
