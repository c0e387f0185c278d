//! `lunora status [--watch] [--check] [--wide]`: what is live right now,
//! for the operator at 2 a.m.
//!
//! A face over [`crate::ops::status`]: it reads once (or every
//! `--interval` seconds with `--watch`) and presents the reading. The
//! first line is the summary (`LIVE 2/5 · ingest primary OK 11.8 Mb/s ·
//! backup standby OK`), then the ingest as the encoder needs it, then one
//! row per destination with its verdict, uptime, bitrate and reason,
//! fitted to the terminal width (`--wide` shows every column, untruncated).
//! `--check` exits 1 unless the ingest is healthy and every running
//! destination delivers, and says what is wrong.
//!
//! `--watch` draws on the terminal's alternate screen, redraws on resize,
//! and leaves the screen as it found it on Ctrl-C. It needs text output on
//! a terminal (a script should run `lunora status --output json` in its
//! own loop).

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsSettings};
use crate::cli::OutputFormat;
use crate::config::Deployment;
use crate::health::{self, Verdict};
use crate::ops::status::{DestinationStatus, StatusReading};
use crate::output::{Console, ExitStatus, Report};

/// How a text report is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    /// Columns available; `None` = no limit.
    pub width: Option<usize>,
    pub color: bool,
    pub wide: bool,
}

impl View {
    /// The screen's width ([`crate::screen::width`]: `COLUMNS`, else the
    /// terminal, else 80), unless `--wide`.
    pub fn for_terminal(console: &Console, wide: bool) -> Self {
        let width = crate::screen::width(wide, crate::screen::Stream::Stdout);
        Self {
            width,
            color: console.color_stdout,
            wide,
        }
    }
}

/// What `lunora status` shows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    #[serde(flatten)]
    pub reading: StatusReading,
    /// `--check` was asked: an unhealthy reading exits 1.
    #[serde(skip)]
    pub check_mode: bool,
    #[serde(skip)]
    pub view: View,
    /// Set when `--watch` already showed the report (nothing to print).
    #[serde(skip)]
    pub shown: bool,
}

fn paint(text: &str, verdict: Verdict, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match verdict {
        Verdict::Delivering => "1;32",
        Verdict::Degraded => "1;33",
        Verdict::Failing => "1;31",
        Verdict::Idle => "2",
        Verdict::Unknown => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `text` cut to `max` characters, with `…` when cut.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` in lines of at most `width` characters, broken at spaces (a
/// word longer than a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        loop {
            let sep = usize::from(!current.is_empty());
            if current.chars().count() + sep + word.chars().count() <= width {
                if sep == 1 {
                    current.push(' ');
                }
                current.push_str(&word);
                break;
            }
            if current.is_empty() {
                // A word longer than the line.
                lines.push(word.chars().take(width).collect());
                word = word.chars().skip(width).collect();
                continue;
            }
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

fn uptime(d: &DestinationStatus) -> String {
    d.uptime_seconds.map_or_else(
        || "-".to_owned(),
        |s| format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    )
}

fn reason(d: &DestinationStatus) -> String {
    match d.since.as_deref().and_then(health::clock) {
        Some(t) if d.verdict != Verdict::Delivering => format!("{} (since {t})", d.reason),
        _ => d.reason.clone(),
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shown {
            return Ok(());
        }
        let r = &self.reading;
        let v = self.view;
        let line = |s: String| match v.width {
            Some(w) => fit(&s, w),
            None => s,
        };
        let read_at = health::clock(&r.read_at).unwrap_or_default();
        writeln!(
            f,
            "{}",
            line(format!("{} ({}) at {read_at} UTC", r.deployment, r.region))
        )?;
        let ingest_verdict = r.ingest.verdict;
        let head = if r.live.delivering > 0 && ingest_verdict == Verdict::Delivering {
            Verdict::Delivering
        } else if r.live.delivering > 0 {
            Verdict::Degraded
        } else {
            Verdict::Idle
        };
        writeln!(f, "{}", paint(&line(r.summary.clone()), head, v.color))?;
        writeln!(f)?;

        // The ingest, as the encoder needs it.
        let i = &r.ingest;
        let verdict = format!("{:<10}", i.verdict.as_str());
        let since = i
            .since
            .as_deref()
            .and_then(health::clock)
            .map_or_else(String::new, |t| format!(" (since {t})"));
        writeln!(
            f,
            "{}",
            line(format!(
                "ingest  {} {}{since}",
                paint(&verdict, i.verdict, v.color),
                i.reason
            ))
        )?;
        if i.flow.arn.is_some() {
            for s in &i.sources {
                let rate = s
                    .bitrate_mbps
                    .map_or_else(String::new, |b| format!(" {b:.1} Mb/s"));
                let state = serde_json::to_value(s.state)
                    .ok()
                    .and_then(|x| x.as_str().map(str::to_owned))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "{}",
                    line(format!(
                        "  {:<7} {:<28} {state}{rate}",
                        s.role.as_str(),
                        s.endpoint.as_deref().unwrap_or("n/a"),
                    ))
                )?;
            }
            let latency = i
                .latency_ms
                .map_or_else(String::new, |l| format!("latency {l} ms, "));
            writeln!(
                f,
                "{}",
                line(format!("  SRT listener: {latency}{}", i.encryption))
            )?;
            if let Some(feed) = &i.feed {
                let size = match (feed.width, feed.height) {
                    (Some(w), Some(h)) => format!(" {w}x{h}"),
                    _ => String::new(),
                };
                let fps = feed
                    .fps
                    .map_or_else(String::new, |x| format!(" {} fps", health::fps_text(x)));
                writeln!(
                    f,
                    "{}",
                    line(format!(
                        "  encoder sends {}{size}{fps}",
                        feed.codec.as_deref().unwrap_or("?")
                    ))
                )?;
            }
            if v.wide {
                writeln!(
                    f,
                    "  flow {} {} (failover {}, mode {}, preferred {})",
                    i.flow.name.as_deref().unwrap_or("n/a"),
                    i.flow.state,
                    i.flow.failover.as_deref().unwrap_or("n/a"),
                    i.flow.failover_mode.as_deref().unwrap_or("n/a"),
                    i.flow.preferred_source.as_deref().unwrap_or("n/a"),
                )?;
                for (name, state) in &i.alarms {
                    writeln!(f, "  alarm {name}: {state}")?;
                }
            }
        }
        writeln!(f)?;

        // One row per destination.
        let id_w = r
            .destinations
            .iter()
            .map(|d| d.id.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 16);
        if v.wide {
            writeln!(
                f,
                "{:<id_w$}  {:<10}  {:<7}  {:>7}  {:<13} {:<16} {:<8} {:<8} REASON",
                "DEST", "VERDICT", "UPTIME", "IN Mb/s", "PLATFORM", "PRESET", "CHANNEL", "OUTPUT"
            )?;
        } else {
            writeln!(
                f,
                "{:<id_w$}  {:<10}  {:>6}  {:>5}  REASON",
                "DEST", "VERDICT", "UPTIME", "Mb/s"
            )?;
        }
        for d in &r.destinations {
            let id = fit(&d.id, id_w);
            let verdict = paint(&format!("{:<10}", d.verdict.as_str()), d.verdict, v.color);
            let rate = d
                .bitrate_mbps
                .map_or_else(|| "-".to_owned(), |b| format!("{b:.1}"));
            if v.wide {
                let output = match d.input_mode.as_deref() {
                    Some("mediaconnect") => "managed",
                    _ => d.output_status.as_deref().unwrap_or("n/a"),
                };
                writeln!(
                    f,
                    "{id:<id_w$}  {verdict}  {:<7}  {rate:>7}  {:<13} {:<16} {:<8} {:<8} {}",
                    uptime(d),
                    d.platform.as_deref().unwrap_or("n/a"),
                    d.preset.as_deref().unwrap_or("n/a"),
                    d.channel_state.as_deref().unwrap_or("n/a"),
                    output,
                    reason(d),
                )?;
                for a in &d.alerts {
                    writeln!(f, "{:id_w$}  alert: {} ({})", "", a.message, a.alert_type)?;
                }
            } else {
                // The reason wraps under its column: at 2 a.m. the end of
                // it (the URL, since when) matters as much as the start.
                let used = id_w + 2 + 10 + 2 + 6 + 2 + 5 + 2;
                let room = v
                    .width
                    .map_or(usize::MAX, |w| w.saturating_sub(used).max(10));
                let lines = wrap(&reason(d), room);
                writeln!(
                    f,
                    "{id:<id_w$}  {verdict}  {:>6}  {rate:>5}  {}",
                    uptime(d),
                    lines[0],
                )?;
                for more in &lines[1..] {
                    writeln!(f, "{:used$}{more}", "")?;
                }
            }
            // An operator must never wonder why a channel stopped.
            // Wrapped, never cut: the alarm's name is the point.
            if let Some(stop) = &d.last_guard_stop {
                let indent = id_w + 2;
                let room = v
                    .width
                    .map_or(usize::MAX, |w| w.saturating_sub(indent).max(10));
                for l in wrap(stop, room) {
                    writeln!(f, "{:indent$}{l}", "")?;
                }
            }
        }
        for n in &r.notes {
            writeln!(f, "{}", line(format!("note: {n}")))?;
        }
        if self.check_mode {
            writeln!(f)?;
            if r.check.healthy {
                writeln!(
                    f,
                    "{}",
                    paint("check: healthy", Verdict::Delivering, v.color)
                )?;
            } else {
                writeln!(
                    f,
                    "{}",
                    paint("check: NOT healthy", Verdict::Failing, v.color)
                )?;
                for p in &r.check.problems {
                    let width = v.width.map_or(usize::MAX, |w| w.saturating_sub(4));
                    for (n, l) in wrap(p, width).iter().enumerate() {
                        writeln!(f, "{}{l}", if n == 0 { "  " } else { "    " })?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Report for StatusReport {
    fn kind(&self) -> &'static str {
        "status"
    }

    fn status(&self) -> ExitStatus {
        if self.check_mode && !self.reading.check.healthy {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }
}

/// What `status` was asked.
#[derive(Debug, Clone, Copy)]
pub struct StatusOptions {
    pub watch: bool,
    pub interval: Duration,
    pub check: bool,
    pub wide: bool,
}

impl Default for StatusOptions {
    fn default() -> Self {
        Self {
            watch: false,
            interval: Duration::from_secs(5),
            check: false,
            wide: false,
        }
    }
}

pub async fn run(
    config: &Path,
    options: StatusOptions,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<StatusReport> {
    if options.watch && (console.format != OutputFormat::Text || !std::io::stdout().is_terminal()) {
        anyhow::bail!(
            "`--watch` redraws a terminal and needs text output on a terminal (hint: run `lunora status` once, or `lunora status --output json` in a loop of your own)"
        );
    }
    let (deployment, aws) = super::connect_operating(config, settings, console, "status").await?;
    let reading = crate::ops::status::read(&aws, &deployment).await?;
    let mut report = StatusReport {
        reading,
        check_mode: options.check,
        view: View::for_terminal(console, options.wide),
        shown: false,
    };
    if !options.watch {
        return Ok(report);
    }
    watch(&aws, &deployment, options, console, &mut report).await?;
    report.shown = true;
    Ok(report)
}

/// Leaves the alternate screen however the watch ends.
struct AlternateScreen;

impl AlternateScreen {
    fn enter() -> Self {
        let _ = crate::output::write_stdout("\x1b[?1049h\x1b[?25l");
        Self
    }
}

impl Drop for AlternateScreen {
    fn drop(&mut self) {
        let _ = crate::output::write_stdout("\x1b[?25h\x1b[?1049l");
    }
}

/// A `--watch` frame: the report drawn from the top of a cleared screen.
#[derive(Serialize)]
#[serde(transparent)]
struct Frame<'a> {
    report: &'a StatusReport,
    #[serde(skip)]
    interval: Duration,
}

impl fmt::Display for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\x1b[H\x1b[2J")?;
        writeln!(
            f,
            "lunora status --watch: every {} s, Ctrl-C to stop",
            self.interval.as_secs()
        )?;
        write!(f, "{}", self.report)
    }
}

impl Report for Frame<'_> {
    fn kind(&self) -> &'static str {
        "status"
    }
}

async fn watch(
    aws: &Aws,
    deployment: &Deployment,
    options: StatusOptions,
    console: &Console,
    report: &mut StatusReport,
) -> anyhow::Result<()> {
    let _screen = AlternateScreen::enter();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut resized = resize_signal();
    loop {
        report.view = View::for_terminal(console, options.wide);
        console.emit(&Frame {
            report,
            interval: options.interval,
        })?;
        let refresh = tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            () = resized.recv() => false,
            () = tokio::time::sleep(options.interval) => true,
        };
        if !refresh {
            continue;
        }
        let next = tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            next = refresh_reading(aws, deployment) => next,
        };
        match next {
            Ok(r) => report.reading = r,
            Err(e) => report.reading.notes.push(format!(
                "refresh failed, showing the previous reading: {e:#}"
            )),
        }
    }
}

/// Terminal resizes (SIGWINCH on Unix; never elsewhere).
struct Resize {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

fn resize_signal() -> Resize {
    #[cfg(unix)]
    {
        Resize {
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
                .ok(),
        }
    }
    #[cfg(not(unix))]
    {
        Resize {}
    }
}

impl Resize {
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.signal.as_mut() {
            if s.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

/// One `--watch` reading, with a deadline over all its calls (each call
/// already has its own): a refresh that hangs shows the previous reading
/// with a note instead of freezing the screen.
async fn refresh_reading(aws: &Aws, deployment: &Deployment) -> anyhow::Result<StatusReading> {
    let limit = aws.timeouts.wait(aws.timeouts.call);
    match tokio::time::timeout(limit, crate::ops::status::read(aws, deployment)).await {
        Ok(r) => r,
        Err(_) => {
            Err(crate::aws::TimedOut::wait("the status reading is not complete", limit).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_spaces_and_cuts_only_overlong_words() {
        assert_eq!(
            wrap(
                "RTMP connection refused by rtmps://live.twitch.tv/app (since 20:14:05)",
                30
            ),
            vec![
                "RTMP connection refused by",
                "rtmps://live.twitch.tv/app",
                "(since 20:14:05)"
            ]
        );
        assert_eq!(wrap("short", 30), vec!["short"]);
        assert_eq!(wrap("", 30), vec![""]);
        assert_eq!(wrap("abcdefghijklmnop", 10), vec!["abcdefghij", "klmnop"]);
    }
}
