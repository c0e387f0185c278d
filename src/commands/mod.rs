//! One module per command, the CLI face: each gathers its inputs, calls
//! the core or an operation ([`crate::ops`]) and returns a report; none
//! prints, and none imports another. This module holds what the faces
//! share: connecting (printing the warnings the operations return), the
//! deploy lock, and the CLI's part in a deploy or rollback run
//! ([`Terminal`]: the plan on stderr, the question, the progress).

pub mod cost;
pub mod deploy;
pub mod destination;
pub mod failover;
pub mod man;
pub mod operate;
pub mod outputs;
pub mod plan;
pub mod presets;
pub mod releases;
pub mod render;
pub mod rollback;
pub mod schema;
pub mod serve;
pub mod status;
pub mod thumbnail;
pub mod validate;

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use crate::config::{self, Deployment};
use crate::output::{Console, ExitStatus, Report};

/// Text that is already formatted (completion scripts).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct RawText(pub String);

impl fmt::Display for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Report for RawText {
    fn kind(&self) -> &'static str {
        "completions"
    }

    /// A completion script, as it is.
    fn enveloped(&self) -> bool {
        false
    }

    fn markdown(&self) -> String {
        self.0.clone()
    }
}

/// The release store the config names (`state:`), S3 through `aws`.
pub fn open_store(
    deployment: &Deployment,
    aws: Option<&crate::aws::Aws>,
) -> anyhow::Result<crate::release::ReleaseStore> {
    crate::ops::open_store(deployment, aws)
}

/// [`connect`] for the operating commands (status, start, stop,
/// failover, outputs), which need no caller identity.
pub(crate) async fn connect_operating(
    config: &Path,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws)> {
    let (deployment, aws, _) = connect(config, settings, console, command).await?;
    Ok((deployment, aws))
}

/// Takes the deploy lock (exit 3 when another run holds it), warning
/// about a lock removed with `--force-unlock`.
pub async fn lock(
    store: &crate::release::ReleaseStore,
    caller: &crate::aws::Caller,
    command: &str,
    force_unlock: bool,
    console: &Console,
) -> anyhow::Result<crate::release::LockGuard> {
    let (guard, warning) = crate::ops::lock(store, caller, command, force_unlock).await?;
    if let Some(w) = warning {
        console.warn(&w);
    }
    Ok(guard)
}

/// For the commands that change or read AWS: the validated config, the
/// clients (with the template bucket set) and the caller, after checking
/// that there are credentials and that they belong to the config's account.
pub(crate) async fn connect(
    config: &Path,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws, crate::aws::Caller)> {
    let deployment = load(config, console)?;
    connect_loaded(deployment, settings, console, command).await
}

/// [`connect_operating`] for the commands that take destination ids:
/// an unknown id fails before any AWS call.
pub(crate) async fn connect_for_destinations(
    config: &Path,
    ids: &[String],
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws)> {
    let deployment = load(config, console)?;
    deployment.check_destination_ids(ids)?;
    let (deployment, aws, _) = connect_loaded(deployment, settings, console, command).await?;
    Ok((deployment, aws))
}

/// [`connect`] with the config already loaded.
async fn connect_loaded(
    deployment: Deployment,
    settings: &crate::aws::AwsSettings,
    console: &Console,
    command: &str,
) -> anyhow::Result<(Deployment, crate::aws::Aws, crate::aws::Caller)> {
    let aws = aws_for(&deployment, settings, console).await?;
    let caller = crate::ops::caller(&aws, &deployment, command).await?;
    Ok((deployment, aws, caller))
}

/// The clients for the config's Region, with the template bucket set;
/// warns about each Region setting lunora does not follow.
pub(crate) async fn aws_for(
    deployment: &Deployment,
    settings: &crate::aws::AwsSettings,
    console: &Console,
) -> anyhow::Result<crate::aws::Aws> {
    let (mut aws, warnings) = crate::ops::clients(deployment, settings).await?;
    // Notes from the AWS layer (e.g. a refused stack listing read stack
    // by stack instead) change no result: shown at -v only.
    let console = *console;
    if console.verbose > 0 {
        aws.notes = crate::aws::Notes::new(move |text| console.note(&text));
    }
    for w in warnings {
        console.warn(&w);
    }
    Ok(aws)
}

/// Loads and validates the config, printing its warnings on stderr.
pub fn load(path: &Path, console: &Console) -> anyhow::Result<Deployment> {
    let deployment = config::load(path)?;
    for w in &deployment.warnings {
        console.warn(w);
    }
    Ok(deployment)
}

/// What `lunora deploy` and `lunora rollback` print: the run's report
/// ([`crate::ops::deploy::DeployReport`], the JSON document as it is),
/// drawn for the terminal (in [`deploy`]).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DeployOutput {
    pub run: crate::ops::deploy::DeployReport,
    /// Colour the failures (stdout is a terminal and colour is allowed).
    #[serde(skip)]
    pub color: bool,
    /// The text's width (`None`: no limit).
    #[serde(skip)]
    pub width: Option<usize>,
}

impl DeployOutput {
    /// `run`, drawn as `console` allows on stdout.
    pub fn new(run: crate::ops::deploy::DeployReport, console: &Console) -> Self {
        Self {
            run,
            color: console.color_stdout,
            width: crate::screen::width(false, crate::screen::Stream::Stdout),
        }
    }
}

/// The exit code of a run: 0 complete, 4 failed and rolled back cleanly,
/// 1 otherwise.
pub fn exit_status(verdict: crate::ops::deploy::Verdict) -> ExitStatus {
    match verdict {
        crate::ops::deploy::Verdict::Complete => ExitStatus::Success,
        crate::ops::deploy::Verdict::RolledBack => ExitStatus::RolledBack,
        crate::ops::deploy::Verdict::Failed => ExitStatus::Failure,
    }
}

/// The CLI's part in a deploy or rollback run: the plan on stderr, the
/// question on the terminal (`--yes` answers it), progress as the console
/// says.
pub struct Terminal<'a> {
    pub console: &'a Console,
    pub yes: bool,
}

impl crate::ops::deploy::Review for Terminal<'_> {
    fn show(&self, heading: Option<&str>, plan: &crate::ops::plan::Plan, question_follows: bool) {
        if let Some(heading) = heading {
            self.console.note(&heading);
        }
        show_plan(plan, self.console, question_follows && !self.yes);
    }

    fn approve(&self, question: &str) -> anyhow::Result<bool> {
        confirm(question, self.yes)
    }

    fn progress(&self) -> crate::progress::Progress {
        crate::progress::Progress::new(self.console)
    }
}

/// Shows the plan a deploy or rollback is about to execute, like
/// `terraform apply`: every stack and resource, the risks and the
/// security changes, on stderr. Before a question it is shown even with
/// `--quiet`: nobody is asked to approve what they cannot see.
pub fn show_plan(plan: &crate::ops::plan::Plan, console: &Console, asking: bool) {
    let report = plan::PlanReport {
        plan: plan.clone(),
        detailed_exitcode: false,
        color: console.color,
        width: crate::screen::width(false, crate::screen::Stream::Stderr),
    };
    if asking {
        crate::output::write_stderr(&format!("{report}\n"));
    } else {
        console.note(&report);
    }
}

/// `CI` is set to a true value: nothing may wait for an answer.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether [`confirm`] would ask (stdin is a terminal, not in CI).
pub fn can_confirm() -> bool {
    !in_ci() && std::io::stdin().is_terminal()
}

/// Whether a command may ask for what is missing: stdin and stderr (where
/// the questions go) are terminals, and not in CI.
pub fn can_prompt() -> bool {
    can_confirm() && std::io::stderr().is_terminal()
}

/// Asks for consent on a terminal; refuses to block CI.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !can_confirm() {
        anyhow::bail!("{question} needs `--yes` when not run interactively (stdin is not a terminal or CI=true); nothing was changed");
    }
    // A closed stderr does not stop the question (stdin is a terminal).
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ").and_then(|()| stderr.flush());
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Deletes the change sets a run prepared and did not execute, warning
/// about any left behind.
pub async fn discard_unexecuted(aws: &crate::aws::Aws, console: &Console) {
    for w in crate::ops::deploy::discard_unexecuted(aws).await {
        console.warn(&w);
    }
}
