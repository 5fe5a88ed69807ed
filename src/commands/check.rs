//! `pinbridge check`: validate the config; with `--online`, also try each account's token and
//! resolve each route's board.

use std::sync::Arc;

use super::CommandError;
use crate::app::App;
use crate::cli::LoadedConfig;
use crate::clock::SystemClock;
use crate::store::sled::{SledOptions, SledStore};

pub async fn run(loaded: &LoadedConfig, online: bool) -> Result<(), CommandError> {
    let config = &loaded.config;
    // Refused at load by `serve` too; said here so a bad key list is found before deploying.
    crate::app::vault_for(config).map_err(|e| {
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
    // A throwaway store: checking must not touch (or lock) the real one.
    let dir = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let store = Arc::new(
        SledStore::open(&dir.path().join("check.sled"), SledOptions::default(), None)
            .map_err(anyhow::Error::from)?,
    );
    let app = App::build_with_store(config, Arc::new(SystemClock), store).await?;
    let problems = app.engine.check_online(&app.ingest.routes()).await;
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
