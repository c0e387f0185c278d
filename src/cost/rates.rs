//! The rates file (`data/pricing.yaml`, or `lunora cost --rates FILE`):
//! every price the cost model uses, each with its source, date and whether
//! it was verified against AWS. Parsing is pure (text in, value out); the
//! command reads the file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::yaml::{self, Locator};

/// The built-in rates, compiled into the binary.
pub const BUILT_IN: &str = include_str!("../../data/pricing.yaml");

/// How the built-in rates are named in messages and reports.
pub const BUILT_IN_NAME: &str = "data/pricing.yaml (built in)";

/// The highest hourly rate lunora accepts, in dollars. AWS's dearest
/// MediaLive line in the built-in file (a UHD output) is about $3/hour and
/// a MediaConnect flow well under $1/hour
/// (<https://aws.amazon.com/medialive/pricing/>,
/// <https://aws.amazon.com/mediaconnect/pricing/>); a bound 30 times above
/// that leaves room for any Region and class, and keeps a typo such as
/// `usd: 1e308` from turning into an absurd or overflowing total.
pub const MAX_USD_PER_HOUR: f64 = 100.0;
/// The highest per-GB rate lunora accepts, in dollars. AWS data transfer
/// and MediaPackage charges are cents per GB
/// (<https://aws.amazon.com/mediapackage/pricing/>,
/// <https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer>).
pub const MAX_USD_PER_GB: f64 = 10.0;
/// 1 Mbit/s for an hour is 3600 Mbit = 0.45 GB; anything above 1 GB is a
/// mistake.
pub const MAX_GB_PER_MBPS_HOUR: f64 = 1.0;

/// One price: dollars per unit, where it comes from, and whether it was
/// read from an AWS source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// US dollars per unit.
    pub usd: f64,
    /// A URL or a document.
    pub source: String,
    /// When it was read (or assumed), `YYYY-MM-DD`.
    pub date: String,
    /// True when read from an AWS page or price list.
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// A multiplier with its provenance (the single-pipeline factor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub value: f64,
    pub source: String,
    pub date: String,
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Video codec of a MediaLive input or output price class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Avc,
    Hevc,
    Mpeg2,
}

/// Resolution band of a price class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Fewer than 720 lines.
    Sd,
    /// 720 to 1080 lines.
    Hd,
    /// More than 1080 lines.
    Uhd,
}

impl Resolution {
    /// The band of a frame height.
    pub fn of_height(height: u32) -> Self {
        if height < 720 {
            Self::Sd
        } else if height <= 1080 {
            Self::Hd
        } else {
            Self::Uhd
        }
    }
}

/// Bitrate band of a price class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BitrateBand {
    /// Up to 10 Mbit/s.
    #[serde(rename = "under-10")]
    Under10,
    /// Over 10, up to 20 Mbit/s.
    #[serde(rename = "10-20")]
    From10To20,
    /// Over 20 Mbit/s.
    #[serde(rename = "over-20")]
    Over20,
}

impl BitrateBand {
    /// The band of a bitrate in Mbit/s.
    pub fn of_mbps(mbps: f64) -> Self {
        if mbps <= 10.0 {
            Self::Under10
        } else if mbps <= 20.0 {
            Self::From10To20
        } else {
            Self::Over20
        }
    }
}

/// Frame-rate band of an output price class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FramerateBand {
    /// Up to 30 frames per second (29.97 included).
    #[serde(rename = "upto-30")]
    UpTo30,
    /// More than 30 frames per second (50, 59.94, 60).
    #[serde(rename = "over-30")]
    Over30,
}

impl FramerateBand {
    /// The band of a frame rate.
    pub fn of_fps(fps: f64) -> Self {
        if fps <= 30.0 {
            Self::UpTo30
        } else {
            Self::Over30
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Avc => "AVC",
            Self::Hevc => "HEVC",
            Self::Mpeg2 => "MPEG-2",
        })
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sd => "SD",
            Self::Hd => "HD",
            Self::Uhd => "UHD",
        })
    }
}

impl fmt::Display for BitrateBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Under10 => "<=10 Mbps",
            Self::From10To20 => "10-20 Mbps",
            Self::Over20 => ">20 Mbps",
        })
    }
}

impl fmt::Display for FramerateBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UpTo30 => "<=30 fps",
            Self::Over30 => ">30 fps",
        })
    }
}

/// The price class of a MediaLive input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InputClass {
    pub codec: Codec,
    pub resolution: Resolution,
    pub bitrate: BitrateBand,
}

impl fmt::Display for InputClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.codec, self.resolution, self.bitrate)
    }
}

/// The price class of a MediaLive output (one encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OutputClass {
    pub codec: Codec,
    pub resolution: Resolution,
    pub bitrate: BitrateBand,
    pub framerate: FramerateBand,
}

impl fmt::Display for OutputClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.codec, self.resolution, self.bitrate, self.framerate
        )
    }
}

/// A MediaLive input rate line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRate {
    pub codec: Codec,
    pub resolution: Resolution,
    pub bitrate: BitrateBand,
    /// US dollars per hour (STANDARD class).
    pub usd: f64,
    pub source: String,
    pub date: String,
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// A MediaLive output rate line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputRate {
    pub codec: Codec,
    pub resolution: Resolution,
    pub bitrate: BitrateBand,
    pub framerate: FramerateBand,
    /// US dollars per hour (STANDARD class).
    pub usd: f64,
    pub source: String,
    pub date: String,
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// MediaConnect rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConnectRates {
    /// Per hour a flow is active.
    pub flow_hour: Rate,
    /// Per GB the flow sends to MediaLive.
    pub transfer_to_medialive_gb: Rate,
}

/// MediaLive rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaLiveRates {
    pub idle_channel_hour: Rate,
    pub idle_push_input_hour: Rate,
    pub idle_mediaconnect_input_hour: Rate,
    pub internet_transfer_gb: Rate,
    /// STANDARD-class input rates by class.
    pub inputs: Vec<InputRate>,
    /// STANDARD-class output rates by class.
    pub outputs: Vec<OutputRate>,
}

/// MediaPackage rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaPackageRates {
    pub ingest_gb: Rate,
    pub origination_gb: Rate,
}

/// The whole rates file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesFile {
    pub region: String,
    pub currency: String,
    pub hours_per_month: f64,
    pub gb_per_mbps_hour: f64,
    pub single_pipeline_factor: Factor,
    pub mediaconnect: MediaConnectRates,
    pub medialive: MediaLiveRates,
    pub mediapackage: MediaPackageRates,
    /// AWS KMS (the guards' key). Optional, so a rates file copied before
    /// it existed still reads; missing, it is the AWS list price.
    #[serde(default)]
    pub kms: KmsRates,
}

/// AWS KMS rates: the customer managed key the guards' state machines
/// encrypt their execution history with (`GuardKey` in the base stack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsRates {
    /// One customer managed key for a month, prorated by the hour.
    pub key_month: Rate,
}

impl Default for KmsRates {
    /// The list price: "Each AWS KMS key that you create in AWS KMS costs
    /// $1/month (prorated hourly)" (<https://aws.amazon.com/kms/pricing/>).
    fn default() -> Self {
        Self {
            key_month: Rate {
                usd: 1.0,
                source: "https://aws.amazon.com/kms/pricing/".to_owned(),
                date: "2026-12-06".to_owned(),
                verified: true,
                note: Some(KEY_MONTH_NOTE.to_owned()),
            },
        }
    }
}

/// What the key's rate covers and leaves out.
const KEY_MONTH_NOTE: &str = "$1 per key per month, prorated hourly; requests ($0.03 per 10,000 after the account's 20,000 free a month) are not priced";

/// Parsed, checked rates and the name of the file they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// The file as named in messages (`data/pricing.yaml (built in)` or
    /// the `--rates` path).
    pub origin: String,
    pub file: RatesFile,
}

impl Rates {
    /// The rates compiled into the binary.
    pub fn built_in() -> Result<Self, Diagnostic> {
        Self::parse(Path::new(BUILT_IN_NAME), BUILT_IN)
    }

    /// Parses and checks rates text read from `path`. Errors name the file,
    /// line and field.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Diagnostic> {
        let loaded = yaml::from_str::<RatesFile>(path, text, &|_, _| {
            Some("compare with the built-in data/pricing.yaml".to_owned())
        })?;
        check(path, &loaded.value, &loaded.locator)?;
        Ok(Self {
            origin: path.display().to_string(),
            file: loaded.value,
        })
    }

    /// The STANDARD-class rate of an input class.
    pub fn input(&self, class: InputClass) -> Option<Rate> {
        self.file
            .medialive
            .inputs
            .iter()
            .find(|r| {
                r.codec == class.codec
                    && r.resolution == class.resolution
                    && r.bitrate == class.bitrate
            })
            .map(|r| Rate {
                usd: r.usd,
                source: r.source.clone(),
                date: r.date.clone(),
                verified: r.verified,
                note: r.note.clone(),
            })
    }

    /// The STANDARD-class rate of an output class.
    pub fn output(&self, class: OutputClass) -> Option<Rate> {
        self.file
            .medialive
            .outputs
            .iter()
            .find(|r| {
                r.codec == class.codec
                    && r.resolution == class.resolution
                    && r.bitrate == class.bitrate
                    && r.framerate == class.framerate
            })
            .map(|r| Rate {
                usd: r.usd,
                source: r.source.clone(),
                date: r.date.clone(),
                verified: r.verified,
                note: r.note.clone(),
            })
    }
}

/// A number as a message shows it: `1e308`, not 309 digits.
fn show(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e6 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn named<'a>(field: &str, rate: &'a Rate) -> (String, f64, &'a str) {
    (field.to_owned(), rate.usd, &rate.source)
}

/// What types cannot check: finite, non-negative prices, a sane month and
/// no class priced twice.
fn check(path: &Path, f: &RatesFile, locator: &Locator) -> Result<(), Diagnostic> {
    let bad = |field: &str, message: String, hint: &str| {
        Diagnostic::new(path, field, message)
            .at(locator.locate(field))
            .hint(hint)
    };
    if !(f.hours_per_month > 0.0 && f.hours_per_month <= 744.0) {
        return Err(bad(
            "hours_per_month",
            format!(
                "must be more than 0 and at most 744, not {}",
                show(f.hours_per_month)
            ),
            "AWS bills an average month of 730 hours",
        ));
    }
    if !(f.gb_per_mbps_hour > 0.0 && f.gb_per_mbps_hour <= MAX_GB_PER_MBPS_HOUR) {
        return Err(bad(
            "gb_per_mbps_hour",
            format!(
                "must be more than 0 and at most {MAX_GB_PER_MBPS_HOUR}, not {}",
                show(f.gb_per_mbps_hour)
            ),
            "1 Mbit/s for one hour is 0.45 GB",
        ));
    }
    let factor = f.single_pipeline_factor.value;
    if !(factor > 0.0 && factor <= 1.0) {
        return Err(bad(
            "single_pipeline_factor.value",
            format!("must be more than 0 and at most 1, not {}", show(factor)),
            "0.6 prices single-pipeline at 60% of STANDARD; 1 if the tables hold single-pipeline rates",
        ));
    }
    let mut rates: Vec<(String, f64, &str)> = vec![
        named("mediaconnect.flow_hour", &f.mediaconnect.flow_hour),
        named(
            "mediaconnect.transfer_to_medialive_gb",
            &f.mediaconnect.transfer_to_medialive_gb,
        ),
        named(
            "medialive.idle_channel_hour",
            &f.medialive.idle_channel_hour,
        ),
        named(
            "medialive.idle_push_input_hour",
            &f.medialive.idle_push_input_hour,
        ),
        named(
            "medialive.idle_mediaconnect_input_hour",
            &f.medialive.idle_mediaconnect_input_hour,
        ),
        named(
            "medialive.internet_transfer_gb",
            &f.medialive.internet_transfer_gb,
        ),
        named("mediapackage.ingest_gb", &f.mediapackage.ingest_gb),
        named(
            "mediapackage.origination_gb",
            &f.mediapackage.origination_gb,
        ),
        named("kms.key_month", &f.kms.key_month),
    ];
    for (i, r) in f.medialive.inputs.iter().enumerate() {
        rates.push((format!("medialive.inputs[{i}]"), r.usd, &r.source));
    }
    for (i, r) in f.medialive.outputs.iter().enumerate() {
        rates.push((format!("medialive.outputs[{i}]"), r.usd, &r.source));
    }
    for (field, usd, source) in rates {
        let (max, unit) = if field.ends_with("_gb") {
            (MAX_USD_PER_GB, "GB")
        } else if field.ends_with("_month") {
            (MAX_USD_PER_HOUR, "month")
        } else {
            (MAX_USD_PER_HOUR, "hour")
        };
        // NaN fails every comparison, so it is refused here too.
        if !(0.0..=max).contains(&usd) {
            return Err(bad(
                &format!("{field}.usd"),
                format!(
                    "a rate must be from $0 to ${max} per {unit}, not {}",
                    show(usd)
                ),
                "write the price per unit from the AWS price list, e.g. `usd: 0.16`",
            ));
        }
        if source.trim().is_empty() {
            return Err(bad(
                &format!("{field}.source"),
                "every rate needs a source".to_owned(),
                "name the URL or document it comes from, or `assumption`",
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, r) in f.medialive.inputs.iter().enumerate() {
        if !seen.insert((r.codec, r.resolution, r.bitrate)) {
            return Err(bad(
                &format!("medialive.inputs[{i}]"),
                format!(
                    "input class {} is priced twice",
                    InputClass {
                        codec: r.codec,
                        resolution: r.resolution,
                        bitrate: r.bitrate
                    }
                ),
                "keep one line per class",
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, r) in f.medialive.outputs.iter().enumerate() {
        if !seen.insert((r.codec, r.resolution, r.bitrate, r.framerate)) {
            return Err(bad(
                &format!("medialive.outputs[{i}]"),
                format!(
                    "output class {} is priced twice",
                    OutputClass {
                        codec: r.codec,
                        resolution: r.resolution,
                        bitrate: r.bitrate,
                        framerate: r.framerate
                    }
                ),
                "keep one line per class",
            ));
        }
    }
    Ok(())
}
