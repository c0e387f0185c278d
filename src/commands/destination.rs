//! `lunora add destination` and `lunora remove destination`: the
//! "Add destination" form of the original request, as commands that edit
//! lunora.yaml in place ([`crate::config::edit`]) and keep every other byte.
//!
//! Both refuse, with one line and the file untouched, when the config is
//! already invalid, when an option is missing or wrong, or when the new
//! config would not validate; only then is the file replaced (temporary
//! file and rename, keeping its mode). Offline: nothing here calls AWS.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::{AddDestinationArgs, RemoveDestinationArgs};
use crate::config::edit::{self, NewDestination};
use crate::config::model::DestinationKind;
use crate::config::{self, Deployment};
use crate::cost::{self, Rates, Setup};
use crate::diagnostic::Diagnostics;
use crate::output::{Console, Report};
use crate::presets::model::PlatformKind;
use crate::presets::{rules, Library};

/// The streaming hours a month the cost change is priced for (as
/// `lunora cost`'s default).
const COST_HOURS: f64 = 100.0;

/// The monthly cost before and after the edit.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostChange {
    /// Streaming hours a month the estimate assumes.
    pub streaming_hours: f64,
    /// With lunora's stop behaviour, as `lunora cost` (a).
    pub before_usd: f64,
    pub after_usd: f64,
    pub change_usd: f64,
}

/// What `add destination` wrote.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddReport {
    pub config: PathBuf,
    pub destination: String,
    /// The stage it deploys in.
    pub stage: String,
    /// How the stage was chosen.
    pub stage_reason: String,
    /// The lines added to the file, as written.
    pub block: String,
    pub cost: CostChange,
    /// The command to run next.
    pub next: String,
}

/// What `remove destination` wrote.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveReport {
    pub config: PathBuf,
    pub destination: String,
    /// The stages whose lists named it.
    pub stages: Vec<String>,
    /// What the next deploy deletes.
    pub deletes: Vec<String>,
    pub cost: CostChange,
    pub next: String,
}

/// Reads the file, and refuses a config that is already invalid.
fn load_valid(path: &Path) -> anyhow::Result<(String, Deployment, Library)> {
    let text =
        crate::fsread::read_to_string_bounded(path, crate::fsread::CONFIG_LIMIT, "config file")
            .map_err(|e| {
                Diagnostics(vec![e.diagnostic(
                    "pass the file with `-c PATH`; `examples/lunora.yaml` is a complete example",
                )])
            })?;
    let deployment = config::load(path).map_err(|d| {
        let count = d.0.len();
        let first = d.0.first().map(ToString::to_string).unwrap_or_default();
        anyhow!(
            "`{}` is invalid already, fix it first (`lunora validate` lists {}); nothing was written; the first: {first}",
            path.display(),
            crate::progress::count(count, "problem")
        )
    })?;
    let base_dir = path.parent().unwrap_or_else(|| Path::new("."));
    let library = Library::load(&config::preset_dirs(base_dir, &deployment.config))?;
    Ok((text, deployment, library))
}

/// The new text, validated, or the reasons it is not valid (located in
/// the would-be file, which is not written).
fn validate_new(path: &Path, text: &str, library: &Library) -> anyhow::Result<Deployment> {
    config::from_text(path, text, library).map_err(|d| {
        let first = d.0.first().map(|d| {
            let mut line = format!("`{}`: {}", d.field, d.message);
            if let Some(h) = &d.hint {
                let _ = write!(line, " (hint: {h})");
            }
            line
        });
        anyhow!(
            "{}: the change would make the config invalid, nothing was written: {}",
            path.display(),
            first.unwrap_or_default()
        )
    })
}

fn cost_change(before: &Deployment, after: &Deployment) -> anyhow::Result<CostChange> {
    let rates = Rates::built_in().map_err(|d| Diagnostics(vec![d]))?;
    let total = |d: &Deployment| -> anyhow::Result<f64> {
        let setup = Setup::from_deployment(d, &[])?;
        Ok(cost::summarize(&setup, &rates, COST_HOURS)?
            .with_stop
            .total_usd)
    };
    let (b, a) = (total(before)?, total(after)?);
    Ok(CostChange {
        streaming_hours: COST_HOURS,
        before_usd: b,
        after_usd: a,
        change_usd: ((a - b) * 100.0).round() / 100.0,
    })
}

/// Refuses a value shaped like a secret, without repeating it.
fn no_secret(option: &str, value: &str) -> anyhow::Result<()> {
    if let Some(shape) = config::secrets::detect(value) {
        bail!("--{option} looks like {shape}, not a name (the value is not shown); lunora.yaml holds references to secrets only");
    }
    Ok(())
}

/// The presets that pass `platform`'s limits, by id.
fn fitting_presets(library: &Library, platform: &str) -> Vec<String> {
    let Some(p) = library.platforms.get(platform) else {
        return Vec::new();
    };
    library
        .presets
        .values()
        .filter(|e| e.value.platform.as_deref().is_none_or(|x| x == platform))
        .filter(|e| {
            rules::platform_problems(&e.value, &p.value).is_empty()
                && rules::medialive_problems(&e.value).is_empty()
        })
        .map(|e| e.value.id.clone())
        .collect()
}

/// Runs `lunora add destination`.
pub fn add(path: &Path, args: &AddDestinationArgs, console: &Console) -> anyhow::Result<AddReport> {
    let missing: Vec<&str> = [
        ("--platform", args.platform.is_none()),
        ("--stream-key-secret", args.stream_key_secret.is_none()),
    ]
    .into_iter()
    .filter_map(|(o, m)| m.then_some(o))
    .collect();
    if !missing.is_empty() {
        bail!(
            "missing {}: `lunora add destination` asks for nothing yet, give every option on the command line",
            missing.join(" and ")
        );
    }
    let platform = args.platform.clone().unwrap_or_default();
    let secret = args.stream_key_secret.clone().unwrap_or_default();
    // The stream key option first: its value is never repeated.
    if !secret.starts_with("arn:") {
        bail!("--stream-key-secret takes the ARN of a Secrets Manager secret, not the stream key itself (the value is not shown): store the key in Secrets Manager and pass `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx`");
    }
    no_secret("stream-key-secret", &secret)?;
    no_secret("id", &args.id)?;
    no_secret("platform", &platform)?;
    for (option, value) in [
        ("preset", &args.preset),
        ("json-key", &args.json_key),
        ("stage", &args.stage),
    ] {
        if let Some(v) = value {
            no_secret(option, v)?;
        }
    }

    let (text, before, library) = load_valid(path)?;
    if !config::is_slug(&args.id, 32) {
        bail!("`{}` is not a valid destination id: use 1-32 lowercase letters, digits and single `-`, starting with a letter", args.id);
    }
    if before.destination_ids().contains(&args.id.as_str()) {
        bail!(
            "a destination with the id `{}` exists already in `{}`; pick another id, or `lunora remove destination {}` first",
            args.id,
            path.display(),
            args.id
        );
    }
    let Some(entry) = library.platforms.get(&platform) else {
        bail!(
            "unknown platform `{platform}` ({})",
            library.platform_hint(&platform)
        );
    };
    if entry.value.kind != PlatformKind::Rtmp {
        bail!("`{platform}` is not an RTMP platform: `lunora add destination` adds RTMP(S) destinations; edit the file for a MediaPackage one");
    }
    let Some(preset) = args.preset.clone() else {
        bail!(
            "missing --preset: the presets that pass `{platform}`'s limits are {}",
            fitting_presets(&library, &platform).join(", ")
        );
    };
    if !library.presets.contains_key(&preset) {
        bail!(
            "unknown preset `{preset}` ({})",
            library.preset_hint(&preset)
        );
    }
    let default_url = entry
        .value
        .ingest
        .as_ref()
        .and_then(|i| i.default_url.clone());
    if args.ingest_url.is_none() && default_url.is_none() {
        bail!("missing --ingest-url: platform `{platform}` has no default ingest URL");
    }

    let (stage, stage_reason) = match (&args.stage, &before.config.stages) {
        (Some(s), _) => (Some(s.clone()), "given with --stage".to_owned()),
        (None, None) => (
            None,
            "the default stages deploy every RTMP destination in `platforms`".to_owned(),
        ),
        (None, Some(stages)) => match edit::default_stage(&before.config, DestinationKind::Rtmp) {
            Some(s) => (
                Some(s),
                "the stage of the other RTMP destinations".to_owned(),
            ),
            None => bail!(
                "no stage holds an RTMP destination yet: name one with --stage ({})",
                stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let new = NewDestination {
        id: args.id.clone(),
        platform,
        preset,
        ingest_url: args.ingest_url.clone(),
        stream_key_secret: secret,
        json_key: args.json_key.clone(),
    };
    let edited = edit::add_destination(&text, &new, stage.as_deref())
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let block = edit::added_block(&text, &new)
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let after = validate_new(path, &edited, &library)?;
    let cost = cost_change(&before, &after)?;
    crate::fsread::replace_keeping_mode(path, edited.as_bytes())?;
    for w in after.warnings.iter().filter(|w| w.field.contains(&args.id)) {
        console.warn(w);
    }
    Ok(AddReport {
        config: path.to_path_buf(),
        destination: new.id,
        stage: stage.unwrap_or_else(|| "platforms".to_owned()),
        stage_reason,
        block: block.replace('\r', ""),
        cost,
        next: "lunora plan".to_owned(),
    })
}

/// Runs `lunora remove destination`.
pub fn remove(path: &Path, args: &RemoveDestinationArgs) -> anyhow::Result<RemoveReport> {
    let (text, before, library) = load_valid(path)?;
    before.check_destination_ids(std::slice::from_ref(&args.id))?;
    let edited = edit::remove_destination(&text, &args.id)
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let after = validate_new(path, &edited, &library)?;
    let stages: Vec<String> = before
        .config
        .stages
        .iter()
        .flatten()
        .filter(|s| s.destinations.contains(&args.id))
        .map(|s| s.name.clone())
        .collect();
    let stack = before.stack_name(&config::StackId::Destination(args.id.clone()));
    let mut deletes = vec![
        format!("the stack `{stack}`"),
        format!("its MediaLive channel and input"),
    ];
    if before.config.input_mode == config::model::InputMode::RtpFec {
        deletes.push("its output of the MediaConnect flow".to_owned());
    }
    let question = format!(
        "remove destination `{}` from `{}` (the next deploy deletes {})?",
        args.id,
        path.display(),
        deletes.join(", ")
    );
    if !super::confirm(&question, args.yes)? {
        bail!("not confirmed; nothing was written");
    }
    let cost = cost_change(&before, &after)?;
    crate::fsread::replace_keeping_mode(path, edited.as_bytes())
        .with_context(|| format!("cannot remove destination `{}`", args.id))?;
    Ok(RemoveReport {
        config: path.to_path_buf(),
        destination: args.id.clone(),
        stages,
        deletes,
        cost,
        next: "lunora plan".to_owned(),
    })
}

fn signed(usd: f64) -> String {
    if usd < 0.0 {
        format!("-${:.2}", -usd)
    } else {
        format!("+${usd:.2}")
    }
}

impl fmt::Display for CostChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "monthly cost ({} h streaming, with lunora's stop behaviour): ${:.2} -> ${:.2} ({})",
            self.streaming_hours,
            self.before_usd,
            self.after_usd,
            signed(self.change_usd)
        )
    }
}

impl fmt::Display for AddReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "added destination `{}` to {}, in stage `{}` ({}):",
            self.destination,
            self.config.display(),
            self.stage,
            self.stage_reason
        )?;
        writeln!(f)?;
        for line in self.block.lines() {
            writeln!(f, "  {line}")?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.cost)?;
        writeln!(
            f,
            "next: `{}` shows what the next deploy creates",
            self.next
        )
    }
}

impl fmt::Display for RemoveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "removed destination `{}` from {}",
            self.destination,
            self.config.display()
        )?;
        if !self.stages.is_empty() {
            write!(f, " and from stage `{}`", self.stages.join("`, `"))?;
        }
        writeln!(f)?;
        writeln!(f, "the next deploy deletes {}", self.deletes.join(", "))?;
        writeln!(f, "{}", self.cost)?;
        writeln!(
            f,
            "next: `{}` shows the deletion before any deploy",
            self.next
        )
    }
}

impl Report for AddReport {
    fn kind(&self) -> &'static str {
        "add-destination"
    }
}

impl Report for RemoveReport {
    fn kind(&self) -> &'static str {
        "remove-destination"
    }
}
