//! The `max_session_hours` guard, armed by `start` and disarmed by `stop`.
//!
//! The base stack's session limit (`{prefix}-guard-session`, its ARN the
//! `SessionLimitArn` output) is a Wait of N hours that then starts the stop
//! sequence. `start` starts one execution of it for each destination it
//! started, named `{destination}-{UTC time}` and with the stop sequence's
//! input (destination, channel id, flow ARN, output ARN); `stop` stops the
//! running executions of the destinations it stopped. Nothing happens
//! without the output (no `max_session_hours`, or the base stack not yet
//! deployed with it). A call that fails is a note on the report, never a
//! failure of the start or stop itself: the channels are what matter.
//!
//! Step Functions API:
//! StartExecution (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html),
//! ListExecutions (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html),
//! StopExecution (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).

use std::collections::BTreeMap;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::json;

use crate::aws::Aws;

/// The base stack output holding the session limit's ARN.
pub const OUTPUT: &str = "SessionLimitArn";

/// One started destination, as the stop sequence needs it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub channel_id: String,
    pub output_arn: Option<String>,
}

/// The execution name for `id` started at `at`: `{id}-{YYYYMMDDTHHMMSSZ}`.
/// StartExecution allows 1-80 characters without white space, brackets,
/// wildcards or `"#%\^|~`$&,;:/`; destination ids are lowercase letters,
/// digits and hyphens, and the time has no hyphen, so the id is everything
/// before the last hyphen.
pub fn execution_name(id: &str, at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{id}-{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The destination an execution name belongs to (see [`execution_name`]).
pub fn destination_of(name: &str) -> Option<&str> {
    let (id, stamp) = name.rsplit_once('-')?;
    (stamp.len() == 16 && stamp.ends_with('Z') && !id.is_empty()).then_some(id)
}

/// Starts the session limit for each of `sessions`, after stopping any
/// still running for the same destination (left from a start whose stop
/// lunora never saw). Returns notes for the report.
pub async fn arm(
    aws: &Aws,
    machine_arn: &str,
    flow_arn: &str,
    sessions: &[Session],
    hours: Option<i64>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if sessions.is_empty() {
        return notes;
    }
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    notes.extend(disarm(aws, machine_arn, &ids, "restarted by lunora start").await);
    let now = time::OffsetDateTime::now_utc();
    for s in sessions {
        let mut input = json!({
            "destination": s.id,
            "channel_id": s.channel_id,
            "flow_arn": flow_arn,
        });
        if let Some(output) = &s.output_arn {
            input["output_arn"] = json!(output);
        }
        let name = execution_name(&s.id, now);
        let started = aws
            .sfn
            .start_execution()
            .state_machine_arn(machine_arn)
            .name(&name)
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(_) => notes.push(match hours {
                Some(h) => format!(
                    "session limit armed: `{}` stops by itself after {h} h (execution {name})",
                    s.id
                ),
                None => format!("session limit armed for `{}` (execution {name})", s.id),
            }),
            Err(e) => notes.push(format!(
                "the session limit of `{}` was not started, so nothing stops it after max_session_hours: {}",
                s.id,
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            )),
        }
    }
    notes
}

/// Stops the running session-limit executions of destinations `ids`.
/// Returns notes for the report (what was stopped, what failed).
pub async fn disarm(aws: &Aws, machine_arn: &str, ids: &[String], cause: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if ids.is_empty() {
        return notes;
    }
    let running = match running(aws, machine_arn).await {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!(
                "the running session limits could not be listed, so none was cancelled: {e:#}"
            ));
            return notes;
        }
    };
    for (name, arn) in running {
        let Some(id) = destination_of(&name) else {
            continue;
        };
        if !ids.iter().any(|i| i == id) {
            continue;
        }
        let stopped = aws
            .sfn
            .stop_execution()
            .execution_arn(&arn)
            .error("lunora.SessionEnded")
            .cause(cause)
            .send()
            .await;
        if let Err(e) = stopped {
            notes.push(format!(
                "the session limit of `{id}` (execution {name}) was not cancelled and will stop it when it fires: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            ));
        }
    }
    notes
}

/// Name -> ARN of the machine's RUNNING executions (every page).
pub async fn running(aws: &Aws, machine_arn: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .sfn
            .list_executions()
            .state_machine_arn(machine_arn)
            .status_filter(ExecutionStatus::Running)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sfn::error::DisplayErrorContext(&e)))?;
        for e in page.executions() {
            out.insert(e.name().to_owned(), e.execution_arn().to_owned());
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_destination_and_the_utc_time() {
        let at = time::macros::datetime!(2026-12-06 09:33:06 +01:00);
        let name = execution_name("custom-rtmp", at);
        assert_eq!(name, "custom-rtmp-20261206T083306Z");
        assert!(name.len() <= 80);
        assert_eq!(destination_of(&name), Some("custom-rtmp"));
        assert_eq!(destination_of("youtube-20261206T083306Z"), Some("youtube"));
        // Not one of ours: no time, or another shape.
        assert_eq!(destination_of("youtube"), None);
        assert_eq!(destination_of("youtube-manual"), None);
        assert_eq!(destination_of("-20261206T083306Z"), None);
    }
}
