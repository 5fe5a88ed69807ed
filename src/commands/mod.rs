//! The commands, one file each. `main.rs` only parses and dispatches.

pub mod auth;
mod check;
mod healthcheck;
pub mod items;
mod online_check;
mod poll;
mod progress;
pub mod retry;
mod serve;
pub mod sources;

use crate::cli::{Cli, Command};
use crate::config::ConfigError;

/// Why a command failed, and so its exit code: 2 for bad config or usage, 1 otherwise.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) | CommandError::Usage(_) => 2,
            CommandError::Runtime(_) => 1,
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Serve(config) => {
            let loaded = config.load()?;
            // Reloads re-read the file; a service configured by the environment alone has none.
            serve::run(&loaded.config, loaded.file).await
        }
        Command::Check { config, online } => check::run(&config.load()?, online).await,
        Command::Healthcheck {
            config,
            timeout_secs,
        } => healthcheck::run(&config.load()?.config, timeout_secs).await,
        Command::Demo { data_dir } => crate::demo::run(data_dir).await.map_err(Into::into),
        Command::Sandbox {
            listen,
            write_quota,
            error_rate,
        } => serve::sandbox(listen, write_quota, error_rate).await,
        Command::Items { config, action } => items::run(&config.load()?.config, action).await,
        Command::Poll {
            config,
            source,
            dry_run,
        } => poll::run(&config.load()?.config, &source, dry_run).await,
        Command::Auth {
            config,
            account,
            listen,
            redirect_uri,
            authorize_url,
        } => {
            let args = auth::AuthArgs {
                account,
                listen,
                redirect_uri,
                authorize_url,
            };
            auth::run(&config.load()?.config, args).await
        }
        Command::Sources {
            config,
            server,
            action,
        } => sources::run(&config.load()?.config, server, action).await,
    }
}
