//! The records `lunora cost --actual` counts, read from where lunora and
//! its guards keep them: the release store's audit trail (every start and
//! stop made with `lunora start`/`stop` or the HTTP server), and, when
//! the config has `guards:`, the executions of the guards' stop sequence
//! (base output `StopSequenceArn`: auto-stop, session limit, schedule
//! stops) and start sequence (`StartSequenceArn`: schedule starts). The
//! counting itself is pure (`cost::actual`).
//!
//! Without `guards:` no Step Functions call is made. The executions are
//! read by [`crate::ops::guard_records::read_since`] (ListExecutions and
//! DescribeExecution, paged back to the month's start); Step Functions
//! keeps them 90 days, so a guard's stop older than that is no longer seen.

use time::OffsetDateTime;

use crate::aws::Aws;
use crate::config::Deployment;
use crate::cost::actual::{Event, FlowMark, Mark, Recorder};
use crate::ops::guard_records::{self, START_OUTPUT, STOP_OUTPUT};
use crate::ops::stacks::LiveStacks;
use crate::release::AuditRecord;

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
    let Some(guards) = deployment.config.guards.as_ref().filter(|g| g.acts()) else {
        return Ok(records);
    };
    let live = LiveStacks::read(aws, deployment).await?;
    match guard_records::stop_sequence_arn(&live, deployment) {
        Some(arn) => {
            let stops = guard_records::read_since(aws, &arn, from).await?;
            for at in push_succeeded(&mut records.events, stops, Mark::Stop, Recorder::Guard) {
                records.guard_stops += 1;
                // The stop sequence stops the flow with the last channel.
                records.flow.push((at, FlowMark::Stopped));
            }
        }
        None => records.notes.push(format!(
            "the base stack has no `{STOP_OUTPUT}` output (guards not deployed yet?): stops made by guards are not counted"
        )),
    }
    if guards.schedule.is_some() {
        match guard_records::start_sequence_arn(&live, deployment) {
            Some(arn) => {
                let starts = guard_records::read_since(aws, &arn, from).await?;
                records.schedule_starts +=
                    push_succeeded(&mut records.events, starts, Mark::Start, Recorder::Schedule)
                        .len();
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

/// Each execution that ran to its end (SUCCEEDED: only then did it stop
/// or start the channel) as an event at its stop date; the dates pushed.
fn push_succeeded(
    events: &mut Vec<Event>,
    executions: Vec<guard_records::GuardStop>,
    mark: Mark,
    recorder: Recorder,
) -> Vec<OffsetDateTime> {
    let mut pushed = Vec::new();
    for x in executions {
        if x.status != "SUCCEEDED" {
            continue;
        }
        let Some(at) = x.stopped() else { continue };
        pushed.push(at);
        events.push(Event {
            at,
            by: x.by(),
            destination: x.destination,
            mark,
            recorder,
        });
    }
    pushed
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

    #[test]
    fn only_succeeded_executions_become_events_at_their_stop_date() {
        let x = |status: &str, stopped: Option<&str>| guard_records::GuardStop {
            destination: "twitch".into(),
            kind: "auto-stop".into(),
            source: Some("p-twitch-guard-input-lost".into()),
            fired_at: None,
            window: None,
            status: status.into(),
            execution: "e".into(),
            started_at: Some("2026-12-06T03:00:00Z".into()),
            stopped_at: stopped.map(str::to_owned),
        };
        let mut events = Vec::new();
        let pushed = push_succeeded(
            &mut events,
            vec![
                x("SUCCEEDED", Some("2026-12-06T03:00:40Z")),
                x("FAILED", Some("2026-12-06T03:01:00Z")),
                x("RUNNING", None),
            ],
            Mark::Stop,
            Recorder::Guard,
        );
        assert_eq!(pushed.len(), 1);
        assert_eq!(events.len(), 1);
        assert_eq!(
            crate::cost::actual::rfc3339(events[0].at),
            "2026-12-06T03:00:40Z"
        );
        assert_eq!(events[0].by, "auto-stop (p-twitch-guard-input-lost)");
        assert_eq!(
            (events[0].mark, events[0].recorder),
            (Mark::Stop, Recorder::Guard)
        );
    }
}
