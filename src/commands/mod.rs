//! The commands, one file each. `main.rs` only parses and dispatches.

pub mod auth;
mod check;
pub mod items;
mod online_check;
mod poll;
mod progress;
pub mod retry;
mod serve;
pub mod sources;

use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError};

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
            let path = config.path();
            let loaded = Config::load_or_env(&path, config.config.is_some())?;
            // Reloads re-read the file; a service configured by the environment alone has none.
            let file = path.exists().then_some(path);
            serve::run(&loaded, file).await
        }
        Command::Check { config, online } => check::run(&config.path(), online).await,
        Command::Demo { data_dir } => crate::demo::run(data_dir).await.map_err(Into::into),
        Command::Sandbox {
            listen,
            write_quota,
            error_rate,
        } => serve::sandbox(listen, write_quota, error_rate).await,
        Command::Items { config, action } => {
            items::run(&Config::load(&config.path())?, action).await
        }
        Command::Poll {
            config,
            source,
            dry_run,
        } => poll::run(&Config::load(&config.path())?, &source, dry_run).await,
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
            auth::run(&Config::load(&config.path())?, args).await
        }
        Command::Sources {
            config,
            server,
            action,
        } => {
            let loaded = Config::load_or_env(&config.path(), config.config.is_some())?;
            sources::run(&loaded, server, action).await
        }
    }
}
