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

use crate::pinterest::Tokens;
use crate::pinterest::oauth::{AuthError, RefreshTurn, SharedTokens};
use crate::pinterest::vault::Vault;
use crate::settings::AccountConfig;
use crate::store::Store;

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
/// origin, tokens. The write is `update_account_state`, atomic in the store, so it does not
/// overwrite the engine's concurrent block or daily-count writes (nor theirs it).
pub type Refreshed = (String, String, Tokens);

/// Persist refreshed tokens until the channel closes. Runs as its own task because the token
/// manager calls its hook while holding its lock.
pub async fn persist_refreshed(
    mut rx: mpsc::UnboundedReceiver<Refreshed>,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
) {
    while let Some((account, origin, tokens)) = rx.recv().await {
        let blob = vault.seal(&account, &tokens, &origin);
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

/// How long one replica's refresh turn lasts at most (a refresh is one HTTP call with a
/// timeout well below this); a replica killed mid-refresh blocks the others no longer.
const TURN_MS: i64 = 30_000;
/// How long to wait for the turn before giving up (and keeping the current token meanwhile).
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// [`SharedTokens`] through the store: the turn is a lease named `token:<account>`, the tokens
/// are the account record's sealed ones. Used when replicas share the store (PostgreSQL) and a
/// vault can seal the tokens.
pub struct StoreTokens {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    account: String,
    origin: String,
    holder: String,
    clock: crate::clock::SharedClock,
}

impl StoreTokens {
    pub fn new(
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        account: &AccountConfig,
        clock: crate::clock::SharedClock,
    ) -> StoreTokens {
        StoreTokens {
            store,
            vault,
            account: account.name.clone(),
            origin: origin_of(account),
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            clock,
        }
    }

    fn key(&self) -> crate::item::SourceId {
        crate::item::SourceId::new(format!("token:{}", self.account))
    }
}

fn shared_error(e: impl std::fmt::Display) -> AuthError {
    AuthError::Shared {
        message: e.to_string(),
    }
}

#[async_trait::async_trait]
impl SharedTokens for StoreTokens {
    async fn acquire(&self) -> Result<(RefreshTurn, Option<Tokens>), AuthError> {
        let started = std::time::Instant::now();
        let token = loop {
            let now = self.clock.now_ms();
            if let Some(token) = self
                .store
                .try_lease_source(&self.key(), &self.holder, now + TURN_MS, now)
                .await
                .map_err(shared_error)?
            {
                break token;
            }
            if started.elapsed() > TURN_WAIT {
                return Err(shared_error(
                    "another replica has been refreshing for over a minute",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let stored = self
            .store
            .account_state(&self.account)
            .await
            .map_err(shared_error)?
            .tokens
            .and_then(|blob| match self.vault.open(&self.account, &blob) {
                Ok((tokens, origin)) if origin == self.origin => Some(tokens),
                _ => None,
            });
        Ok((RefreshTurn(token.0), stored))
    }

    async fn release(
        &self,
        turn: RefreshTurn,
        refreshed: Option<&Tokens>,
    ) -> Result<(), AuthError> {
        let stored = match refreshed {
            Some(tokens) => {
                let blob = self.vault.seal(&self.account, tokens, &self.origin);
                self.store
                    .update_account_state(
                        &self.account,
                        Box::new(move |state| state.tokens = Some(blob.clone())),
                    )
                    .await
                    .map(|_| ())
                    .map_err(shared_error)
            }
            None => Ok(()),
        };
        let released = self
            .store
            .release_source(&self.key(), crate::store::LeaseToken(turn.0))
            .await
            .map_err(shared_error);
        stored.and(released)
    }
}
