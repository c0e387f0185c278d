//! Semantic checks of a parsed config: what serde's types cannot say.
//!
//! Each check pushes a located diagnostic and carries on, so one run shows
//! every problem. Facts behind the limits (ports, quotas, latency ranges)
//! come from AWS documentation, chiefly the MediaConnect quotas
//! (https://docs.aws.amazon.com/mediaconnect/latest/ug/quotas.html) and
//! the MediaLive quotas (https://docs.aws.amazon.com/medialive/latest/ug/limits.html);
//! a check whose fact AWS does not document is marked UNVERIFIED beside it.

pub mod guards;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::model::{Config, Destination, DestinationKind, SecretRef, SrtSource};
use super::{at, Deployment, ResolvedDestination, ResolvedStage, StackId};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::presets::model::PlatformKind;
use crate::presets::{rules, Library};
use crate::yaml::Locator;

/// MediaConnect: outputs per transport-stream flow (hard quota). Every
/// destination takes one, in both input modes.
pub const MAX_FLOW_OUTPUTS: usize = 50;
/// MediaConnect reserves these ports for Zixi.
const RESERVED_PORTS: [u32; 2] = [2077, 2088];
/// Default quotas that a deploy would hit (2022 user guide defaults,
/// current values UNVERIFIED): channels and push inputs per Region.
const DEFAULT_CHANNEL_QUOTA: usize = 5;
/// The default SRT listener port.
pub const DEFAULT_SRT_PORT: u32 = 9998;
/// Default SRT minimum latency in milliseconds.
pub const DEFAULT_MIN_LATENCY_MS: u32 = 2000;
/// Default failover recovery window in milliseconds (console default).
pub const DEFAULT_RECOVERY_WINDOW_MS: u32 = 200;
/// Tag keys lunora writes itself.
pub const RESERVED_TAGS: [&str; 4] = ["project", "environment", "destination", "managed-by"];

/// Hints for type errors in `lunora.yaml`, by field.
pub(super) fn type_hint(path: &str, message: &str) -> Option<String> {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let hint = match leaf {
        "port" => "a port is a number from 1024 to 65535, e.g. 9998",
        "account_id" => "quote the 12-digit account id: `account_id: \"123456789012\"`",
        "stream_key" => {
            "write the secret's ARN, or `{secret_arn: ARN, json_key: KEY}`; never the key itself"
        }
        "input_mode" => "use `rtp-fec` or `mediaconnect`",
        "kind" => "use `mediapackage` for the HLS primary or `rtmp` for a platform",
        "destinations" if message.starts_with("invalid type") => {
            "`destinations` is a list: start each entry with `- id: ...`"
        }
        "stages" => "each stage is `{name: NAME, stacks: [base|flow], destinations: [IDS]}`",
        _ => return None,
    };
    Some(hint.to_owned())
}

struct Checker<'a> {
    path: &'a Path,
    locator: &'a Locator,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// Fields holding a secret-shaped value: already reported, and no
    /// other check may report them (its message could repeat the value).
    secret_fields: BTreeSet<String>,
}

impl Checker<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>, hint: impl Into<String>) {
        if self.secret_fields.contains(field) {
            return;
        }
        let d = at(self.path, self.locator, field, message).hint(hint);
        self.errors.push(d);
    }

    fn warn(&mut self, field: &str, message: impl Into<String>, hint: impl Into<String>) {
        if self.secret_fields.contains(field) {
            return;
        }
        let d = at(self.path, self.locator, field, message).hint(hint);
        self.warnings.push(d);
    }
}

pub(super) fn validate(
    path: &Path,
    config: Config,
    locator: &Locator,
    library: &Library,
    now: jiff::Timestamp,
) -> Result<Deployment, Diagnostics> {
    let mut c = Checker {
        path,
        locator,
        errors: Vec::new(),
        warnings: Vec::new(),
        secret_fields: BTreeSet::new(),
    };
    let mut secret_values = check_secrets(&mut c, &config);
    check_names(&mut c, &config);
    check_encoder(&mut c, &config);
    check_flow(&mut c, &config);
    secret_values.extend(check_preset_secrets(&mut c, &config, library));
    let destinations = check_destinations(&mut c, &config, library);
    let stages = check_stages(&mut c, &config);
    check_alarms_and_tags(&mut c, &config);
    guards::check_guards(&mut c, &config, now);
    // A secret-shaped value may also appear in another field's message or
    // hint (a stage naming a destination id, a "did you mean"): drop those.
    let echoes = |d: &Diagnostic| {
        secret_values.iter().any(|v| {
            d.message.contains(v.as_str())
                || d.hint.as_deref().is_some_and(|h| h.contains(v.as_str()))
        })
    };
    c.errors.retain(|d| !echoes(d));
    c.warnings.retain(|d| !echoes(d));
    if !c.errors.is_empty() {
        return Err(Diagnostics(c.errors));
    }
    Ok(Deployment {
        path: path.to_path_buf(),
        config,
        destinations,
        stages,
        warnings: c.warnings,
    })
}

/// Refuses every secret-shaped string of the config (see
/// [`super::secrets`]), without repeating it, and returns the strings so
/// that no other message repeats them either. The secret reference fields
/// are left to [`check_secret_arn`], which refuses anything but an ARN.
fn check_secrets(c: &mut Checker<'_>, config: &Config) -> Vec<String> {
    let Ok(value) = serde_json::to_value(config) else {
        return Vec::new();
    };
    let reference = |path: &str| {
        path.ends_with("passphrase_secret_arn")
            || path.ends_with("stream_key")
            || path.ends_with("stream_key.secret_arn")
    };
    let mut values = Vec::new();
    for f in super::secrets::scan(&value, &reference) {
        let (message, hint) = if f.key {
            (
                format!("a key here looks like {} (value not shown)", f.shape),
                "keys are written into the templates as they are; never put a secret in the config",
            )
        } else {
            (
                format!("this looks like {} (value not shown); the config holds references to secrets, never secrets", f.shape),
                "a stream key goes in Secrets Manager, referenced with `stream_key: {secret_arn: ARN, json_key: KEY}`; this field is written into templates and plans",
            )
        };
        c.errors
            .push(at(c.path, c.locator, &f.field, message).hint(hint));
        c.secret_fields.insert(f.field);
        values.push(f.value);
    }
    values
}

/// The same for the preset and platform files the destinations use: their
/// ids, names and descriptions are written into templates too. Each file
/// is checked once, and reported in its own file.
fn check_preset_secrets(c: &mut Checker<'_>, config: &Config, library: &Library) -> Vec<String> {
    let mut values = Vec::new();
    let mut seen = BTreeSet::new();
    let mut report = |c: &mut Checker<'_>,
                      found: Vec<super::secrets::Finding>,
                      entry: &dyn Fn(&str, String) -> Diagnostic| {
        for f in found {
            c.errors.push(
                entry(&f.field, format!("this looks like {} (value not shown)", f.shape))
                    .hint("preset and platform files are written into templates; never put a secret in them"),
            );
            values.push(f.value);
        }
    };
    let none = |_: &str| false;
    for d in &config.destinations {
        if let Some(entry) = library.presets.get(&d.preset) {
            if seen.insert(entry.origin.path().to_path_buf()) {
                let found = serde_json::to_value(&entry.value)
                    .map(|v| super::secrets::scan(&v, &none))
                    .unwrap_or_default();
                report(c, found, &|field, message| entry.diagnostic(field, message));
            }
        }
        let platform = d.platform.as_deref().unwrap_or("mediapackage");
        if let Some(entry) = library.platforms.get(platform) {
            if seen.insert(entry.origin.path().to_path_buf()) {
                let found = serde_json::to_value(&entry.value)
                    .map(|v| super::secrets::scan(&v, &none))
                    .unwrap_or_default();
                report(c, found, &|field, message| entry.diagnostic(field, message));
            }
        }
    }
    values
}

pub(crate) fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_names(c: &mut Checker<'_>, config: &Config) {
    if !is_slug(&config.project, 24) {
        c.error(
            "project",
            format!("`{}` is not a valid project name", config.project),
            "use 1-24 lowercase letters, digits and single `-`, starting with a letter",
        );
    }
    if !is_slug(&config.environment, 12) {
        c.error(
            "environment",
            format!("`{}` is not a valid environment name", config.environment),
            "use 1-12 lowercase letters, digits and single `-`, e.g. `prod`",
        );
    }
    if config.account_id.len() != 12 || !config.account_id.chars().all(|ch| ch.is_ascii_digit()) {
        c.error(
            "account_id",
            format!("`{}` is not a 12-digit AWS account id", config.account_id),
            "copy it from `aws sts get-caller-identity`, quoted",
        );
    }
    if !is_region(&config.region) {
        c.error(
            "region",
            format!("`{}` is not an AWS Region name", config.region),
            "use a Region code such as `us-east-1` or `eu-west-1`",
        );
    }
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn check_encoder(c: &mut Checker<'_>, config: &Config) {
    let e = &config.encoder;
    if !(e.bitrate_mbps > 0.0 && e.bitrate_mbps <= 50.0) {
        c.error(
            "encoder.bitrate_mbps",
            format!(
                "{} Mbit/s is outside what a MediaLive input takes (up to 50)",
                e.bitrate_mbps
            ),
            "set the encoder's peak bitrate in Mbit/s, e.g. 12",
        );
    }
    if !(144..=2160).contains(&e.height) {
        c.error(
            "encoder.height",
            format!("{} is not a video frame height", e.height),
            "use the encoder's output height, e.g. 1080",
        );
    }
}

fn check_flow(c: &mut Checker<'_>, config: &Config) {
    let flow = &config.flow;
    let az = &flow.availability_zone;
    let in_region = az
        .strip_prefix(config.region.as_str())
        .is_some_and(|rest| rest.len() == 1 && rest.chars().all(|ch| ch.is_ascii_lowercase()));
    if !in_region {
        c.error(
            "flow.availability_zone",
            format!("`{az}` is not an Availability Zone of {}", config.region),
            format!(
                "use e.g. `{}a`; changing it later replaces the flow",
                config.region
            ),
        );
    }
    check_source(c, config, "flow.source", &flow.source);
    let source_name = flow.source.name.as_deref().unwrap_or("primary");
    let source_port = flow.source.port.unwrap_or(DEFAULT_SRT_PORT);
    if let Some(backup) = &flow.backup {
        check_source(c, config, "flow.backup", backup);
        let backup_name = backup.name.as_deref().unwrap_or("backup");
        if backup_name == source_name {
            c.error(
                "flow.backup.name",
                format!("the backup source is also named `{backup_name}`"),
                "give the two sources different names",
            );
        }
        match backup.port {
            None => c.error(
                "flow.backup",
                "the backup source needs its own port",
                format!("add `port:`, e.g. {}", source_port + 1),
            ),
            Some(p) if p == source_port => c.error(
                "flow.backup.port",
                format!("port {p} is already the primary source's port"),
                "each source of a flow listens on its own port",
            ),
            Some(_) => {}
        }
        if let Some(f) = &flow.failover {
            if f.mode == super::model::FailoverMode::Merge {
                c.warn(
                    "flow.failover.mode",
                    "MERGE (SMPTE 2022-7) for SRT sources is UNVERIFIED; MediaConnect may refuse it",
                    "use `failover` unless you have confirmed MERGE works for SRT",
                );
            }
            if let Some(w) = f.recovery_window_ms {
                if !(100..=15_000).contains(&w) {
                    c.error(
                        "flow.failover.recovery_window_ms",
                        format!("{w} ms is outside MediaConnect's 100-15000 ms"),
                        "use 200 (the console default)",
                    );
                }
            }
            if let Some(p) = &f.primary_source {
                if p != source_name && p != backup_name {
                    c.error(
                        "flow.failover.primary_source",
                        format!("no source is named `{p}`"),
                        format!("use `{source_name}` or `{backup_name}`"),
                    );
                }
            }
        }
    } else if flow.failover.is_some() {
        c.error(
            "flow.failover",
            "failover needs a backup source",
            "add `flow.backup`, or remove `flow.failover`",
        );
    }
}

fn check_source(c: &mut Checker<'_>, config: &Config, field: &str, s: &SrtSource) {
    if let Some(name) = &s.name {
        if !is_slug(name, 32) {
            c.error(
                &format!("{field}.name"),
                format!("`{name}` is not a valid source name"),
                "use lowercase letters, digits and `-`",
            );
        }
    }
    if let Some(port) = s.port {
        if RESERVED_PORTS.contains(&port) {
            c.error(
                &format!("{field}.port"),
                format!("port {port} is reserved by MediaConnect"),
                "use any other port from 1024 to 65535, e.g. 9998",
            );
        } else if !(1024..=65_535).contains(&port) {
            c.error(
                &format!("{field}.port"),
                format!("port {port} is outside 1024-65535"),
                "use a port from 1024 to 65535, e.g. 9998",
            );
        }
    }
    if let Some(ms) = s.min_latency_ms {
        // Valid range for flows is UNVERIFIED; SRT router endpoints
        // document 10-10000 ms, the only source found.
        if !(10..=10_000).contains(&ms) {
            c.error(
                &format!("{field}.min_latency_ms"),
                format!("{ms} ms is outside 10-10000 ms"),
                "use 2000 for an internet path; raise it for lossy links",
            );
        }
    }
    check_cidr(c, config, &format!("{field}.allowed_cidr"), &s.allowed_cidr);
    check_secret_arn(
        c,
        config,
        &format!("{field}.passphrase_secret_arn"),
        &s.passphrase_secret_arn,
        "SRT passphrase",
    );
}

fn check_cidr(c: &mut Checker<'_>, config: &Config, field: &str, text: &str) {
    let net: Ipv4Net = match text.parse() {
        Ok(net) => net,
        Err(_) => match text.parse::<Ipv4Addr>() {
            Ok(addr) => {
                c.error(
                    field,
                    format!("`{text}` has no prefix length"),
                    format!("write `{addr}/32` for the encoder's single address"),
                );
                return;
            }
            Err(_) => {
                c.error(
                    field,
                    format!("`{text}` is not an IPv4 CIDR"),
                    "write the encoder's public address as `203.0.113.10/32`",
                );
                return;
            }
        },
    };
    if net.trunc() != net {
        c.error(
            field,
            format!("`{text}` has host bits set"),
            format!(
                "write `{}`, or `{}/32` for one address",
                net.trunc(),
                net.addr()
            ),
        );
        return;
    }
    if net.prefix_len() == 0 {
        if !config.flow.allow_any_source {
            c.error(
                field,
                "`0.0.0.0/0` lets anyone on the internet send to the flow",
                "restrict it to the encoder's address, or set `flow.allow_any_source: true`",
            );
        }
        return;
    }
    let a = net.addr();
    let special = a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] >= 240
        || (a.octets()[0] == 100 && (64..128).contains(&a.octets()[1]));
    if a.is_private() || a.is_loopback() || a.is_link_local() || a.is_unspecified() {
        c.error(
            field,
            format!("`{text}` is a private address range; MediaConnect sees the encoder's public address"),
            "use the public IP the encoder's traffic leaves from, as `/32`",
        );
    } else if special {
        c.error(
            field,
            format!("`{text}` is a multicast, broadcast, reserved or carrier-grade NAT range, not an encoder's address"),
            "use the public IP the encoder's traffic leaves from, as `/32`",
        );
    } else if net.prefix_len() < 16 && !config.flow.allow_any_source {
        c.error(
            field,
            format!(
                "`{text}` lets {} addresses send to the flow",
                1u64 << (32 - net.prefix_len())
            ),
            "restrict it to the encoder's address (`/32`), or set `flow.allow_any_source: true`",
        );
    } else if net.prefix_len() < 24 {
        c.warn(
            field,
            format!(
                "`{text}` allows {} addresses to send to the flow",
                1u64 << (32 - net.prefix_len())
            ),
            "narrow it to the encoder's address (`/32`) if you can",
        );
    }
}

/// Checks an ARN that names a Secrets Manager secret, without ever
/// printing a value that is not an ARN (it may be the secret itself).
fn check_secret_arn(c: &mut Checker<'_>, config: &Config, field: &str, value: &str, what: &str) {
    if let Some((message, hint)) =
        secret_arn_problem(value, &config.region, &config.account_id, what)
    {
        c.error(field, message, hint);
    }
}

/// Why `value` is not the ARN of a Secrets Manager secret a deployment in
/// `region` and `account` can read, as a message and a hint, or `None`.
/// Neither repeats a value that is not an ARN (it may be the secret
/// itself, pasted in the wrong place).
pub fn secret_arn_problem(
    value: &str,
    region: &str,
    account: &str,
    what: &str,
) -> Option<(String, String)> {
    if !value.starts_with("arn:") {
        return Some((
            format!("this looks like the {what} itself, not a reference to it"),
            "store it in Secrets Manager and write the secret's ARN here (`arn:aws:secretsmanager:...`)".to_owned(),
        ));
    }
    let parts: Vec<&str> = value.splitn(7, ':').collect();
    let ok = parts.len() == 7
        && parts[2] == "secretsmanager"
        && parts[5] == "secret"
        && !parts[6].is_empty()
        && !value.contains(['{', '}', ' ']);
    if !ok {
        return Some((
            "this is not a Secrets Manager secret ARN".to_owned(),
            "copy the ARN from the secret's page: `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx`".to_owned(),
        ));
    }
    // A full ARN ends in `-` and six random characters; IAM compares the
    // full ARN, so a partial one would deny the flow its own passphrase.
    let suffix_ok = parts[6].rsplit_once('-').is_some_and(|(name, suffix)| {
        !name.is_empty() && suffix.len() == 6 && suffix.chars().all(|ch| ch.is_ascii_alphanumeric())
    });
    if !suffix_ok {
        return Some((
            "the secret ARN lacks its 6-character suffix (a partial ARN)".to_owned(),
            "use the complete ARN, ending in `-` and six characters, as the Secrets Manager console shows it".to_owned(),
        ));
    }
    if parts[3] != region || parts[4] != account {
        return Some((
            format!(
                "the secret is in {} / account {}, the deployment in {region} / account {account}",
                parts[3], parts[4]
            ),
            "MediaConnect and CloudFormation read secrets from the same account and Region only"
                .to_owned(),
        ));
    }
    None
}

fn check_destinations(
    c: &mut Checker<'_>,
    config: &Config,
    library: &Library,
) -> Vec<ResolvedDestination> {
    let mut resolved = Vec::new();
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mediapackage_channels: BTreeMap<&str, usize> = BTreeMap::new();
    if config.destinations.is_empty() {
        c.error(
            "destinations",
            "there are no destinations",
            "add at least one destination (e.g. the MediaPackage primary)",
        );
    }
    if config.destinations.len() > MAX_FLOW_OUTPUTS {
        c.error(
            "destinations",
            format!(
                "{} destinations need more than the {MAX_FLOW_OUTPUTS} outputs a MediaConnect flow allows",
                config.destinations.len()
            ),
            "split the destinations over two lunora configs with their own flows",
        );
    }
    if config.destinations.len() > DEFAULT_CHANNEL_QUOTA {
        c.warn(
            "destinations",
            format!(
                "{} channels exceed MediaLive's default quota of {DEFAULT_CHANNEL_QUOTA} channels per Region (UNVERIFIED current default)",
                config.destinations.len()
            ),
            "request a MediaLive quota increase before deploying",
        );
    }
    for (i, d) in config.destinations.iter().enumerate() {
        let field = |f: &str| format!("destinations[{i}].{f}");
        if !is_slug(&d.id, 32) {
            c.error(
                &field("id"),
                format!("`{}` is not a valid destination id", d.id),
                "use 1-32 lowercase letters, digits and single `-`, e.g. `youtube`",
            );
        }
        if let Some(first) = ids.insert(&d.id, i) {
            c.error(
                &field("id"),
                format!(
                    "destination id `{}` is already used by destinations[{first}]",
                    d.id
                ),
                "every destination needs its own id",
            );
        }
        if let Some(r) = resolve_destination(c, config, library, i, d) {
            if d.kind == DestinationKind::Mediapackage {
                if let Some(mp) = &d.mediapackage {
                    if let Some(first) = mediapackage_channels.insert(&mp.channel_id, i) {
                        c.error(
                            &field("mediapackage.channel_id"),
                            format!(
                                "MediaPackage channel `{}` is already fed by destinations[{first}]",
                                mp.channel_id
                            ),
                            "two channels pushing to one MediaPackage ingest endpoint fight over it",
                        );
                    }
                }
            }
            let feed_height = config.encoder.height;
            for rendition in &r.preset.renditions {
                if rendition.height > feed_height {
                    c.warn(
                        &field("preset"),
                        format!(
                            "preset `{}` rendition `{}` upscales the encoder's {feed_height}p feed",
                            r.preset.id, rendition.name
                        ),
                        "pick a preset at or below the feed's resolution",
                    );
                }
            }
            resolved.push(r);
        }
    }
    resolved
}

fn resolve_destination(
    c: &mut Checker<'_>,
    config: &Config,
    library: &Library,
    i: usize,
    d: &Destination,
) -> Option<ResolvedDestination> {
    let field = |f: &str| format!("destinations[{i}].{f}");
    let platform_id = match (d.kind, &d.platform) {
        (DestinationKind::Mediapackage, None) => "mediapackage".to_owned(),
        (_, Some(p)) => p.clone(),
        (DestinationKind::Rtmp, None) => {
            c.error(
                &field("platform"),
                "an RTMP destination needs a platform",
                "add `platform:` (youtube, twitch, linkedin, facebook or custom)",
            );
            return None;
        }
    };
    let Some(platform) = library.platforms.get(&platform_id) else {
        c.error(
            &field("platform"),
            format!("unknown platform `{platform_id}`"),
            library.platform_hint(&platform_id),
        );
        return None;
    };
    let platform = &platform.value;
    let expected_kind = match d.kind {
        DestinationKind::Mediapackage => PlatformKind::Mediapackage,
        DestinationKind::Rtmp => PlatformKind::Rtmp,
    };
    if platform.kind != expected_kind {
        c.error(
            &field("platform"),
            format!(
                "platform `{platform_id}` is not an {} platform",
                rules::enum_name(&d.kind)
            ),
            "use `kind: mediapackage` with the mediapackage platform, `kind: rtmp` with the others",
        );
        return None;
    }
    let Some(preset_entry) = library.presets.get(&d.preset) else {
        c.error(
            &field("preset"),
            format!("unknown preset `{}`", d.preset),
            library.preset_hint(&d.preset),
        );
        return None;
    };
    let preset = &preset_entry.value;
    if let Some(preset_platform) = &preset.platform {
        if *preset_platform != platform_id {
            c.error(
                &field("preset"),
                format!(
                    "preset `{}` is made for {preset_platform}, this destination is {platform_id}",
                    preset.id
                ),
                format!("choose a `{platform_id}-*` preset or a generic one"),
            );
            return None;
        }
    }
    let mut preset_ok = true;
    for p in rules::medialive_problems(preset) {
        preset_ok = false;
        c.errors.push(
            preset_entry
                .diagnostic(&p.field, format!("{} (preset `{}`)", p.message, preset.id))
                .hint(p.hint),
        );
    }
    for p in rules::platform_problems(preset, platform) {
        preset_ok = false;
        // A platform's own preset is wrong in its file; a generic preset
        // is fine in itself but wrong for this destination.
        let diagnostic = if preset.platform.is_some() {
            preset_entry.diagnostic(&p.field, format!("{} (preset `{}`)", p.message, preset.id))
        } else {
            at(
                c.path,
                c.locator,
                &field("preset"),
                format!("preset `{}`: `{}`: {}", preset.id, p.field, p.message),
            )
        };
        c.errors.push(diagnostic.hint(p.hint));
    }
    if d.kind == DestinationKind::Rtmp {
        if let Some(r) = preset
            .renditions
            .iter()
            .find(|r| r.rate_control != crate::presets::model::RateControl::Cbr)
        {
            preset_ok = false;
            c.error(
                &field("preset"),
                format!(
                    "preset `{}` rendition `{}` is not CBR; RTMP platforms need constant bitrate",
                    preset.id, r.name
                ),
                "use a CBR preset for RTMP destinations",
            );
        }
    }
    let ingest_url = match d.kind {
        DestinationKind::Rtmp => check_rtmp(c, config, i, d, platform),
        DestinationKind::Mediapackage => {
            check_mediapackage(c, config, i, d);
            None
        }
    };
    preset_ok.then(|| ResolvedDestination {
        destination: d.clone(),
        preset: preset.clone(),
        platform: platform.clone(),
        ingest_url,
    })
}

fn check_mediapackage(c: &mut Checker<'_>, config: &Config, i: usize, d: &Destination) {
    let field = |f: &str| format!("destinations[{i}].{f}");
    for (name, present) in [
        ("stream_key", d.stream_key.is_some()),
        ("ingest_url", d.ingest_url.is_some()),
        ("auth", d.auth.is_some()),
    ] {
        if present {
            c.error(
                &field(name),
                format!("a MediaPackage destination takes no `{name}`"),
                "MediaLive delivers to MediaPackage by channel id; remove the field",
            );
        }
    }
    match &d.mediapackage {
        None => c.error(
            &format!("destinations[{i}]"),
            "a MediaPackage destination needs the existing channel's id",
            "add `mediapackage: {channel_id: YOUR-CHANNEL-ID}`",
        ),
        Some(mp) => {
            let id_ok = !mp.channel_id.is_empty()
                && mp.channel_id.len() <= 256
                && mp
                    .channel_id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
            if !id_ok {
                c.error(
                    &field("mediapackage.channel_id"),
                    format!("`{}` is not a MediaPackage channel id", mp.channel_id),
                    "copy the channel's ID (letters, digits, `-`, `_`) from the MediaPackage console",
                );
            }
            if let Some(arn) = &mp.channel_arn {
                let prefix = format!(
                    "arn:{}:mediapackage:{}:{}:channels/",
                    partition(&config.region),
                    config.region,
                    config.account_id
                );
                if !arn.starts_with(&prefix) || arn.len() == prefix.len() {
                    c.error(
                        &field("mediapackage.channel_arn"),
                        format!(
                            "`{arn}` is not a MediaPackage channel ARN in this account and Region"
                        ),
                        format!("it starts with `{prefix}`"),
                    );
                }
            }
        }
    }
}

fn check_rtmp(
    c: &mut Checker<'_>,
    config: &Config,
    i: usize,
    d: &Destination,
    platform: &crate::presets::model::Platform,
) -> Option<String> {
    let field = |f: &str| format!("destinations[{i}].{f}");
    if d.mediapackage.is_some() {
        c.error(
            &field("mediapackage"),
            "an RTMP destination takes no MediaPackage channel",
            "remove `mediapackage`, or use `kind: mediapackage`",
        );
    }
    match &d.stream_key {
        None => c.error(
            &format!("destinations[{i}]"),
            "an RTMP destination needs a stream key reference",
            "add `stream_key: {secret_arn: arn:aws:secretsmanager:..., json_key: KEY}`",
        ),
        Some(key @ SecretRef::Arn(_)) | Some(key @ SecretRef::Key(_)) => {
            let arn_field = match key {
                SecretRef::Arn(_) => field("stream_key"),
                SecretRef::Key(_) => field("stream_key.secret_arn"),
            };
            check_secret_arn(c, config, &arn_field, key.arn(), "stream key");
            if let Some(json_key) = key.json_key() {
                if json_key.is_empty() || json_key.contains([':', '}', '{']) {
                    c.error(
                        &field("stream_key.json_key"),
                        "the JSON key is empty or contains `:`, `{` or `}`",
                        "use the plain key name inside the secret's JSON, e.g. `youtube`",
                    );
                }
            }
        }
    }
    if let Some(auth) = &d.auth {
        let p = &auth.password_parameter;
        let name_ok = p.starts_with('/')
            && p.len() <= 2048
            && p.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "/_.-".contains(ch));
        if !name_ok {
            c.error(
                &field("auth.password_parameter"),
                "this is not an SSM parameter name (it may be the password itself)",
                "store the password in SSM Parameter Store and write the parameter's name, e.g. `/lunora/rtmp-password`",
            );
        }
    }
    let ingest = platform.ingest.as_ref();
    let url = match (&d.ingest_url, ingest.and_then(|g| g.default_url.as_ref())) {
        (Some(url), _) => url.clone(),
        (None, Some(default)) => return Some(default.clone()),
        (None, None) => {
            c.error(
                &format!("destinations[{i}]"),
                format!("{} has no default ingest URL", platform.name),
                "add `ingest_url:` with the RTMP(S) URL from the platform, without the stream key",
            );
            return None;
        }
    };
    let parsed = match url::Url::parse(&url) {
        Ok(u) => u,
        Err(_) => {
            c.error(
                &field("ingest_url"),
                "the ingest URL is not a URL",
                "write it as `rtmps://host[:port]/app`",
            );
            return None;
        }
    };
    let f = field("ingest_url");
    if !matches!(parsed.scheme(), "rtmp" | "rtmps") {
        c.error(
            &f,
            format!("`{}://` is not RTMP", parsed.scheme()),
            "use `rtmp://` or `rtmps://`",
        );
        return None;
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        c.error(
            &f,
            "the ingest URL carries credentials",
            "remove them from the URL and use `auth:` with an SSM parameter",
        );
        return None;
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        c.error(
            &f,
            "the ingest URL has a query string; stream keys do not belong in the URL",
            "remove everything after `?` and reference the key with `stream_key:`",
        );
        return None;
    }
    if ingest.is_some_and(|g| g.requires_rtmps) && parsed.scheme() != "rtmps" {
        c.error(
            &f,
            format!("{} accepts RTMPS only", platform.name),
            "use the platform's `rtmps://` URL",
        );
    }
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let default_depth = ingest
        .and_then(|g| g.default_url.as_ref())
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| {
            u.path_segments()
                .map(|s| s.filter(|p| !p.is_empty()).count())
                .unwrap_or(0)
        })
        .or_else(|| ingest.and_then(|g| g.path_segments));
    if segments.is_empty() {
        c.error(
            &f,
            "the ingest URL has no application name",
            "MediaLive pushes to `rtmp://host/app`: add the application path, e.g. `/live`",
        );
        return None;
    }
    if default_depth.is_none() && segments.len() > 1 {
        c.warn(
            &f,
            "the ingest URL has more than one path segment; if the last one is the stream key, it would be written into the template",
            "cut the URL after the application name and reference the key with `stream_key:`",
        );
    }
    let too_deep = default_depth.is_some_and(|depth| segments.len() > depth);
    if too_deep || segments.last().is_some_and(|s| looks_like_stream_key(s)) {
        c.error(
            &f,
            "the ingest URL seems to end with the stream key",
            "cut the URL after the application name (e.g. `/live2`) and reference the key with `stream_key:`",
        );
    }
    Some(url)
}

/// Whether the last path segment of an ingest URL is a stream key: any
/// secret shape ([`super::secrets::detect`]), and also YouTube's
/// four-group form without digits, which in this place is a key rather
/// than a name.
fn looks_like_stream_key(segment: &str) -> bool {
    let groups: Vec<&str> = segment.split('-').collect();
    let youtube = (4..=5).contains(&groups.len())
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric()));
    youtube || super::secrets::detect(segment).is_some()
}

/// The ARN partition of a Region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn check_stages(c: &mut Checker<'_>, config: &Config) -> Vec<ResolvedStage> {
    let Some(stages) = &config.stages else {
        return default_stages(config);
    };
    let known: BTreeSet<&str> = config.destinations.iter().map(|d| d.id.as_str()).collect();
    let mut placed: BTreeMap<StackId, usize> = BTreeMap::new();
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    if stages.is_empty() {
        c.error(
            "stages",
            "the stage list is empty",
            "remove `stages` to use the default order, or list them",
        );
        return out;
    }
    for (si, stage) in stages.iter().enumerate() {
        let field = |f: &str| format!("stages[{si}].{f}");
        if !is_slug(&stage.name, 32) {
            c.error(
                &field("name"),
                format!("`{}` is not a valid stage name", stage.name),
                "use lowercase letters, digits and `-`",
            );
        }
        if !names.insert(stage.name.as_str()) {
            c.error(
                &field("name"),
                format!("stage `{}` is listed twice", stage.name),
                "give each stage its own name",
            );
        }
        if stage.stacks.is_empty() && stage.destinations.is_empty() {
            c.error(
                &format!("stages[{si}]"),
                format!("stage `{}` deploys nothing", stage.name),
                "add `stacks:` or `destinations:`, or remove the stage",
            );
        }
        let mut stacks = Vec::new();
        for (k, s) in stage.stacks.iter().enumerate() {
            let id = match s.as_str() {
                "base" => StackId::Base,
                "flow" => StackId::Flow,
                other => {
                    let hint = if known.contains(other) {
                        format!("`{other}` is a destination: list it under `destinations:`")
                    } else {
                        "`stacks:` takes `base` and `flow`; destinations go under `destinations:`"
                            .to_owned()
                    };
                    c.error(
                        &format!("stages[{si}].stacks[{k}]"),
                        format!("unknown stack `{other}`"),
                        hint,
                    );
                    continue;
                }
            };
            stacks.push((id, format!("stages[{si}].stacks[{k}]")));
        }
        for (k, d) in stage.destinations.iter().enumerate() {
            if !known.contains(d.as_str()) {
                let ids: Vec<&str> = known.iter().copied().collect();
                let hint = match crate::yaml::closest(d, &ids) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("destinations are: {}", ids.join(", ")),
                };
                c.error(
                    &format!("stages[{si}].destinations[{k}]"),
                    format!("no destination has the id `{d}`"),
                    hint,
                );
                continue;
            }
            stacks.push((
                StackId::Destination(d.clone()),
                format!("stages[{si}].destinations[{k}]"),
            ));
        }
        let mut resolved = Vec::new();
        for (id, f) in stacks {
            if let Some(first) = placed.insert(id.clone(), si) {
                c.error(
                    &f,
                    format!(
                        "{} is already in stage `{}`",
                        describe(&id),
                        stages[first].name
                    ),
                    "put each stack in exactly one stage",
                );
            } else {
                resolved.push(id);
            }
        }
        out.push(ResolvedStage {
            name: stage.name.clone(),
            stacks: resolved,
        });
    }
    for (id, fallback_name) in [(StackId::Base, "base"), (StackId::Flow, "flow")] {
        if !placed.contains_key(&id) {
            c.error(
                "stages",
                format!("no stage deploys the `{fallback_name}` stack"),
                format!("add `{fallback_name}` to the `stacks:` of an early stage"),
            );
        }
    }
    for (i, d) in config.destinations.iter().enumerate() {
        if !placed.contains_key(&StackId::Destination(d.id.clone())) {
            c.error(
                &format!("destinations[{i}].id"),
                format!("destination `{}` is in no stage", d.id),
                "add it to the `destinations:` of a stage",
            );
        }
    }
    // Dependencies: flow imports base, destinations import both.
    if let (Some(&base), Some(&flow)) = (placed.get(&StackId::Base), placed.get(&StackId::Flow)) {
        if flow <= base {
            c.error(
                &format!("stages[{flow}]"),
                "the `flow` stack must deploy in a stage after `base`",
                "it uses the roles the base stack creates",
            );
        }
        for (id, &si) in &placed {
            if let StackId::Destination(d) = id {
                if si <= flow {
                    c.error(
                        &format!("stages[{si}]"),
                        format!("destination `{d}` must deploy in a stage after the flow's"),
                        "its stack uses the flow and the roles; move it to a later stage",
                    );
                }
            }
        }
    }
    out
}

fn describe(id: &StackId) -> String {
    match id {
        StackId::Base => "the `base` stack".to_owned(),
        StackId::Flow => "the `flow` stack".to_owned(),
        StackId::Destination(d) => format!("destination `{d}`"),
    }
}

/// `base -> flow -> primary -> platforms`, leaving out empty stages.
fn default_stages(config: &Config) -> Vec<ResolvedStage> {
    let of_kind = |kind| {
        config
            .destinations
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| StackId::Destination(d.id.clone()))
            .collect::<Vec<_>>()
    };
    let mut stages = vec![
        ResolvedStage {
            name: "base".into(),
            stacks: vec![StackId::Base],
        },
        ResolvedStage {
            name: "flow".into(),
            stacks: vec![StackId::Flow],
        },
    ];
    for (name, stacks) in [
        ("primary", of_kind(DestinationKind::Mediapackage)),
        ("platforms", of_kind(DestinationKind::Rtmp)),
    ] {
        if !stacks.is_empty() {
            stages.push(ResolvedStage {
                name: name.into(),
                stacks,
            });
        }
    }
    stages
}

/// A plausible e-mail address: `user@host.tld`, no whitespace.
fn is_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
    })
}

/// Characters AWS accepts in tag keys and values (IAM's rule, the strictest).
fn tag_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == ' ' || "_.:/=+-@".contains(ch)
}

fn check_alarms_and_tags(c: &mut Checker<'_>, config: &Config) {
    for (i, email) in config.alarms.emails.iter().enumerate() {
        if !is_email(email) {
            c.error(
                &format!("alarms.emails[{i}]"),
                format!("`{email}` is not an e-mail address"),
                "write it as `name@example.com`",
            );
        }
    }
    for (key, value) in &config.tags {
        let field = format!("tags.{key}");
        if RESERVED_TAGS.contains(&key.as_str()) {
            c.error(
                &field,
                format!("lunora sets the `{key}` tag itself"),
                "choose another tag key",
            );
        } else if key.is_empty()
            || key.len() > 128
            || key.to_ascii_lowercase().starts_with("aws:")
            || !key.chars().all(tag_char)
        {
            c.error(
                &field,
                format!("`{key}` is not a valid tag key"),
                "use 1-128 characters, not starting with `aws:`",
            );
        } else if value.len() > 256 {
            c.error(
                &field,
                "the tag value is longer than 256 characters",
                "shorten it",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_stream_key_shapes() {
        assert!(looks_like_stream_key("abcd-efgh-ijkl-mnop-qrst"));
        assert!(looks_like_stream_key("live_123456789_AbCdEfGhIjKlMnOpQr"));
        assert!(!looks_like_stream_key("live2"));
        assert!(!looks_like_stream_key("app"));
    }

    #[test]
    fn regions_and_partitions() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("useast1"));
        assert_eq!(partition("cn-north-1"), "aws-cn");
    }
}
