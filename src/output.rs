//! The one place lunora writes to the terminal.
//!
//! stdout carries data only: a command's report as text, JSON or
//! markdown. stderr carries everything else: warnings, errors, progress.
//! Commands never print; they return a [`Report`] and this module prints it.
//!
//! Every JSON document is one contract (README, "JSON output"): the
//! report's own fields with an envelope flattened in front of them
//! ([`Envelope`]: `schema: lunora.<kind>/v1`, `kind`, `lunora_version`,
//! `generated_at`), added here and only here, so no command can print a
//! document without it. Reports that print a foreign format (a JSON
//! Schema, a completion script) say so with [`Report::enveloped`].
//!
//! A closed stdout or stderr (`lunora ... | head -1`) is not an error:
//! as ripgrep does, lunora stops writing there quietly and goes on, so a
//! deploy under way still finishes, records its release and releases the
//! lock, and the exit status is the run's own. Nothing here uses
//! `println!`/`eprintln!`, which panic on a broken pipe.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::{ColorChoice, OutputFormat};

/// The major version of the JSON output contract, the `v1` of
/// `lunora.<kind>/v1`. Fields are only added within a version; removing,
/// renaming or retyping one bumps it.
pub const CONTRACT_VERSION: u32 = 1;

/// `lunora.<kind>/v1`: the `schema` of a document of `kind`.
pub fn schema_id(kind: &str) -> String {
    format!("lunora.{kind}/v{CONTRACT_VERSION}")
}

/// Now, UTC, as RFC 3339 to the millisecond (`2026-05-01T18:00:00.123Z`):
/// the `generated_at` of documents and the `at` of progress events.
pub fn now_rfc3339() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// What every `--output json` document carries beside the report's own
/// fields (flattened in, so a document is one flat object).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<R> {
    /// `lunora.<kind>/v1`: which document this is and the major version
    /// of its contract.
    pub schema: String,
    /// The document's kind (`plan`, `deploy`, ...), as in `schema`.
    pub kind: String,
    /// The lunora that wrote it (`lunora --version`, without the commit).
    pub lunora_version: String,
    /// When it was written: RFC 3339, UTC.
    pub generated_at: String,
    #[serde(flatten)]
    pub report: R,
}

impl<R> Envelope<R> {
    /// `report` as a document of `kind`, written now.
    pub fn new(kind: &str, report: R) -> Self {
        Self {
            schema: schema_id(kind),
            kind: kind.to_owned(),
            lunora_version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at: now_rfc3339(),
            report,
        }
    }
}

/// `report` as its JSON document: with the envelope unless the report
/// prints a foreign format. One compact line when `line`, else pretty.
pub fn json_document<R: Report>(report: &R, line: bool) -> serde_json::Result<String> {
    fn to<T: Serialize>(value: &T, line: bool) -> serde_json::Result<String> {
        if line {
            serde_json::to_string(value)
        } else {
            serde_json::to_string_pretty(value)
        }
    }
    if report.enveloped() {
        to(&Envelope::new(report.kind(), report), line)
    } else {
        to(report, line)
    }
}

/// Exit statuses, defined once (see `lunora --help`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success, or no changes.
    #[default]
    Success = 0,
    /// Invalid input or a failed operation.
    Failure = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// Refused by a safety gate.
    Refused = 3,
    /// Deploy failed and was rolled back cleanly.
    RolledBack = 4,
}

/// A command's result: printable as text (Display), JSON (Serialize) and
/// markdown.
pub trait Report: Serialize + Display {
    /// The document's kind: `schema: lunora.<kind>/v1` in JSON, and the
    /// name of its schema file, `schema/output/<kind>.schema.json`.
    fn kind(&self) -> &'static str;

    /// False for reports that print a foreign format as it is (`lunora
    /// schema`, `lunora completions`): no envelope.
    fn enveloped(&self) -> bool {
        true
    }

    /// The report as markdown; defaults to the text in a code block.
    fn markdown(&self) -> String {
        format!("```text\n{self}\n```\n")
    }

    /// True for reports that end a JSON Lines stream (deploy, rollback):
    /// with `--output json` they print as one compact line.
    fn json_line(&self) -> bool {
        false
    }

    /// The exit status this report implies.
    fn status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// The terminal: output format, colour and verbosity, decided once.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    pub format: OutputFormat,
    /// Colour on stderr.
    pub color: bool,
    /// Colour on stdout (text reports on a terminal).
    pub color_stdout: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Console {
    /// Decides colour from the flag, the terminal and `NO_COLOR`/`TERM`.
    pub fn new(format: OutputFormat, color: ColorChoice, quiet: bool, verbose: u8) -> Self {
        let env_allows = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let (color, color_stdout) = match color {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                env_allows && std::io::stderr().is_terminal(),
                env_allows && std::io::stdout().is_terminal(),
            ),
        };
        Self {
            format,
            color,
            color_stdout: color_stdout && format == OutputFormat::Text,
            quiet,
            verbose,
        }
    }

    fn label(&self, label: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{label}\x1b[0m")
        } else {
            label.to_owned()
        }
    }

    /// Prints a report to stdout in the chosen format. A closed pipe is not
    /// an error.
    pub fn emit<R: Report>(&self, report: &R) -> std::io::Result<()> {
        let text = match self.format {
            OutputFormat::Text => {
                let mut t = report.to_string();
                if !t.is_empty() && !t.ends_with('\n') {
                    t.push('\n');
                }
                t
            }
            OutputFormat::Json => {
                let mut t =
                    json_document(report, report.json_line()).map_err(std::io::Error::other)?;
                t.push('\n');
                t
            }
            OutputFormat::Markdown => report.markdown(),
        };
        write_stdout(&text)
    }

    /// `error: ...` on stderr, one line per message line.
    pub fn error(&self, message: &dyn Display) {
        let label = self.label("error", "31");
        let mut text = String::new();
        for line in message.to_string().lines() {
            let line = line.strip_prefix("error: ").unwrap_or(line);
            text.push_str(&format!("{label}: {line}\n"));
        }
        write_stderr(&text);
    }

    /// `warning: ...` on stderr unless quiet.
    pub fn warn(&self, message: &dyn Display) {
        if !self.quiet {
            write_stderr(&format!("{}: {message}\n", self.label("warning", "33")));
        }
    }

    /// A plain note on stderr unless quiet.
    pub fn note(&self, message: &dyn Display) {
        if !self.quiet {
            write_stderr(&format!("{message}\n"));
        }
    }
}

/// Writes `text` to stdout in one piece. A closed pipe is not an error
/// (the reader has all it wanted); other errors are returned.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `text` to stderr in one piece, ignoring any error: when stderr
/// itself cannot be written, there is nowhere left to say so.
pub fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}
