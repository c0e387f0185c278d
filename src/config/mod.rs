//! From `lunora.yaml` to a validated [`Deployment`]: the one value every
//! command starts from.
//!
//! Loading parses the file into the typed model (syntax and type errors),
//! then [`validate`] checks what types cannot: names, CIDRs, ports, secret
//! references, presets against MediaLive and platform limits, and stages.
//! All problems are reported together, each on one line with file, line,
//! field and hint. Nothing here touches the network; the clock is read once,
//! by [`load`], for the one check that needs it (a one-off schedule window
//! must lie ahead).

pub mod edit;
pub mod model;
pub mod secrets;
mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::presets::model::{Platform, Preset};
use crate::presets::Library;
use crate::yaml::{self, Locator};
pub use model::Config;
pub use validate::guards::{window_times, WindowTimes};
pub(crate) use validate::is_slug;
pub use validate::{
    partition, secret_arn_problem, DEFAULT_MIN_LATENCY_MS, DEFAULT_RECOVERY_WINDOW_MS,
    DEFAULT_SRT_PORT, MAX_FLOW_OUTPUTS,
};

/// The stacks lunora manages for one deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "destination", rename_all = "kebab-case")]
pub enum StackId {
    /// IAM roles and the alarm topic.
    Base,
    /// The MediaConnect flow.
    Flow,
    /// One destination's input, output, channel and alarms.
    Destination(String),
}

/// A destination with its preset and platform resolved.
#[derive(Debug, Clone)]
pub struct ResolvedDestination {
    pub destination: model::Destination,
    pub preset: Preset,
    pub platform: Platform,
    /// The RTMP(S) URL without stream key (RTMP destinations).
    pub ingest_url: Option<String>,
}

/// A stage with the stacks it deploys, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedStage {
    pub name: String,
    pub stacks: Vec<StackId>,
}

/// A validated configuration: everything rendering and deploying need.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The config file as given on the command line.
    pub path: PathBuf,
    pub config: Config,
    pub destinations: Vec<ResolvedDestination>,
    pub stages: Vec<ResolvedStage>,
    /// Problems that do not stop lunora but that a user should know of.
    pub warnings: Vec<Diagnostic>,
}

impl Deployment {
    /// `{project}-{environment}`, the prefix of every stack and resource name.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.config.project, self.config.environment)
    }

    /// The CloudFormation stack name of a stack.
    pub fn stack_name(&self, stack: &StackId) -> String {
        match stack {
            StackId::Base => format!("{}-base", self.prefix()),
            StackId::Flow => format!("{}-flow", self.prefix()),
            StackId::Destination(id) => format!("{}-dest-{id}", self.prefix()),
        }
    }

    /// Every stack, in stage order.
    pub fn stacks(&self) -> impl Iterator<Item = &StackId> {
        self.stages.iter().flat_map(|s| s.stacks.iter())
    }

    /// The destination ids, in config order.
    pub fn destination_ids(&self) -> Vec<&str> {
        self.destinations
            .iter()
            .map(|d| d.destination.id.as_str())
            .collect()
    }

    /// Fails, naming each id the config does not define with the closest
    /// one that it does, when any of `ids` is unknown.
    pub fn check_destination_ids<S: AsRef<str>>(
        &self,
        ids: &[S],
    ) -> Result<(), UnknownDestinations> {
        let known = self.destination_ids();
        let unknown: Vec<String> = ids
            .iter()
            .map(AsRef::as_ref)
            .filter(|id| !known.contains(id))
            .map(str::to_owned)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(UnknownDestinations {
            unknown,
            known: known.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// Destination ids given on the command line that the config does not
/// define. The message names each with the closest known id ("did you
/// mean") and lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct UnknownDestinations {
    pub unknown: Vec<String>,
    pub known: Vec<String>,
}

impl UnknownDestinations {
    fn message(&self) -> String {
        let known: Vec<&str> = self.known.iter().map(String::as_str).collect();
        let named: Vec<String> = self
            .unknown
            .iter()
            .map(|id| match yaml::closest(id, &known) {
                Some(best) => format!("`{id}` (did you mean `{best}`?)"),
                None => format!("`{id}`"),
            })
            .collect();
        format!(
            "unknown destination{} {}; the config defines {}",
            if self.unknown.len() > 1 { "s" } else { "" },
            named.join(", "),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )
    }
}

/// Reads, parses and validates a config file and the presets it uses.
pub fn load(path: &Path) -> Result<Deployment, Diagnostics> {
    let text =
        crate::fsread::read_to_string_bounded(path, crate::fsread::CONFIG_LIMIT, "config file")
            .map_err(|e| {
                e.diagnostic(if e.io_kind() == Some(std::io::ErrorKind::NotFound) {
                    "pass the file with `-c PATH`; `examples/lunora.yaml` is a complete example"
                } else {
                    "check the file's permissions and that it is UTF-8 text"
                })
            })?;
    load_text(path, &text)
}

/// [`load`] of `text`, the bytes of the file at `path` as already read
/// (its preset directories are read relative to `path`).
pub fn load_text(path: &Path, text: &str) -> Result<Deployment, Diagnostics> {
    let base_dir = path.parent().unwrap_or_else(|| Path::new("."));
    let loaded = yaml::from_str::<Config>(path, text, &validate::type_hint)?;
    let library = Library::load(&preset_dirs(base_dir, &loaded.value))?;
    validate::validate(
        path,
        loaded.value,
        &loaded.locator,
        &library,
        jiff::Timestamp::now(),
    )
}

/// Parses and validates config text against a given library (for tests,
/// benchmarks and fuzzing: no file system).
pub fn from_text(path: &Path, text: &str, library: &Library) -> Result<Deployment, Diagnostics> {
    from_text_at(path, text, library, jiff::Timestamp::now())
}

/// [`from_text`] as of a given time: a one-off schedule window must start
/// after `now`.
pub fn from_text_at(
    path: &Path,
    text: &str,
    library: &Library,
    now: jiff::Timestamp,
) -> Result<Deployment, Diagnostics> {
    let loaded = yaml::from_str::<Config>(path, text, &validate::type_hint)?;
    validate::validate(path, loaded.value, &loaded.locator, library, now)
}

/// The user preset directories of a config: `presets/` next to it when it
/// exists, then the ones it names.
pub fn preset_dirs(base_dir: &Path, config: &Config) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let local = base_dir.join("presets");
    if local.is_dir() {
        dirs.push(local);
    }
    for dir in &config.presets_dirs {
        let dir = base_dir.join(dir);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// A located diagnostic in the config file.
pub(crate) fn at(
    path: &Path,
    locator: &Locator,
    field: &str,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(path, field, message).at(locator.locate(field))
}
