//! The commands, one file each. `main.rs` only parses and dispatches.

pub mod auth;
mod boards;
mod check;
mod completions;
mod healthcheck;
pub mod items;
mod items_remote;
mod man;
mod online_check;
mod poll;
mod progress;
mod report;
pub mod retry;
mod serve;
mod service;
pub mod sources;
mod transfer;

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
    let config = cli.config;
    match cli.command {
        Command::Serve => {
            let loaded = config.load()?;
            // Reloads re-read the file; a service configured by the environment alone has none.
            serve::run(&loaded.config, loaded.file).await
        }
        Command::Check { online } => check::run(&config.load()?, online).await,
        Command::Healthcheck { timeout_secs } => {
            healthcheck::run(&config.load()?.config, timeout_secs).await
        }
        Command::Demo { data_dir } => crate::demo::run(data_dir).await.map_err(Into::into),
        Command::Sandbox {
            listen,
            write_quota,
            error_rate,
        } => serve::sandbox(listen, write_quota, error_rate).await,
        Command::Items { server, action } => {
            let config = config.load()?.config;
            // Export and import stream the whole store, which the admin API does not offer:
            // they always open it directly (a running sled service must be stopped first).
            if matches!(
                action,
                crate::cli::ItemsAction::Export { .. } | crate::cli::ItemsAction::Import { .. }
            ) {
                return items::run(&config, action).await;
            }
            match service::running(&config, server).await? {
                Some(api) => items_remote::run(&api, action).await,
                None => items::run(&config, action).await,
            }
        }
        Command::Report(args) => report::run(&config.load()?.config, args).await,
        Command::Store { action } => transfer::store(&config.load()?.config, action).await,
        Command::Boards { action } => boards::run(&config.load()?.config, action).await,
        Command::Poll {
            source,
            dry_run,
            server,
        } => poll::run(&config.load()?.config, &source, dry_run, server).await,
        Command::Auth {
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
        Command::Sources { server, action } => {
            sources::run(&config.load()?.config, server, action).await
        }
        Command::Completions { shell } => completions::run(shell),
        Command::Man => man::run(),
    }
}
