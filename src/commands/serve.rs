//! `lunora serve [--listen ADDR] [--read-only] [--token-required]`: the
//! face that starts the HTTP face ([`crate::serve`]). It checks where it
//! may listen, connects to AWS once, takes or makes the token, says where
//! it listens, and serves until Ctrl-C or SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::aws::AwsSettings;
use crate::cli::ServeArgs;
use crate::output::Console;
use crate::serve::{auth, ServeOptions, Server};

/// The server's options from the command line.
pub fn options(args: &ServeArgs) -> ServeOptions {
    ServeOptions {
        listen: args.listen,
        read_only: args.read_only,
        token_required: args.token_required,
        refresh: Duration::from_secs(args.refresh),
    }
}

/// Runs the server until it is stopped.
pub async fn run(
    config: &Path,
    options: ServeOptions,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<()> {
    auth::check_listen(options.listen, options.token_required)?;
    let token = auth::Token::new(std::env::var(auth::TOKEN_VAR).ok())?;
    let (deployment, aws) = super::connect_operating(config, settings, console, "serve").await?;
    let library = crate::presets::catalog::library(config)?;
    let presets = serde_json::to_string(&crate::output::Envelope::new(
        "presets",
        crate::presets::catalog::PresetList::of(&library),
    ))?;
    let platforms = serde_json::to_string(&crate::output::Envelope::new(
        "platforms",
        crate::presets::catalog::PlatformList::of(&library),
    ))?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e} (hint: another program may use the port; pick one with `--listen 127.0.0.1:PORT`)", options.listen))?;
    let address = listener.local_addr()?;
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    if let Some(t) = &token.generated {
        // Even with `-q`: nobody else knows it.
        crate::output::write_stderr(&format!(
            "token (shown once; set LUNORA_SERVE_TOKEN to choose your own): {t}\n"
        ));
    }
    let server = Arc::new(Server::new(
        deployment,
        aws,
        token,
        options.clone(),
        (presets, platforms),
        stopping,
    )?);
    console.note(&format!(
        "lunora serve: listening on http://{address}/ (streaming page), http://{address}/admin{}; Ctrl-C stops",
        if options.read_only { " (read-only)" } else { "" }
    ));
    crate::serve::serve(listener, server, stopping_tx, shutdown_signal()).await?;
    console.note(&"lunora serve: stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (a service manager's stop).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
