//! Builds the running service from a [`Config`]: store, Pinterest clients, sources, sync engine
//! and HTTP server. Running them until shutdown and draining them is `app/supervise.rs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::http;
use crate::ingest::Ingest;
use crate::live::Live;
use crate::live::parts::Parts;
use crate::live::runtime::Runtime;
use crate::pinterest::vault::Vault;
use crate::pinterest::{Credentials, PinterestClient, TokenManager};
use crate::sources::feed::FeedSource;
use crate::sources::shop::ShopSource;
use crate::sources::webhook::WebhookSources;
use crate::store::Store;
use crate::sync::account::AccountRuntime;
use crate::sync::reconcile::ReconcileBudget;
use crate::sync::retry::Backoff;
use crate::sync::tokens::{Refreshed, StoreTokens, initial_tokens, origin_of, persist_refreshed};
use crate::sync::{Engine, SyncSettings};
use secrecy::ExposeSecret;

// Route translation lives beside the routing code; re-exported for existing callers.
pub use crate::routing::{ingest_config, route_name};

mod supervise;

/// The assembled service, ready to run.
pub struct App {
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub engine: Arc<Engine>,
    /// What the effective configuration runs as; handed to the runtime by [`App::run`].
    parts: Parts,
    runtime: Arc<Runtime>,
    /// Sources and routes that change at runtime (reload, admin API).
    live: Arc<Live>,
    watch_config: bool,
    shutdown_grace: Duration,
    clock: SharedClock,
    accounts: Vec<String>,
    admin: Option<Arc<http::AdminToken>>,
    public_url: Option<url::Url>,
    limits: http::serve::Limits,
    /// `server.admin_listen`, bound: the admin API, status page and metrics are served only here.
    admin_listener: Option<TcpListener>,
}

impl App {
    /// Open the store and build every part. Nothing runs until [`App::run`].
    pub async fn build(config: &Config, clock: SharedClock) -> anyhow::Result<App> {
        let store = crate::store::open::open_configured(&config.store, Some(clock.clone()))
            .await
            .with_context(|| crate::store::open::describe(&config.store))?;
        Self::build_with_store(config, clock, store).await
    }

    /// [`App::build`] on a store that is already open (tests, demo).
    pub async fn build_with_store(
        config: &Config,
        clock: SharedClock,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<App> {
        let wake = Arc::new(Notify::new());
        let ingest = Ingest::new(
            store.clone(),
            clock.clone(),
            ingest_config(config),
            wake.clone(),
        );

        let http = reqwest::Client::builder()
            .timeout(config.pinterest.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("pinbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the Pinterest HTTP client")?;
        let token_url = token_url(&config.pinterest.api_base)?;
        let vault = vault_for(config)?.map(Arc::new);
        let (refreshed_tx, refreshed_rx) = tokio::sync::mpsc::unbounded_channel::<Refreshed>();
        match &vault {
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
            let tokens = initial_tokens(account, store.as_ref(), vault.as_deref()).await?;
            let (name, origin, tx) = (
                account.name.clone(),
                origin_of(account),
                refreshed_tx.clone(),
            );
            let manager = TokenManager::new(
                token_url.clone(),
                credentials.clone(),
                tokens,
                http.clone(),
                clock.clone(),
            );
            let manager =
                Arc::new(match &vault {
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
            let client = PinterestClient::new(&config.pinterest.api_base, http.clone(), manager);
            accounts.push(Arc::new(AccountRuntime::new(
                account.name.clone(),
                client,
                account.writes_per_minute,
                account.daily_cap,
            )));
        }

        let settings = SyncSettings {
            workers: config.sync.workers,
            max_attempts: config.sync.max_attempts,
            backoff: Backoff {
                base: config.sync.backoff_base,
                cap: config.sync.backoff_cap,
            },
            lease: config.sync.lease,
            reconcile: ReconcileBudget {
                pages: config.sync.reconcile_page_budget(),
                time: config.sync.reconcile_time,
                skew: config.sync.reconcile_skew,
            },
            idle_poll: Duration::from_millis(500),
            settle: config.pinterest.timeout,
        };
        // Routes are set from the effective configuration below (and on every change).
        let engine = Arc::new(Engine::new(
            store.clone(),
            clock.clone(),
            accounts,
            HashMap::new(),
            settings,
            wake,
        ));
        engine.load_account_state().await?;

        let (live_start, mut parts) =
            crate::live::start::initial(config, store.as_ref(), clock.now_ms(), vault.clone())
                .await?;
        ingest.reconfigure(parts.ingest.clone());
        engine.set_routes(std::mem::take(&mut parts.routes));
        let webhooks = Arc::new(
            WebhookSources::new(parts.hooks.clone(), ingest.clone(), clock.clone()).map_err(
                |problems| {
                    anyhow::anyhow!(
                        "webhook sources: {}",
                        problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
            )?,
        );
        let runtime = Arc::new(Runtime::new(
            ingest.clone(),
            engine.clone(),
            webhooks,
            config.server.public_url.clone(),
            vault.clone(),
            config.server.shutdown_grace,
            &parts,
        ));
        let live = Arc::new(live_start.into_live(store.clone(), clock.clone(), runtime.clone()));

        Ok(App {
            store,
            ingest,
            engine,
            parts,
            runtime,
            live,
            watch_config: config.server.watch_config,
            shutdown_grace: config.server.shutdown_grace,
            clock,
            accounts: config.accounts.iter().map(|a| a.name.clone()).collect(),
            admin: config
                .server
                .admin_token
                .as_ref()
                .map(|t| Arc::new(http::AdminToken::new(t))),
            public_url: config.server.public_url.clone(),
            limits: http::serve::Limits::from_config(&config.server),
            admin_listener: None,
        })
    }

    /// Re-read `path` on SIGHUP (and, with `server.watch_config`, when it changes) while running.
    pub fn with_config_file(mut self, path: PathBuf) -> Self {
        if let Some(live) = Arc::get_mut(&mut self.live) {
            live.set_file(path);
        }
        self
    }

    /// Serve the admin API, status page and metrics on `listener` only (`server.admin_listen`);
    /// the main listener then serves only webhooks, WebSub callbacks and health.
    pub fn with_admin_listener(mut self, listener: TcpListener) -> Self {
        self.admin_listener = Some(listener);
        self
    }

    /// The live configuration (runtime sources and routes, reloads).
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// The feed sources (for one-shot polls and tests).
    pub fn feeds(&self) -> &[FeedSource] {
        &self.parts.feeds
    }

    /// The Etsy and Shopify sources.
    pub fn shops(&self) -> &[ShopSource] {
        &self.parts.shops
    }
}

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
