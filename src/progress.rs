//! Progress of stack operations, on stderr (or as JSON Lines on stdout
//! with `--output json`).
//!
//! On a terminal: one indicatif line per stack with its latest event and
//! the elapsed time. Elsewhere (CI logs): plain timestamped lines, one per
//! event, never interleaved mid-line. With `--output json`: one JSON
//! object per event on stdout ([`ProgressEvent`], timestamped), for tools;
//! the command's report ends the stream as one line with the envelope of
//! every document (`crate::output`).
//!
//! Every write goes through `crate::output`, so a closed stdout or stderr
//! stops the progress quietly and never the deploy.
//!
//! A face that is not a terminal (the HTTP server) takes the events
//! instead: [`Progress::to_channel`] sends the very [`ProgressEvent`]s of
//! the JSON Lines mode down a channel and prints nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use tokio::sync::mpsc::UnboundedSender;

use crate::cli::OutputFormat;
use crate::output::{write_stderr, write_stdout, Console};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bars,
    Lines,
    Json,
    Quiet,
    /// Events go down [`Progress::to_channel`]'s channel.
    Channel,
}

/// Progress of one command run.
#[derive(Debug, Clone)]
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    start: Instant,
    /// Where events go in [`Mode::Channel`].
    tx: Option<UnboundedSender<ProgressEvent>>,
}

/// One line of the JSON Lines stream of `deploy`, `rollback`, `start` and
/// `stop` (`schema/output/progress-event.schema.json`; no envelope: the
/// report line that ends the stream carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressEvent {
    /// `event` (CloudFormation's), `step` (lunora's own), `done` or
    /// `failed` (the stack's end).
    pub kind: String,
    pub stack: String,
    /// When it was seen: RFC 3339, UTC.
    pub at: String,
    /// Since the run started.
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The resource status (`CREATE_COMPLETE`, ...) or what lunora is
    /// doing.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Progress {
    /// Decides the mode from the console and the terminal.
    pub fn new(console: &Console) -> Self {
        let mode = if console.format == OutputFormat::Json {
            Mode::Json
        } else if console.quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && console.verbose == 0 {
            Mode::Bars
        } else {
            Mode::Lines
        };
        let multi = MultiProgress::with_draw_target(if mode == Mode::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Self {
            mode,
            multi,
            start: Instant::now(),
            tx: None,
        }
    }

    /// Progress for a face that is not a terminal: every event (the same
    /// [`ProgressEvent`] values as `--output json` streams) is sent down
    /// `tx` instead of printed. [`Progress::note`], which the other
    /// machine-readable mode drops, is sent too, as an event of kind
    /// `note` with an empty `stack` and the text as its `status`. A
    /// receiver that is gone ends the stream quietly, never the operation.
    pub fn to_channel(tx: UnboundedSender<ProgressEvent>) -> Self {
        Self {
            mode: Mode::Channel,
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            start: Instant::now(),
            tx: Some(tx),
        }
    }

    /// The progress line of one stack.
    pub fn stack(&self, name: &str) -> StackProgress {
        let bar = (self.mode == Mode::Bars).then(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StackProgress {
            name: name.to_owned(),
            mode: self.mode,
            bar,
            start: Instant::now(),
            run_start: self.start,
            tx: self.tx.clone(),
        }
    }

    /// A line about the whole run (stage boundaries, gates).
    pub fn note(&self, text: &str) {
        match self.mode {
            Mode::Bars => {
                let _ = self.multi.println(text);
            }
            Mode::Lines => write_stderr(&format!("{} {text}\n", clock())),
            Mode::Channel => emit(
                self.tx.as_ref(),
                self.start,
                "note",
                "",
                None,
                None,
                text,
                None,
            ),
            Mode::Json | Mode::Quiet => {}
        }
    }
}

/// The time of day, UTC, for plain progress lines.
fn clock() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

/// Progress of one stack.
#[derive(Debug)]
pub struct StackProgress {
    name: String,
    mode: Mode,
    bar: Option<ProgressBar>,
    start: Instant,
    run_start: Instant,
    tx: Option<UnboundedSender<ProgressEvent>>,
}

impl StackProgress {
    /// Reports a resource or stack event.
    pub fn event(&self, logical_id: &str, resource_type: &str, status: &str, reason: Option<&str>) {
        // A new stack's first event ("REVIEW_IN_PROGRESS User Initiated")
        // is CloudFormation's bookkeeping for the change set, not progress.
        if status == "REVIEW_IN_PROGRESS" {
            return;
        }
        let reason_text = reason.map(|r| format!(": {r}")).unwrap_or_default();
        match self.mode {
            Mode::Bars => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{status} {logical_id}{reason_text}"));
                }
            }
            Mode::Lines => write_stderr(&format!(
                "{} {} {status} {logical_id} ({resource_type}){reason_text}\n",
                clock(),
                self.name
            )),
            Mode::Json | Mode::Channel => self.json(
                "event",
                Some(logical_id),
                Some(resource_type),
                status,
                reason,
            ),
            Mode::Quiet => {}
        }
    }

    /// Reports what lunora itself is doing for this stack.
    pub fn step(&self, text: &str) {
        match self.mode {
            Mode::Bars => {
                if let Some(bar) = &self.bar {
                    bar.set_message(text.to_owned());
                }
            }
            Mode::Lines => write_stderr(&format!("{} {} {text}\n", clock(), self.name)),
            Mode::Json | Mode::Channel => self.json("step", None, None, text, None),
            Mode::Quiet => {}
        }
    }

    /// Ends the stack's line.
    pub fn finish(&self, ok: bool, text: &str) {
        let mark = if ok { "done" } else { "FAILED" };
        match self.mode {
            Mode::Bars => {
                if let Some(bar) = &self.bar {
                    bar.finish_with_message(format!("{mark}: {text}"));
                }
            }
            Mode::Lines => write_stderr(&format!(
                "{} {} {mark}: {text} after {:.1} s\n",
                clock(),
                self.name,
                self.start.elapsed().as_secs_f64()
            )),
            Mode::Json | Mode::Channel => {
                self.json(if ok { "done" } else { "failed" }, None, None, text, None);
            }
            Mode::Quiet => {}
        }
    }

    fn json(
        &self,
        kind: &'static str,
        logical_id: Option<&str>,
        resource_type: Option<&str>,
        status: &str,
        reason: Option<&str>,
    ) {
        emit(
            self.tx.as_ref(),
            self.run_start,
            kind,
            &self.name,
            logical_id,
            resource_type,
            status,
            reason,
        );
    }
}

/// Writes one event as a JSON line on stdout, or sends it down `tx` when
/// there is one.
#[allow(clippy::too_many_arguments)]
fn emit(
    tx: Option<&UnboundedSender<ProgressEvent>>,
    run_start: Instant,
    kind: &'static str,
    stack: &str,
    logical_id: Option<&str>,
    resource_type: Option<&str>,
    status: &str,
    reason: Option<&str>,
) {
    // Stacks of a stage report from several tasks at once: the time is
    // read and the line written (or sent) under one lock, so the stream is
    // in the order of its `at` times. A poisoned lock still orders.
    static STREAM: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _in_order = STREAM
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let event = ProgressEvent {
        kind: kind.to_owned(),
        stack: stack.to_owned(),
        at: crate::output::now_rfc3339(),
        elapsed_ms: u64::try_from(run_start.elapsed().as_millis()).unwrap_or(u64::MAX),
        logical_id: logical_id.map(str::to_owned),
        resource_type: resource_type.map(str::to_owned),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
    };
    match tx {
        // A receiver that is gone ends the stream, not the operation.
        Some(tx) => {
            let _ = tx.send(event);
        }
        None => {
            if let Ok(line) = serde_json::to_string(&event) {
                // A closed stdout ends the stream, not the deploy.
                let _ = write_stdout(&format!("{line}\n"));
            }
        }
    }
}

/// `1 change`, `2 changes`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::{Progress, ProgressEvent};

    #[test]
    fn a_channel_receives_the_events_in_order_and_nothing_is_printed() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
        let progress = Progress::to_channel(tx);
        let flow = progress.stack("flow");
        flow.step("checking the flow");
        flow.event(
            "Flow",
            "AWS::MediaConnect::Flow",
            "UPDATE_COMPLETE",
            Some("ok"),
        );
        progress.note("stage 2 of 3");
        flow.finish(false, "the flow is ERROR");
        drop(flow);
        drop(progress);
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        let seen: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.stack.as_str(), e.status.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("step", "flow", "checking the flow"),
                ("event", "flow", "UPDATE_COMPLETE"),
                ("note", "", "stage 2 of 3"),
                ("failed", "flow", "the flow is ERROR"),
            ]
        );
        assert_eq!(events[1].logical_id.as_deref(), Some("Flow"));
        assert_eq!(events[1].reason.as_deref(), Some("ok"));
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "in order");
        // Every sender is gone: the stream is over.
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_receiver_that_is_gone_does_not_fail_the_run() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
        drop(rx);
        let progress = Progress::to_channel(tx);
        progress.stack("dest-youtube").step("starting");
        progress.note("still going");
    }
    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::count(1, "change"), "1 change");
        assert_eq!(super::count(0, "change"), "0 changes");
        assert_eq!(super::count(7, "change"), "7 changes");
    }
}
