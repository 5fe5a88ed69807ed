//! `pinbridge serve` and `pinbridge sandbox`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::app::App;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::pinterest::sandbox::{self, Faults, SandboxConfig};

pub async fn run(config: &Config) -> Result<(), CommandError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
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
