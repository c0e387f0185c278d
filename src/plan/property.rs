//! Per-property before and after values of a modified resource.
//!
//! Why this module exists: a CloudFormation change set names the changed
//! properties but not their values unless it is made with
//! `IncludePropertyValues`
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>),
//! and lunora already holds both templates, the live one (GetTemplate
//! returns the template as submitted, dynamic references unresolved:
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html>)
//! and the rendered one. So the values come from the two templates'
//! `Properties`, compared down to the leaves that differ, each named by a
//! JSON Pointer (RFC 6901) into `Properties`.
//!
//! Secrets never show: a dynamic reference (`{{resolve:secretsmanager:...}}`)
//! is shown as written, and any other string under a secret-named key
//! (`StreamName`, `StreamKey`, `Password`, ...; an ARN or a parameter
//! name such as `PasswordParam` is a reference) or shaped like a secret
//! (see [`crate::config::secrets::detect`]) is replaced by [`REDACTED`].
//! Pure: values in, values out.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a hidden value shows instead.
pub const REDACTED: &str = "(redacted: looks like a secret; lunora never shows one)";

/// One changed value of a resource's properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyChange {
    /// JSON Pointer into the resource's `Properties`, e.g.
    /// `/EncoderSettings/VideoDescriptions/0/Width`.
    pub path: String,
    /// The live value; absent when the property is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The rendered value; absent when the property goes away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl PropertyChange {
    /// `before -> after` when both sides are scalars (text output), else
    /// `None`.
    pub fn compact(&self) -> Option<String> {
        let side = |v: &Option<Value>| match v {
            None => Some("(none)".to_owned()),
            Some(Value::Object(_) | Value::Array(_)) => None,
            Some(v) => Some(v.to_string()),
        };
        Some(format!("{} -> {}", side(&self.before)?, side(&self.after)?))
    }
}

/// The leaves that differ between two resources' `Properties`, in path
/// order, secrets redacted.
pub fn changes(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<PropertyChange> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        walk(
            &mut out,
            format!("/{}", escape(key)),
            key,
            before.get(key),
            after.get(key),
        );
    }
    out
}

/// Compares two values at `path`: objects key by key, arrays of the same
/// length element by element, anything else as a whole.
fn walk(
    out: &mut Vec<PropertyChange>,
    path: String,
    key: &str,
    b: Option<&Value>,
    a: Option<&Value>,
) {
    if b == a {
        return;
    }
    match (b, a) {
        (Some(Value::Object(bm)), Some(Value::Object(am))) => {
            let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            for k in keys {
                walk(
                    out,
                    format!("{path}/{}", escape(k)),
                    k,
                    bm.get(k),
                    am.get(k),
                );
            }
        }
        (Some(Value::Array(bv)), Some(Value::Array(av))) if bv.len() == av.len() => {
            for (i, (x, y)) in bv.iter().zip(av).enumerate() {
                walk(out, format!("{path}/{i}"), key, Some(x), Some(y));
            }
        }
        _ => out.push(PropertyChange {
            path,
            before: b.map(|v| shown(key, v)),
            after: a.map(|v| shown(key, v)),
        }),
    }
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `value` as the plan may show it: every string that could be a secret
/// replaced, `key` being the name it is found under.
pub fn shown(key: &str, value: &Value) -> Value {
    match value {
        Value::String(s) if is_dynamic_reference(s) => value.clone(),
        Value::String(s)
            if !s.is_empty()
                && ((secret_key(key) && !is_arn(s))
                    || crate::config::secrets::detect(s).is_some()) =>
        {
            Value::String(REDACTED.to_owned())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shown(key, v)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shown(k, v))).collect())
        }
        other => other.clone(),
    }
}

/// A canonical JSON template with [`shown`] applied to every value, for
/// the plan's text diff; a template that is not JSON is kept as it is
/// (lunora renders and submits JSON, and GetTemplate returns it as
/// submitted).
pub fn redacted(template: &str) -> String {
    match serde_json::from_str::<Value>(template) {
        Ok(value) => {
            let shown = shown("", &value);
            if shown == value {
                template.to_owned()
            } else {
                crate::render::canonical_json(&shown)
            }
        }
        Err(_) => template.to_owned(),
    }
}

/// `{{resolve:...}}`: CloudFormation resolves it at deploy time; the text
/// itself names the secret, never holds it
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html>).
fn is_dynamic_reference(s: &str) -> bool {
    s.starts_with("{{resolve:") && s.ends_with("}}")
}

/// An ARN names a resource (a secret's ARN included), never holds a
/// secret
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>).
fn is_arn(s: &str) -> bool {
    s.starts_with("arn:") && !s.contains(char::is_whitespace) && s.splitn(6, ':').count() == 6
}

/// Keys whose values are secrets whatever they look like (an ARN aside): MediaLive's
/// RTMP `StreamName` is the platform's stream key
/// (<https://docs.aws.amazon.com/medialive/latest/ug/origin-server-rtmp.html>).
fn secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // `PasswordParam` names the SSM parameter that holds MediaLive's RTMP
    // password, not the password
    // (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-medialive-channel-outputdestinationsettings.html>);
    // `SecretArn` names a secret. Both are references.
    let reference = ["param", "parameter", "arn"]
        .iter()
        .any(|suffix| key.ends_with(suffix));
    !reference
        && [
            "password",
            "passphrase",
            "secret",
            "streamkey",
            "streamname",
            "token",
        ]
        .iter()
        .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> BTreeMap<String, Value> {
        v.as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    #[test]
    fn leaves_that_differ_are_listed_with_pointers() {
        let before = props(json!({
            "Name": "a",
            "EncoderSettings": {"VideoDescriptions": [{"Width": 1280, "Height": 720}]},
            "Tags": [{"Key": "k", "Value": "v"}],
            "Old": true
        }));
        let after = props(json!({
            "Name": "a",
            "EncoderSettings": {"VideoDescriptions": [{"Width": 1920, "Height": 1080}]},
            "Tags": [{"Key": "k", "Value": "v"}, {"Key": "x/y", "Value": "z"}],
            "New": 3
        }));
        let c = changes(&before, &after);
        let paths: Vec<&str> = c.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/EncoderSettings/VideoDescriptions/0/Height",
                "/EncoderSettings/VideoDescriptions/0/Width",
                "/New",
                "/Old",
                "/Tags"
            ]
        );
        assert_eq!(c[1].before, Some(json!(1280)));
        assert_eq!(c[1].after, Some(json!(1920)));
        assert_eq!(c[1].compact().as_deref(), Some("1280 -> 1920"));
        assert_eq!(c[2].before, None);
        assert_eq!(c[2].compact().as_deref(), Some("(none) -> 3"));
        assert_eq!(c[3].after, None);
        assert_eq!(c[4].compact(), None);
        assert_eq!(escape("a~b/c"), "a~0b~1c");
    }

    #[test]
    fn secrets_never_show_and_references_show_as_written() {
        let reference = "{{resolve:secretsmanager:lunora/keys:SecretString:twitch}}";
        let before = props(
            json!({"Destinations": [{"Settings": [{"StreamName": "live_123456789_abcdefghijklmnopqrstuvwxyz", "Url": "rtmp://a/app"}]}]}),
        );
        let after = props(
            json!({"Destinations": [{"Settings": [{"StreamName": reference, "Url": "rtmp://b/app"}]}]}),
        );
        let c = changes(&before, &after);
        let all = serde_json::to_string(&c).unwrap_or_default();
        assert!(!all.contains("live_123456789"), "{all}");
        assert_eq!(c[0].path, "/Destinations/0/Settings/0/StreamName");
        assert_eq!(c[0].before, Some(json!(REDACTED)));
        assert_eq!(c[0].after, Some(json!(reference)));
        assert_eq!(c[1].after, Some(json!("rtmp://b/app")));
        // A whole object that goes away is redacted inside, too.
        let gone = changes(&before, &props(json!({})));
        let text = serde_json::to_string(&gone).unwrap_or_default();
        assert!(!text.contains("live_123456789"), "{text}");
        // A secret-shaped value under an innocent key is hidden as well.
        let shaped = shown("Description", &json!("AKIAIOSFODNN7EXAMPLE"));
        assert_eq!(shaped, json!(REDACTED));
    }

    /// Redaction hides secrets, not the plan: nothing in the templates
    /// lunora renders for the example and the test fixtures is hidden (the
    /// stream keys there are dynamic references, shown as written).
    #[test]
    fn the_rendered_templates_lose_nothing_to_redaction() {
        for config in [
            "examples/lunora.yaml",
            "tests/fixtures/mediaconnect/lunora.yaml",
            "tests/fixtures/no-backup/lunora.yaml",
            "tests/fixtures/custom-platform/lunora.yaml",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(config);
            let deployment = crate::config::load(&path).expect("the config loads");
            let stacks = crate::render::render(&deployment).expect("the config renders");
            assert!(!stacks.is_empty());
            for stack in stacks {
                let template: Value = serde_json::from_str(&stack.template).expect("JSON");
                let hidden = changes(&props(template.clone()), &props(shown("", &template)));
                assert!(hidden.is_empty(), "{}: {hidden:?}", stack.name);
                if stack.template.contains("StreamName") {
                    assert!(stack.template.contains("{{resolve:"), "{}", stack.name);
                }
            }
        }
    }
}
