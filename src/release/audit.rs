//! Who switched what, and when: the audit trail of the operating actions
//! (`start`, `stop`, `failover`), whichever face they came through.
//!
//! Why it exists: with a second face (the HTTP server) next to the CLI, a
//! channel can be started from a browser as well as from a terminal; the
//! operator asking "who turned YouTube off at 20:14?" needs the answer in
//! the same place as the release history. Each action is one small JSON
//! object of its own in the store (`audit/<time>-<action>.json`), created
//! and never replaced, so the log is an append on a local directory and
//! on S3 alike, with no read-modify-write to race on. Nothing secret is
//! written: ids, results and the address the request came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Who asked for an operation, through which face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "lowercase", deny_unknown_fields)]
pub enum Actor {
    /// The command line (`{"via": "cli"}`).
    Cli,
    /// The HTTP server, for the client at this address
    /// (`{"via": "http", "client": "203.0.113.7:52114"}`).
    Http { client: SocketAddr },
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cli => f.write_str("cli"),
            Self::Http { client } => write!(f, "http from {client}"),
        }
    }
}

/// One operating action as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the action ended: RFC 3339, UTC.
    pub at: String,
    /// `start`, `stop` or `failover`.
    pub action: String,
    pub by: Actor,
    /// Each destination acted on, with its result (`started`,
    /// `already-running`, `stopped`, `already-stopped`, `failed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destinations: BTreeMap<String, String>,
    /// What was done to the flow (`started`, `stopped`, `in-use`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// Failover: the source asked for, `primary` or `backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Failover: the name of that source on the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Failover: false when the source was already preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
}

impl AuditRecord {
    /// A record of `action` by `by`, stamped now; the caller fills in
    /// what it touched.
    pub fn now(action: &str, by: Actor) -> Self {
        Self {
            at: rfc3339(time::OffsetDateTime::now_utc()),
            action: action.to_owned(),
            by,
            destinations: BTreeMap::new(),
            flow: None,
            to: None,
            source: None,
            changed: None,
        }
    }
}

/// RFC 3339 in UTC.
pub(super) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Hours each destination's channel ran between `from` and `to`, from
/// the audit trail: a `started` result opens a session, a `stopped` one
/// closes it, and a session still open at `to` counts up to `to`. A
/// session opened before `from` counts from `from`. Starts and stops made
/// outside lunora (the console, the AWS CLI) are not in the trail, so this
/// is what lunora recorded, not MediaLive's bill.
pub fn channel_hours(
    records: &[AuditRecord],
    from: time::OffsetDateTime,
    to: time::OffsetDateTime,
) -> BTreeMap<String, f64> {
    let parse = |at: &str| {
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
    };
    let mut open: BTreeMap<&str, time::OffsetDateTime> = BTreeMap::new();
    let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
    let mut add = |id: &str, start: time::OffsetDateTime, end: time::OffsetDateTime| {
        let (start, end) = (start.max(from), end.min(to));
        if end > start {
            *seconds.entry(id.to_owned()).or_default() += (end - start).as_seconds_f64();
        }
    };
    for r in records {
        let Some(at) = parse(&r.at) else { continue };
        for (id, result) in &r.destinations {
            match result.as_str() {
                "started" => {
                    open.entry(id.as_str()).or_insert(at);
                }
                "stopped" | "already-stopped" => {
                    if let Some(start) = open.remove(id.as_str()) {
                        add(id, start, at);
                    }
                }
                _ => {}
            }
        }
    }
    for (id, start) in open {
        add(id, start, to);
    }
    seconds
        .into_iter()
        .map(|(id, s)| (id, (s / 36.0).round() / 100.0))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{channel_hours, Actor, AuditRecord};
    use time::macros::datetime;

    fn record(at: &str, action: &str, dest: &str, result: &str) -> AuditRecord {
        let mut r = AuditRecord::now(action, Actor::Cli);
        r.at = at.to_owned();
        r.destinations.insert(dest.to_owned(), result.to_owned());
        r
    }

    #[test]
    fn channel_hours_pair_starts_with_stops_within_the_window() {
        let records = [
            // Opened last month: counts from the 1st.
            record("2026-11-30T23:00:00Z", "start", "youtube", "started"),
            record("2026-12-01T02:00:00Z", "stop", "youtube", "stopped"),
            record("2026-12-02T10:00:00Z", "start", "twitch", "started"),
            record("2026-12-02T10:30:00Z", "start", "twitch", "already-running"),
            record("2026-12-02T11:30:00Z", "stop", "twitch", "stopped"),
            record("2026-12-03T10:00:00Z", "start", "custom", "failed"),
            // Still running: counts up to `to`.
            record("2026-12-05T20:00:00Z", "start", "linkedin", "started"),
        ];
        let hours = channel_hours(
            &records,
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2026-12-05 21:15 UTC),
        );
        assert_eq!(hours.get("youtube"), Some(&2.0));
        assert_eq!(hours.get("twitch"), Some(&1.5));
        assert_eq!(hours.get("linkedin"), Some(&1.25));
        assert_eq!(hours.get("custom"), None);
    }

    #[test]
    fn an_actor_says_its_face_and_the_client_address() {
        let cli = serde_json::to_value(Actor::Cli).unwrap();
        assert_eq!(cli, serde_json::json!({"via": "cli"}));
        let http = Actor::Http {
            client: "203.0.113.7:52114".parse().unwrap(),
        };
        let value = serde_json::to_value(http).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"via": "http", "client": "203.0.113.7:52114"})
        );
        assert_eq!(serde_json::from_value::<Actor>(value).unwrap(), http);
        assert_eq!(http.to_string(), "http from 203.0.113.7:52114");
    }

    #[test]
    fn a_record_writes_only_what_it_has() {
        let mut record = AuditRecord::now("failover", Actor::Cli);
        record.to = Some("backup".into());
        let value = serde_json::to_value(&record).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["at", "action", "by", "to"]);
        assert!(record.at.ends_with('Z'), "{}", record.at);
    }
}
