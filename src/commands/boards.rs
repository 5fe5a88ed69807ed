//! `pinbridge boards adopt --account A --board NAME`: record the Pins already on a board in the
//! link index, as the engine does on a route's first contact with its board. Works on the
//! configured store directly (a running service on sled holds its store: stop it first); run
//! again, it adds Pins made on the board since.

use std::sync::Arc;

use anyhow::Context;

use super::CommandError;
use crate::app::accounts_factory::AccountsFactory;
use crate::cli::BoardsAction;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::store::Store;
use crate::sync::adopt::adopt_board;

pub async fn run(config: &Config, action: BoardsAction) -> Result<(), CommandError> {
    let BoardsAction::Adopt { account, board } = action;
    if !config.accounts.iter().any(|a| a.name == account) {
        return Err(CommandError::Usage(format!(
            "no [[accounts]] entry named `{account}`"
        )));
    }
    let store: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let result = adopt(config, &store, &account, &board).await;
    store.close().await.context("closing the store")?;
    result
}

async fn adopt(
    config: &Config,
    store: &Arc<dyn Store>,
    account: &str,
    board: &str,
) -> Result<(), CommandError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let accounts = AccountsFactory::new(config)?.build(store, &clock).await?;
    let runtime = accounts
        .iter()
        .find(|a| a.name == account)
        .context("the account was not built")?;
    let board_id = runtime
        .boards
        .board_id(&runtime.client, board, false)
        .await
        .with_context(|| format!("resolving board `{board}`"))?;
    let found = adopt_board(
        store.as_ref(),
        &runtime.client,
        account,
        board,
        &board_id,
        clock.now_ms(),
    )
    .await
    .with_context(|| format!("reading the Pins of board `{board}`"))?;
    println!(
        "board `{board}` ({board_id}) on account `{account}`: {} Pins read, {} links recorded as already pinned",
        found.pins, found.recorded
    );
    Ok(())
}
