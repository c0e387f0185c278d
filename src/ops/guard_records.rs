//! The record of every stop a guard made, read back from AWS: each
//! execution of the stop sequence (base output `StopSequenceArn`) carries
//! in its input the destination and the trigger (`kind`: `auto-stop`,
//! `schedule-stop`, `max-session-hours`; `source`: the alarm, schedule or
//! session machine; `time`; `window` for schedules), and Step Functions
//! keeps its start and stop dates and status. `status` shows the newest
//! few ([`crate::ops::status`]) when the config has guards.
//!
//! Step Functions API: ListExecutions
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html),
//! newest first, paged with `nextToken`; DescribeExecution
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html)
//! for the input. The same reading serves the start sequence (base output
//! `StartSequenceArn`, schedule starts), whose inputs have the same shape,
//! and `cost --actual`, which pages back to the start of a month.
//! Executions are kept 90 days after they close
//! (https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::aws::Aws;
use crate::config::{Deployment, StackId};
use crate::ops::stacks::LiveStacks;

/// Whether the config has a guard that stops channels (and so a stop
/// sequence).
fn stops_channels(deployment: &Deployment) -> bool {
    deployment
        .config
        .guards
        .as_ref()
        .is_some_and(crate::config::model::Guards::acts)
}

/// The base stack output naming the stop sequence.
pub const STOP_OUTPUT: &str = "StopSequenceArn";
/// The base stack output naming the start sequence (with `schedule:`).
pub const START_OUTPUT: &str = "StartSequenceArn";

/// The base stack's output `name` when the config has guards that stop
/// channels and the base stack is deployed.
fn sequence_arn(live: &LiveStacks, deployment: &Deployment, name: &str) -> Option<String> {
    stops_channels(deployment)
        .then(|| live.get(&deployment.stack_name(&StackId::Base)))
        .flatten()
        .filter(|info| info.is_deployed())
        .and_then(|info| info.outputs.get(name).cloned())
}

/// The start sequence's ARN (base output `StartSequenceArn`), as
/// [`stop_sequence_arn`]; only a config with `schedule:` deploys it.
pub fn start_sequence_arn(live: &LiveStacks, deployment: &Deployment) -> Option<String> {
    sequence_arn(live, deployment, START_OUTPUT)
}

/// The stop sequence's ARN (base output `StopSequenceArn`) when the config
/// has guards that stop channels (`auto_stop`, `max_session_hours`,
/// `schedule`; a budget alone has no stop sequence) and the base stack has
/// it deployed. Without it nothing is read: no AWS call without guards.
pub fn stop_sequence_arn(live: &LiveStacks, deployment: &Deployment) -> Option<String> {
    sequence_arn(live, deployment, STOP_OUTPUT)
}

/// The newest `limit` guard stops of `deployment` (none, without a call,
/// when the config has no guards that stop channels): the stack listing,
/// then [`read`].
pub async fn read_for(
    aws: &Aws,
    deployment: &Deployment,
    limit: i32,
) -> anyhow::Result<Vec<GuardStop>> {
    if !stops_channels(deployment) {
        return Ok(Vec::new());
    }
    let live = LiveStacks::read(aws, deployment).await?;
    match stop_sequence_arn(&live, deployment) {
        Some(machine) => read(aws, &machine, limit).await,
        None => Ok(Vec::new()),
    }
}

/// One stop a guard made (or is making); for the start sequence, one
/// start a schedule made (same input, same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardStop {
    pub destination: String,
    /// `auto-stop`, `schedule-stop`, `max-session-hours`.
    pub kind: String,
    /// The alarm, schedule or machine that fired.
    pub source: Option<String>,
    /// When the trigger fired, as the trigger wrote it.
    pub fired_at: Option<String>,
    /// The schedule window, for `schedule-stop`.
    pub window: Option<String>,
    /// The execution's status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    pub execution: String,
    /// When the stop sequence started (ListExecutions `startDate`), RFC 3339.
    pub started_at: Option<String>,
    /// When it ended (`stopDate`; none while it runs), RFC 3339.
    pub stopped_at: Option<String>,
}

impl GuardStop {
    /// `auto-stop (alarm NAME) at 2026-12-06 03:00:00 UTC`: what fired
    /// and when.
    pub fn describe(&self) -> String {
        let what = match (self.kind.as_str(), &self.source, &self.window) {
            ("auto-stop", Some(alarm), _) => format!("auto-stop (alarm {alarm})"),
            ("schedule-stop", _, Some(window)) => format!("schedule (window {window})"),
            ("max-session-hours", _, _) => "max_session_hours (session limit)".to_owned(),
            (kind, Some(source), _) => format!("{kind} ({source})"),
            (kind, None, _) => kind.to_owned(),
        };
        match self.fired_at.as_ref().or(self.started_at.as_ref()) {
            Some(at) => format!("{what} at {}", readable_time(at)),
            None => what,
        }
    }

    /// `stopped by guard: ...` (or `being stopped`, or the failure).
    pub fn line(&self) -> String {
        let head = self.head();
        format!("{head}: {}", self.describe())
    }

    /// `auto-stop (arn:...)`: the kind and the source, as `cost --actual`
    /// names who ended (or started) a session.
    pub fn by(&self) -> String {
        match &self.source {
            Some(source) => format!("{} ({source})", self.kind),
            None => self.kind.clone(),
        }
    }

    /// When the execution ended, when it did.
    pub fn stopped(&self) -> Option<time::OffsetDateTime> {
        self.stopped_at.as_deref().and_then(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        })
    }

    fn head(&self) -> String {
        let head = match self.status.as_str() {
            "SUCCEEDED" => "stopped by guard".to_owned(),
            "RUNNING" => "being stopped by guard".to_owned(),
            other => format!("guard stop {other}"),
        };
        head
    }
}

/// `2026-12-06T03:00:00Z` as `2026-12-06 03:00:00 UTC`; anything else as is.
fn readable_time(rfc: &str) -> String {
    match time::OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339) {
        Ok(t) => {
            let t = crate::health::rfc3339(t);
            format!("{} UTC", t.replacen('T', " ", 1).trim_end_matches('Z'))
        }
        Err(_) => rfc.to_owned(),
    }
}

fn rfc3339(t: &aws_sdk_sfn::primitives::DateTime) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .map(crate::health::rfc3339)
}

/// What a guard wrote into a stop sequence input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub destination: String,
    pub kind: String,
    pub source: Option<String>,
    pub fired_at: Option<String>,
    pub window: Option<String>,
}

/// The trigger of a stop sequence input; `None` when the input is not one
/// a guard wrote (no destination or no trigger kind).
pub fn parse_input(input: &str) -> Option<Trigger> {
    let v: serde_json::Value = serde_json::from_str(input).ok()?;
    let text = |x: &serde_json::Value| x.as_str().map(str::to_owned);
    let t = &v["trigger"];
    Some(Trigger {
        destination: text(&v["destination"])?,
        kind: text(&t["kind"])?,
        source: text(&t["source"]),
        fired_at: text(&t["time"]),
        window: text(&t["window"]),
    })
}

/// How far back to read a machine's executions (newest first).
#[derive(Debug, Clone, Copy)]
enum Back {
    /// The newest n (1-1000), one page.
    Newest(i32),
    /// Every page back to the first execution started before this time,
    /// that one included (it may end a session after it).
    To(time::OffsetDateTime),
}

/// The newest `limit` (1-1000) executions of the stop sequence, as guard
/// stops; executions whose input is not a guard's are left out.
pub async fn read(aws: &Aws, stop_machine_arn: &str, limit: i32) -> anyhow::Result<Vec<GuardStop>> {
    read_back(aws, stop_machine_arn, Back::Newest(limit)).await
}

/// The executions of `machine` (the stop or the start sequence) that
/// guards started, newest first, back to the first one started before
/// `from`, that one included, and no further.
pub async fn read_since(
    aws: &Aws,
    machine: &str,
    from: time::OffsetDateTime,
) -> anyhow::Result<Vec<GuardStop>> {
    read_back(aws, machine, Back::To(from)).await
}

async fn read_back(aws: &Aws, machine: &str, back: Back) -> anyhow::Result<Vec<GuardStop>> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("Step Functions on `{machine}`: {e}");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    'pages: loop {
        let page = aws
            .sfn
            .list_executions()
            .state_machine_arn(machine)
            .max_results(match back {
                Back::Newest(n) => n.clamp(1, 1000),
                Back::To(_) => 1000,
            })
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| err(&aws_sdk_sfn::error::DisplayErrorContext(&e)))?;
        for e in page.executions() {
            let d = aws
                .sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .map_err(|x| err(&aws_sdk_sfn::error::DisplayErrorContext(&x)))?;
            if let Some(stop) = d.input().and_then(parse_input).map(|t| GuardStop {
                destination: t.destination,
                kind: t.kind,
                source: t.source,
                fired_at: t.fired_at,
                window: t.window,
                status: e.status().as_str().to_owned(),
                execution: e.name().to_owned(),
                started_at: rfc3339(e.start_date()),
                stopped_at: e.stop_date().and_then(rfc3339),
            }) {
                out.push(stop);
            }
            if let Back::To(from) = back {
                if e.start_date().secs() < from.unix_timestamp() {
                    break 'pages;
                }
            }
        }
        match (back, page.next_token()) {
            (Back::To(_), Some(t)) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_names_the_destination_and_the_trigger() {
        let input = r#"{"destination": "twitch", "channel_id": "1", "flow_arn": "f",
            "trigger": {"kind": "schedule-stop", "source": "arn:s", "time": "2099-03-14T22:00:00Z", "window": "gala"}}"#;
        assert_eq!(
            parse_input(input),
            Some(Trigger {
                destination: "twitch".into(),
                kind: "schedule-stop".into(),
                source: Some("arn:s".into()),
                fired_at: Some("2099-03-14T22:00:00Z".into()),
                window: Some("gala".into()),
            })
        );
        // Started by hand without a trigger, or not JSON: not a guard's.
        assert_eq!(parse_input(r#"{"destination": "twitch"}"#), None);
        assert_eq!(parse_input("not json"), None);
    }

    #[test]
    fn a_stop_reads_as_what_fired_and_when() {
        let mut stop = GuardStop {
            destination: "twitch".into(),
            kind: "auto-stop".into(),
            source: Some("p-twitch-guard-input-lost".into()),
            fired_at: Some("2026-12-06T03:00:00Z".into()),
            window: None,
            status: "SUCCEEDED".into(),
            execution: "e".into(),
            started_at: Some("2026-12-06T03:00:01Z".into()),
            stopped_at: Some("2026-12-06T03:00:40Z".into()),
        };
        assert_eq!(
            stop.line(),
            "stopped by guard: auto-stop (alarm p-twitch-guard-input-lost) at 2026-12-06 03:00:00 UTC"
        );
        stop.kind = "schedule-stop".into();
        stop.window = Some("gala".into());
        stop.status = "RUNNING".into();
        assert_eq!(
            stop.line(),
            "being stopped by guard: schedule (window gala) at 2026-12-06 03:00:00 UTC"
        );
        stop.kind = "max-session-hours".into();
        stop.fired_at = None;
        stop.status = "FAILED".into();
        assert_eq!(
            stop.line(),
            "guard stop FAILED: max_session_hours (session limit) at 2026-12-06 03:00:01 UTC"
        );
    }
}
