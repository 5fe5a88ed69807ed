//! The engine loop: lease outbox jobs, make Pins, record the outcome.
//!
//! One dispatcher claims up to `workers` jobs at a time and runs each in its own task. A job's
//! outcome is written back with its lease token, so a worker that lost its lease cannot
//! overwrite what another did. Failures are classified (`engine/classify.rs`): rate limits
//! wait without using an attempt, ambiguous creates become `unknown` and are reconciled before
//! a second create, an account that needs attention (Trial app, missing scopes) is marked and
//! its jobs held (`engine/hold.rs`), permanent errors go to the dead letter with Pinterest's
//! message.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::account::{AccountRuntime, AccountStatus};
use super::board_pacing::BoardPacing;
use super::reconcile::ReconcileBudget;
use super::retry::Backoff;
use super::template::Templates;
use crate::clock::SharedClock;
use crate::store::{Millis, Store, StoreResult};

// The steps of one attempt, in order (`attempt.rs` runs them).
mod admit;
mod adopt;
mod attempt;
mod create;
mod follow;
mod reconcile;
mod resolve;

// Classifying a failure and writing the outcome back.
mod account_records;
mod attention;
mod classify;
mod failure;
mod hold;
mod outcome;

/// How the engine runs (from `[sync]`).
#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub workers: usize,
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub lease: Duration,
    /// How far a reconcile pages the board back (`reconcile.rs`).
    pub reconcile: ReconcileBudget,
    /// How often to look for due retries when nothing wakes the engine.
    pub idle_poll: Duration,
    /// The least wait between an ambiguous create and the reconcile that looks for its Pin: a
    /// request that timed out may still be applied a little later, and a reconcile that runs
    /// before it lands would make a second Pin. The HTTP timeout is a sensible value.
    pub settle: Duration,
}

/// A route's rendering and board settings.
pub struct RouteRuntime {
    pub templates: Templates,
    pub create_missing: bool,
    /// Privacy (`PUBLIC`, `PROTECTED`, `SECRET`) and description of a board the route creates.
    pub board_privacy: Option<&'static str>,
    pub board_description: Option<String>,
    /// The route's `min_spacing` between Pins on its board.
    pub min_spacing: Option<std::time::Duration>,
    /// What an update does when the app may not use Pinterest's Pin update.
    pub update_fallback: crate::settings::UpdateFallback,
    /// Adopt the Pins already on the board on first contact (`adopt_existing`).
    pub adopt_existing: bool,
}

/// What happened to a job, for the demo, tests and logs.
#[derive(Clone, Debug)]
pub enum SyncEvent {
    PinCreated {
        account: String,
        board: String,
        section: Option<String>,
        pin_id: String,
        title: Option<String>,
        link: Option<String>,
        image_url: String,
        /// The Pin already existed (found by reconcile after an ambiguous create).
        reconciled: bool,
    },
    Retrying {
        job: String,
        at: Millis,
        error: String,
    },
    Dead {
        job: String,
        error: String,
    },
}

pub struct Engine {
    store: Arc<dyn Store>,
    clock: SharedClock,
    accounts: HashMap<String, Arc<AccountRuntime>>,
    /// Swapped whole on a config reload ([`Engine::set_routes`]); a job in progress keeps the
    /// snapshot it started with.
    routes: std::sync::RwLock<Arc<HashMap<String, RouteRuntime>>>,
    default_templates: Templates,
    settings: SyncSettings,
    wake: Arc<Notify>,
    events: broadcast::Sender<SyncEvent>,
    /// Per-board spacing and one Pin per link per board (`board_pacing.rs`), from the routes
    /// in force (replaced with them).
    pacing: std::sync::RwLock<Arc<BoardPacing>>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        accounts: Vec<Arc<AccountRuntime>>,
        routes: HashMap<String, RouteRuntime>,
        settings: SyncSettings,
        wake: Arc<Notify>,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            store,
            clock,
            accounts: accounts.into_iter().map(|a| (a.name.clone(), a)).collect(),
            routes: std::sync::RwLock::new(Arc::new(routes)),
            default_templates: Templates::from_sources(None, None, None, None)
                .expect("default templates compile"),
            settings,
            wake,
            events,
            pacing: Default::default(),
        }
    }

    /// Replace the routes' templates, board settings and spacings (live configuration). Queued
    /// jobs keep their targets; a route that is gone renders with the default templates.
    pub fn set_routes(&self, routes: HashMap<String, RouteRuntime>) {
        let pacing = BoardPacing::new(
            routes
                .iter()
                .map(|(name, route)| (name.clone(), route.min_spacing)),
        );
        *self.pacing.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pacing);
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routes);
    }

    fn route_table(&self) -> Arc<HashMap<String, RouteRuntime>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// Load persisted account state (rate-limit blocks survive restarts).
    pub async fn load_account_state(&self) -> StoreResult<()> {
        for account in self.accounts.values() {
            let state = self.store.account_state(&account.name).await?;
            account.restore(&state);
        }
        Ok(())
    }

    /// How every account stands (rate-limit block, problem, pacing, daily count), for
    /// readiness, metrics and status output.
    pub fn account_status(&self) -> Vec<AccountStatus> {
        let now = self.clock.now_ms();
        let mut all: Vec<_> = self.accounts.values().map(|a| a.status(now)).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Run until `shutdown`, then let in-flight jobs finish.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut inflight = JoinSet::new();
        // Jobs claimed and not yet processed: a run of one spaced board's jobs is one task.
        let busy = Arc::new(AtomicUsize::new(0));
        loop {
            let free = self
                .settings
                .workers
                .saturating_sub(busy.load(Ordering::SeqCst));
            let mut claimed = 0;
            if free > 0 && !shutdown.is_cancelled() {
                let now = self.clock.now_ms();
                match self
                    .store
                    .claim(free, self.settings.lease.as_millis() as i64, now)
                    .await
                {
                    Ok(leases) => {
                        claimed = leases.len();
                        for run in self.pacing().runs(leases) {
                            let engine = self.clone();
                            let mut held = Held::new(busy.clone(), run.len());
                            inflight.spawn(async move {
                                for lease in run {
                                    engine.process(lease).await;
                                    held.release_one();
                                }
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "Claiming jobs failed; will retry."),
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            if claimed > 0 && busy.load(Ordering::SeqCst) < self.settings.workers {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
                _ = tokio::time::sleep(self.settings.idle_poll) => {}
            }
        }
        while inflight.join_next().await.is_some() {}
    }

    /// Claim and process every job that is due now; returns how many were processed. For
    /// tests and one-shot commands.
    pub async fn run_due(&self) -> StoreResult<usize> {
        let mut done = 0;
        loop {
            let now = self.clock.now_ms();
            let leases = self
                .store
                .claim(
                    self.settings.workers,
                    self.settings.lease.as_millis() as i64,
                    now,
                )
                .await?;
            if leases.is_empty() {
                return Ok(done);
            }
            done += leases.len();
            let runs = self.pacing().runs(leases);
            futures::future::join_all(runs.into_iter().map(|run| async move {
                for lease in run {
                    self.process(lease).await;
                }
            }))
            .await;
        }
    }

    fn pacing(&self) -> Arc<BoardPacing> {
        self.pacing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A run's share of the engine's busy count, given back job by job, and all of it if the task
/// ends early (a panic), so the dispatcher never waits for workers that are gone.
struct Held {
    busy: Arc<AtomicUsize>,
    jobs: usize,
}

impl Held {
    fn new(busy: Arc<AtomicUsize>, jobs: usize) -> Self {
        busy.fetch_add(jobs, Ordering::SeqCst);
        Self { busy, jobs }
    }

    fn release_one(&mut self) {
        if self.jobs > 0 {
            self.jobs -= 1;
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.busy.fetch_sub(self.jobs, Ordering::SeqCst);
    }
}
