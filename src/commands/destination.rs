//! `lunora add destination` and `lunora remove destination`: the
//! "Add destination" form of the original request, as commands that edit
//! lunora.yaml in place. The checks, the edit and the validation are the
//! operation [`crate::ops::destination`]; this face turns the options into
//! a request, asks for the confirmation of a remove, and presents the
//! reports.
//!
//! Both refuse, with one line and the file untouched, when the config is
//! already invalid, when an option is missing or wrong, or when the new
//! config would not validate; only then is the file replaced (temporary
//! file and rename, keeping its mode). Offline: nothing here calls AWS.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context as _};
use inquire::error::InquireError;
use inquire::validator::Validation;
use inquire::{Password, PasswordDisplayMode, Select, Text};

use crate::cli::{AddDestinationArgs, RemoveDestinationArgs};
use crate::ops::destination::{self as op, AddRequest};
pub use crate::ops::destination::{AddReport, CostChange, RemoveReport};
use crate::output::{Console, Report};

/// Runs `lunora add destination`: on a terminal (and not in CI) it asks
/// for the missing options first; elsewhere a missing option is an error
/// that names it.
pub fn add(path: &Path, args: &AddDestinationArgs, console: &Console) -> anyhow::Result<AddReport> {
    let mut req = AddRequest {
        id: args.id.clone(),
        platform: args.platform.clone(),
        preset: args.preset.clone(),
        ingest_url: args.ingest_url.clone(),
        stream_key_secret: args.stream_key_secret.clone(),
        json_key: args.json_key.clone(),
        stage: args.stage.clone(),
    };
    // Asking starts when a needed option is missing; then the optional
    // ones left out are asked too (with their defaults), so a complete
    // command line never waits for an answer.
    let missing = req.platform.is_none() || req.preset.is_none() || req.stream_key_secret.is_none();
    if missing && super::can_prompt() {
        ask_missing(path, &mut req)?;
    }
    let prepared = op::prepare_add(path, &req)?;
    op::write(path, &prepared.original, &prepared.edited)?;
    for w in &prepared.warnings {
        console.warn(w);
    }
    Ok(prepared.report)
}

/// What a prompt gave: a value, or the user left (Esc or Ctrl-C), which
/// ends the command with nothing written.
fn answered<T>(result: Result<T, InquireError>) -> anyhow::Result<T> {
    match result {
        Ok(v) => Ok(v),
        Err(InquireError::OperationCanceled | InquireError::OperationInterrupted) => {
            bail!("cancelled; nothing was written")
        }
        Err(e) => bail!("cannot ask for the missing options ({e}); give them on the command line; nothing was written"),
    }
}

/// One preset in the choice: its id, renditions and whether the platform
/// recommends it.
struct PresetOption(op::PresetChoice);

impl fmt::Display for PresetOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}", self.0.id, self.0.summary)?;
        if self.0.recommended {
            write!(f, "  (recommended)")?;
        }
        Ok(())
    }
}

/// Asks, on stderr, for each option the command line left out: the
/// platform, the preset (only those that pass its limits), the ingest URL
/// (the platform's own by default), the stream key's secret ARN (never
/// shown) and the JSON key (optional). A wrong value given on the command
/// line is refused before any question.
fn ask_missing(path: &Path, req: &mut AddRequest) -> anyhow::Result<()> {
    let (_, deployment, library) = op::load_valid(path)?;
    op::check_new_id(&deployment, &req.id)?;
    let platform = match &req.platform {
        Some(p) => p.clone(),
        None => {
            let ids = op::rtmp_platforms(&library);
            answered(Select::new("Platform:", ids).with_page_size(10).prompt())?
        }
    };
    op::check_platform(&library, &platform)?;
    req.platform = Some(platform.clone());
    if req.preset.is_none() {
        let choices = op::preset_choices(&library, &platform);
        if choices.is_empty() {
            bail!("no preset passes `{platform}`'s limits (`lunora presets list`); nothing was written");
        }
        let start = choices.iter().position(|c| c.recommended).unwrap_or(0);
        let options: Vec<PresetOption> = choices.into_iter().map(PresetOption).collect();
        let chosen = answered(
            Select::new(
                &format!("Preset (those that pass {platform}'s limits):"),
                options,
            )
            .with_starting_cursor(start)
            .with_page_size(10)
            .with_formatter(&|o| o.value.0.id.clone())
            .prompt(),
        )?;
        req.preset = Some(chosen.0.id);
    }
    if req.ingest_url.is_none() {
        let default = op::default_ingest_url(&library, &platform);
        let mut prompt =
            Text::new("Ingest URL (without the stream key):").with_validator(|s: &str| {
                Ok(if s.trim().is_empty() {
                    Validation::Invalid(
                        "an RTMP(S) URL is needed: this platform has no default".into(),
                    )
                } else if crate::config::secrets::detect(s).is_some() {
                    Validation::Invalid(
                        "this looks like a secret: give the URL without the stream key".into(),
                    )
                } else {
                    Validation::Valid
                })
            });
        if let Some(d) = &default {
            prompt = prompt
                .with_default(d)
                .with_help_message("Enter keeps the platform's default");
        }
        let url = answered(prompt.prompt())?;
        // The platform's default is not written: the destination follows it.
        req.ingest_url = (Some(url.trim()) != default.as_deref()).then(|| url.trim().to_owned());
    }
    if req.stream_key_secret.is_none() {
        let check = deployment.clone();
        let arn = answered(
            Password::new("Stream key secret ARN (Secrets Manager; not shown):")
                .without_confirmation()
                .with_display_mode(PasswordDisplayMode::Hidden)
                .with_help_message("arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx")
                .with_validator(move |s: &str| {
                    Ok(match op::stream_key_secret_problem(&check, s.trim()) {
                        Some(problem) => Validation::Invalid(problem.into()),
                        None => Validation::Valid,
                    })
                })
                .prompt(),
        )?;
        req.stream_key_secret = Some(arn.trim().to_owned());
    }
    if req.json_key.is_none() {
        let key = answered(
            Text::new("JSON key of the stream key in the secret (optional):")
                .with_help_message("Enter for none: the secret's whole string is the key")
                .with_validator(|s: &str| {
                    Ok(if crate::config::secrets::detect(s).is_some() {
                        Validation::Invalid("this looks like a secret, not a key name".into())
                    } else {
                        Validation::Valid
                    })
                })
                .prompt(),
        )?;
        let key = key.trim();
        req.json_key = (!key.is_empty()).then(|| key.to_owned());
    }
    Ok(())
}

/// Runs `lunora remove destination`: shows the lines it removes and the
/// stages it edits, then asks (or takes `--yes`).
pub fn remove(path: &Path, args: &RemoveDestinationArgs) -> anyhow::Result<RemoveReport> {
    let prepared = op::prepare_remove(path, &args.id)?;
    if !args.yes && super::can_confirm() {
        let mut shown = format!("these lines leave {}:\n\n", path.display());
        for line in prepared.block.lines() {
            shown.push_str(&format!("  {line}\n"));
        }
        shown.push('\n');
        for change in stage_changes(&prepared.report) {
            shown.push_str(&format!("and {change}\n"));
        }
        crate::output::write_stderr(&shown);
    }
    let question = format!(
        "remove destination `{}` from `{}` (the next deploy deletes {})?",
        args.id,
        path.display(),
        prepared.report.deletes.join(", ")
    );
    if !super::confirm(&question, args.yes)? {
        bail!("not confirmed; nothing was written");
    }
    op::write(path, &prepared.original, &prepared.edited)
        .with_context(|| format!("cannot remove destination `{}`", args.id))?;
    Ok(prepared.report)
}

/// What a removal does to the stages, in words: the id leaves the lists
/// of the stages that keep something to deploy, and a stage it was all
/// of goes whole.
fn stage_changes(r: &RemoveReport) -> Vec<String> {
    let kept = kept_stages(r);
    let mut changes = Vec::new();
    if !kept.is_empty() {
        changes.push(format!(
            "`{}` leaves the list of stage `{}`",
            r.destination,
            kept.join("`, `")
        ));
    }
    for s in &r.removed_stages {
        changes.push(format!(
            "stage `{s}` goes: `{}` was all it deployed",
            r.destination
        ));
    }
    changes
}

/// The stages whose lists lose the id and that stay.
fn kept_stages(r: &RemoveReport) -> Vec<&str> {
    r.stages
        .iter()
        .filter(|s| !r.removed_stages.contains(s))
        .map(String::as_str)
        .collect()
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
        let kept = kept_stages(self);
        if !kept.is_empty() {
            write!(f, " and from stage `{}`", kept.join("`, `"))?;
        }
        for s in &self.removed_stages {
            write!(
                f,
                "; stage `{s}` goes too: `{}` was all it deployed",
                self.destination
            )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stages: &[&str], removed: &[&str]) -> RemoveReport {
        RemoveReport {
            config: "lunora.yaml".into(),
            destination: "primary".to_owned(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            removed_stages: removed.iter().map(|s| (*s).to_owned()).collect(),
            deletes: vec!["the stack `p-dest-primary`".to_owned()],
            cost: op::CostChange {
                streaming_hours: 100.0,
                before_usd: 2.0,
                after_usd: 1.0,
                change_usd: -1.0,
            },
            next: "lunora plan".to_owned(),
        }
    }

    /// What `remove` shows before asking, and what it prints after: a
    /// stage removed whole is said to go, not to lose the id.
    #[test]
    fn a_stage_removed_whole_is_said_to_go() {
        let gone = report(&["primary"], &["primary"]);
        assert_eq!(
            stage_changes(&gone),
            ["stage `primary` goes: `primary` was all it deployed"]
        );
        let text = gone.to_string();
        assert!(
            text.starts_with("removed destination `primary` from lunora.yaml; stage `primary` goes too: `primary` was all it deployed\n"),
            "{text}"
        );
        let both = report(&["a", "b"], &["b"]);
        assert_eq!(
            stage_changes(&both),
            [
                "`primary` leaves the list of stage `a`",
                "stage `b` goes: `primary` was all it deployed"
            ]
        );
        assert!(both.to_string().starts_with(
            "removed destination `primary` from lunora.yaml and from stage `a`; stage `b` goes too"
        ));
        let kept = report(&["a"], &[]);
        assert_eq!(
            stage_changes(&kept),
            ["`primary` leaves the list of stage `a`"]
        );
        assert!(stage_changes(&report(&[], &[])).is_empty());
    }
}
