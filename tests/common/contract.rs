//! Reads a `--output json` document the way a consumer of the contract
//! would (README, "JSON output"): the envelope is checked field by field,
//! the rest deserializes into the report type (`deny_unknown_fields`), and
//! serializing that again gives the same JSON, so a field the type does not
//! describe (a flattened one included) fails. The top-level fields are
//! also checked against the committed `schema/output/<kind>.schema.json`.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The one document `stdout` holds, checked as a `kind` document.
pub fn document<R: DeserializeOwned + Serialize>(stdout: &str, kind: &str) -> R {
    let value: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    check(value, kind)
}

/// `value` checked as a `kind` document.
pub fn check<R: DeserializeOwned + Serialize>(mut value: Value, kind: &str) -> R {
    check_against_schema_file(&value, kind);
    let object = value
        .as_object_mut()
        .unwrap_or_else(|| panic!("a {kind} document is a JSON object"));
    assert_eq!(
        object.remove("schema"),
        Some(Value::String(format!("lunora.{kind}/v1"))),
        "schema"
    );
    assert_eq!(
        object.remove("kind"),
        Some(Value::String(kind.to_owned())),
        "kind"
    );
    assert_eq!(
        object.remove("lunora_version"),
        Some(Value::String(env!("CARGO_PKG_VERSION").to_owned())),
        "lunora_version"
    );
    let at = object
        .remove("generated_at")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("a {kind} document has `generated_at`"));
    assert_recent_utc(&at);
    let report: R = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("the {kind} document does not match its type: {e}\n{value:#}"));
    let again = serde_json::to_value(&report).expect("serializes");
    assert_eq!(
        again, value,
        "the {kind} document has a field its type does not describe"
    );
    report
}

/// `at` is RFC 3339, UTC (`Z`), and within a few minutes of now.
pub fn assert_recent_utc(at: &str) {
    assert!(at.ends_with('Z'), "`{at}` is not UTC");
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("`{at}` is not RFC 3339: {e}"));
    let age = time::OffsetDateTime::now_utc() - t;
    assert!(
        age.whole_seconds().abs() < 600,
        "`{at}` is not the time of the run"
    );
}

/// Every top-level field is one the committed schema names, and every
/// field it requires is there.
fn check_against_schema_file(value: &Value, kind: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/output")
        .join(format!("{kind}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("a schema file is JSON");
    let named: BTreeSet<&String> = schema["properties"]
        .as_object()
        .expect("a document schema has properties")
        .keys()
        .collect();
    let present: BTreeSet<&String> = value
        .as_object()
        .expect("a document is a JSON object")
        .keys()
        .collect();
    let unknown: Vec<&&String> = present.difference(&named).collect();
    assert!(
        unknown.is_empty(),
        "the {kind} document has fields {unknown:?} that {} does not name",
        path.display()
    );
    for required in schema["required"].as_array().into_iter().flatten() {
        let field = required.as_str().unwrap_or_default();
        assert!(
            value.get(field).is_some(),
            "the {kind} document lacks `{field}`, required by {}",
            path.display()
        );
    }
}
