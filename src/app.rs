//! Wiring: command line to command to report to exit status. The only place
//! that knows every command.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{
    AddCommand, Cli, Command, GlobalArgs, OutputFormat, PresetsCommand, RemoveCommand,
};
use crate::commands;
use crate::diagnostic::{Diagnostics, DiagnosticsReport};
use crate::output::{Console, ExitStatus, Report};

/// Runs lunora with the process's arguments.
pub fn main() -> ExitCode {
    clear_empty_endpoint_vars();
    if let Some(completed) = crate::completion::complete_if_asked(Cli::command) {
        return print_completion(completed);
    }
    let (cli, g) = match parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            };
            // clap prints its own usage errors and help.
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let console = Console::new(g.output, g.color, g.quiet, g.verbose);
    let status = match run(&cli, &g, &console) {
        Ok(status) => status,
        Err(err) => {
            report_error(&console, &err);
            emit_diagnostics(&cli, &console, &err);
            exit_status_of(&err)
        }
    };
    ExitCode::from(status as u8)
}

/// The command line, and the shared options as the command sees them.
fn parse() -> Result<(Cli, GlobalArgs), clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    Ok((cli, GlobalArgs::from_matches(&matches)))
}

/// Prints what the shell asked for in completion mode; a failure is one
/// line on stderr and exit 1 (the shell then offers nothing).
fn print_completion(completed: anyhow::Result<String>) -> ExitCode {
    let console = Console::new(
        crate::cli::OutputFormat::Text,
        crate::cli::ColorChoice::Never,
        false,
        0,
    );
    let status = match completed.and_then(|text| Ok(console.emit(&commands::RawText(text))?)) {
        Ok(()) => ExitStatus::Success,
        Err(err) => {
            report_error(&console, &err);
            ExitStatus::Failure
        }
    };
    ExitCode::from(status as u8)
}

/// An empty `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`) counts as
/// unset. The SDK would otherwise read it as an endpoint and panic on it;
/// removing it before any thread starts is the one way to keep the SDK's
/// own environment reading from seeing it.
fn clear_empty_endpoint_vars() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(k, v)| {
            k.to_str()
                .is_some_and(|k| k == "AWS_ENDPOINT_URL" || k.starts_with("AWS_ENDPOINT_URL_"))
                && v.to_str().is_some_and(|v| v.trim().is_empty())
        })
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        // Safe to call here: `main` has started no other thread yet.
        std::env::remove_var(k);
    }
}

/// Refusals by a safety gate exit 3; every other error exits 1.
fn exit_status_of(err: &anyhow::Error) -> ExitStatus {
    if err.downcast_ref::<crate::ops::Refused>().is_some() {
        return ExitStatus::Refused;
    }
    if let Some(e) = err.downcast_ref::<crate::release::ReleaseError>() {
        return e.exit_status();
    }
    ExitStatus::Failure
}

fn report_error(console: &Console, err: &anyhow::Error) {
    if let Some(d) = err.downcast_ref::<Diagnostics>() {
        for d in &d.0 {
            console.error(d);
        }
    } else {
        console.error(&format!("{err:#}"));
    }
}

/// With `--output json` or `markdown`, bad input is also a document on
/// stdout (`lunora.diagnostics/v1`), for CI to annotate a pull request.
fn emit_diagnostics(cli: &Cli, console: &Console, err: &anyhow::Error) {
    let Some(diagnostics) = err.downcast_ref::<Diagnostics>() else {
        return;
    };
    if console.format == OutputFormat::Text {
        return;
    }
    // deploy, rollback, start and stop stream JSON Lines: the document is
    // one line.
    let line = matches!(
        cli.command,
        Command::Deploy(_) | Command::Rollback(_) | Command::Start(_) | Command::Stop(_)
    );
    if let Err(e) = console.emit(&DiagnosticsReport::new(diagnostics, line)) {
        console.error(&format!("cannot write the diagnostics: {e}"));
    }
}

fn emit<R: Report>(console: &Console, report: &R) -> anyhow::Result<ExitStatus> {
    console.emit(report)?;
    Ok(report.status())
}

fn run(cli: &Cli, g: &GlobalArgs, console: &Console) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate(_) => {
            let report = commands::validate::run(&g.config, console)?;
            emit(console, &report)
        }
        Command::Render(args) => {
            let report =
                commands::render::run(&g.config, args.out.as_deref(), args.check, console)?;
            emit(console, &report)
        }
        Command::Presets(PresetsCommand::List(_)) => {
            let report = commands::presets::list(&g.config, console)?;
            emit(console, &report)
        }
        Command::Presets(PresetsCommand::Show(args)) => {
            let report = commands::presets::show(&g.config, &args.id, console)?;
            emit(console, &report)
        }
        Command::Add(AddCommand::Destination(args)) => {
            let report = commands::destination::add(&g.config, args, console)?;
            emit(console, &report)
        }
        Command::Remove(RemoveCommand::Destination(args)) => {
            let report = commands::destination::remove(&g.config, args)?;
            emit(console, &report)
        }
        Command::Schema(args) => {
            console.emit(&commands::schema::Schema::of(args.kind))?;
            Ok(ExitStatus::Success)
        }
        Command::Completions(args) => {
            let script = crate::completion::script(args.shell)?;
            console.emit(&commands::RawText(script))?;
            Ok(ExitStatus::Success)
        }
        Command::Man(args) => {
            let report = commands::man::run(Cli::command(), args.dir.as_deref())?;
            emit(console, &report)
        }
        Command::Plan(args) => {
            let report = runtime()?.block_on(commands::plan::run(
                &g.config,
                args.detailed_exitcode,
                args.out.as_ref(),
                args.wide,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Deploy(args) => {
            let options = deploy_options(&args.gates, args.plan.clone());
            let report = runtime()?.block_on(commands::deploy::run(
                &g.config,
                &options,
                args.gates.yes,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Rollback(args) => {
            let options = deploy_options(&args.gates, None);
            let report = runtime()?.block_on(commands::rollback::run(
                &g.config,
                args.to.as_deref(),
                &options,
                args.gates.yes,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Releases(args) => {
            let report = runtime()?
                .block_on(async {
                    let deployment = commands::load(&g.config, console)?;
                    let aws = commands::aws_for(&deployment, &aws_settings(g), console).await?;
                    let online = aws.has_credentials().await;
                    let store = commands::open_store(&deployment, online.then_some(&aws))?;
                    commands::releases::run(&store, online.then_some((&aws, &deployment))).await
                })
                .map(|mut r| {
                    r.width = crate::screen::width(args.wide, crate::screen::Stream::Stdout);
                    r
                })?;
            emit(console, &report)
        }
        Command::Serve(args) => {
            runtime()?.block_on(commands::serve::run(
                &g.config,
                commands::serve::options(args),
                &aws_settings(g),
                console,
            ))?;
            Ok(ExitStatus::Success)
        }
        Command::Status(args) => {
            let report = runtime()?.block_on(commands::status::run(
                &g.config,
                commands::status::StatusOptions {
                    watch: args.watch,
                    interval: std::time::Duration::from_secs(args.interval),
                    check: args.check,
                    wide: args.wide,
                },
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Start(args) => {
            let report = runtime()?.block_on(commands::operate::start(
                &g.config,
                &args.destinations,
                args.all,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Stop(args) => {
            let report = runtime()?.block_on(commands::operate::stop(
                &g.config,
                &args.destinations,
                args.all,
                args.keep_flow,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Failover(args) => {
            let report = runtime()?.block_on(commands::failover::run(
                &g.config,
                args.to,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Thumbnail(args) => {
            let report = runtime()?.block_on(commands::thumbnail::run(
                &g.config,
                args,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Cost(args) if args.actual => {
            let report = runtime()?.block_on(commands::cost::run_actual(
                &g.config,
                args,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
        Command::Cost(args) => {
            let report = commands::cost::run(&g.config, args, console)?;
            emit(console, &report)
        }
        Command::Outputs(args) => {
            let report = runtime()?.block_on(commands::outputs::run(
                &g.config,
                args.format,
                &aws_settings(g),
                console,
            ))?;
            emit(console, &report)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn aws_settings(g: &GlobalArgs) -> crate::aws::AwsSettings {
    crate::aws::AwsSettings {
        profile: g.profile.clone(),
        region: g.region.clone(),
        endpoint_url: g.endpoint_url.clone(),
        call_timeout: g.aws_timeout,
        wait_timeout: g.wait_timeout,
    }
}

fn deploy_options(
    g: &crate::cli::GateArgs,
    plan_file: Option<std::path::PathBuf>,
) -> crate::ops::deploy::DeployOptions {
    crate::ops::deploy::DeployOptions {
        stage: g.stage.clone(),
        plan_file,
        allow_replace: g.allow_replace.clone(),
        restart_running: g.restart_running,
        force_unlock: g.force_unlock,
        restore_source: g.restore_source,
    }
}
