//! Which credentials and Region lunora will use, checked before any call,
//! so that a mistake gets its own message instead of a quiet fallback.
//!
//! The SDK treats a named profile that does not exist like a profile
//! without credentials (and, with no config files at all, like no profile),
//! so `lunora plan --profile typo` would silently plan offline. Here a
//! profile asked for by `--profile` or `AWS_PROFILE` must exist in the
//! shared config files, read by the SDK's own loader
//! (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html).
//! The Region is always the config's; a different `AWS_REGION`,
//! `AWS_DEFAULT_REGION` or profile `region` is named in a warning, never
//! followed.

use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

/// The profile asked for: `--profile`, else a non-empty `AWS_PROFILE`,
/// with where it came from.
/// `default` counts as no request: it is what the SDK uses anyway.
pub fn requested(flag: Option<&str>) -> Option<(String, &'static str)> {
    let (name, from) = match flag {
        Some(p) => (p.to_owned(), "`--profile`"),
        None => (
            std::env::var("AWS_PROFILE")
                .ok()
                .filter(|p| !p.trim().is_empty())?,
            "AWS_PROFILE",
        ),
    };
    (name != "default").then_some((name, from))
}

/// Fails when a named profile (other than `default`, which may be absent)
/// is not defined in the shared config or credentials file, or is empty.
pub async fn check_profile(flag: Option<&str>) -> anyhow::Result<()> {
    let Some((name, from)) = requested(flag) else {
        return Ok(());
    };
    anyhow::ensure!(
        !name.trim().is_empty(),
        "`--profile` is empty (hint: name a profile from `~/.aws/config`, or leave it out)"
    );
    let files = EnvConfigFiles::default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the AWS config files for profile `{name}` (from {from}): {e}"
            )
        })?;
    if set.get_profile(&name).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = set.profiles().collect();
    known.sort_unstable();
    let known = if known.is_empty() {
        "none is defined".to_owned()
    } else {
        format!("defined: {}", known.join(", "))
    };
    anyhow::bail!(
        "AWS profile `{name}` (from {from}) does not exist in the shared config files ({}; {known}) (hint: fix the name, or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE)",
        files_named()
    )
}

/// Where the SDK looks for the shared files.
fn files_named() -> String {
    let config = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| "~/.aws/config".into());
    let credentials = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| "~/.aws/credentials".into());
    format!("`{config}`, `{credentials}`")
}

/// A warning for each Region setting that differs from the config's
/// (lunora calls the config's Region regardless).
pub async fn region_warnings(config_region: &str, profile: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() && v.trim() != config_region {
                out.push(format!(
                    "{var}={v} is not used: lunora calls the config's region `{config_region}`"
                ));
            }
        }
    }
    if let Some((name, _)) = requested(profile) {
        let files = EnvConfigFiles::default();
        if let Ok(set) = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await {
            if let Some(r) = set.get_profile(&name).and_then(|p| p.get("region")) {
                if r.trim() != config_region {
                    out.push(format!(
                        "profile `{name}` sets region `{r}`, which is not used: lunora calls the config's region `{config_region}`"
                    ));
                }
            }
        }
    }
    out
}
