//! The command line: clap derive structs, and the assembly of the shared
//! options a command receives ([`GlobalArgs`]). The doc comments are the
//! `--help` text; the command names are the product contract.
//!
//! Each command lists, and accepts after its name, only the shared options
//! it uses (`schema` takes no `-c`, `presets` no AWS option). Before the
//! command every shared option is accepted, as `lunora -c FILE plan` has
//! always been written; a command ignores the ones there it does not use.

use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::engine::ArgValueCompleter;

use crate::completion;

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
    max_term_width = 100,
    after_help = "Global and AWS options go before or after the command; `lunora COMMAND --help` \
                  lists the ones a command uses (given before a command that does not use them, \
                  they are ignored)."
)]
pub struct Cli {
    /// Every shared option, given before the command (`lunora -c FILE
    /// plan`), so that a wrapper or an alias can always pass, say,
    /// `--profile`. Each command reads only those it lists in its own
    /// `--help` and ignores the others here (after the command, clap
    /// refuses them); see [`GlobalArgs::from_matches`].
    #[command(flatten)]
    pub leading: OnlineArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The `--help` heading of the options many commands share.
const GLOBAL: &str = "Global options";
/// The `--help` heading of the AWS connection options.
const AWS: &str = "AWS options";

/// `-c/--config`, for the commands that read lunora.yaml.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The deployment file.
    #[arg(
        short,
        long,
        help_heading = GLOBAL,
        value_name = "PATH",
        default_value = "lunora.yaml",
        env = "LUNORA_CONFIG"
    )]
    pub config: PathBuf,
}

/// `--output`, for the commands whose result has a text, JSON and
/// markdown form.
#[derive(Debug, Args)]
pub struct OutputArg {
    /// Output format of the command's result on stdout.
    #[arg(long, help_heading = GLOBAL, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Colour and verbosity of the messages on stderr, for the commands that
/// print any.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// When to colour messages.
    #[arg(long, help_heading = GLOBAL, value_enum, default_value_t = ColorChoice::Auto, env = "LUNORA_COLOR")]
    pub color: ColorChoice,
    /// Print only errors on stderr.
    #[arg(short, long, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Print more on stderr.
    #[arg(short, long, help_heading = GLOBAL, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The AWS connection, for the commands that call AWS.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile from the shared config files (or AWS_PROFILE); a profile
    /// that is not defined there is an error.
    #[arg(long, help_heading = AWS, value_name = "NAME", add = ArgValueCompleter::new(completion::profiles))]
    pub profile: Option<String>,
    /// AWS Region, as a guard: it must match the config's `region:` or the
    /// command refuses. lunora always calls the config's Region (a
    /// different AWS_REGION or profile region is not used).
    #[arg(long, help_heading = AWS, value_name = "REGION", add = ArgValueCompleter::new(completion::region))]
    pub region: Option<String>,
    /// Send AWS API calls to this endpoint (an emulator, for example): an
    /// http:// or https:// URL. An empty AWS_ENDPOINT_URL counts as unset.
    #[arg(long, help_heading = AWS, value_name = "URL", env = "AWS_ENDPOINT_URL", value_hint = ValueHint::Url)]
    pub endpoint_url: Option<String>,
    /// The longest one AWS call may take, retries included, in seconds
    /// (default 60; each attempt gets a third, connecting at most 5 s).
    #[arg(
        long,
        help_heading = AWS,
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
        help_heading = AWS,
        value_name = "SECS",
        env = "LUNORA_WAIT_TIMEOUT",
        value_parser = parse_seconds
    )]
    pub wait_timeout: Option<Duration>,
}

/// The shared options of the offline commands that read the config:
/// `-c`, `--output`, `--color`, `-q`, `-v`.
#[derive(Debug, Args)]
pub struct OfflineArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The shared options of the commands that call AWS: [`OfflineArgs`] and
/// the AWS options.
#[derive(Debug, Args)]
pub struct OnlineArgs {
    #[command(flatten)]
    pub offline: OfflineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The shared options as one command sees them, assembled from those given
/// before the command and those given after it. The commands receive this.
#[derive(Debug, Clone)]
pub struct GlobalArgs {
    pub config: PathBuf,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub aws_timeout: Option<Duration>,
    pub wait_timeout: Option<Duration>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub quiet: bool,
    pub verbose: u8,
}

impl GlobalArgs {
    /// The shared options of the command `matches` selects. An option the
    /// command does not take keeps its default, even if given before the
    /// command. Otherwise the value given last on the command line wins
    /// (after the command over before it), then the environment, then the
    /// default.
    pub fn from_matches(matches: &ArgMatches) -> Self {
        let chain: Vec<&ArgMatches> =
            std::iter::successors(Some(matches), |m| m.subcommand().map(|(_, sub)| sub)).collect();
        let leaf = chain.last().copied().unwrap_or(matches);
        Self {
            config: pick(&chain, leaf, "config").unwrap_or_else(|| PathBuf::from("lunora.yaml")),
            profile: pick(&chain, leaf, "profile"),
            region: pick(&chain, leaf, "region"),
            endpoint_url: pick(&chain, leaf, "endpoint_url"),
            aws_timeout: pick(&chain, leaf, "aws_timeout"),
            wait_timeout: pick(&chain, leaf, "wait_timeout"),
            output: pick(&chain, leaf, "output").unwrap_or(OutputFormat::Text),
            color: pick(&chain, leaf, "color").unwrap_or(ColorChoice::Auto),
            quiet: pick(&chain, leaf, "quiet").unwrap_or(false),
            verbose: pick(&chain, leaf, "verbose").unwrap_or(0),
        }
    }
}

/// The value of the option `id` for the command `leaf` (the last of
/// `chain`, the matches from `lunora` down to it): `None` when `leaf` does
/// not take it.
fn pick<T: Clone + Send + Sync + 'static>(
    chain: &[&ArgMatches],
    leaf: &ArgMatches,
    id: &str,
) -> Option<T> {
    if leaf.try_contains_id(id).is_err() {
        return None;
    }
    let value = |m: &&ArgMatches| m.try_get_one::<T>(id).ok().flatten().cloned();
    let given = |m: &&&ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
    // Only the levels that define `id`: `try_contains_id` is false there.
    let defined: Vec<&ArgMatches> = chain
        .iter()
        .copied()
        .filter(|m| m.try_contains_id(id).is_ok())
        .collect();
    if let Some(m) = defined.iter().rev().find(given) {
        return value(m);
    }
    value(&leaf)
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
    Validate(ValidateArgs),
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
    /// Add a destination to lunora.yaml, keeping its comments and layout.
    #[command(subcommand)]
    Add(AddCommand),
    /// Remove a destination from lunora.yaml, keeping its comments and
    /// layout.
    #[command(subcommand)]
    Remove(RemoveCommand),
    /// Print the JSON Schema of lunora.yaml (or of a preset or platform file).
    Schema(SchemaArgs),
    /// Serve the streaming and admin dashboards and the HTTP API (loopback
    /// by default; a token guards every change).
    Serve(ServeArgs),
    /// Print the shell script that completes lunora's commands, options,
    /// destination ids and stage names.
    Completions(CompletionsArgs),
    /// Print lunora's manual page (roff), or write one page per command.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// Every column, never wrapped (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
    /// Directory to write the templates to (default: `stacks/` next to the
    /// config file; a DIR given here is relative to the current directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write nothing; exit 1 and name the files if DIR differs from a fresh render.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
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
    #[arg(long, value_name = "STAGE", add = ArgValueCompleter::new(completion::stages))]
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
    pub shared: OnlineArgs,
    #[command(flatten)]
    pub gates: GateArgs,
    /// Execute exactly this saved plan (`plan --out`); refuse if a stack moved since.
    #[arg(long, value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
    #[command(flatten)]
    pub gates: GateArgs,
    /// The release to restore (`lunora releases`); default: the one before the latest.
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// Address and port to listen on. Anything but loopback needs
    /// `--token-required`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8040")]
    pub listen: std::net::SocketAddr,
    /// Serve the pages and the GET endpoints only (for a wall screen):
    /// every POST gets 403.
    #[arg(long)]
    pub read_only: bool,
    /// Every request under /api/ needs the token, reads included; needed
    /// to listen on a non-loopback address.
    #[arg(long)]
    pub token_required: bool,
    /// Seconds between readings of the live state while a page watches
    /// (1-60).
    #[arg(long, value_name = "SECS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub refresh: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
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
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// Destination ids.
    #[arg(value_name = "DEST", required_unless_present = "all", add = ArgValueCompleter::new(completion::destinations))]
    pub destinations: Vec<String>,
    /// Every destination.
    #[arg(long, conflicts_with = "destinations")]
    pub all: bool,
}

#[derive(Debug, Args)]
#[command(override_usage = "lunora stop [OPTIONS] <DEST>...\n       lunora stop [OPTIONS] --all")]
pub struct StopArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// Destination ids.
    #[arg(value_name = "DEST", required_unless_present = "all", add = ArgValueCompleter::new(completion::destinations))]
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
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// The source to prefer.
    #[arg(long, value_enum)]
    pub to: FailoverTarget,
}

#[derive(Debug, Args)]
pub struct ThumbnailArgs {
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// The destination whose channel's thumbnail to save.
    #[arg(
        value_name = "DEST",
        add = ArgValueCompleter::new(completion::destinations),
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
    #[command(flatten)]
    pub shared: OfflineArgs,
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
    #[arg(long, value_name = "DEST", value_delimiter = ',', add = ArgValueCompleter::new(completion::destinations))]
    pub destinations: Vec<String>,
    /// A rates file replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    pub rates: Option<PathBuf>,
    /// Every column, never wrapped (default: fit the terminal width).
    #[arg(long)]
    pub wide: bool,
    /// The hours every destination and the flow really ran this month,
    /// from lunora's records (release store audit trail, guards' stops),
    /// priced with the same rates and set beside the estimate and the
    /// budget. Needs AWS (and the release store).
    #[arg(long)]
    pub actual: bool,
    /// With `--actual`: the month to count, `YYYY-MM` in UTC (default:
    /// the current month, so far).
    #[arg(long, value_name = "YYYY-MM", requires = "actual")]
    pub month: Option<String>,
    /// The AWS connection (used by `--actual` only).
    #[command(flatten)]
    pub aws: AwsArgs,
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
    #[command(flatten)]
    pub shared: OnlineArgs,
    /// How to print the ids (`--output json` prints the JSON document too).
    #[arg(long, value_enum, default_value_t = OutputsFormat::Env)]
    pub format: OutputsFormat,
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Add an RTMP(S) destination (one MediaLive channel) after the last
    /// one, and to the stage of the other RTMP destinations. The new config
    /// is validated before the file is written; `lunora plan` shows what
    /// the next deploy creates. On a terminal (not with CI=true), it asks
    /// for the options left out.
    Destination(AddDestinationArgs),
}

#[derive(Debug, Args)]
pub struct AddDestinationArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
    /// The new destination's id: 1-32 lowercase letters, digits and `-`.
    pub id: String,
    /// The platform whose limits apply: `youtube`, `twitch`, `linkedin`,
    /// `facebook`, `custom` or a platform file of your own.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// The encoder preset (`lunora presets list`); it must pass the
    /// platform's limits.
    #[arg(long, value_name = "PRESET", add = ArgValueCompleter::new(completion::presets))]
    pub preset: Option<String>,
    /// The RTMP(S) ingest URL without the stream key (default: the
    /// platform's own, where it has one).
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub ingest_url: Option<String>,
    /// The ARN of the Secrets Manager secret holding the stream key (never
    /// the key itself).
    #[arg(long, value_name = "ARN")]
    pub stream_key_secret: Option<String>,
    /// The key of the stream key inside the secret's JSON string.
    #[arg(long, value_name = "KEY")]
    pub json_key: Option<String>,
    /// The stage to deploy it in (default: the stage of the other RTMP
    /// destinations).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RemoveCommand {
    /// Remove a destination and its mentions in `stages:`; the next deploy
    /// deletes its stack (channel, input, flow output).
    Destination(RemoveDestinationArgs),
}

#[derive(Debug, Args)]
pub struct RemoveDestinationArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
    /// The destination's id.
    #[arg(add = ArgValueCompleter::new(completion::destinations))]
    pub id: String,
    /// Write the file without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum PresetsCommand {
    /// List every preset and platform.
    List(PresetsListArgs),
    /// Show one preset, its platform's limits and any rule it breaks.
    Show(PresetsShowArgs),
}

#[derive(Debug, Args)]
pub struct PresetsListArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
}

#[derive(Debug, Args)]
pub struct PresetsShowArgs {
    #[command(flatten)]
    pub shared: OfflineArgs,
    /// Preset id.
    #[arg(add = ArgValueCompleter::new(completion::presets))]
    pub id: String,
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

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `lunora.1` and one page per command (`lunora-plan.1`, ...)
    /// into this directory instead of printing `lunora.1`.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::CommandFactory;

    use super::*;

    fn global(args: &[&str]) -> GlobalArgs {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        GlobalArgs::from_matches(&matches)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_option_after_the_command_beats_one_before_it() {
        assert_eq!(
            global(&["lunora", "-c", "a", "validate"]).config,
            Path::new("a")
        );
        assert_eq!(
            global(&["lunora", "validate", "-c", "b"]).config,
            Path::new("b")
        );
        assert_eq!(
            global(&["lunora", "-c", "a", "plan", "-c", "b"]).config,
            Path::new("b")
        );
        let g = global(&["lunora", "--profile", "p", "-q", "presets", "list"]);
        assert!(g.quiet);
        assert_eq!(g.profile, None, "presets takes no --profile");
        let g = global(&["lunora", "--profile", "p", "status", "--region", "r"]);
        assert_eq!(
            (g.profile.as_deref(), g.region.as_deref()),
            (Some("p"), Some("r"))
        );
    }

    #[test]
    fn an_option_the_command_does_not_take_keeps_its_default() {
        let g = global(&["lunora", "--profile", "p", "-c", "x", "validate"]);
        assert_eq!(g.profile, None);
        assert_eq!(g.config, Path::new("x"));
        let g = global(&["lunora", "--output", "json", "-v", "schema"]);
        assert_eq!((g.output, g.verbose), (OutputFormat::Text, 0));
        assert_eq!(
            global(&["lunora", "--aws-timeout", "2", "validate"]).aws_timeout,
            None
        );
    }
}
