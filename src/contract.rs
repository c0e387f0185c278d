//! The JSON output contract, as JSON Schema files: one per document kind
//! (`schema/output/<kind>.schema.json`), generated here from the very
//! types the commands serialize, so a file cannot drift from what lunora
//! prints (a test compares the committed files with [`schemas`]).
//!
//! Why a module of its own: like `app`, it has to know every command's
//! report type; the commands know nothing of it.

use schemars::schema::{RootSchema, Schema, SchemaObject};
use schemars::JsonSchema;
use serde_json::Value;

use crate::commands;
use crate::output::{schema_id, Envelope};

/// The directory of the schema files, relative to the repository root.
pub const DIR: &str = "schema/output";

/// The kind of the JSON Lines events of `deploy`, `rollback`, `start`
/// and `stop`, which carry no envelope.
pub const PROGRESS_EVENT: &str = "progress-event";

/// Every document kind with its schema, in file-name order.
pub fn schemas() -> Vec<(&'static str, RootSchema)> {
    use commands::*;
    let mut out = vec![
        document::<destination::AddReport>("add-destination"),
        document::<cost::CostReport>("cost"),
        document::<cost::ActualReport>("cost-actual"),
        document::<destination::RemoveReport>("remove-destination"),
        document::<crate::ops::deploy::DeployReport>("deploy"),
        document::<crate::diagnostic::DiagnosticsReport>("diagnostics"),
        document::<crate::serve::edit::DestinationPreview>("destination-preview"),
        document::<crate::serve::api::ErrorDocument>("error"),
        document::<crate::serve::api::FlowStatusDocument>("flow-status"),
        document::<crate::serve::api::InputsHealthDocument>("inputs-health"),
        document::<crate::presets::catalog::PlatformList>("platforms"),
        document::<failover::FailoverReport>("failover"),
        document::<outputs::OutputsReport>("outputs"),
        document::<crate::ops::plan::Plan>("plan"),
        document::<presets::PresetDetail>("preset"),
        document::<crate::presets::catalog::PresetList>("presets"),
        document::<crate::release::history::ReleasesReport>("releases"),
        document::<render::RenderReport>("render"),
        document::<crate::ops::deploy::DeployReport>("rollback"),
        document::<operate::OperateReport>("start"),
        document::<status::StatusReport>("status"),
        document::<operate::OperateReport>("stop"),
        document::<thumbnail::ThumbnailReport>("thumbnail"),
        document::<validate::ValidateReport>("validate"),
    ];
    let mut event = schemars::schema_for!(crate::progress::ProgressEvent);
    let meta = event.schema.metadata();
    meta.title = Some(format!("lunora {PROGRESS_EVENT}"));
    meta.description = Some(
        "One line of the JSON Lines stream of `lunora deploy|rollback|start|stop --output json`; the stream ends with the command's report (`lunora.<command>/v1`) on one line.".to_owned(),
    );
    date_time(&mut event, "at");
    out.push((PROGRESS_EVENT, event));
    out.sort_by_key(|(kind, _)| *kind);
    out
}

/// The file a kind's schema is committed as.
pub fn file_name(kind: &str) -> String {
    format!("{kind}.schema.json")
}

/// A schema as the committed file holds it (canonical JSON, as the other
/// files of `schema/`).
pub fn to_pretty_json(schema: &RootSchema) -> String {
    let value = serde_json::to_value(schema).unwrap_or(Value::Null);
    crate::render::canonical_json(&value)
}

/// The schema of the document of `kind`: the report `R` with the envelope,
/// `schema` and `kind` fixed to their values, no other field allowed.
fn document<R: JsonSchema>(kind: &'static str) -> (&'static str, RootSchema) {
    let mut root = schemars::schema_for!(Envelope<R>);
    let id = schema_id(kind);
    let meta = root.schema.metadata();
    meta.title = Some(id.clone());
    meta.description = Some(match kind {
        "error" | "flow-status" | "inputs-health" | "platforms" | "destination-preview" => {
            format!("The `{kind}` document of `lunora serve`'s HTTP API (README, \"JSON output\").")
        }
        _ => format!("The `lunora {kind} --output json` document (README, \"JSON output\")."),
    });
    let object = root.schema.object();
    object.additional_properties = Some(Box::new(Schema::Bool(false)));
    for (field, value) in [("schema", id), ("kind", kind.to_owned())] {
        object.properties.insert(
            field.to_owned(),
            Schema::Object(SchemaObject {
                const_value: Some(Value::String(value)),
                ..SchemaObject::default()
            }),
        );
    }
    date_time(&mut root, "generated_at");
    (kind, root)
}

/// Marks the RFC 3339 field `field` of `root` as a `date-time`.
fn date_time(root: &mut RootSchema, field: &str) {
    if let Some(Schema::Object(o)) = root.schema.object().properties.get_mut(field) {
        o.format = Some("date-time".to_owned());
    }
}
