//! Builds the running service from a [`Config`]: store, Pinterest clients, sources, sync engine
//! and HTTP server; runs them until shutdown and drains them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::{self, HttpState};
use crate::ingest::{Ingest, IngestConfig};
use crate::item::SourceId;
use crate::live::Live;
use crate::live::parts::Parts;
use crate::live::runtime::Runtime;
use crate::sources::feed::FeedSource;
use crate::sources::shop::ShopSource;
use crate::sources::webhook::WebhookSources;
use crate::store::Store;
use crate::sync::accounts_factory::AccountsFactory;
use crate::sync::reconcile::ReconcileBudget;
use crate::sync::retry::Backoff;
use crate::sync::route::{RouteRule, Routes, When};
use crate::sync::{Engine, SyncSettings};

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

        let factory = AccountsFactory::new(config)?;
        let vault = factory.vault().cloned();
        let accounts = factory.build(&store, &clock).await?;

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

    /// Serve HTTP on `listener` and run pollers and the engine until `shutdown` is cancelled;
    /// then stop accepting, let in-flight requests and work finish (both within the one grace
    /// period: slow clients cannot hold shutdown past it) and close the store.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        self.runtime.start(self.parts, shutdown.clone()).await;
        crate::live::triggers::reload_on_sighup(self.live.clone(), shutdown.clone());
        if self.watch_config {
            crate::live::triggers::watch_file(
                self.live.clone(),
                crate::live::triggers::WATCH_INTERVAL,
                shutdown.clone(),
            );
        }
        let engine_token = shutdown.child_token();
        let engine = self.engine.clone();
        tasks.spawn(async move { engine.run(engine_token).await });

        tasks.spawn(count_sync_events(
            self.engine.subscribe(),
            shutdown.child_token(),
        ));
        let mut state = HttpState::new(self.store.clone(), self.clock.clone());
        state.draining = shutdown.clone();
        state.accounts = Arc::new(self.accounts);
        state.admin = self.admin;
        state.metrics = crate::telemetry::metrics_handle();
        state.live = Some(self.live.clone());
        state.public_url = self.public_url;
        let hooks = self.runtime.router();
        let limits = self.limits;
        let public = match &self.admin_listener {
            Some(_) => http::public_router(state.clone(), hooks),
            None => http::router(state.clone(), hooks),
        };
        tracing::info!(address = ?listener.local_addr().ok(), "Listening.");
        let public = http::serve::serve(listener, public, limits, shutdown.clone());
        let admin = async {
            match self.admin_listener {
                Some(listener) => {
                    tracing::info!(address = ?listener.local_addr().ok(), "Admin API, status page and metrics listening.");
                    let router = http::admin_router(state);
                    http::serve::serve(listener, router, limits, shutdown.clone()).await
                }
                None => Ok(()),
            }
        };
        let grace = self.shutdown_grace;
        let runtime = self.runtime.clone();
        // Tasks drain while the servers finish their last requests: one grace period for both.
        let drain = async {
            shutdown.cancelled().await;
            let drained = tokio::time::timeout(grace, async {
                while tasks.join_next().await.is_some() {}
                runtime.join().await;
            })
            .await;
            if drained.is_err() {
                tracing::warn!(?grace, "Some tasks did not stop within the grace period.");
                tasks.abort_all();
            }
        };
        let serving = async {
            let served = futures::future::try_join(public, admin).await;
            // A server that fails stops the service rather than leaving it half up.
            shutdown.cancel();
            served
        };
        let (served, ()) = tokio::join!(serving, drain);
        served.context("HTTP server failed")?;

        self.store.close().await.context("closing the store")?;
        tracing::info!("Stopped.");
        Ok(())
    }
}

/// Count Pins created and jobs dead-lettered (`pinbridge_pins_total{outcome}`) from the
/// engine's events, until shutdown.
async fn count_sync_events(
    mut events: tokio::sync::broadcast::Receiver<crate::sync::SyncEvent>,
    shutdown: CancellationToken,
) {
    use crate::sync::SyncEvent;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(SyncEvent::PinCreated {
                account,
                reconciled,
                ..
            }) => {
                let outcome = if reconciled { "reconciled" } else { "created" };
                metrics::counter!("pinbridge_pins_total", "account" => account, "outcome" => outcome).increment(1);
            }
            Ok(SyncEvent::Dead { .. }) => {
                metrics::counter!("pinbridge_pins_total", "account" => "", "outcome" => "failed")
                    .increment(1);
            }
            Ok(SyncEvent::Retrying { .. }) => {
                metrics::counter!("pinbridge_pin_retries_total").increment(1);
            }
            Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "Metrics missed sync events."),
            Err(RecvError::Closed) => return,
        }
    }
}

/// The name a route's jobs carry: its `name`, or `routes[i]`.
pub fn route_name(index: usize, name: Option<&str>) -> String {
    name.map(str::to_string)
        .unwrap_or_else(|| format!("routes[{index}]"))
}

/// Routes and per-source policies for the ingest handle.
pub fn ingest_config(config: &Config) -> IngestConfig {
    let default_account = match config.accounts.as_slice() {
        [only] => only.name.clone(),
        _ => String::new(),
    };
    let rules = config
        .routes
        .iter()
        .enumerate()
        .map(|(i, route)| RouteRule {
            name: route_name(i, route.name.as_deref()),
            source: route.source.clone(),
            account: route
                .account
                .clone()
                .unwrap_or_else(|| default_account.clone()),
            board: match (&route.board_id, &route.board) {
                (Some(id), _) => format!("id:{id}"),
                (None, Some(name)) => name.clone(),
                (None, None) => String::new(),
            },
            section: match (&route.section_id, &route.section) {
                (Some(id), _) => Some(format!("id:{id}")),
                (None, name) => name.clone(),
            },
            when: When {
                categories: route.when.category.clone(),
                // Validation compiled these already; a failure here cannot happen.
                title: route
                    .when
                    .title
                    .as_deref()
                    .and_then(|r| regex::Regex::new(r).ok()),
                link: route
                    .when
                    .link
                    .as_deref()
                    .and_then(|r| regex::Regex::new(r).ok()),
            },
        })
        .collect();
    IngestConfig {
        routes: Routes::new(rules),
        on_change: config
            .sources
            .iter()
            .map(|s| (SourceId::new(&s.common.id), s.common.on_change))
            .collect(),
    }
}
