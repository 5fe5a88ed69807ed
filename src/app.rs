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
use crate::sources::feed::FeedSource;
use crate::sources::feed::Fetcher;
use crate::sources::shop::ShopSource;
use crate::sources::webhook::WebhookSources;
use crate::sources::webhook::fetch::HttpFetcher;
use crate::store::Store;
use crate::sync::reconcile::ReconcileBudget;
use crate::sync::retry::Backoff;
use crate::sync::{Engine, SyncSettings};

// Route translation lives beside the routing code; re-exported for existing callers.
pub use crate::routing::{ingest_config, route_name};

// Building the accounts reads the whole configuration, so it is assembly, not part of `sync`.
pub mod accounts_factory;
pub mod connect_setup;
pub mod retention;
mod supervise;

use accounts_factory::AccountsFactory;

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
    /// `[store] keep_payloads` and `retention_every`, for the retention task.
    keep_payloads: Option<Duration>,
    retention_every: Duration,
    clock: SharedClock,
    accounts: Vec<String>,
    /// Each account's quota and daily cap, for the status page.
    account_limits: HashMap<String, http::AccountLimits>,
    admin: Option<Arc<http::AdminToken>>,
    public_url: Option<url::Url>,
    /// What connecting a Pinterest account from the browser needs.
    connect: Arc<http::connect::Connect>,
    limits: http::serve::Limits,
    /// `server.admin_listen`, bound: the admin API, status page and metrics are served only here.
    admin_listener: Option<TcpListener>,
    /// Collects the Pins' daily figures (`[analytics]`), unless turned off.
    analytics: Option<crate::analytics::Collector>,
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

        let factory = AccountsFactory::new(config)?;
        let vault = factory.vault().cloned();
        let accounts = factory.build(&store, &clock).await?;
        let analytics = config.analytics.enabled.then(|| {
            crate::analytics::Collector::new(
                store.clone(),
                clock.clone(),
                crate::analytics::AnalyticsSettings {
                    interval: config.analytics.interval,
                    per_minute: config.analytics.per_minute,
                    lookback: config.analytics.lookback,
                },
                accounts
                    .iter()
                    .map(|a| (a.name.clone(), a.client.clone()))
                    .collect(),
            )
        });
        let connect = Arc::new(connect_setup::connect_for(config, &factory, &accounts));

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
            WebhookSources::new(parts.hooks.clone(), ingest.clone(), clock.clone())
                .map_err(|problems| {
                    anyhow::anyhow!(
                        "webhook sources: {}",
                        problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })?
                // Featured-image lookups say who they are from like every other source fetch.
                .with_fetcher(Arc::new(HttpFetcher::standard_over(
                    Fetcher::new().with_user_agent(config.fetch_user_agent()),
                ))),
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
            keep_payloads: config.store.keep_payloads,
            retention_every: config.store.retention_every,
            clock,
            accounts: config.accounts.iter().map(|a| a.name.clone()).collect(),
            account_limits: http::AccountLimits::of(&config.accounts),
            admin: config
                .server
                .admin_token
                .as_ref()
                .map(|t| Arc::new(http::AdminToken::new(t))),
            public_url: config.server.public_url.clone(),
            connect,
            limits: http::serve::Limits::from_config(&config.server),
            admin_listener: None,
            analytics,
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
