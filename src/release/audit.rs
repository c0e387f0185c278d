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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{Actor, AuditRecord};

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
