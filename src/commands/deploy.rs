//! `lunora deploy`: the plan, executed stage by stage through change sets
//! ([`crate::ops::deploy`]), behind the safety gates, with progress,
//! recording one release per run. This face connects, takes the deploy
//! lock, shows the plan and asks before anything changes (`--yes` does
//! not ask), and prints what the run did; the same report is `lunora
//! rollback`'s.
//!
//! Gates refuse with exit 3, nothing changed: the wrong account; another
//! deploy holding the lock; a replacement of the flow, a flow source or
//! anything MediaPackage unless named with `--allow-replace`; an update of
//! a running channel unless `--restart-running`; a saved plan whose stacks
//! moved since. A failed stack stops the run at its stage; if
//! CloudFormation rolled it back cleanly the exit code is 4, never success.

use std::fmt::{self, Write as _};
use std::path::Path;

use super::DeployOutput;
use crate::aws::AwsSettings;
use crate::ops::deploy::{self, DeployOptions, StackOutcome};
use crate::ops::stacks::DeployedIds;
use crate::output::{Console, ExitStatus, Report};

/// `12.3 s`, `2m 05s`.
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        // Whole seconds of a run: far below u64::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let s = seconds.round() as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

fn failed(s: &StackOutcome) -> bool {
    matches!(s.result.as_str(), "failed" | "rolled-back" | "interrupted")
}

/// The ids of a deploy's end, for the operator: the SRT address the
/// encoder calls first, then each destination's channel, input and flow
/// output. ARNs are shown in full when they fit the width; otherwise the
/// flow output by its name, and `lunora outputs` gives the ARNs.
fn outputs_text(ids: &DeployedIds, width: Option<usize>) -> String {
    use crate::screen::Align::Left;
    let srt = |e: &Option<String>| {
        e.as_deref()
            .map_or_else(|| "n/a".to_owned(), |e| format!("srt://{e}"))
    };
    let draw = |full: bool| {
        let mut out = String::new();
        let _ = writeln!(out, "ingest  {}", srt(&ids.ingest_endpoint));
        if ids.backup_ingest_endpoint.is_some() {
            let _ = writeln!(out, "backup  {}", srt(&ids.backup_ingest_endpoint));
        }
        if full {
            let _ = writeln!(out, "flow    {}", ids.flow_arn);
        }
        if !ids.destinations.is_empty() {
            let na = |v: Option<&str>| v.unwrap_or("-").to_owned();
            // `arn:...:output:1-...:NAME`: the name is the last part.
            let output = |arn: Option<&str>| {
                na(if full {
                    arn
                } else {
                    arn.map(|a| a.rsplit(':').next().unwrap_or(a))
                })
            };
            let rows: Vec<Vec<String>> = ids
                .destinations
                .iter()
                .map(|(id, d)| {
                    vec![
                        id.clone(),
                        na(d.channel_id.as_deref()),
                        na(d.input_id.as_deref()),
                        output(d.output_arn.as_deref()),
                    ]
                })
                .collect();
            out.push_str(&crate::screen::table(
                &["DEST", "CHANNEL", "INPUT", "FLOW OUTPUT"],
                &[Left; 4],
                &rows,
                None,
                0,
            ));
        }
        if !full {
            let _ = writeln!(out, "(the flow and output ARNs: `lunora outputs`)");
        }
        out
    };
    let full = draw(true);
    match width {
        Some(w) if full.lines().any(|l| crate::screen::display_width(l) > w) => draw(false),
        _ => full,
    }
}

impl fmt::Display for DeployOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        // What went well first; what failed last, before the verdict.
        let ok = self.run.stacks.iter().filter(|s| !failed(s));
        for s in ok.chain(self.run.stacks.iter().filter(|s| failed(s))) {
            let _ = write!(out, "{:<12} {}", s.result, s.stack);
            if let Some(m) = &s.message {
                let _ = write!(out, ": {m}");
            }
            out.push('\n');
        }
        for n in &self.run.notes {
            let _ = writeln!(out, "note: {n}");
        }
        if let Some(r) = &self.run.release {
            let _ = writeln!(out, "release {r} recorded");
        }
        if let Some(ids) = &self.run.outputs {
            out.push('\n');
            out.push_str(&outputs_text(ids, self.width));
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let mut verdict = String::new();
        let _ = write!(verdict, "{}", self.run.status);
        if !self.run.stacks.is_empty() {
            let _ = write!(
                verdict,
                " {} {}",
                if self.status() == ExitStatus::Success {
                    "in"
                } else {
                    "after"
                },
                duration(self.run.elapsed_seconds)
            );
        }
        verdict.push('\n');
        // The failure's cause, the first FAILED resource event of each
        // failing stack, not the cancellations it caused.
        for s in self.run.stacks.iter().filter(|s| failed(s)) {
            let _ = writeln!(
                verdict,
                "  failing stack: {}: {}",
                s.stack,
                s.message.as_deref().unwrap_or(&s.result)
            );
            if let Some(c) = &s.cause {
                let _ = writeln!(
                    verdict,
                    "  first failure: {} {} ({}): {}",
                    c.status,
                    c.logical_id,
                    c.resource_type,
                    c.reason.as_deref().unwrap_or("no reason given")
                );
            }
        }
        f.write_str(&crate::screen::fit(&out, self.width))?;
        let verdict = crate::screen::fit(&verdict, self.width);
        if self.color && self.status() != ExitStatus::Success {
            for line in verdict.lines() {
                writeln!(f, "\x1b[1;31m{line}\x1b[0m")?;
            }
            Ok(())
        } else {
            f.write_str(&verdict)
        }
    }
}

impl Report for DeployOutput {
    fn kind(&self) -> &'static str {
        self.run.kind
    }

    fn status(&self) -> ExitStatus {
        super::exit_status(self.run.verdict)
    }

    fn json_line(&self) -> bool {
        true
    }
}

pub async fn run(
    config: &Path,
    options: &DeployOptions,
    yes: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<DeployOutput> {
    let started = std::time::Instant::now();
    let (deployment, aws, caller) = super::connect(config, settings, console, "deploy").await?;
    let store = super::open_store(&deployment, Some(&aws))?;
    let lock = super::lock(&store, &caller, "deploy", options.force_unlock, console).await?;
    let review = super::Terminal { console, yes };
    let result = deploy::deploy(&deployment, &aws, &store, &caller, options, &review).await;
    super::discard_unexecuted(&aws, console).await;
    lock.release().await?;
    let mut report = result?;
    report.finish(started);
    Ok(DeployOutput::new(report, console))
}
