//! The command line: clap derive structs only. The doc comments are the
//! `--help` text; the command names are the product contract.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plan, deploy and operate SRT -> MediaConnect -> MediaLive live-streaming
/// stacks on AWS.
///
/// Exit codes: 0 success or no changes; 1 error (invalid input, AWS
/// failure); 2 `plan --detailed-exitcode` found changes; 3 refused by a
/// safety gate; 4 deploy failed and was rolled back cleanly.
#[derive(Debug, Parser)]
#[command(
    name = "lunora",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("LUNORA_COMMIT"), ")"),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The deployment file.
    #[arg(
        short,
        long,
        global = true,
        value_name = "PATH",
        default_value = "lunora.yaml",
        env = "LUNORA_CONFIG"
    )]
    pub config: PathBuf,
    /// AWS profile from the shared config files (or AWS_PROFILE); a profile
    /// that is not defined there is an error.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS Region, as a guard: it must match the config's `region:` or the
    /// command refuses. lunora always calls the config's Region (a
    /// different AWS_REGION or profile region is not used).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send AWS API calls to this endpoint (an emulator, for example): an
    /// http:// or https:// URL. An empty AWS_ENDPOINT_URL counts as unset.
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The longest one AWS call may take, retries included, in seconds
    /// (default 60; each attempt gets a third, connecting at most 5 s).
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "LUNORA_AWS_TIMEOUT",
        value_parser = parse_seconds
    )]
    pub aws_timeout: Option<Duration>,
    /// The longest lunora waits for a stack, change set, channel or flow to
    /// settle, in seconds (default: 3600 for a stack, 600 for a change set,
    /// 900 for a channel or flow).
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "LUNORA_WAIT_TIMEOUT",
        value_parser = parse_seconds
    )]
    pub wait_timeout: Option<Duration>,
    /// Output format of the command's result on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// When to colour messages.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "LUNORA_COLOR")]
    pub color: ColorChoice,
    /// Print only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// A number of seconds, more than 0 and at most a day (`2`, `0.5`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "`{text}` is out of range (more than 0, at most 86400 seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Format of a command's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Text,
    /// One JSON document.
    Json,
    /// Markdown, for pull-request comments.
    Markdown,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config and the presets it uses; print a summary.
    Validate,
    /// Render one CloudFormation template per stack.
    Render(RenderArgs),
    /// Compare the rendered stacks with the live ones (or, without AWS
    /// credentials, with the latest recorded release).
    Plan(PlanArgs),
    /// Deploy the stacks, stage by stage, through change sets.
    Deploy(DeployArgs),
    /// Redeploy a recorded release (default: the one before the latest).
    Rollback(RollbackArgs),
    /// List the recorded releases.
    Releases(ReleasesArgs),
    /// Show the flow and every destination: the streaming dashboard.
    Status(StatusArgs),
    /// Start destinations (the flow first when it is in standby).
    Start(StartArgs),
    /// Stop destinations (and the flow when nothing is left running).
    Stop(StopArgs),
    /// Switch the flow's preferred SRT source.
    Failover(FailoverArgs),
    /// Save the latest thumbnail of a destination's channel, or of the
    /// flow's source.
    Thumbnail(ThumbnailArgs),
    /// Estimate the monthly cost, itemised.
    Cost(CostArgs),
    /// Print the deployed resources' ids for other tools.
    Outputs(OutputsArgs),
    /// List or show encoder presets.
    #[command(subcommand)]
    Presets(PresetsCommand),
    /// Print the JSON Schema of lunora.yaml (or of a preset or platform file).
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write the templates to.
    #[arg(long, value_name = "DIR", default_value = "stacks")]
    pub out: PathBuf,
    /// Write nothing; exit 1 and name the files if DIR differs from a fresh render.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when nothing changes, 2 when something does, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan; `deploy --plan FILE` executes exactly it.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Every line in full, never wrapped (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
}

/// Options shared by `deploy` and `rollback`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Only this stage (earlier stages must be deployed).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Do not ask; required when stdin is not a terminal or CI=true.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Allow replacing (or touching) this protected resource; repeatable.
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_replace: Vec<String>,
    /// Stop running channels that must be updated, update, start them again.
    #[arg(long)]
    pub restart_running: bool,
    /// Remove a deploy lock left by a run that died, then go on.
    #[arg(long)]
    pub force_unlock: bool,
    /// Switch the flow back to the config's `primary_source` when it prefers another (after `failover`); by default the live choice is kept.
    #[arg(long)]
    pub restore_source: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub gates: GateArgs,
    /// Execute exactly this saved plan (`plan --out`); refuse if a stack moved since.
    #[arg(long, value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub gates: GateArgs,
    /// The release to restore (`lunora releases`); default: the one before the latest.
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Every column, never wrapped (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Redraw on the terminal's alternate screen every `--interval`
    /// seconds and on resize; Ctrl-C stops.
    #[arg(long, conflicts_with = "check")]
    pub watch: bool,
    /// Seconds between `--watch` refreshes (1-3600).
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600), requires = "watch")]
    pub interval: u64,
    /// Exit 1, naming what is wrong, unless the ingest is healthy and
    /// every running destination is delivering (for cron, CI smoke tests
    /// and wall screens).
    #[arg(long)]
    pub check: bool,
    /// Every column, never truncated (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
#[command(override_usage = "lunora start [OPTIONS] <DEST>...\n       lunora start [OPTIONS] --all")]
pub struct StartArgs {
    /// Destination ids.
    #[arg(value_name = "DEST", required_unless_present = "all")]
    pub destinations: Vec<String>,
    /// Every destination.
    #[arg(long, conflicts_with = "destinations")]
    pub all: bool,
}

#[derive(Debug, Args)]
#[command(override_usage = "lunora stop [OPTIONS] <DEST>...\n       lunora stop [OPTIONS] --all")]
pub struct StopArgs {
    /// Destination ids.
    #[arg(value_name = "DEST", required_unless_present = "all")]
    pub destinations: Vec<String>,
    /// Every destination.
    #[arg(long, conflicts_with = "destinations")]
    pub all: bool,
    /// Leave the flow running even when no channel is.
    #[arg(long)]
    pub keep_flow: bool,
}

/// Which SRT source the flow should prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailoverTarget {
    Primary,
    Backup,
}

#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// The source to prefer.
    #[arg(long, value_enum)]
    pub to: FailoverTarget,
}

#[derive(Debug, Args)]
pub struct ThumbnailArgs {
    /// The destination whose channel's thumbnail to save.
    #[arg(
        value_name = "DEST",
        required_unless_present = "source",
        conflicts_with = "source"
    )]
    pub destination: Option<String>,
    /// The flow source's thumbnail instead (MediaConnect gives the one of
    /// the source in use).
    #[arg(long, value_enum)]
    pub source: Option<FailoverTarget>,
    /// Where to write the JPEG (`-` for stdout); default
    /// `DEST-thumbnail.jpg` or `SOURCE-source-thumbnail.jpg`.
    #[arg(short, long, value_name = "FILE")]
    pub output_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Streaming hours per month: 0 up to the hours of a month in the
    /// rates file (730 in the built-in one).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100.0,
        allow_negative_numbers = true
    )]
    pub hours: f64,
    /// Only these destinations (default: all).
    #[arg(long, value_name = "DEST", value_delimiter = ',')]
    pub destinations: Vec<String>,
    /// A rates file replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    pub rates: Option<PathBuf>,
    /// Every column, never wrapped (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
}

/// Format of `lunora outputs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputsFormat {
    /// `NAME=value` lines for an environment file.
    Env,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// How to print the ids.
    #[arg(long, value_enum, default_value_t = OutputsFormat::Env)]
    pub format: OutputsFormat,
}

#[derive(Debug, Subcommand)]
pub enum PresetsCommand {
    /// List every preset and platform.
    List,
    /// Show one preset, its platform's limits and any rule it breaks.
    Show {
        /// Preset id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file's schema.
    #[arg(value_enum, default_value_t = SchemaKind::Config)]
    pub kind: SchemaKind,
}

/// The files lunora has a schema for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// lunora.yaml
    Config,
    /// presets/<id>.yaml
    Preset,
    /// presets/platforms/<id>.yaml
    Platform,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
