//! Shell completion: the candidates for the values that only the config or
//! the AWS files know (destination ids, stage names, preset ids, profile
//! names, the Region), and the shell scripts that ask for them.
//!
//! lunora uses clap_complete's dynamic completion: the script
//! `lunora completions SHELL` prints registers a function that runs
//! `LUNORA_COMPLETE=SHELL lunora -- <words>` on every Tab; lunora then
//! prints the candidates and exits (see [`complete_if_asked`]). So the
//! candidates follow the config named on the command line being completed
//! (`-c PATH`, else `LUNORA_CONFIG`, else `./lunora.yaml`). Every failure
//! (no config, an invalid one, no AWS files) yields no candidates, never an
//! error: a Tab must not print one. Options that take a name or a number
//! never fall back to file names.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;
use clap_complete::env::Shells;

use crate::config::{self, Deployment};

/// The environment variable that puts lunora in completion mode.
pub const COMPLETE_VAR: &str = "LUNORA_COMPLETE";

/// The registration script for `shell`: sourced by the shell, it asks
/// `lunora` (found on PATH) for the candidates on every Tab.
pub fn script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| anyhow::anyhow!("lunora cannot complete for the shell `{name}`"))?;
    let mut buf = Vec::new();
    completer.write_registration(COMPLETE_VAR, "lunora", "lunora", "lunora", &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// In completion mode (`LUNORA_COMPLETE=SHELL lunora -- lunora WORDS...`),
/// the text to print for the shell: the registration script when no words
/// follow `--`, else the candidates for the last word. `None` otherwise.
pub fn complete_if_asked(
    command: impl FnOnce() -> clap::Command,
) -> Option<anyhow::Result<String>> {
    let shell = std::env::var_os(COMPLETE_VAR).filter(|v| !v.is_empty() && v != "0")?;
    Some(complete(command(), &shell))
}

fn complete(mut command: clap::Command, shell: &OsStr) -> anyhow::Result<String> {
    let name = shell.to_string_lossy();
    let shells = Shells::builtins();
    let completer = shells.completer(&name).ok_or_else(|| {
        let known: Vec<&str> = Shells::builtins().names().collect();
        anyhow::anyhow!(
            "{COMPLETE_VAR}={name} names no shell lunora completes for (hint: one of {})",
            known.join(", ")
        )
    })?;
    let words = words();
    let mut buf = Vec::new();
    if words.is_empty() {
        completer.write_registration(COMPLETE_VAR, "lunora", "lunora", "lunora", &mut buf)?;
    } else {
        let current_dir = std::env::current_dir().ok();
        completer.write_complete(&mut command, words, current_dir.as_deref(), &mut buf)?;
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The words of the command line being completed: the process's arguments
/// after the first `--`.
fn words() -> Vec<OsString> {
    std::env::args_os()
        .skip(1)
        .skip_while(|a| a != "--")
        .skip(1)
        .collect()
}

/// The config the command line being completed names: the last `-c` or
/// `--config`, else `LUNORA_CONFIG`, else `lunora.yaml`.
fn config_path(words: &[OsString]) -> PathBuf {
    let mut found = None;
    let mut iter = words.iter().map(|w| w.to_string_lossy());
    while let Some(word) = iter.next() {
        if word == "--" {
            break;
        }
        if word == "-c" || word == "--config" {
            if let Some(next) = iter.next() {
                found = Some(next.into_owned());
            }
        } else if let Some(path) = word.strip_prefix("--config=") {
            found = Some(path.to_owned());
        } else if let Some(path) = word.strip_prefix("-c").filter(|p| !p.is_empty()) {
            found = Some(path.trim_start_matches('=').to_owned());
        }
    }
    found
        .or_else(|| {
            std::env::var("LUNORA_CONFIG")
                .ok()
                .filter(|p| !p.is_empty())
        })
        .map_or_else(|| PathBuf::from("lunora.yaml"), PathBuf::from)
}

/// The validated config of the command line being completed, if any.
fn deployment() -> Option<Deployment> {
    config::load(&config_path(&words())).ok()
}

/// The candidates among `values` that start with `current`.
fn matching<I, S>(current: &OsStr, values: I) -> Vec<CompletionCandidate>
where
    I: IntoIterator<Item = (S, Option<String>)>,
    S: Into<String>,
{
    let current = current.to_string_lossy();
    values
        .into_iter()
        .map(|(value, help)| (value.into(), help))
        .filter(|(value, _): &(String, _)| value.starts_with(current.as_ref()))
        .map(|(value, help)| CompletionCandidate::new(value).help(help.map(Into::into)))
        .collect()
}

/// The config's destination ids, each with its platform's name.
pub fn destinations(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(deployment) = deployment() else {
        return Vec::new();
    };
    matching(
        current,
        deployment
            .destinations
            .iter()
            .map(|d| (d.destination.id.clone(), Some(d.platform.name.clone()))),
    )
}

/// The config's stage names (its `stages:`, or the default ones).
pub fn stages(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(deployment) = deployment() else {
        return Vec::new();
    };
    matching(
        current,
        deployment
            .stages
            .iter()
            .map(|s| (s.name.clone(), Some(format!("{} stack(s)", s.stacks.len())))),
    )
}

/// The preset ids the config sees (built-in ones without a config).
pub fn presets(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(library) = crate::presets::catalog::library(&config_path(&words())) else {
        return Vec::new();
    };
    matching(
        current,
        library
            .presets
            .values()
            .map(|p| (p.value.id.clone(), Some(p.value.description.clone()))),
    )
}

/// The Region `--region` accepts: the config's, since lunora always calls
/// it and refuses any other.
pub fn region(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(deployment) = deployment() else {
        return Vec::new();
    };
    matching(current, [(deployment.config.region, None)])
}

/// The profiles of the shared AWS config and credentials files, read by
/// the SDK's own loader, which honours AWS_CONFIG_FILE and
/// AWS_SHARED_CREDENTIALS_FILE
/// (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html).
pub fn profiles(current: &OsStr) -> Vec<CompletionCandidate> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return Vec::new();
    };
    let loaded = runtime.block_on(aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &EnvConfigFiles::default(),
        None,
    ));
    let Ok(set) = loaded else {
        return Vec::new();
    };
    let mut names: Vec<String> = set.profiles().map(str::to_owned).collect();
    names.sort_unstable();
    matching(current, names.into_iter().map(|n| (n, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_config_is_the_last_one_named() {
        assert_eq!(
            config_path(&os(&[
                "lunora", "-c", "a.yaml", "start", "--config", "b.yaml"
            ])),
            PathBuf::from("b.yaml")
        );
        assert_eq!(
            config_path(&os(&["lunora", "--config=c.yaml", "start"])),
            PathBuf::from("c.yaml")
        );
        assert_eq!(
            config_path(&os(&["lunora", "-cd.yaml", "start"])),
            PathBuf::from("d.yaml")
        );
    }

    #[test]
    fn candidates_match_the_prefix() {
        let got = matching(
            OsStr::new("tw"),
            [("twitch", None), ("youtube", None), ("twitter", None)],
        );
        let values: Vec<String> = got
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(values, ["twitch", "twitter"]);
    }
}
