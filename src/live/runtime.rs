//! The running sources, changed in place.
//!
//! Each polled source runs as its own task with its own cancellation token (a child of the
//! service's shutdown token). Applying new [`Parts`]: routes and webhook secrets are swapped
//! whole (requests and jobs in flight finish with what they started with); a source that is
//! gone or changed is cancelled and awaited — the pollers check their token before handing a
//! fetched page to ingest, so a stopped poll never half-ingests — and then the new or changed
//! ones start. With WebSub on, the subscriber knows its feeds when built, so any change to the
//! feeds rebuilds it and restarts the feed tasks (their state is in the store: nothing is lost).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use url::Url;

use crate::ingest::Ingest;
use crate::pinterest::vault::Vault;
use crate::sources::feed::FeedSource;
use crate::sources::webhook::WebhookSources;
use crate::sources::websub::WebSub;
use crate::sync::Engine;

use super::parts::{Parts, Task};

struct Poller {
    table: toml::Table,
    feed: bool,
    token: CancellationToken,
    handle: JoinHandle<()>,
}

#[derive(Default)]
struct Pollers {
    /// Set by [`Runtime::start`]; before it, tasks wait in `pending`.
    shutdown: Option<CancellationToken>,
    pending: Vec<(String, toml::Table, Task)>,
    running: HashMap<String, Poller>,
}

/// The WebSub subscriber in force and its callback router.
pub struct WebSubSlot {
    public_url: Url,
    vault: Option<Arc<Vault>>,
    current: RwLock<(Arc<WebSub>, Router)>,
}

impl WebSubSlot {
    fn new(
        public_url: Url,
        vault: Option<Arc<Vault>>,
        feeds: &[FeedSource],
        ingest: &Ingest,
    ) -> Self {
        let websub = Arc::new(
            WebSub::new(
                public_url.clone(),
                feeds,
                ingest.clone(),
                Default::default(),
            )
            .with_vault(vault.clone()),
        );
        let router = crate::sources::websub::router(websub.clone());
        Self {
            public_url,
            vault,
            current: RwLock::new((websub, router)),
        }
    }

    fn get(&self) -> (Arc<WebSub>, Router) {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, feeds: &[FeedSource], ingest: &Ingest) {
        let fresh = Self::new(self.public_url.clone(), self.vault.clone(), feeds, ingest);
        let value = fresh.get();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// Hands each callback to the subscriber in force.
async fn websub_dispatch(State(slot): State<Arc<WebSubSlot>>, request: Request) -> Response {
    let (_, router) = slot.get();
    // The outer route already recorded `{source_id}` in the extensions, and the inner router
    // would add its own: its handler would then see two path parameters. Start clean.
    let (mut parts, body) = request.into_parts();
    parts.extensions = axum::http::Extensions::new();
    let request = Request::from_parts(parts, body);
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
    .into_response()
}

/// The parts of the running service a new configuration changes.
pub struct Runtime {
    ingest: Ingest,
    engine: Arc<Engine>,
    webhooks: Arc<WebhookSources>,
    websub: Option<Arc<WebSubSlot>>,
    pollers: tokio::sync::Mutex<Pollers>,
    grace: Duration,
}

impl Runtime {
    pub fn new(
        ingest: Ingest,
        engine: Arc<Engine>,
        webhooks: Arc<WebhookSources>,
        public_url: Option<Url>,
        vault: Option<Arc<Vault>>,
        grace: Duration,
        parts: &Parts,
    ) -> Self {
        let websub =
            public_url.map(|url| Arc::new(WebSubSlot::new(url, vault, &parts.feeds, &ingest)));
        Self {
            ingest,
            engine,
            webhooks,
            websub,
            pollers: Default::default(),
            grace,
        }
    }

    pub fn webhooks(&self) -> &Arc<WebhookSources> {
        &self.webhooks
    }

    /// `/hooks/{id}` and, with WebSub, `/websub/{id}`, both following reloads.
    pub fn router(&self) -> Router {
        let mut router = crate::sources::webhook::router(self.webhooks.clone());
        if let Some(slot) = &self.websub {
            router = router.merge(
                Router::new()
                    .route("/websub/{source_id}", axum::routing::any(websub_dispatch))
                    .route(
                        "/websub/{source_id}/{token}",
                        axum::routing::any(websub_dispatch),
                    )
                    .with_state(slot.clone()),
            );
        }
        router
    }

    /// Put `parts` in force. Before [`Runtime::start`] the pollers are only remembered.
    pub async fn apply(&self, parts: Parts) {
        let Parts {
            feeds,
            shops,
            tables,
            hooks,
            ingest,
            routes,
        } = parts;
        let tasks = Parts::into_tasks(feeds, shops, &tables);
        self.ingest.reconfigure(ingest);
        self.engine.set_routes(routes);
        if let Err(problems) = self.webhooks.replace(hooks) {
            // Parts checked every hook already; this would be a bug, and the old set stays.
            tracing::error!(?problems, "The webhook sources could not be replaced.");
        }

        let mut pollers = self.pollers.lock().await;
        let Some(shutdown) = pollers.shutdown.clone() else {
            pollers.pending = tasks;
            return;
        };
        let feeds_changed = self.websub.is_some() && {
            let running: HashMap<&String, &toml::Table> = pollers
                .running
                .iter()
                .filter(|(_, p)| p.feed)
                .map(|(id, p)| (id, &p.table))
                .collect();
            let wanted: HashMap<&String, &toml::Table> = tasks
                .iter()
                .filter(|(_, _, t)| t.is_feed())
                .map(|(id, table, _)| (id, table))
                .collect();
            running != wanted
        };
        let wanted: HashMap<&str, &toml::Table> = tasks
            .iter()
            .map(|(id, table, _)| (id.as_str(), table))
            .collect();
        let stop: Vec<String> = pollers
            .running
            .iter()
            .filter(|(id, p)| {
                wanted.get(id.as_str()) != Some(&&p.table) || (feeds_changed && p.feed)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let stopping: Vec<(String, Poller)> = stop
            .into_iter()
            .filter_map(|id| pollers.running.remove(&id).map(|p| (id, p)))
            .collect();
        self.stop_all(stopping).await;
        if feeds_changed && let Some(slot) = &self.websub {
            let feeds: Vec<FeedSource> = tasks
                .iter()
                .filter_map(|(_, _, t)| match t {
                    Task::Feed(f) => Some(f.as_ref().clone()),
                    Task::Shop(_) => None,
                })
                .collect();
            slot.replace(&feeds, &self.ingest);
        }
        for (id, table, task) in tasks {
            if pollers.running.contains_key(&id) {
                continue;
            }
            let poller = self.spawn(table, task, &shutdown);
            tracing::info!(source = %id, "Source started.");
            pollers.running.insert(id, poller);
        }
    }

    /// Start the pollers of the configuration the service was built with (its routes, webhooks
    /// and ingest settings are in force already); later [`Runtime::apply`] calls start and stop
    /// them.
    pub async fn start(&self, parts: Parts, shutdown: CancellationToken) {
        let mut pollers = self.pollers.lock().await;
        pollers.shutdown = Some(shutdown.clone());
        let mut tasks = std::mem::take(&mut pollers.pending);
        tasks.extend(Parts::into_tasks(parts.feeds, parts.shops, &parts.tables));
        for (id, table, task) in tasks {
            let poller = self.spawn(table, task, &shutdown);
            pollers.running.insert(id, poller);
        }
    }

    /// Ids of the pollers running now, sorted.
    pub async fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.pollers.lock().await.running.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Wait for every poller to end (after shutdown was cancelled).
    pub async fn join(&self) {
        let running = std::mem::take(&mut self.pollers.lock().await.running);
        for (_, poller) in running {
            let _ = poller.handle.await;
        }
    }

    fn spawn(&self, table: toml::Table, task: Task, shutdown: &CancellationToken) -> Poller {
        let token = shutdown.child_token();
        let ingest = self.ingest.clone();
        let feed = task.is_feed();
        let handle = match task {
            Task::Feed(source) => match &self.websub {
                Some(slot) => tokio::spawn(crate::sources::websub::run(
                    *source,
                    ingest,
                    slot.get().0,
                    token.clone(),
                )),
                None => tokio::spawn(crate::sources::feed::poller::run(
                    *source,
                    ingest,
                    token.clone(),
                )),
            },
            Task::Shop(source) => {
                tokio::spawn(crate::sources::shop::run(source, ingest, token.clone()))
            }
        };
        Poller {
            table,
            feed,
            token,
            handle,
        }
    }

    /// Cancel and await; a poller that outlives the grace period is aborted (it was waiting on
    /// the network, not writing: writes are single store calls that finish or do not start).
    async fn stop_all(&self, stopping: Vec<(String, Poller)>) {
        for (_, poller) in &stopping {
            poller.token.cancel();
        }
        for (id, poller) in stopping {
            let abort = poller.handle.abort_handle();
            if tokio::time::timeout(self.grace, poller.handle)
                .await
                .is_err()
            {
                tracing::warn!(source = %id, "A stopped source did not end within the grace period; aborted.");
                abort.abort();
            }
            tracing::info!(source = %id, "Source stopped.");
        }
    }
}
