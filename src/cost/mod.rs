//! What a deployment costs per month, itemised, from dated and sourced
//! rates.
//!
//! The original plan's $355.80/month left out MediaLive input and idle
//! charges, the >30 fps output class and most data transfer, and assumed
//! the flow runs 24/7. This model prices every billed item of the setup
//! lunora deploys (one flow, one single-pipeline channel per destination),
//! shows what lunora's `stop` behaviour (flow stopped and outputs disabled
//! between events) saves, and sets the original figure beside it. It is
//! pure: a [`Setup`], [`Rates`] and hours in, an [`Estimate`] out; reading
//! the rates file and the config is the command's job.

pub mod actual;
pub mod rates;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::model::{DestinationKind, FeedCodec, InputMode};
use crate::config::Deployment;
pub use rates::{
    BitrateBand, Codec, FramerateBand, InputClass, OutputClass, Rate, Rates, Resolution,
};

/// The most hours a month can hold (31 days): the bound on a rates
/// file's `hours_per_month`, which bounds `--hours`.
pub const MAX_HOURS: f64 = 744.0;

/// The largest amount an estimate holds, in dollars: ten billion, far
/// above any real month of this setup. Rates are bounded when read
/// ([`rates::MAX_USD_PER_HOUR`], [`rates::MAX_USD_PER_GB`]), so reaching it
/// means a bug or an unchecked input, and the estimate refuses rather than
/// print a wrong (saturated, wrapped or infinite) total.
pub const MAX_USD: i64 = 10_000_000_000;

/// Why an estimate cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostError {
    #[error("--hours must be between 0 and {month} (the hours of a month in the rates file{origin}), not {hours} (hint: the streaming hours per month, e.g. `--hours 100`)")]
    Hours {
        hours: f64,
        /// The rates file's `hours_per_month`.
        month: f64,
        /// ` data/pricing.yaml (built in)`, or empty.
        origin: String,
    },
    #[error("--destinations: {0}")]
    UnknownDestinations(crate::config::UnknownDestinations),
    #[error("{what} comes to more than ${MAX_USD} a month; a rate or a quantity is out of range (hint: check the rates file's `usd:` values)")]
    OutOfRange { what: String },
    #[error("the rates file `{origin}` has no rate for MediaLive {what} (hint: add a line for it under `{section}`)")]
    MissingRate {
        origin: String,
        what: String,
        section: &'static str,
    },
}

/// The encoder's feed into the flow: sets every channel's input class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub codec: Codec,
    pub height: u32,
    pub mbps: f64,
}

/// One MediaLive output (an encode) of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub name: String,
    pub height: u32,
    pub fps: f64,
    pub video_kbps: u32,
    pub audio_kbps: u32,
}

/// One destination's single-pipeline channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub id: String,
    pub kind: DestinationKind,
    pub outputs: Vec<Output>,
}

/// What the model needs of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    pub input_mode: InputMode,
    pub feed: Feed,
    pub channels: Vec<Channel>,
    /// The guards create the KMS key `GuardKey` (auto_stop,
    /// max_session_hours or schedule set): a fixed monthly charge.
    #[serde(default)]
    pub guard_key: bool,
}

impl Setup {
    /// The parts of `deployment` that cost money; `only` (destination ids)
    /// narrows the channels, empty means all.
    pub fn from_deployment(deployment: &Deployment, only: &[String]) -> Result<Self, CostError> {
        deployment
            .check_destination_ids(only)
            .map_err(CostError::UnknownDestinations)?;
        let feed = &deployment.config.encoder;
        Ok(Self {
            input_mode: deployment.config.input_mode,
            feed: Feed {
                codec: match feed.codec {
                    FeedCodec::H264 => Codec::Avc,
                    FeedCodec::H265 => Codec::Hevc,
                    FeedCodec::Mpeg2 => Codec::Mpeg2,
                },
                height: feed.height,
                mbps: feed.bitrate_mbps,
            },
            channels: deployment
                .destinations
                .iter()
                .filter(|d| only.is_empty() || only.contains(&d.destination.id))
                .map(|d| Channel {
                    id: d.destination.id.clone(),
                    kind: d.destination.kind,
                    outputs: d
                        .preset
                        .renditions
                        .iter()
                        .map(|r| Output {
                            name: r.name.clone(),
                            height: r.height,
                            fps: r.framerate.fps(),
                            video_kbps: crate::presets::rules::peak_kbps(r),
                            audio_kbps: d.preset.audio.bitrate_kbps,
                        })
                        .collect(),
                })
                .collect(),
            guard_key: deployment.config.guards.as_ref().is_some_and(|g| g.acts()),
        })
    }

    /// The MediaLive price class of every channel's input.
    pub fn input_class(&self) -> InputClass {
        InputClass {
            codec: self.feed.codec,
            resolution: Resolution::of_height(self.feed.height),
            bitrate: BitrateBand::of_mbps(self.feed.mbps),
        }
    }
}

impl Output {
    /// Its MediaLive price class (lunora encodes H.264 only).
    pub fn class(&self) -> OutputClass {
        OutputClass {
            codec: Codec::Avc,
            resolution: Resolution::of_height(self.height),
            bitrate: BitrateBand::of_mbps(f64::from(self.video_kbps) / 1000.0),
            framerate: FramerateBand::of_fps(self.fps),
        }
    }

    /// Video and audio, in Mbit/s.
    pub fn mbps(&self) -> f64 {
        f64::from(self.video_kbps + self.audio_kbps) / 1000.0
    }
}

/// How the month is used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Hours per month the channels stream.
    pub streaming_hours: f64,
    /// lunora's `stop` behaviour: the flow is stopped and the flow outputs
    /// disabled when nothing streams. Without it the flow runs and sends to
    /// every channel all month.
    pub stop_when_idle: bool,
}

/// Checks `--hours` against the month of the rates (`hours_per_month`:
/// a month never streams more hours than it has).
pub fn check_hours(hours: f64, rates: &Rates) -> Result<(), CostError> {
    let month = rates.file.hours_per_month.min(MAX_HOURS);
    if hours.is_finite() && (0.0..=month).contains(&hours) {
        Ok(())
    } else {
        Err(CostError::Hours {
            hours,
            month,
            origin: format!(" {}", rates.origin),
        })
    }
}

/// What an item pays for, for grouping and for the comparison with the
/// original plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// MediaConnect flow hours.
    Flow,
    /// MediaLive running inputs.
    MedialiveInput,
    /// MediaLive running outputs.
    MedialiveOutput,
    /// MediaLive idle channels and inputs.
    Idle,
    /// Every per-GB charge.
    DataTransfer,
    /// The guards' KMS key: per month, whatever the hours.
    GuardKey,
}

impl Category {
    fn label(self) -> &'static str {
        match self {
            Self::Flow => "MediaConnect flow hours",
            Self::MedialiveInput => "MediaLive input charges",
            Self::MedialiveOutput => "MediaLive output charges",
            Self::Idle => "MediaLive idle charges (stopped channels, inputs)",
            Self::DataTransfer => "data transfer and MediaPackage (per GB)",
            Self::GuardKey => "the guards' KMS key (per month)",
        }
    }
}

/// One billed line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub category: Category,
    /// What is billed.
    pub what: String,
    /// The destinations it bills for (empty: the shared flow).
    pub destinations: Vec<String>,
    pub quantity: f64,
    /// `flow-hour`, `input-hour`, `output-hour`, `channel-hour`, `GB`, ...
    pub unit: String,
    /// Dollars per unit.
    pub rate_usd: f64,
    /// Dollars per month, to the cent.
    pub monthly_usd: f64,
    pub source: String,
    pub date: String,
    /// False when the rate (or a factor in it) is unverified.
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    cents: i64,
}

impl Item {
    fn new(
        category: Category,
        what: impl Into<String>,
        destinations: Vec<String>,
        quantity: f64,
        unit: &str,
        rate: &Rate,
    ) -> Result<Self, CostError> {
        let what = what.into();
        let cents = to_cents(quantity * rate.usd, &what)?;
        Ok(Self {
            category,
            what,
            destinations,
            quantity,
            unit: unit.to_owned(),
            rate_usd: rate.usd,
            monthly_usd: from_cents(cents),
            source: rate.source.clone(),
            date: rate.date.clone(),
            verified: rate.verified,
            note: rate.note.clone(),
            cents,
        })
    }

    /// Monthly cost in cents.
    pub fn cents(&self) -> i64 {
        self.cents
    }
}

/// An itemised monthly estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    pub items: Vec<Item>,
    /// The sum of the items, to the cent.
    pub total_usd: f64,
    /// The part of the total priced with unverified rates.
    pub unverified_usd: f64,
    /// Of the output charges: what the >30 fps output class adds over the
    /// same outputs at <=30 fps.
    pub over_30fps_premium_usd: f64,
    #[serde(skip)]
    total_cents: i64,
}

impl Estimate {
    fn from_items(items: Vec<Item>, premium_cents: i64) -> Result<Self, CostError> {
        let total_cents = sum_cents(items.iter(), "the total")?;
        let unverified = sum_cents(items.iter().filter(|i| !i.verified), "the total")?;
        Ok(Self {
            items,
            total_usd: from_cents(total_cents),
            unverified_usd: from_cents(unverified),
            over_30fps_premium_usd: from_cents(premium_cents),
            total_cents,
        })
    }

    /// The total in cents.
    pub fn total_cents(&self) -> i64 {
        self.total_cents
    }

    /// The sum of one category, in cents.
    pub fn category_cents(&self, category: Category) -> i64 {
        self.items
            .iter()
            .filter(|i| i.category == category)
            .map(|i| i.cents)
            .sum()
    }
}

/// Dollars to whole cents, refusing what is not finite, negative or above
/// [`MAX_USD`] (an `as` cast would saturate, and a sum of saturated items
/// would wrap to a negative total).
fn to_cents(usd: f64, what: &str) -> Result<i64, CostError> {
    let cents = (usd * 100.0).round();
    // MAX_USD * 100 is exact in an f64 (below 2^53).
    #[allow(clippy::cast_precision_loss)]
    let max = (MAX_USD * 100) as f64;
    if cents.is_finite() && (0.0..=max).contains(&cents) {
        // In range: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Ok(cents as i64)
    } else {
        Err(CostError::OutOfRange {
            what: what.to_owned(),
        })
    }
}

/// The checked sum of items' cents, at most [`MAX_USD`].
fn sum_cents<'a>(items: impl Iterator<Item = &'a Item>, what: &str) -> Result<i64, CostError> {
    let mut total: i64 = 0;
    for item in items {
        total = total
            .checked_add(item.cents)
            .filter(|t| *t <= MAX_USD * 100)
            .ok_or_else(|| CostError::OutOfRange {
                what: what.to_owned(),
            })?;
    }
    Ok(total)
}

fn from_cents(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// The single-pipeline rate of a STANDARD-class line.
fn single_pipeline(rate: &Rate, rates: &Rates) -> Rate {
    let f = &rates.file.single_pipeline_factor;
    let note = format!(
        "STANDARD ${} x single-pipeline factor {}{}",
        rate.usd,
        f.value,
        rate.note
            .as_deref()
            .map(|n| format!("; {n}"))
            .unwrap_or_default()
    );
    Rate {
        usd: rate.usd * f.value,
        source: rate.source.clone(),
        date: rate.date.clone(),
        verified: rate.verified && f.verified,
        note: Some(note),
    }
}

/// Prices `setup` for a month of `usage`.
pub fn estimate(setup: &Setup, rates: &Rates, usage: Usage) -> Result<Estimate, CostError> {
    check_hours(usage.streaming_hours, rates)?;
    let file = &rates.file;
    let month = file.hours_per_month;
    // `+ 0.0` turns `--hours -0` into 0, so no quantity prints as `-0`.
    let live = usage.streaming_hours + 0.0;
    let idle = (month - live).max(0.0);
    let ids: Vec<String> = setup.channels.iter().map(|c| c.id.clone()).collect();
    let n = setup.channels.len() as f64;
    let mut items = Vec::new();

    // The flow: one, shared. With lunora it runs only while something streams.
    let flow_hours = if usage.stop_when_idle {
        live
    } else {
        month.max(live)
    };
    if !setup.channels.is_empty() {
        items.push(Item::new(
            Category::Flow,
            "MediaConnect flow (active hours)",
            Vec::new(),
            flow_hours,
            "flow-hour",
            &file.mediaconnect.flow_hour,
        )?);
        let gb = setup.feed.mbps * file.gb_per_mbps_hour * flow_hours * n;
        items.push(Item::new(
            Category::DataTransfer,
            format!(
                "MediaConnect -> MediaLive transfer ({} Mbit/s feed x {} flow output(s))",
                setup.feed.mbps,
                setup.channels.len()
            ),
            ids.clone(),
            gb,
            "GB",
            &file.mediaconnect.transfer_to_medialive_gb,
        )?);
    }

    // MediaLive inputs: one per channel, priced by the feed's class.
    if !setup.channels.is_empty() {
        let class = setup.input_class();
        let standard = rates.input(class).ok_or_else(|| CostError::MissingRate {
            origin: rates.origin.clone(),
            what: format!("input {class}"),
            section: "medialive.inputs",
        })?;
        items.push(Item::new(
            Category::MedialiveInput,
            format!("MediaLive input {class}, single-pipeline"),
            ids.clone(),
            n * live,
            "input-hour",
            &single_pipeline(&standard, rates),
        )?);
    }

    // MediaLive outputs: one per encode, grouped by price class.
    let mut by_class: BTreeMap<OutputClass, Vec<String>> = BTreeMap::new();
    for c in &setup.channels {
        for o in &c.outputs {
            by_class
                .entry(o.class())
                .or_default()
                .push(format!("{}/{}", c.id, o.name));
        }
    }
    let mut premium_cents = 0;
    for (class, outputs) in &by_class {
        let standard = rates.output(*class).ok_or_else(|| CostError::MissingRate {
            origin: rates.origin.clone(),
            what: format!("output {class}"),
            section: "medialive.outputs",
        })?;
        let rate = single_pipeline(&standard, rates);
        let quantity = outputs.len() as f64 * live;
        let item = Item::new(
            Category::MedialiveOutput,
            format!("MediaLive output {class}, single-pipeline"),
            outputs.clone(),
            quantity,
            "output-hour",
            &rate,
        )?;
        if class.framerate == FramerateBand::Over30 {
            let slower = OutputClass {
                framerate: FramerateBand::UpTo30,
                ..*class
            };
            if let Some(s) = rates.output(slower) {
                let s = single_pipeline(&s, rates);
                premium_cents += item.cents - to_cents(quantity * s.usd, &item.what)?;
            }
        }
        items.push(item);
    }

    // Idle: every channel is stopped between events, with or without lunora.
    if !setup.channels.is_empty() {
        items.push(Item::new(
            Category::Idle,
            "MediaLive stopped channels",
            ids.clone(),
            n * idle,
            "channel-hour",
            &file.medialive.idle_channel_hour,
        )?);
        let (what, rate) = match setup.input_mode {
            InputMode::RtpFec => (
                "MediaLive idle RTP_PUSH inputs",
                &file.medialive.idle_push_input_hour,
            ),
            InputMode::Mediaconnect => (
                "MediaLive idle MEDIACONNECT inputs",
                &file.medialive.idle_mediaconnect_input_hour,
            ),
        };
        items.push(Item::new(
            Category::Idle,
            what,
            ids.clone(),
            n * idle,
            "input-hour",
            rate,
        )?);
    }

    // What the channels send: RTMP to the internet, HLS into MediaPackage.
    let mut rtmp = (Vec::new(), 0.0);
    let mut mediapackage = (Vec::new(), 0.0);
    for c in &setup.channels {
        let mbps: f64 = c.outputs.iter().map(Output::mbps).sum();
        let target = match c.kind {
            DestinationKind::Rtmp => &mut rtmp,
            DestinationKind::Mediapackage => &mut mediapackage,
        };
        target.0.push(c.id.clone());
        target.1 += mbps * file.gb_per_mbps_hour * live;
    }
    if !rtmp.0.is_empty() {
        items.push(Item::new(
            Category::DataTransfer,
            "MediaLive RTMP(S) to the internet",
            rtmp.0,
            rtmp.1,
            "GB",
            &file.medialive.internet_transfer_gb,
        )?);
    }
    if !mediapackage.0.is_empty() {
        items.push(Item::new(
            Category::DataTransfer,
            "MediaPackage ingest (every rendition)",
            mediapackage.0.clone(),
            mediapackage.1,
            "GB",
            &file.mediapackage.ingest_gb,
        )?);
        items.push(Item::new(
            Category::DataTransfer,
            "MediaPackage origination to the CDN",
            mediapackage.0,
            mediapackage.1,
            "GB",
            &file.mediapackage.origination_gb,
        )?);
    }
    // The guards' key (GuardKey in the base stack) exists all month, at
    // $1 a month prorated hourly (https://aws.amazon.com/kms/pricing/).
    if setup.guard_key {
        items.push(Item::new(
            Category::GuardKey,
            "AWS KMS key of the guard state machines (GuardKey)",
            Vec::new(),
            1.0,
            "key-month",
            &file.kms.key_month,
        )?);
    }
    Estimate::from_items(items, premium_cents)
}

/// The assumptions behind the original plan's $355.80/month
/// (the estimate in the original request lunora was built for).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginalPlan {
    pub streaming_hours: f64,
    pub channels: u32,
    /// The flow runs 24/7, counted as 720 h.
    pub flow_hours: f64,
    pub flow_hour_usd: f64,
    /// Data transfer, a flat guess.
    pub transfer_flat_usd: f64,
    /// One single-pipeline HD AVC <=10 Mbps <=30 fps output per channel
    /// (0.6 x $0.702), and nothing else.
    pub channel_hour_usd: f64,
}

impl Default for OriginalPlan {
    fn default() -> Self {
        Self {
            streaming_hours: 100.0,
            channels: 5,
            flow_hours: 720.0,
            flow_hour_usd: 0.16,
            transfer_flat_usd: 30.0,
            channel_hour_usd: 0.4212,
        }
    }
}

const SEED: &str = "the original request's estimate";

impl OriginalPlan {
    /// The original estimate, itemised the way it was written.
    pub fn estimate(&self) -> Result<Estimate, CostError> {
        let rate = |usd: f64, note: &str| Rate {
            usd,
            source: SEED.to_owned(),
            date: "2026-11-24".to_owned(),
            verified: false,
            note: Some(note.to_owned()),
        };
        let items = vec![
            Item::new(
                Category::Flow,
                "MediaConnect flow, 24/7",
                Vec::new(),
                self.flow_hours,
                "flow-hour",
                &rate(self.flow_hour_usd, "$115.20 for 720 h"),
            )?,
            Item::new(
                Category::DataTransfer,
                "data transfer (estimated)",
                Vec::new(),
                1.0,
                "month (flat)",
                &rate(self.transfer_flat_usd, "no stated basis"),
            )?,
            Item::new(
                Category::MedialiveOutput,
                format!(
                    "{} MediaLive channels, single pipeline, {} h each",
                    self.channels, self.streaming_hours
                ),
                Vec::new(),
                f64::from(self.channels) * self.streaming_hours,
                "channel-hour",
                &rate(
                    self.channel_hour_usd,
                    "= 0.6 x $0.702: one HD AVC output, no input charge",
                ),
            )?,
        ];
        Estimate::from_items(items, 0)
    }
}

/// One line of the comparison with the original plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparisonRow {
    pub what: String,
    pub original_usd: f64,
    pub estimate_usd: f64,
    /// True when the original plan has no such charge at all.
    pub left_out: bool,
}

/// Everything `lunora cost` shows: the estimate with lunora's stop
/// behaviour, the same without it, the saving, and the original figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub streaming_hours: f64,
    pub idle_hours: f64,
    pub month_hours: f64,
    /// (a) flow and flow outputs stopped between events.
    pub with_stop: Estimate,
    /// (b) flow 24/7, outputs always enabled.
    pub without_stop: Estimate,
    /// (b) - (a): what lunora's stop behaviour saves per month.
    pub stop_saves_usd: f64,
    /// (c) the original plan's figure, from its own assumptions.
    pub original: Estimate,
    /// The original beside (a), by kind of charge.
    pub comparison: Vec<ComparisonRow>,
}

/// Prices `setup` for `streaming_hours` a month, with and without lunora's
/// stop behaviour, beside the original plan.
pub fn summarize(setup: &Setup, rates: &Rates, streaming_hours: f64) -> Result<Summary, CostError> {
    let streaming_hours = streaming_hours + 0.0;
    let with_stop = estimate(
        setup,
        rates,
        Usage {
            streaming_hours,
            stop_when_idle: true,
        },
    )?;
    let without_stop = estimate(
        setup,
        rates,
        Usage {
            streaming_hours,
            stop_when_idle: false,
        },
    )?;
    let original = OriginalPlan::default().estimate()?;
    let mut comparison: Vec<ComparisonRow> = [
        Category::Flow,
        Category::MedialiveOutput,
        Category::MedialiveInput,
        Category::Idle,
        Category::DataTransfer,
    ]
    .into_iter()
    .map(|c| {
        let original_cents = original.category_cents(c);
        ComparisonRow {
            what: c.label().to_owned(),
            original_usd: from_cents(original_cents),
            estimate_usd: from_cents(with_stop.category_cents(c)),
            left_out: original_cents == 0,
        }
    })
    .collect();
    if with_stop.category_cents(Category::GuardKey) > 0 {
        comparison.push(ComparisonRow {
            what: Category::GuardKey.label().to_owned(),
            original_usd: 0.0,
            estimate_usd: from_cents(with_stop.category_cents(Category::GuardKey)),
            left_out: true,
        });
    }
    if with_stop.over_30fps_premium_usd > 0.0 {
        comparison.push(ComparisonRow {
            what: "  of the outputs: the >30 fps class (e.g. 1080p60)".to_owned(),
            original_usd: 0.0,
            estimate_usd: with_stop.over_30fps_premium_usd,
            left_out: true,
        });
    }
    Ok(Summary {
        streaming_hours,
        idle_hours: (rates.file.hours_per_month - streaming_hours).max(0.0),
        month_hours: rates.file.hours_per_month,
        // Both totals are at most MAX_USD in cents: no overflow.
        stop_saves_usd: from_cents(without_stop.total_cents - with_stop.total_cents),
        with_stop,
        without_stop,
        original,
        comparison,
    })
}

/// The cost guards of a deployment, as the cost model needs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardLimits {
    /// `auto_stop.input_lost_minutes`.
    pub input_lost_minutes: Option<f64>,
    /// `max_session_hours`.
    pub max_session_hours: Option<f64>,
    /// The longest schedule window, in hours.
    pub longest_window_hours: Option<f64>,
    /// `budget.monthly_usd`.
    pub budget_usd: Option<f64>,
}

/// What one destination left running costs, and how long the guards let
/// it run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgottenChannel {
    pub destination: String,
    /// Dollars per hour while it runs: its input, outputs and transfer,
    /// and the flow it keeps running.
    pub usd_per_hour: f64,
    /// The most hours the guards let it run (`None`: no guard bounds it).
    pub at_most_hours: Option<f64>,
    /// What those hours cost.
    pub at_most_usd: Option<f64>,
    /// Left running for the rest of the month (the idle hours), with no
    /// guard.
    pub unguarded_usd: f64,
}

/// The month with the guards bounding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardBounds {
    pub limits: GuardLimits,
    /// How the bound is made, in words ("15 min + 6 h").
    pub bound: String,
    /// Every destination, most expensive first.
    pub forgotten: Vec<ForgottenChannel>,
    /// The most expensive destination forgotten once, bounded: (a) plus
    /// its `at_most_usd`.
    pub worst_month_usd: Option<f64>,
    /// The same destination forgotten for the rest of the month, without
    /// guards: (a) plus its `unguarded_usd`.
    pub unguarded_month_usd: f64,
    /// `budget_usd` minus the bounded worst month (negative: over budget).
    pub budget_headroom_usd: Option<f64>,
}

/// The most hours the guards let a forgotten destination run, and the
/// words for it. The session limit stops any destination `lunora start`
/// started; auto-stop stops one whose input is gone. Their sum is a bound
/// whichever fires: a channel started outside `lunora start` (no session)
/// with its encoder still sending is bounded by neither, which the notes
/// say. Without a session limit, a schedule window bounds the channels it
/// starts.
fn bound_hours(l: &GuardLimits) -> Option<(f64, String)> {
    let minutes = l.input_lost_minutes;
    let fmt_h = |h: f64| {
        let text = format!("{h:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    match (minutes, l.max_session_hours, l.longest_window_hours) {
        (Some(m), Some(h), _) => Some((m / 60.0 + h, format!("{} min + {} h", fmt_h(m), fmt_h(h)))),
        (None, Some(h), _) => Some((h, format!("{} h (session limit)", fmt_h(h)))),
        (Some(m), None, Some(w)) => Some((
            m / 60.0 + w,
            format!("{} min + {} h (longest window)", fmt_h(m), fmt_h(w)),
        )),
        (None, None, Some(w)) => Some((w, format!("{} h (longest window)", fmt_h(w)))),
        (Some(m), None, None) => Some((
            m / 60.0,
            format!("{} min after its input is lost", fmt_h(m)),
        )),
        (None, None, None) => None,
    }
}

/// One streaming hour of one destination's channel alone (its input,
/// outputs and transfer, the flow, the idle charges of the rest of a
/// zero-length month, and the guard key when set): what the guards' worst
/// case and `cost --actual` price a running hour from. No channel `id`:
/// an empty estimate.
pub fn one_hour_of(setup: &Setup, rates: &Rates, id: &str) -> Result<Estimate, CostError> {
    let one = Setup {
        channels: setup
            .channels
            .iter()
            .filter(|c| c.id == id)
            .cloned()
            .collect(),
        ..setup.clone()
    };
    estimate(
        &one,
        rates,
        Usage {
            streaming_hours: 1.0,
            stop_when_idle: true,
        },
    )
}

/// Prices one forgotten destination per guard limits, beside the estimate
/// with lunora's stop behaviour (`with_stop`).
pub fn guard_bounds(
    setup: &Setup,
    rates: &Rates,
    limits: GuardLimits,
    with_stop: &Estimate,
    idle_hours: f64,
) -> Result<GuardBounds, CostError> {
    let bound = bound_hours(&limits);
    let mut forgotten = Vec::new();
    for c in &setup.channels {
        let hour = one_hour_of(setup, rates, &c.id)?;
        let cents = hour.total_cents
            - hour.category_cents(Category::Idle)
            - hour.category_cents(Category::GuardKey);
        let usd_per_hour = from_cents(cents);
        let what = format!("{} left running", c.id);
        let at_most_usd = match &bound {
            Some((hours, _)) => Some(from_cents(to_cents(usd_per_hour * hours, &what)?)),
            None => None,
        };
        forgotten.push(ForgottenChannel {
            destination: c.id.clone(),
            usd_per_hour,
            at_most_hours: bound.as_ref().map(|(h, _)| *h),
            at_most_usd,
            unguarded_usd: from_cents(to_cents(usd_per_hour * idle_hours, &what)?),
        });
    }
    forgotten.sort_by(|a, b| b.usd_per_hour.total_cmp(&a.usd_per_hour));
    let base = with_stop.total_cents;
    let worst = forgotten.first();
    let worst_month_cents = match worst.and_then(|w| w.at_most_usd) {
        Some(usd) => Some(base + to_cents(usd, "the worst month")?),
        None => None,
    };
    let unguarded = base + to_cents(worst.map_or(0.0, |w| w.unguarded_usd), "the month")?;
    let budget_headroom_usd = match (limits.budget_usd, worst_month_cents) {
        (Some(budget), Some(w)) => Some(from_cents(to_cents(budget, "the budget")? - w)),
        (Some(budget), None) => Some(from_cents(to_cents(budget, "the budget")? - base)),
        _ => None,
    };
    Ok(GuardBounds {
        limits,
        bound: bound.map_or_else(|| "no guard bounds a forgotten channel".to_owned(), |b| b.1),
        forgotten,
        worst_month_usd: worst_month_cents.map(from_cents),
        unguarded_month_usd: from_cents(unguarded),
        budget_headroom_usd,
    })
}

#[cfg(test)]
mod tests;
