//! Which tokens an account starts with, and keeping refreshed ones across restarts.
//!
//! With continuous refresh every refresh returns a new refresh token; the one in the config
//! goes stale. Refreshed tokens are sealed ([`Vault`]) into the account's store record. At
//! start, the stored tokens win over the config's unless the config's token changed since they
//! were stored (the user re-authorized): the stored record remembers which config token it
//! descends from.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::AccountConfig;
use crate::pinterest::Tokens;
use crate::pinterest::vault::Vault;
use crate::store::Store;
use crate::sync::account::StateLock;

/// A digest naming the configured tokens (never the tokens themselves).
pub fn origin_of(account: &AccountConfig) -> String {
    let mut hasher = Sha256::new();
    for token in [&account.refresh_token, &account.access_token] {
        hasher.update(
            token
                .as_ref()
                .map(|t| t.expose_secret())
                .unwrap_or("")
                .as_bytes(),
        );
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..12])
}

/// The tokens to start `account` with: stored ones if they descend from the configured ones.
pub async fn initial_tokens(
    account: &AccountConfig,
    store: &dyn Store,
    vault: Option<&Vault>,
) -> anyhow::Result<Tokens> {
    let configured = Tokens {
        access_token: account
            .access_token
            .clone()
            .unwrap_or_else(|| SecretString::from(String::new())),
        refresh_token: account.refresh_token.clone(),
        access_expires_at: None,
        refresh_expires_at: None,
        scope: None,
    };
    let (Some(vault), Some(blob)) = (vault, store.account_state(&account.name).await?.tokens)
    else {
        return Ok(configured);
    };
    match vault.open(&account.name, &blob) {
        Ok((tokens, origin)) if origin == origin_of(account) => Ok(tokens),
        Ok(_) => {
            tracing::info!(account = %account.name, "The configured tokens changed; using them instead of the stored ones.");
            Ok(configured)
        }
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "Stored tokens cannot be opened; using the configured ones.");
            Ok(configured)
        }
    }
}

/// Refreshed tokens, handed from the token manager's hook to the persisting task: account,
/// origin, tokens, and the account's record lock (shared with the engine's writes, so neither
/// overwrites what the other just stored).
pub type Refreshed = (String, String, Tokens, StateLock);

/// Persist refreshed tokens until the channel closes. Runs as its own task because the token
/// manager calls its hook while holding its lock.
pub async fn persist_refreshed(
    mut rx: mpsc::UnboundedReceiver<Refreshed>,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
) {
    while let Some((account, origin, tokens, lock)) = rx.recv().await {
        let blob = vault.seal(&account, &tokens, &origin);
        let _guard = lock.lock().await;
        let result = store
            .update_account_state(
                &account,
                Box::new(move |state| state.tokens = Some(blob.clone())),
            )
            .await;
        match result {
            Ok(_) => tracing::debug!(account = %account, "Refreshed tokens stored (sealed)."),
            Err(e) => {
                tracing::error!(account = %account, error = %e, "Refreshed tokens could not be stored; they last until restart.")
            }
        }
    }
}
