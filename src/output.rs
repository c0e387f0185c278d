//! The one place lunora writes to the terminal.
//!
//! stdout carries data only: a command's report as text, JSON or
//! markdown. stderr carries everything else: warnings, errors, progress.
//! Commands never print; they return a [`Report`] and this module prints it.
//!
//! A closed stdout or stderr (`lunora ... | head -1`) is not an error:
//! as ripgrep does, lunora stops writing there quietly and goes on, so a
//! deploy under way still finishes, records its release and releases the
//! lock, and the exit status is the run's own. Nothing here uses
//! `println!`/`eprintln!`, which panic on a broken pipe.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::cli::{ColorChoice, OutputFormat};

/// Exit statuses, defined once (see `lunora --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success, or no changes.
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
                let mut t = if report.json_line() {
                    serde_json::to_string(report)
                } else {
                    serde_json::to_string_pretty(report)
                }
                .map_err(std::io::Error::other)?;
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
