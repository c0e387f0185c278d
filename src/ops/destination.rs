//! Adding and removing a destination in lunora.yaml: the checks, the edit
//! and the validation of the new config, apart from how the request is
//! asked (the CLI's options and prompts, the admin page's form) or shown.
//!
//! Both faces call [`prepare_add`] / [`prepare_remove`], which read the
//! file and build the new text in memory, validated, writing nothing; the
//! face shows the result (or asks for a confirmation) and then calls
//! [`write`], which refuses when the file changed in between. Offline:
//! nothing here calls AWS.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::edit::{self, NewDestination};
use crate::config::model::DestinationKind;
use crate::config::{self, Deployment};
use crate::cost::{self, Rates, Setup};
use crate::diagnostic::{Diagnostic, Diagnostics};
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
    /// Those of `stages` removed whole: it was all they deployed (no other
    /// destination, no stack).
    pub removed_stages: Vec<String>,
    /// What the next deploy deletes.
    pub deletes: Vec<String>,
    pub cost: CostChange,
    pub next: String,
}

/// A destination to add, as asked (every value as typed; the missing ones
/// are `None`).
#[derive(Debug, Clone, Default)]
pub struct AddRequest {
    pub id: String,
    pub platform: Option<String>,
    pub preset: Option<String>,
    pub ingest_url: Option<String>,
    pub stream_key_secret: Option<String>,
    pub json_key: Option<String>,
    pub stage: Option<String>,
}

/// An add, checked and validated in memory, not written yet.
#[derive(Debug)]
pub struct PreparedAdd {
    /// The file's text as read.
    pub original: String,
    /// The new text, valid.
    pub edited: String,
    pub report: AddReport,
    /// The new config's warnings about the new destination, for the face
    /// to show.
    pub warnings: Vec<Diagnostic>,
}

/// A remove, checked and validated in memory, not written yet.
#[derive(Debug)]
pub struct PreparedRemove {
    pub original: String,
    pub edited: String,
    pub report: RemoveReport,
    /// The lines the remove deletes from the destinations list, as in the
    /// file (line endings normalized to `\n`).
    pub block: String,
}

/// A preset that passes a platform's limits, for a choice.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PresetChoice {
    pub id: String,
    /// Each rendition's resolution, frame rate and bitrate.
    pub summary: String,
    /// The platform's `recommended_preset`.
    pub recommended: bool,
}

/// Reads the file, and refuses a config that is already invalid.
pub fn load_valid(path: &Path) -> anyhow::Result<(String, Deployment, Library)> {
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

/// Checks a stream-key secret ARN as given, never repeating the value:
/// it must be an ARN and not look like a key.
pub fn check_stream_key_secret(value: &str) -> anyhow::Result<()> {
    if !value.starts_with("arn:") {
        bail!("--stream-key-secret takes the ARN of a Secrets Manager secret, not the stream key itself (the value is not shown): store the key in Secrets Manager and pass `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx`");
    }
    no_secret("stream-key-secret", value)
}

/// The presets that pass `platform`'s limits (and MediaLive's), by id,
/// with a summary of each rendition and the platform's recommended one
/// marked.
pub fn preset_choices(library: &Library, platform: &str) -> Vec<PresetChoice> {
    let Some(p) = library.platforms.get(platform) else {
        return Vec::new();
    };
    let recommended = p.value.recommended_preset.as_deref();
    library
        .presets
        .values()
        .filter(|e| e.value.platform.as_deref().is_none_or(|x| x == platform))
        .filter(|e| {
            rules::platform_problems(&e.value, &p.value).is_empty()
                && rules::medialive_problems(&e.value).is_empty()
        })
        .map(|e| PresetChoice {
            id: e.value.id.clone(),
            summary: crate::presets::catalog::rendition_summary(&e.value).join("; "),
            recommended: recommended == Some(e.value.id.as_str()),
        })
        .collect()
}

/// Refuses an id that is not a valid destination id or is taken.
pub fn check_new_id(deployment: &Deployment, id: &str) -> anyhow::Result<()> {
    if !config::is_slug(id, 32) {
        bail!("`{id}` is not a valid destination id: use 1-32 lowercase letters, digits and single `-`, starting with a letter");
    }
    if deployment.destination_ids().contains(&id) {
        bail!(
            "a destination with the id `{id}` exists already in `{}`; pick another id, or `lunora remove destination {id}` first",
            deployment.path.display(),
        );
    }
    Ok(())
}

/// Refuses a platform that is unknown (with the closest id) or not RTMP.
pub fn check_platform(library: &Library, platform: &str) -> anyhow::Result<()> {
    let Some(entry) = library.platforms.get(platform) else {
        bail!(
            "unknown platform `{platform}` ({})",
            library.platform_hint(platform)
        );
    };
    if entry.value.kind != PlatformKind::Rtmp {
        bail!("`{platform}` is not an RTMP platform: `lunora add destination` adds RTMP(S) destinations; edit the file for a MediaPackage one");
    }
    Ok(())
}

/// Why `value` cannot be the stream key's secret ARN for `deployment`
/// (not an ARN, shaped like a key, a partial ARN, another account or
/// Region), never repeating the value; `None` when it can.
pub fn stream_key_secret_problem(deployment: &Deployment, value: &str) -> Option<String> {
    if let Err(e) = check_stream_key_secret(value) {
        return Some(e.to_string());
    }
    let c = &deployment.config;
    config::secret_arn_problem(value, &c.region, &c.account_id, "stream key")
        .map(|(message, hint)| format!("{message} (hint: {hint})"))
}

/// The RTMP platforms of the library, by id.
pub fn rtmp_platforms(library: &Library) -> Vec<String> {
    library
        .platforms
        .values()
        .filter(|p| p.value.kind == PlatformKind::Rtmp)
        .map(|p| p.value.id.clone())
        .collect()
}

/// The platform's default ingest URL, where it has one.
pub fn default_ingest_url(library: &Library, platform: &str) -> Option<String> {
    library
        .platforms
        .get(platform)
        .and_then(|p| p.value.ingest.as_ref())
        .and_then(|i| i.default_url.clone())
}

/// The stage a new RTMP destination goes to without `--stage`, and why;
/// `None` for the stage when the file has no `stages:`.
pub fn default_stage(deployment: &Deployment) -> anyhow::Result<(Option<String>, String)> {
    match &deployment.config.stages {
        None => Ok((
            None,
            "the default stages deploy every RTMP destination in `platforms`".to_owned(),
        )),
        Some(stages) => match edit::default_stage(&deployment.config, DestinationKind::Rtmp) {
            Some(s) => Ok((
                Some(s),
                "the stage of the other RTMP destinations".to_owned(),
            )),
            None => bail!(
                "no stage holds an RTMP destination yet: name one with --stage ({})",
                stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// Checks the request, builds the new text and validates it; writes
/// nothing.
pub fn prepare_add(path: &Path, req: &AddRequest) -> anyhow::Result<PreparedAdd> {
    let missing: Vec<&str> = [
        ("--platform", req.platform.is_none()),
        ("--stream-key-secret", req.stream_key_secret.is_none()),
    ]
    .into_iter()
    .filter_map(|(o, m)| m.then_some(o))
    .collect();
    if !missing.is_empty() {
        bail!(
            "missing {}: give every option on the command line (lunora asks for them only on a terminal, and not with CI=true)",
            missing.join(" and ")
        );
    }
    let platform = req.platform.clone().unwrap_or_default();
    let secret = req.stream_key_secret.clone().unwrap_or_default();
    // The stream key option first: its value is never repeated.
    check_stream_key_secret(&secret)?;
    no_secret("id", &req.id)?;
    no_secret("platform", &platform)?;
    for (option, value) in [
        ("preset", &req.preset),
        ("ingest-url", &req.ingest_url),
        ("json-key", &req.json_key),
        ("stage", &req.stage),
    ] {
        if let Some(v) = value {
            no_secret(option, v)?;
        }
    }

    let (text, before, library) = load_valid(path)?;
    check_new_id(&before, &req.id)?;
    check_platform(&library, &platform)?;
    let Some(preset) = req.preset.clone() else {
        let choices = preset_choices(&library, &platform);
        let ids: Vec<&str> = choices.iter().map(|c| c.id.as_str()).collect();
        let recommended = choices
            .iter()
            .find(|c| c.recommended)
            .map(|c| format!(" (recommended: `--preset {}`)", c.id))
            .unwrap_or_default();
        bail!(
            "missing --preset: the presets that pass `{platform}`'s limits are {}{recommended}",
            ids.join(", ")
        );
    };
    if !library.presets.contains_key(&preset) {
        bail!(
            "unknown preset `{preset}` ({})",
            library.preset_hint(&preset)
        );
    }
    if req.ingest_url.is_none() && default_ingest_url(&library, &platform).is_none() {
        bail!("missing --ingest-url: platform `{platform}` has no default ingest URL");
    }

    let (stage, stage_reason) = match &req.stage {
        Some(s) => (Some(s.clone()), "given with --stage".to_owned()),
        None => default_stage(&before)?,
    };
    let new = NewDestination {
        id: req.id.clone(),
        platform,
        preset,
        ingest_url: req.ingest_url.clone(),
        stream_key_secret: secret,
        json_key: req.json_key.clone(),
    };
    let edited = edit::add_destination(&text, &new, stage.as_deref())
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let block = edit::added_block(&text, &new)
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let after = validate_new(path, &edited, &library)?;
    let cost = cost_change(&before, &after)?;
    let warnings = after
        .warnings
        .iter()
        .filter(|w| w.field.contains(&req.id))
        .cloned()
        .collect();
    Ok(PreparedAdd {
        original: text,
        edited,
        report: AddReport {
            config: path.to_path_buf(),
            destination: new.id,
            stage: stage.unwrap_or_else(|| "platforms".to_owned()),
            stage_reason,
            block: block.replace('\r', ""),
            cost,
            next: "lunora plan".to_owned(),
        },
        warnings,
    })
}

/// Checks the id, builds the text without the destination and validates
/// it; writes nothing.
pub fn prepare_remove(path: &Path, id: &str) -> anyhow::Result<PreparedRemove> {
    let (text, before, library) = load_valid(path)?;
    before.check_destination_ids(&[id.to_owned()])?;
    let edited = edit::remove_destination(&text, id)
        .map_err(|e| anyhow!("{}: {e}; nothing was written", path.display()))?;
    let after = validate_new(path, &edited, &library)?;
    let stages: Vec<String> = before
        .config
        .stages
        .iter()
        .flatten()
        .filter(|s| s.destinations.iter().any(|d| d == id))
        .map(|s| s.name.clone())
        .collect();
    let removed_stages = stages
        .iter()
        .filter(|s| !after.config.stages.iter().flatten().any(|a| &&a.name == s))
        .cloned()
        .collect();
    let stack = before.stack_name(&config::StackId::Destination(id.to_owned()));
    let mut deletes = vec![
        format!("the stack `{stack}`"),
        "its MediaLive channel and input".to_owned(),
    ];
    if before.config.input_mode == config::model::InputMode::RtpFec {
        deletes.push("its output of the MediaConnect flow".to_owned());
    }
    let cost = cost_change(&before, &after)?;
    let block = removed_lines(&text, &edited);
    Ok(PreparedRemove {
        original: text,
        edited,
        block,
        report: RemoveReport {
            config: path.to_path_buf(),
            destination: id.to_owned(),
            stages,
            removed_stages,
            deletes,
            cost,
            next: "lunora plan".to_owned(),
        },
    })
}

/// The first run of lines `edited` lacks from `original`: the removed
/// destination's block (with the comment lines above it). It ends where
/// `edited` goes on, or at the next top-level key (a stage list right
/// after it may be edited too).
fn removed_lines(original: &str, edited: &str) -> String {
    let a: Vec<&str> = original.split_inclusive('\n').collect();
    let b: Vec<&str> = edited.split_inclusive('\n').collect();
    let start = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let top_level = |l: &str| l.starts_with(|c: char| !c.is_whitespace() && c != '-' && c != '#');
    let end = a[start..]
        .iter()
        .position(|l| Some(l) == b.get(start) || top_level(l))
        .map_or(a.len(), |p| start + p);
    a[start..end].concat().replace('\r', "")
}

/// Replaces the file with `edited` (temporary file and rename, keeping its
/// mode), refusing when its bytes are no longer `original`: it changed
/// since it was prepared.
pub fn write(path: &Path, original: &str, edited: &str) -> anyhow::Result<()> {
    let now = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if now != original.as_bytes() {
        bail!(
            "`{}` changed since it was read; nothing was written (run the command again)",
            path.display()
        );
    }
    crate::fsread::replace_keeping_mode(path, edited.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_refuses_a_file_changed_since_it_was_prepared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lunora.yaml");
        std::fs::write(&path, "a: 1\n").expect("write");
        let err = write(&path, "a: 0\n", "a: 2\n").expect_err("refused");
        assert!(
            err.to_string().contains("changed since it was read"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a: 1\n");
        write(&path, "a: 1\n", "a: 2\n").expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a: 2\n");
    }

    #[test]
    fn the_removed_lines_are_the_first_run_missing() {
        let original = "x:\n  - id: a\n    k: 1\n  - id: b\n    k: 2\ns: [a, b]\n";
        let edited = "x:\n  - id: a\n    k: 1\ns: [a]\n";
        assert_eq!(removed_lines(original, edited), "  - id: b\n    k: 2\n");
    }
}
