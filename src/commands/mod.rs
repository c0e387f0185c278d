//! One module per command. Each gathers its inputs, calls the core and
//! returns a report; none prints.

pub mod presets;
pub mod render;
pub mod schema;
pub mod validate;

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::config::{self, Deployment};
use crate::output::{Console, Report};

/// Text that is already formatted (completion scripts).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct RawText(pub String);

impl fmt::Display for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Report for RawText {
    fn markdown(&self) -> String {
        self.0.clone()
    }
}

/// Loads and validates the config, printing its warnings on stderr.
pub fn load(path: &Path, console: &Console) -> anyhow::Result<Deployment> {
    let deployment = config::load(path)?;
    for w in &deployment.warnings {
        console.warn(w);
    }
    Ok(deployment)
}
