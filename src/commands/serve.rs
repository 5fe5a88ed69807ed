//! `pinbridge serve` and `pinbridge sandbox`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::app::App;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::pinterest::sandbox::{self, Faults, SandboxConfig};

/// Serve until SIGTERM/SIGINT. With `file`, SIGHUP (and `server.watch_config`) reload it.
pub async fn run(config: &Config, file: Option<PathBuf>) -> Result<(), CommandError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let mut app = App::build(config, Arc::new(SystemClock)).await?;
    if let Some(file) = file {
        app = app.with_config_file(file);
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    if let Some(admin) = config.server.admin_listen {
        let admin = tokio::net::TcpListener::bind(admin)
            .await
            .with_context(|| format!("cannot listen on {admin} (server.admin_listen)"))?;
        app = app.with_admin_listener(admin);
    }
    app.run(listener, shutdown).await?;
    Ok(())
}

pub async fn sandbox(
    listen: SocketAddr,
    write_quota: Option<u32>,
    error_rate: f64,
) -> Result<(), CommandError> {
    if !(0.0..=1.0).contains(&error_rate) {
        return Err(CommandError::Usage(format!(
            "--error-rate must be between 0 and 1, not {error_rate}"
        )));
    }
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let config = SandboxConfig {
        write_quota_per_minute: write_quota,
        faults: Faults {
            error_rate,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    sandbox::run_cli(listen, config, shutdown)
        .await
        .with_context(|| format!("running the sandbox on {listen}"))?;
    Ok(())
}
