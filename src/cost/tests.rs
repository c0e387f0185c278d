#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::*;
use crate::presets::Library;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lunora.yaml")
}

fn example() -> Deployment {
    crate::config::load(&example_path()).unwrap()
}

fn rates() -> Rates {
    Rates::built_in().unwrap()
}

fn with_stop(setup: &Setup, hours: f64) -> Estimate {
    estimate(
        setup,
        &rates(),
        Usage {
            streaming_hours: hours,
            stop_when_idle: true,
        },
    )
    .unwrap()
}

fn item<'a>(e: &'a Estimate, what: &str) -> &'a Item {
    e.items
        .iter()
        .find(|i| i.what.starts_with(what))
        .unwrap_or_else(|| panic!("no item `{what}` in {:#?}", e.items))
}

/// A config with `n` identical RTMP destinations (no MediaPackage).
fn many(n: usize) -> Deployment {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let head = &text[..text.find("destinations:").unwrap()];
    let mut out = head.to_owned();
    out.push_str("destinations:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  - id: d{i}\n    kind: rtmp\n    platform: custom\n    preset: generic-720p30\n    ingest_url: rtmp://stream.example.com/live\n    stream_key: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/k{i}-Ab12Cd\n"
        ));
    }
    crate::config::from_text(Path::new("many.yaml"), &out, &Library::built_in().unwrap())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn reproduces_the_original_figure_to_the_cent() {
    let original = OriginalPlan::default().estimate().unwrap();
    let cents: Vec<i64> = original.items.iter().map(Item::cents).collect();
    assert_eq!(cents, vec![11_520, 3_000, 21_060]);
    assert_eq!(original.total_cents(), 35_580);
    assert_eq!(format!("{:.2}", original.total_usd), "355.80");
}

#[test]
fn built_in_rates_agree_with_the_original_output_rate() {
    let r = rates();
    let hd = r
        .output(OutputClass {
            codec: Codec::Avc,
            resolution: Resolution::Hd,
            bitrate: BitrateBand::Under10,
            framerate: FramerateBand::UpTo30,
        })
        .unwrap();
    assert_eq!(hd.usd, 0.702);
    assert!(hd.verified);
    let sp = hd.usd * r.file.single_pipeline_factor.value;
    assert!((sp - OriginalPlan::default().channel_hour_usd).abs() < 1e-9);
    assert!((r.file.mediaconnect.flow_hour.usd * 720.0 - 115.20).abs() < 1e-9);
    assert!(!r.file.mediaconnect.flow_hour.verified);
    // The $0.1404 single-pipeline HD AVC input line, UNVERIFIED.
    let input = r
        .input(InputClass {
            codec: Codec::Avc,
            resolution: Resolution::Hd,
            bitrate: BitrateBand::Under10,
        })
        .unwrap();
    assert!((input.usd * 0.6 - 0.1404).abs() < 1e-9);
    assert!(!input.verified);
}

#[test]
fn built_in_rates_price_every_class_lunora_can_produce() {
    let r = rates();
    for codec in [Codec::Avc, Codec::Hevc, Codec::Mpeg2] {
        for resolution in [Resolution::Sd, Resolution::Hd, Resolution::Uhd] {
            for bitrate in [
                BitrateBand::Under10,
                BitrateBand::From10To20,
                BitrateBand::Over20,
            ] {
                let class = InputClass {
                    codec,
                    resolution,
                    bitrate,
                };
                assert!(r.input(class).is_some(), "{class}");
                for framerate in [FramerateBand::UpTo30, FramerateBand::Over30] {
                    let class = OutputClass {
                        codec: Codec::Avc,
                        resolution,
                        bitrate,
                        framerate,
                    };
                    assert!(r.output(class).is_some(), "{class}");
                }
            }
        }
    }
}

#[test]
fn example_at_100_hours() {
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    assert_eq!(setup.channels.len(), 5);
    // 12 Mbit/s 1080p H.264 feed.
    assert_eq!(
        setup.input_class(),
        InputClass {
            codec: Codec::Avc,
            resolution: Resolution::Hd,
            bitrate: BitrateBand::From10To20
        }
    );
    let e = with_stop(&setup, 100.0);

    let flow = item(&e, "MediaConnect flow");
    assert_eq!((flow.quantity, flow.cents()), (100.0, 1_600));
    assert!(!flow.verified);
    // 12 Mbit/s x 0.45 GB x 100 h x 5 outputs.
    let transfer = item(&e, "MediaConnect -> MediaLive");
    assert!((transfer.quantity - 2_700.0).abs() < 1e-6);
    assert_eq!(transfer.cents(), 5_400);
    // 5 inputs x 100 h x 0.294 x 0.6.
    let input = item(&e, "MediaLive input AVC HD 10-20 Mbps");
    assert_eq!((input.quantity, input.cents()), (500.0, 8_820));
    // HD <=30 fps: primary 1080p30 + 720p30, youtube, linkedin, custom = 5.
    let hd = item(&e, "MediaLive output AVC HD <=10 Mbps <=30 fps");
    assert_eq!((hd.quantity, hd.cents()), (500.0, 21_060));
    // SD: primary 540p30 + 360p30, at 0.354 x 0.6.
    let sd = item(&e, "MediaLive output AVC SD <=10 Mbps <=30 fps");
    assert_eq!((sd.quantity, sd.cents()), (200.0, 4_248));
    // twitch 1080p60: 0.702 x 1.5 x 0.6.
    let hd60 = item(&e, "MediaLive output AVC HD <=10 Mbps >30 fps");
    assert_eq!((hd60.quantity, hd60.cents()), (100.0, 6_318));
    assert_eq!(hd60.destinations, vec!["twitch/1080p60".to_owned()]);
    assert_eq!(e.over_30fps_premium_usd, 21.06);
    // 5 channels x 630 idle hours, and their RTP_PUSH inputs.
    let idle = item(&e, "MediaLive stopped channels");
    assert_eq!((idle.quantity, idle.cents()), (3_150.0, 3_150));
    let idle_in = item(&e, "MediaLive idle RTP_PUSH inputs");
    assert_eq!(idle_in.cents(), 3_150);
    // RTMP: youtube 6.128 + twitch 6.128 + linkedin 3.628 + custom 3.128
    // Mbit/s x 0.45 x 100 h = 855.54 GB at 0.09.
    let rtmp = item(&e, "MediaLive RTMP(S)");
    assert!((rtmp.quantity - 855.54).abs() < 1e-6);
    assert_eq!(rtmp.cents(), 7_700);
    // HLS ladder 5+3+1.8+0.8 + 4 x 0.128 = 11.112 Mbit/s x 45 = 500.04 GB.
    let ingest = item(&e, "MediaPackage ingest");
    assert!((ingest.quantity - 500.04).abs() < 1e-6);
    assert_eq!(ingest.cents(), 1_500);
    assert_eq!(item(&e, "MediaPackage origination").cents(), 2_500);

    let sum: i64 = e.items.iter().map(Item::cents).sum();
    assert_eq!(e.total_cents(), sum);
    assert_eq!(e.total_cents(), 65_446);
    // Only the SD/HD <=30 fps output lines rest on verified numbers, and
    // even they go through the unverified single-pipeline factor.
    assert_eq!(e.unverified_usd, e.total_usd);
    // The original's $355.80 is a floor, not an estimate.
    assert!(e.total_cents() > OriginalPlan::default().estimate().unwrap().total_cents());
}

#[test]
fn fifty_destinations_scale_everything_but_the_flow() {
    let r = rates();
    let usage = Usage {
        streaming_hours: 100.0,
        stop_when_idle: true,
    };
    let five = estimate(&Setup::from_deployment(&many(5), &[]).unwrap(), &r, usage).unwrap();
    let fifty = estimate(&Setup::from_deployment(&many(50), &[]).unwrap(), &r, usage).unwrap();
    assert_eq!(
        item(&five, "MediaConnect flow").cents(),
        item(&fifty, "MediaConnect flow").cents()
    );
    let flow = item(&five, "MediaConnect flow").cents();
    let per_channel_5 = five.total_cents() - flow;
    let per_channel_50 = fifty.total_cents() - flow;
    // Ten times the channels, ten times the rest (to a cent per item).
    let slack = fifty.items.len() as i64;
    assert!(
        (per_channel_50 - 10 * per_channel_5).abs() <= slack,
        "{per_channel_50} vs 10 x {per_channel_5}"
    );
    assert!(fifty.total_cents() > 9 * five.total_cents());
    assert_eq!(
        item(&fifty, "MediaLive stopped channels").quantity,
        50.0 * 630.0
    );
}

#[test]
fn zero_hours_costs_only_idle_charges() {
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    let e = with_stop(&setup, 0.0);
    for i in &e.items {
        if i.category == Category::Idle {
            assert!(i.cents() > 0, "{i:?}");
        } else {
            assert_eq!(i.cents(), 0, "{i:?}");
        }
    }
    assert_eq!(e.total_cents(), e.category_cents(Category::Idle));
    // 5 channels + 5 inputs x 730 h x $0.01.
    assert_eq!(e.total_cents(), 7_300);
}

#[test]
fn stop_behaviour_saves_the_idle_flow_and_transfer() {
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    let s = summarize(&setup, &rates(), 100.0).unwrap();
    assert!(s.stop_saves_usd > 0.0);
    let flow = item(&s.without_stop, "MediaConnect flow");
    assert_eq!(flow.quantity, 730.0);
    let transfer = item(&s.without_stop, "MediaConnect -> MediaLive");
    assert!((transfer.quantity - 12.0 * 0.45 * 730.0 * 5.0).abs() < 1e-6);
    // Flow: 630 h x $0.16; transfer: 630 h x 5.4 GB x 5 x $0.02.
    assert_eq!(
        s.without_stop.total_cents() - s.with_stop.total_cents(),
        10_080 + 34_020
    );
    assert_eq!(s.stop_saves_usd, 441.0);
    assert_eq!(s.idle_hours, 630.0);
    assert_eq!(s.original.total_cents(), 35_580);
    let left_out: Vec<&str> = s
        .comparison
        .iter()
        .filter(|r| r.left_out)
        .map(|r| r.what.as_str())
        .collect();
    assert!(
        left_out.contains(&"MediaLive input charges"),
        "{left_out:?}"
    );
    assert!(left_out.iter().any(|w| w.contains("idle")), "{left_out:?}");
    assert!(
        left_out.iter().any(|w| w.contains(">30 fps")),
        "{left_out:?}"
    );
}

#[test]
fn mediaconnect_inputs_use_their_own_idle_rate() {
    let mut d = example();
    d.config.input_mode = InputMode::Mediaconnect;
    let setup = Setup::from_deployment(&d, &[]).unwrap();
    let e = with_stop(&setup, 100.0);
    let idle = item(&e, "MediaLive idle MEDIACONNECT inputs");
    assert!(!idle.verified);
    assert!(e.items.iter().all(|i| !i.what.contains("RTP_PUSH")));
}

#[test]
fn destinations_narrow_the_channels() {
    let d = example();
    let only = vec!["youtube".to_owned(), "twitch".to_owned()];
    let setup = Setup::from_deployment(&d, &only).unwrap();
    assert_eq!(setup.channels.len(), 2);
    let e = with_stop(&setup, 100.0);
    assert!(e.items.iter().all(|i| !i.what.starts_with("MediaPackage")));
    let err = Setup::from_deployment(&d, &["youtub".to_owned()]).unwrap_err();
    assert!(
        err.to_string().contains("unknown destination `youtub`"),
        "{err}"
    );
    assert!(err.to_string().contains("`youtube`"), "{err}");
}

#[test]
fn hours_out_of_range_are_refused() {
    let r = rates();
    assert_eq!(r.file.hours_per_month, 730.0);
    for bad in [-1.0, 730.5, 744.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(check_hours(bad, &r), Err(CostError::Hours { .. })),
            "{bad}"
        );
    }
    for good in [0.0, 100.0, 730.0] {
        assert!(check_hours(good, &r).is_ok());
    }
    let message = check_hours(731.0, &r).unwrap_err().to_string();
    assert!(
        message.starts_with("--hours must be between 0 and 730 (the hours of a month in the rates file data/pricing.yaml (built in)), not 731"),
        "{message}"
    );
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    assert!(summarize(&setup, &rates(), -5.0).is_err());
}

#[test]
fn a_missing_class_names_the_rates_file() {
    let mut r = rates();
    r.file.medialive.inputs.clear();
    r.origin = "my-rates.yaml".to_owned();
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    let err = summarize(&setup, &r, 100.0).unwrap_err().to_string();
    assert!(err.contains("my-rates.yaml"), "{err}");
    assert!(err.contains("input AVC HD 10-20 Mbps"), "{err}");
}

#[test]
fn bad_rates_files_get_located_one_line_errors() {
    let path = Path::new("rates.yaml");
    let negative = rates::BUILT_IN.replacen("usd: 0.16", "usd: -0.16", 1);
    let d = Rates::parse(path, &negative).unwrap_err();
    assert_eq!(d.field, "mediaconnect.flow_hour.usd");
    assert!(d.line.is_some());
    assert!(!d.to_string().contains('\n'));

    let typo = rates::BUILT_IN.replacen("verified: false", "verifed: false", 1);
    let d = Rates::parse(path, &typo).unwrap_err();
    assert!(d.message.contains("unknown field"), "{d}");
    assert!(d.line.is_some(), "{d}");

    let bad_band = rates::BUILT_IN.replacen("bitrate: 10-20", "bitrate: 10-30", 1);
    let d = Rates::parse(path, &bad_band).unwrap_err();
    assert!(d.field.starts_with("medialive.inputs["), "{d}");

    let twice = rates::BUILT_IN.replacen(
        "codec: avc, resolution: sd, bitrate: 10-20",
        "codec: avc, resolution: sd, bitrate: under-10",
        1,
    );
    let d = Rates::parse(path, &twice).unwrap_err();
    assert!(d.message.contains("priced twice"), "{d}");

    assert!(Rates::parse(path, "").is_err());
}

#[test]
fn absurd_rates_are_refused_when_read() {
    let built_in = BUILT_IN_TEXT.to_owned();
    for (from, to, field, message) in [
        (
            "usd: 0.16",
            "usd: 1e308",
            "mediaconnect.flow_hour.usd",
            "from $0 to $100 per hour, not 1e308",
        ),
        (
            "usd: 0.16",
            "usd: .nan",
            "mediaconnect.flow_hour.usd",
            "not NaN",
        ),
        (
            "usd: 0.16",
            "usd: .inf",
            "mediaconnect.flow_hour.usd",
            "not inf",
        ),
        (
            "usd: 0.16",
            "usd: -0.01",
            "mediaconnect.flow_hour.usd",
            "not -0.01",
        ),
        (
            "usd: 0.16",
            "usd: 100.01",
            "mediaconnect.flow_hour.usd",
            "per hour, not 100.01",
        ),
        (
            "usd: 0.02",
            "usd: 10.5",
            "mediaconnect.transfer_to_medialive_gb.usd",
            "from $0 to $10 per GB",
        ),
        (
            "gb_per_mbps_hour: 0.45",
            "gb_per_mbps_hour: 1e300",
            "gb_per_mbps_hour",
            "at most 1, not 1e300",
        ),
        (
            "  value: 0.6",
            "  value: 1e300",
            "single_pipeline_factor.value",
            "at most 1",
        ),
    ] {
        let text = built_in.replacen(from, to, 1);
        assert_ne!(text, built_in, "{from}");
        let err = Rates::parse(Path::new("rates.yaml"), &text).unwrap_err();
        assert_eq!(err.field, field, "{to}: {err}");
        assert!(err.message.contains(message), "{to}: {err}");
        assert!(err.line.is_some(), "{to}: {err}");
    }
    // The bounds themselves are accepted.
    let text = built_in.replacen("usd: 0.16", "usd: 100", 1);
    assert!(Rates::parse(Path::new("rates.yaml"), &text).is_ok());
}

const BUILT_IN_TEXT: &str = rates::BUILT_IN;

#[test]
fn no_total_is_ever_wrong_or_negative_even_with_unchecked_rates() {
    // Rates that bypass the file checks (a library caller): the estimate
    // refuses rather than saturate, wrap or print infinity.
    for usd in [1e308, f64::INFINITY, f64::NAN, 1e13, -1.0] {
        let mut r = rates();
        r.file.mediaconnect.flow_hour.usd = usd;
        let err = estimate(
            &Setup::from_deployment(&example(), &[]).unwrap(),
            &r,
            Usage {
                streaming_hours: 730.0,
                stop_when_idle: false,
            },
        )
        .unwrap_err();
        assert!(
            matches!(&err, CostError::OutOfRange { what } if what.starts_with("MediaConnect flow")),
            "{usd}: {err}"
        );
        assert!(err
            .to_string()
            .contains("a rate or a quantity is out of range"));
    }
    // Items each under the cap whose sum is over it.
    let mut r = rates();
    r.file.mediaconnect.flow_hour.usd = 9e9 / 744.0;
    r.file.medialive.idle_channel_hour.usd = 9e9 / 50.0 / 744.0;
    let setup = Setup::from_deployment(&many(50), &[]).unwrap();
    let err = estimate(
        &setup,
        &r,
        Usage {
            streaming_hours: 0.0,
            stop_when_idle: false,
        },
    )
    .unwrap_err();
    assert_eq!(
        err,
        CostError::OutOfRange {
            what: "the total".to_owned()
        }
    );
    // The largest bounded month is far below the cap and positive.
    let mut r = rates();
    r.file.mediaconnect.flow_hour.usd = rates::MAX_USD_PER_HOUR;
    for rate in &mut r.file.medialive.outputs {
        rate.usd = rates::MAX_USD_PER_HOUR;
    }
    for rate in &mut r.file.medialive.inputs {
        rate.usd = rates::MAX_USD_PER_HOUR;
    }
    r.file.single_pipeline_factor.value = 1.0;
    r.file.gb_per_mbps_hour = rates::MAX_GB_PER_MBPS_HOUR;
    r.file.mediaconnect.transfer_to_medialive_gb.usd = rates::MAX_USD_PER_GB;
    r.file.medialive.internet_transfer_gb.usd = rates::MAX_USD_PER_GB;
    r.file.hours_per_month = MAX_HOURS;
    let e = with_rates(&setup, &r, MAX_HOURS);
    assert!(e.total_cents() > 0 && e.total_cents() < MAX_USD * 100);
}

fn with_rates(setup: &Setup, r: &Rates, hours: f64) -> Estimate {
    estimate(
        setup,
        r,
        Usage {
            streaming_hours: hours,
            stop_when_idle: false,
        },
    )
    .unwrap()
}

#[test]
fn hours_extremes() {
    let setup = Setup::from_deployment(&example(), &[]).unwrap();
    for hours in [
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
        f64::MAX,
        -0.5,
        730.01,
        744.0,
    ] {
        assert!(
            matches!(
                summarize(&setup, &rates(), hours),
                Err(CostError::Hours { .. })
            ),
            "{hours}"
        );
    }
    // -0 is 0, never printed as `-0`.
    let s = summarize(&setup, &rates(), -0.0).unwrap();
    assert!(s.streaming_hours.is_sign_positive());
    assert!(s
        .with_stop
        .items
        .iter()
        .all(|i| i.quantity.is_sign_positive()));
    assert!(summarize(&setup, &rates(), 730.0).is_ok());
}

/// A forgotten destination costs its running hour (input, outputs,
/// transfer and the flow it keeps up) times the hours the guards allow;
/// without guards, times the month's idle hours.
#[test]
fn guards_bound_a_forgotten_destination() {
    let d = example();
    let setup = Setup::from_deployment(&d, &["youtube".to_owned()]).unwrap();
    let r = rates();
    let a = with_stop(&setup, 100.0);
    let hour = with_stop(&setup, 1.0);
    let per_hour = hour.total_cents() - hour.category_cents(Category::Idle);
    let limits = GuardLimits {
        input_lost_minutes: Some(15.0),
        max_session_hours: Some(6.0),
        longest_window_hours: Some(3.0),
        budget_usd: Some(400.0),
    };
    let idle = r.file.hours_per_month - 100.0;
    let g = guard_bounds(&setup, &r, limits, &a, idle).unwrap();
    assert_eq!(g.bound, "15 min + 6 h");
    let f = &g.forgotten[0];
    assert_eq!(f.destination, "youtube");
    assert_eq!(to_cents(f.usd_per_hour, "").unwrap(), per_hour);
    assert_eq!(f.at_most_hours, Some(6.25));
    let expect = (per_hour as f64 * 6.25).round() as i64;
    assert_eq!(to_cents(f.at_most_usd.unwrap(), "").unwrap(), expect);
    assert_eq!(
        to_cents(g.worst_month_usd.unwrap(), "").unwrap(),
        a.total_cents() + expect
    );
    let unguarded = (per_hour as f64 * idle).round() as i64;
    assert_eq!(
        to_cents(g.unguarded_month_usd, "").unwrap(),
        a.total_cents() + unguarded
    );
    assert!(g.unguarded_month_usd > g.worst_month_usd.unwrap());
    let headroom = 40_000 - (a.total_cents() + expect);
    assert_eq!(
        (g.budget_headroom_usd.unwrap() * 100.0).round() as i64,
        headroom
    );

    // Auto-stop alone bounds only a channel whose input is lost.
    let only = GuardLimits {
        input_lost_minutes: Some(30.0),
        ..GuardLimits::default()
    };
    let g = guard_bounds(&setup, &r, only, &a, idle).unwrap();
    assert_eq!(g.bound, "30 min after its input is lost");
    assert_eq!(g.forgotten[0].at_most_hours, Some(0.5));
    // A budget alone bounds nothing.
    let none = GuardLimits {
        budget_usd: Some(400.0),
        ..GuardLimits::default()
    };
    let g = guard_bounds(&setup, &r, none, &a, idle).unwrap();
    assert_eq!(g.worst_month_usd, None);
    assert_eq!(g.forgotten[0].at_most_usd, None);
}

#[test]
fn acting_guards_add_the_guard_key_once_a_month() {
    let r = rates();
    let mut setup = Setup::from_deployment(&example(), &[]).unwrap();
    setup.guard_key = false;
    let without = with_stop(&setup, 100.0);
    setup.guard_key = true;
    let with = with_stop(&setup, 100.0);
    let key = item(&with, "AWS KMS key");
    assert_eq!(key.category, Category::GuardKey);
    assert_eq!((key.quantity, key.unit.as_str()), (1.0, "key-month"));
    assert_eq!(key.monthly_usd, r.file.kms.key_month.usd);
    assert_eq!(key.monthly_usd, 1.0);
    assert!(key.verified && key.source.contains("aws.amazon.com/kms/pricing"));
    assert_eq!(with.total_cents() - without.total_cents(), 100);
    // The same at 0 hours: the key is there all month.
    assert_eq!(
        with_stop(&setup, 0.0).category_cents(Category::GuardKey),
        100
    );
    // A forgotten destination's hourly price leaves the key out.
    let limits = GuardLimits {
        max_session_hours: Some(6.0),
        ..GuardLimits::default()
    };
    let a = guard_bounds(&setup, &r, limits, &with, 630.0).unwrap();
    setup.guard_key = false;
    let b = guard_bounds(&setup, &r, limits, &without, 630.0).unwrap();
    assert_eq!(a.forgotten, b.forgotten);
    assert_eq!(
        to_cents(a.worst_month_usd.unwrap(), "").unwrap() - 100,
        to_cents(b.worst_month_usd.unwrap(), "").unwrap()
    );
}
