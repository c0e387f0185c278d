//! Which records make up one deploy run.
//!
//! Why this module exists: a release is one deploy (or rollback) run, and
//! a plain `rollback` returns every stack to where it was before the latest
//! run. Since schema 2 a run writes exactly one record. Schema 1 records,
//! written by earlier lunora versions, were written after every completed
//! stage (and once more after removing destinations), so one run could
//! leave several records. Their history is kept as it is (records are
//! never rewritten); readers group them back into runs with
//! [`continues_run`].

use time::PrimitiveDateTime;

use super::record::{Release, ReleaseKind};

/// The longest gap between two schema 1 records of one run: the time one
/// stage may take (its stacks deploy in parallel, and MediaLive channels
/// and MediaConnect flows take minutes each).
pub const SCHEMA1_RUN_GAP: time::Duration = time::Duration::minutes(60);

/// True when `next` (the record right after `prev` in the store) was
/// written by the same schema 1 deploy run as `prev`. The rule:
///
/// - both are schema 1 deploy records, and `next`'s sequence is `prev`'s
///   plus one;
/// - same caller, account, Region, git commit and config digest;
/// - `next` was written at most [`SCHEMA1_RUN_GAP`] after `prev`;
/// - `next`'s stages extend `prev`'s (a run recorded the stages it had
///   completed so far: `[base]`, then `[base, flow]`), or repeat them with
///   the very same stacks (the record written again after a run removed
///   destinations).
///
/// Schema 2 records are one run each and never grouped.
pub fn continues_run(prev: &Release, next: &Release) -> bool {
    if prev.schema != 1 || next.schema != 1 || next.sequence != prev.sequence + 1 {
        return false;
    }
    let (ReleaseKind::Deploy { stages: before }, ReleaseKind::Deploy { stages: after }) =
        (&prev.kind, &next.kind)
    else {
        return false;
    };
    let same_source = prev.caller_arn == next.caller_arn
        && prev.account_id == next.account_id
        && prev.region == next.region
        && prev.git_commit == next.git_commit
        && prev.config_digest == next.config_digest;
    if !same_source {
        return false;
    }
    let (Some(t0), Some(t1)) = (created(prev), created(next)) else {
        return false;
    };
    let gap = t1 - t0;
    if gap.is_negative() || gap > SCHEMA1_RUN_GAP {
        return false;
    }
    if !after.starts_with(before) {
        return false;
    }
    after.len() > before.len() || next.stacks == prev.stacks
}

fn created(r: &Release) -> Option<PrimitiveDateTime> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    PrimitiveDateTime::parse(&r.created_at, format).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::release::{sha256_digest, NewRelease, RecordedStack, RunOutcome};
    use std::collections::BTreeMap;
    use time::macros::datetime;

    /// A schema 1 record as the lunora before schema 2 wrote it.
    fn v1(seq: u64, stages: &[&str], minute: i64, stacks: &[&str]) -> Release {
        let draft = NewRelease {
            sequence: seq,
            kind: ReleaseKind::Deploy {
                stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            },
            outcome: RunOutcome::Completed,
            caller_arn: "arn:aws:iam::123456789012:user/ops".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            project: "p".into(),
            environment: "e".into(),
            git_commit: Some("abc".into()),
            config_digest: sha256_digest(b"config"),
            stacks: stacks
                .iter()
                .map(|n| RecordedStack::new(*n, "s", "{}", BTreeMap::new()))
                .collect(),
        };
        let at = datetime!(2026-11-24 05:00:00 UTC) + time::Duration::minutes(minute);
        let mut r = Release::new(draft, at).unwrap();
        r.schema = 1;
        r.outcome = None;
        r.digest = r.compute_digest();
        r.verify().unwrap();
        r
    }

    #[test]
    fn stage_records_of_one_run_are_grouped() {
        let a = v1(1, &["flow"], 0, &["f", "t"]);
        let b = v1(2, &["flow", "platforms"], 5, &["f", "t"]);
        assert!(continues_run(&a, &b));
        // The record written again after removing destinations.
        let c = v1(3, &["flow", "platforms"], 6, &["f", "t"]);
        assert!(continues_run(&b, &c));
    }

    #[test]
    fn other_runs_are_not_grouped() {
        let a = v1(1, &["flow"], 0, &["f"]);
        // Not the next sequence; too late; stages that do not extend.
        assert!(!continues_run(
            &a,
            &v1(3, &["flow", "platforms"], 5, &["f"])
        ));
        assert!(!continues_run(
            &a,
            &v1(2, &["flow", "platforms"], 61, &["f"])
        ));
        assert!(!continues_run(&a, &v1(2, &["platforms"], 5, &["f"])));
        assert!(!continues_run(&a, &v1(2, &["flow"], 5, &["f", "t"])));
        let mut other = v1(2, &["flow", "platforms"], 5, &["f"]);
        other.config_digest = sha256_digest(b"another config");
        assert!(!continues_run(&a, &other));
        let mut other = v1(2, &["flow", "platforms"], 5, &["f"]);
        other.caller_arn = "arn:aws:iam::123456789012:user/someone-else".into();
        assert!(!continues_run(&a, &other));
        // Schema 2 records are one run each.
        let mut new = v1(2, &["flow", "platforms"], 5, &["f"]);
        new.schema = 2;
        new.outcome = Some(RunOutcome::Completed);
        assert!(!continues_run(&a, &new));
        // A rollback is its own run.
        let mut back = v1(2, &["flow"], 5, &["f"]);
        back.kind = ReleaseKind::Rollback {
            to: a.id.clone(),
            stages: vec!["flow".into()],
        };
        assert!(!continues_run(&a, &back));
    }
}
