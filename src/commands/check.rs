//! `pinbridge check`: validate the config; with `--online`, also try each account's token and
//! resolve each route's board.

use std::sync::Arc;

use super::CommandError;
use crate::app::accounts_factory::AccountsFactory;
use crate::cli::LoadedConfig;
use crate::clock::{SharedClock, SystemClock};
use crate::commands::online_check::{AccountAnswer, BoardAnswer, OnlineReport};
use crate::config::Config;
use crate::store::Store;
use crate::store::sled::{SledOptions, SledStore};

pub async fn run(loaded: &LoadedConfig, online: bool) -> Result<(), CommandError> {
    let config = &loaded.config;
    // Refused at load by `serve` too; said here so a bad key list is found before deploying.
    crate::app::accounts_factory::vault_for(config).map_err(|e| {
        CommandError::Usage(format!(
            "the token keys (store.token_keys, or $PINBRIDGE_TOKEN_KEYS / $PINBRIDGE_TOKEN_KEY) are refused: {e:#}"
        ))
    })?;
    if let Some(url) = &config.store.url {
        use secrecy::ExposeSecret;
        if let Some(warning) = crate::store::postgres::tls_warning(url.expose_secret()) {
            println!("warning: {warning}");
        }
    }
    println!(
        "{}: ok ({} source(s), {} route(s), {} account(s))",
        loaded.origin(),
        config.sources.len(),
        config.routes.len(),
        config.accounts.len()
    );
    if !online {
        return Ok(());
    }
    let report = check_online(config).await?;
    print_found(&report);
    let problems = report.problems();
    if problems.is_empty() {
        println!("online: every account answered and every named board resolved");
        Ok(())
    } else {
        for problem in &problems {
            println!("  - {problem}");
        }
        Err(CommandError::Usage(format!(
            "{} online problem(s) found",
            problems.len()
        )))
    }
}

/// Build the configured accounts (not the service) and ask Pinterest about them.
async fn check_online(config: &Config) -> anyhow::Result<OnlineReport> {
    // A throwaway store: checking must not touch (or lock) the real one.
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(
        &dir.path().join("check.sled"),
        SledOptions::default(),
        None,
    )?);
    let clock: SharedClock = Arc::new(SystemClock);
    let accounts = AccountsFactory::new(config)?.build(&store, &clock).await?;
    let (routes, create_missing) = crate::commands::online_check::configured_routes(config);
    Ok(crate::commands::online_check::check_online(&accounts, &routes, &create_missing).await)
}

/// What answered: each account's user, each route's board.
fn print_found(report: &OnlineReport) {
    for check in &report.accounts {
        if let AccountAnswer::SignedIn { username } = &check.answer {
            println!(
                "account `{}`: signed in as {}",
                check.account,
                username.as_deref().unwrap_or("(no username)")
            );
        }
    }
    for check in &report.routes {
        match &check.answer {
            BoardAnswer::Found { id } => {
                println!("route `{}`: board `{}` is {id}", check.route, check.board)
            }
            BoardAnswer::WillBeCreated { name } => {
                println!("route `{}`: board `{name}` will be created", check.route)
            }
            BoardAnswer::Failed(_) => {}
        }
    }
}
