//! `lunora schema [config|preset|platform]`: the JSON Schema of lunora's
//! files, generated from the same types that parse them, for editors
//! (`# yaml-language-server: $schema=...`) and for CI.

use std::fmt;

use schemars::schema::RootSchema;
use serde::Serialize;

use crate::cli::SchemaKind;
use crate::output::Report;

/// A JSON Schema document.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Schema(pub RootSchema);

impl Schema {
    pub fn of(kind: SchemaKind) -> Self {
        Self(match kind {
            SchemaKind::Config => schemars::schema_for!(crate::config::Config),
            SchemaKind::Preset => schemars::schema_for!(crate::presets::model::Preset),
            SchemaKind::Platform => schemars::schema_for!(crate::presets::model::Platform),
        })
    }

    /// The schema as the committed file holds it.
    pub fn to_pretty_json(&self) -> String {
        let value = serde_json::to_value(&self.0).unwrap_or_default();
        crate::render::canonical_json(&value)
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_pretty_json())
    }
}

impl Report for Schema {
    fn kind(&self) -> &'static str {
        "schema"
    }

    /// A JSON Schema document, as it is.
    fn enveloped(&self) -> bool {
        false
    }

    fn markdown(&self) -> String {
        format!("```json\n{}```\n", self.to_pretty_json())
    }
}
