//! From a validated [`Deployment`] to one CloudFormation template per stack.
//!
//! The resource layout lives in minijinja templates (`templates/*.yaml.j2`,
//! compiled into the binary) so a reviewer reads CloudFormation, not Rust.
//! Rust computes the values (names, ARNs, MediaLive encoder numbers) and
//! hands them over; every `{{ value }}` is written as JSON, so no config
//! value can change the YAML's structure. The rendered text is parsed back
//! and written as canonical JSON (sorted keys, two-space indent, trailing
//! newline): the same inputs always give byte-identical templates, and a
//! template that is not valid YAML fails here, not in CloudFormation.

mod context;

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Deployment, StackId};

/// The templates, by name.
const TEMPLATES: [(&str, &str); 3] = [
    ("base.yaml.j2", include_str!("../../templates/base.yaml.j2")),
    ("flow.yaml.j2", include_str!("../../templates/flow.yaml.j2")),
    (
        "destination.yaml.j2",
        include_str!("../../templates/destination.yaml.j2"),
    ),
];

/// CloudFormation's limit for a template passed inline (bigger ones go
/// through S3).
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// One rendered stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedStack {
    /// Which stack this is.
    pub id: StackId,
    /// The CloudFormation stack name.
    pub name: String,
    /// The stage it deploys in.
    pub stage: String,
    /// The canonical JSON template.
    pub template: String,
}

impl RenderedStack {
    /// The file name in `stacks/`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }
}

/// Rendering failed: a template bug, never a user error (the config was
/// validated before).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template `{template}` failed for stack `{stack}`: {source:#}")]
    Template {
        template: &'static str,
        stack: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("template `{template}` rendered invalid YAML for stack `{stack}`: {source}")]
    Yaml {
        template: &'static str,
        stack: String,
        #[source]
        source: serde_yaml::Error,
    },
}

/// The minijinja environment with lunora's templates: strict undefined
/// behaviour, JSON auto-escaping.
fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Json);
    env.set_keep_trailing_newline(true);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| RenderError::Template {
                template: name,
                stack: String::new(),
                source,
            })?;
    }
    Ok(env)
}

/// Renders every stack of the deployment, in stage order.
pub fn render(deployment: &Deployment) -> Result<Vec<RenderedStack>, RenderError> {
    let env = environment()?;
    let mut out = Vec::new();
    for stage in &deployment.stages {
        for id in &stage.stacks {
            let name = deployment.stack_name(id);
            let (template, ctx) = match id {
                StackId::Base => ("base.yaml.j2", context::base(deployment)),
                StackId::Flow => ("flow.yaml.j2", context::flow(deployment)),
                StackId::Destination(d) => {
                    ("destination.yaml.j2", context::destination(deployment, d))
                }
            };
            let text = env
                .get_template(template)
                .and_then(|t| t.render(&ctx))
                .map_err(|source| RenderError::Template {
                    template,
                    stack: name.clone(),
                    source,
                })?;
            let value: Value = serde_yaml::from_str(&text).map_err(|source| RenderError::Yaml {
                template,
                stack: name.clone(),
                source,
            })?;
            out.push(RenderedStack {
                id: id.clone(),
                name,
                stage: stage.name.clone(),
                template: canonical_json(&value),
            });
        }
    }
    Ok(out)
}

/// A copy of `value` whose objects have their keys inserted in sorted
/// order, so it serialises the same whether or not a dependency turns on
/// serde_json's `preserve_order` (tests and the binary can differ there).
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            let mut out = serde_json::Map::new();
            for (k, v) in ordered {
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Canonical JSON: object keys sorted, two-space indent, trailing newline.
/// Sorting is done here rather than relying on serde_json's map order, which
/// a dependency's `preserve_order` feature could change.
pub fn canonical_json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    text.push('\n');
    text
}
