//! Builds each configured account's runtime: the Pinterest HTTP client, the token manager
//! (with the tokens it starts from and where refreshed ones go), and the token vault. Used by
//! the service and by `check --online`, which needs the accounts but not the service.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::pinterest::vault::Vault;
use crate::pinterest::{Credentials, PinterestClient, TokenManager};
use crate::store::Store;
use crate::sync::account::AccountRuntime;
use crate::sync::tokens::{Refreshed, StoreTokens, initial_tokens, origin_of, persist_refreshed};

/// The token vault: `store.token_keys`, else `PINBRIDGE_TOKEN_KEYS` / `PINBRIDGE_TOKEN_KEY`.
pub fn vault_for(config: &Config) -> anyhow::Result<Option<Vault>> {
    Ok(match &config.store.token_keys {
        Some(keys) => Vault::from_env(&|name| {
            (name == "PINBRIDGE_TOKEN_KEYS").then(|| keys.expose_secret().to_string())
        })?,
        None => Vault::from_env(&|name| std::env::var(name).ok())?,
    })
}

/// The token endpoint under the API root (`…/v5/oauth/token`), whether or not the configured
/// root ends in `/`.
pub fn token_url(api_base: &url::Url) -> anyhow::Result<url::Url> {
    let mut base = api_base.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join("oauth/token")
        .context("pinterest.api_base cannot be joined with oauth/token")
}

/// What every account's runtime is built from: one configuration, one Pinterest HTTP client,
/// one token endpoint and the token vault.
pub struct AccountsFactory<'a> {
    config: &'a Config,
    http: reqwest::Client,
    token_url: url::Url,
    vault: Option<Arc<Vault>>,
}

impl<'a> AccountsFactory<'a> {
    /// Check what the accounts need from `config` (API root, token keys) before building any.
    pub fn new(config: &'a Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.pinterest.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("pinbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the Pinterest HTTP client")?;
        let token_url = token_url(&config.pinterest.api_base)?;
        let vault = vault_for(config)?.map(Arc::new);
        Ok(Self {
            config,
            http,
            token_url,
            vault,
        })
    }

    /// The Pinterest HTTP client every account shares.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &url::Url {
        &self.token_url
    }

    /// The token vault, when token keys are configured (runtime records are sealed with it too).
    pub fn vault(&self) -> Option<&Arc<Vault>> {
        self.vault.as_ref()
    }

    /// Every configured account, ready for the engine. Refreshed tokens are sealed into `store`
    /// with the vault (shared between replicas on a shared store); without a vault they are
    /// kept in memory only.
    pub async fn build(
        &self,
        store: &Arc<dyn Store>,
        clock: &SharedClock,
    ) -> anyhow::Result<Vec<Arc<AccountRuntime>>> {
        let config = self.config;
        let (refreshed_tx, refreshed_rx) = tokio::sync::mpsc::unbounded_channel::<Refreshed>();
        match &self.vault {
            Some(vault) => {
                tokio::spawn(persist_refreshed(
                    refreshed_rx,
                    store.clone(),
                    vault.clone(),
                ));
            }
            None if store.shared() && config.accounts.iter().any(|a| a.refresh_token.is_some()) => {
                tracing::warn!(
                    "No PINBRIDGE_TOKEN_KEY on a shared store: replicas cannot share refreshed tokens, so after the first refresh the others hold a retired refresh token and their account needs `pinbridge auth`. Set the same PINBRIDGE_TOKEN_KEY on every replica."
                );
            }
            None if config.accounts.iter().any(|a| a.refresh_token.is_some()) => {
                tracing::warn!(
                    "No PINBRIDGE_TOKEN_KEY: refreshed tokens are kept in memory only and the configured ones are used again after a restart."
                );
            }
            None => {}
        }
        let credentials = match (&config.pinterest.client_id, &config.pinterest.client_secret) {
            (Some(id), Some(secret)) => Some(Credentials {
                client_id: id.clone(),
                client_secret: secret.clone(),
            }),
            _ => None,
        };
        let mut accounts = Vec::new();
        for account in &config.accounts {
            let tokens = initial_tokens(account, store.as_ref(), self.vault.as_deref()).await?;
            let (name, origin, tx) = (
                account.name.clone(),
                origin_of(account),
                refreshed_tx.clone(),
            );
            let manager = TokenManager::new(
                self.token_url.clone(),
                credentials.clone(),
                tokens,
                self.http.clone(),
                clock.clone(),
            );
            let manager =
                Arc::new(match &self.vault {
                    // Replicas on one store refresh in turns and share the result (a refresh
                    // retires the refresh token every other replica holds).
                    Some(vault) if store.shared() => manager.shared_with(Arc::new(
                        StoreTokens::new(store.clone(), vault.clone(), account, clock.clone()),
                    )),
                    _ => manager.on_refresh(move |tokens| {
                        // Only hand off: the manager holds its lock while calling this.
                        let _ = tx.send((name.clone(), origin.clone(), tokens.clone()));
                    }),
                });
            let client =
                PinterestClient::new(&config.pinterest.api_base, self.http.clone(), manager);
            accounts.push(Arc::new(AccountRuntime::new(
                account.name.clone(),
                client,
                account.writes_per_minute,
                account.daily_cap,
            )));
        }
        Ok(accounts)
    }
}
