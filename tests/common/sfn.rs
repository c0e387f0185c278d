//! Running the guards' state machines in the emulator: start one with an
//! input and wait, with a deadline, for it to succeed.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

/// How long one execution may take: the stop sequence waits 10 s between
/// DescribeChannel calls, and the emulator really waits.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Starts `machine` with `input` as execution `name` and waits (at most
/// [`DEADLINE`]) for it to succeed; returns the execution ARN. Any other
/// end panics with the error and the start of the cause.
pub async fn run_machine(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    name: &str,
    input: &Value,
) -> String {
    let arn = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let started = Instant::now();
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        match d.status() {
            ExecutionStatus::Running => {}
            ExecutionStatus::Succeeded => return arn,
            other => panic!(
                "{name}: {other:?}: {:?} {:?}",
                d.error(),
                d.cause().map(|c| c.chars().take(600).collect::<String>())
            ),
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{name} still running after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
