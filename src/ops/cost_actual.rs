//! The records `lunora cost --actual` counts, read from where lunora and
//! its guards keep them: the release store's audit trail (every start and
//! stop made with `lunora start`/`stop` or the HTTP server), and, when
//! the config has `guards:`, the executions of the guards' stop sequence
//! (base output `StopSequenceArn`: auto-stop, session limit, schedule
//! stops) and start sequence (`StartSequenceArn`: schedule starts). The
//! counting itself is pure (`cost::actual`).
//!
//! Without `guards:` no Step Functions call is made.
//!
//! Step Functions API: ListExecutions
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html)
//! lists a machine's executions newest first with their `startDate`,
//! `stopDate` and `status`, paged with `nextToken`; DescribeExecution
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html)
//! gives the input (which destination, which trigger). Executions are
//! kept 90 days after they close
//! (https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html),
//! so a guard's stop older than that is no longer seen.

use time::OffsetDateTime;

use crate::aws::Aws;
use crate::config::{Deployment, StackId};
use crate::cost::actual::{Event, FlowMark, Mark, Recorder};
use crate::ops::guard_records::parse_input;
use crate::ops::stacks::LiveStacks;
use crate::release::AuditRecord;

/// The base stack output naming the stop sequence.
pub const STOP_OUTPUT: &str = "StopSequenceArn";
/// The base stack output naming the start sequence (with `schedule:`).
pub const START_OUTPUT: &str = "StartSequenceArn";

/// Everything counted, and what could not be.
#[derive(Debug, Default)]
pub struct Records {
    pub events: Vec<Event>,
    pub flow: Vec<(OffsetDateTime, FlowMark)>,
    /// Where the records came from, and what is not counted.
    pub notes: Vec<String>,
    /// How many guard executions were read (stop, start).
    pub guard_stops: usize,
    pub schedule_starts: usize,
}

fn parse_time(at: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
}

/// The starts and stops of the audit trail, and what the flow was told.
pub fn from_audit(log: &[AuditRecord], records: &mut Records) {
    for r in log {
        let Some(at) = parse_time(&r.at) else {
            continue;
        };
        for (dest, result) in &r.destinations {
            let mark = match result.as_str() {
                "started" => Mark::Start,
                "already-running" => Mark::AlreadyRunning,
                "stopped" => Mark::Stop,
                "already-stopped" => Mark::AlreadyStopped,
                _ => continue,
            };
            records.events.push(Event {
                at,
                destination: dest.clone(),
                mark,
                recorder: Recorder::Lunora,
                by: r.by.to_string(),
            });
        }
        match r.flow.as_deref() {
            Some("kept" | "left") => records.flow.push((at, FlowMark::Held)),
            Some("stopped" | "already-standby") => records.flow.push((at, FlowMark::Stopped)),
            _ => {}
        }
    }
}

/// Reads the audit trail, and the guards' executions when the config has
/// guards and the base stack names the machines.
pub async fn read(
    aws: &Aws,
    deployment: &Deployment,
    from: OffsetDateTime,
) -> anyhow::Result<Records> {
    let mut records = Records::default();
    let store = crate::release::open_store(deployment, Some(aws))?;
    let log = store.audit_log().await?;
    from_audit(&log, &mut records);
    records.notes.push(format!(
        "counted from lunora's records in {} ({} audit record(s)): starts and stops made outside lunora (the console, the AWS CLI) are not in them",
        store.location(),
        log.len()
    ));
    let Some(guards) = &deployment.config.guards else {
        return Ok(records);
    };
    let live = LiveStacks::read(aws, deployment).await?;
    let outputs = live
        .get(&deployment.stack_name(&StackId::Base))
        .filter(|info| info.is_deployed())
        .map(|info| info.outputs.clone())
        .unwrap_or_default();
    match outputs.get(STOP_OUTPUT) {
        Some(arn) => {
            let stops = executions(aws, arn, from).await?;
            for x in stops {
                // Only a stop that ran to its end stopped the channel.
                if x.status != "SUCCEEDED" {
                    continue;
                }
                let Some(at) = x.stopped else { continue };
                records.guard_stops += 1;
                records.events.push(Event {
                    at,
                    destination: x.destination,
                    mark: Mark::Stop,
                    recorder: Recorder::Guard,
                    by: x.by,
                });
                // The stop sequence stops the flow with the last channel.
                records.flow.push((at, FlowMark::Stopped));
            }
        }
        None => records.notes.push(format!(
            "the base stack has no `{STOP_OUTPUT}` output (guards not deployed yet?): stops made by guards are not counted"
        )),
    }
    if guards.schedule.is_some() {
        match outputs.get(START_OUTPUT) {
            Some(arn) => {
                for x in executions(aws, arn, from).await? {
                    if x.status != "SUCCEEDED" {
                        continue;
                    }
                    let Some(at) = x.stopped else { continue };
                    records.schedule_starts += 1;
                    records.events.push(Event {
                        at,
                        destination: x.destination,
                        mark: Mark::Start,
                        recorder: Recorder::Schedule,
                        by: x.by,
                    });
                }
            }
            None => records.notes.push(format!(
                "the base stack has no `{START_OUTPUT}` output (the schedule not deployed yet?): sessions started by the schedule are not counted"
            )),
        }
    }
    records.notes.push(format!(
        "guards: {} stop(s) and {} schedule start(s) read from the Step Functions executions (kept 90 days after they end)",
        records.guard_stops, records.schedule_starts
    ));
    Ok(records)
}

/// One guard execution.
struct Execution {
    destination: String,
    /// `schedule-start`, `auto-stop (arn:...)`, ...
    by: String,
    status: String,
    stopped: Option<OffsetDateTime>,
}

/// The executions of `machine` that guards started, newest first, back to
/// the first one started before `from` (it may end a session of the
/// month) and no further.
async fn executions(
    aws: &Aws,
    machine: &str,
    from: OffsetDateTime,
) -> anyhow::Result<Vec<Execution>> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("Step Functions on `{machine}`: {e}");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    'pages: loop {
        let page = aws
            .sfn
            .list_executions()
            .state_machine_arn(machine)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| err(&aws_sdk_sfn::error::DisplayErrorContext(&e)))?;
        for e in page.executions() {
            let started = to_time(e.start_date());
            let described = aws
                .sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .map_err(|x| err(&aws_sdk_sfn::error::DisplayErrorContext(&x)))?;
            if let Some(t) = described.input().and_then(parse_input) {
                let by = match &t.source {
                    Some(source) => format!("{} ({source})", t.kind),
                    None => t.kind.clone(),
                };
                out.push(Execution {
                    destination: t.destination,
                    by,
                    status: e.status().as_str().to_owned(),
                    stopped: e.stop_date().map(to_time),
                });
            }
            if started < from {
                break 'pages;
            }
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    Ok(out)
}

fn to_time(d: &aws_sdk_sfn::primitives::DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(d.secs()) * 1_000_000_000 + i128::from(d.subsec_nanos()),
    )
    .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::release::Actor;

    #[test]
    fn the_audit_trail_gives_starts_stops_and_flow_holds() {
        let mut start = AuditRecord::now("start", Actor::Cli);
        start.at = "2026-12-03T18:00:00Z".into();
        start
            .destinations
            .insert("youtube".into(), "started".into());
        start
            .destinations
            .insert("twitch".into(), "already-running".into());
        start.flow = Some("started".into());
        let mut stop = AuditRecord::now("stop", Actor::Cli);
        stop.at = "2026-12-03T20:00:00Z".into();
        stop.destinations.insert("youtube".into(), "stopped".into());
        stop.flow = Some("kept".into());
        let mut records = Records::default();
        from_audit(&[start, stop], &mut records);
        let marks: Vec<(&str, Mark)> = records
            .events
            .iter()
            .map(|e| (e.destination.as_str(), e.mark))
            .collect();
        assert_eq!(
            marks,
            [
                ("twitch", Mark::AlreadyRunning),
                ("youtube", Mark::Start),
                ("youtube", Mark::Stop)
            ]
        );
        assert_eq!(records.events[1].by, "cli");
        assert_eq!(records.flow.len(), 1);
        assert_eq!(records.flow[0].1, FlowMark::Held);
    }
}
