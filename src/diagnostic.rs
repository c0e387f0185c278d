//! One-line, located error messages for bad input.
//!
//! Every problem lunora finds in `lunora.yaml` or in a preset file becomes a
//! [`Diagnostic`]: the file, the line and column, the field (as a path such as
//! `destinations[2].preset`), what is wrong, and a hint. It prints on one line
//! so that a CI log, an editor's problem matcher or a human at 2 a.m. can act
//! on it without reading a stack trace.
//!
//! With `--output json` or `--output markdown` a run that fails on bad
//! input also prints its diagnostics as a document on stdout
//! ([`DiagnosticsReport`], `lunora.diagnostics/v1`), so that CI can
//! annotate a pull request from it; stderr still gets the one-line errors.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::output::{ExitStatus, Report};

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Diagnostic {
    /// The file the problem is in, as the user named it.
    pub file: PathBuf,
    /// 1-based line, when the field could be located.
    pub line: Option<usize>,
    /// 1-based column, when the field could be located.
    pub column: Option<usize>,
    /// Path of the field, e.g. `flow.source.port`; empty for the whole file.
    pub field: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `field` in `file`, not yet located.
    pub fn new(file: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            column: None,
            field: field.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the position (1-based line and column).
    #[must_use]
    pub fn at(mut self, position: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = position {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

/// Writes `text` with control characters escaped, so that a value from
/// the input can neither break the one-line format nor drive the terminal.
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for ch in text.chars() {
        if ch.is_control() {
            write!(f, "{}", ch.escape_default())?;
        } else {
            write!(f, "{ch}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.file.display().to_string())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.field.is_empty() {
            f.write_str(": `")?;
            write_escaped(f, &self.field)?;
            f.write_str("`")?;
        }
        f.write_str(": ")?;
        write_escaped(f, &self.message)?;
        if let Some(hint) = &self.hint {
            f.write_str(" (hint: ")?;
            write_escaped(f, hint)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A non-empty list of diagnostics: what loading or validation returns when
/// the input is bad. Each prints on its own line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Wraps a single diagnostic.
    pub fn one(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                f.write_str("error: ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self::one(d)
    }
}

/// The document of a run that failed on bad input
/// (`lunora.diagnostics/v1`): every problem found, located. Exit 1.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsReport {
    /// Always false: the input was refused.
    pub valid: bool,
    pub diagnostics: Vec<Diagnostic>,
    /// Print as one JSON line (the command streams JSON Lines).
    #[serde(skip)]
    pub line: bool,
}

impl DiagnosticsReport {
    pub fn new(diagnostics: &Diagnostics, line: bool) -> Self {
        Self {
            valid: false,
            diagnostics: diagnostics.0.clone(),
            line,
        }
    }
}

impl fmt::Display for DiagnosticsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "error: {d}")?;
        }
        Ok(())
    }
}

/// `text` for a markdown table cell or list item: no line breaks, no
/// stray pipes or backticks.
fn md(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('`', "'")
}

impl Report for DiagnosticsReport {
    fn kind(&self) -> &'static str {
        "diagnostics"
    }

    fn markdown(&self) -> String {
        let mut out = format!(
            "### lunora: {} in the input\n\n| where | field | problem | hint |\n|---|---|---|---|\n",
            crate::progress::count(self.diagnostics.len(), "problem")
        );
        for d in &self.diagnostics {
            let mut at = md(&d.file.display().to_string());
            if let Some(line) = d.line {
                at.push_str(&format!(":{line}"));
                if let Some(column) = d.column {
                    at.push_str(&format!(":{column}"));
                }
            }
            let field = if d.field.is_empty() {
                String::new()
            } else {
                format!("`{}`", md(&d.field))
            };
            out.push_str(&format!(
                "| `{at}` | {field} | {} | {} |\n",
                md(&d.message),
                md(d.hint.as_deref().unwrap_or(""))
            ));
        }
        out
    }

    fn json_line(&self) -> bool {
        self.line
    }

    fn status(&self) -> ExitStatus {
        ExitStatus::Failure
    }
}
