//! The engine loop: lease outbox jobs, make Pins, record the outcome.
//!
//! One dispatcher claims up to `workers` jobs at a time and runs each in its own task. A job's
//! outcome is written back with its lease token, so a worker that lost its lease cannot
//! overwrite what another did. Failures are classified (see [`Engine::fail`]): rate limits
//! wait without using an attempt, ambiguous creates become `unknown` and are reconciled before
//! a second create, permanent errors go to the dead letter with Pinterest's message.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::account::{AccountRuntime, AccountStatus, DailyCap};
use super::board_pacing::{BoardPacing, Gate};
use super::boards::ResolveError;
use super::link_index::normalise_link;
use super::quota;
use super::reconcile::{ReconcileBudget, Search, find_existing_pin};
use super::retry::Backoff;
use super::template::{PinText, Templates};
use crate::clock::SharedClock;
use crate::pinterest::model::{MediaSource, PinCreate};
use crate::store::{Lease, LeaseOutcome, Millis, PinRecord, Store, StoreResult};

mod failure;

/// How long a 429 that cites spam pauses the account, at least.
const SPAM_PAUSE: Duration = Duration::from_secs(3600);

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
    /// The route's `min_spacing` between Pins on its board.
    pub min_spacing: Option<std::time::Duration>,
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

/// How a job attempt ended, before it is written back.
enum Outcome {
    Created {
        pin_id: String,
        reconciled: bool,
        /// The Pin's normalised link, for the link index.
        link: Option<String>,
    },
    /// The link is already pinned on the board: done, with that Pin and a note why.
    Duplicate {
        pin_id: String,
        note: String,
    },
    Failed(Failure),
    /// Another worker took the job over before the create was sent; nothing to write.
    LeaseLost,
}

/// A classified failure.
enum Failure {
    /// Try later without using up an attempt (rate limit, account waiting for auth).
    Wait { at: Millis, error: String },
    /// A real failure: try again with backoff, or dead-letter after `max_attempts`.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The create may have been applied: reconcile before trying again.
    Ambiguous { error: String },
    /// A reconcile ran out of budget before it could tell: stay `unknown` and look again later,
    /// never create on a guess.
    Undecided { error: String },
    /// Will not succeed by repeating: dead letter.
    Permanent { error: String },
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

    /// `check --online`: every account answers with its token, every named board resolves.
    /// Creates nothing. Returns readable problems.
    pub async fn check_online(&self, routes: &super::route::Routes) -> Vec<String> {
        let mut problems = Vec::new();
        for account in self.accounts.values() {
            match account.client.user_account().await {
                Ok(user) => println!(
                    "account `{}`: signed in as {}",
                    account.name,
                    user.username.as_deref().unwrap_or("(no username)")
                ),
                Err(e) => problems.push(format!("account `{}`: {e}", account.name)),
            }
        }
        for rule in routes.rules() {
            let Some(account) = self.accounts.get(&rule.account) else {
                problems.push(format!(
                    "route `{}`: account `{}` is not configured",
                    rule.name, rule.account
                ));
                continue;
            };
            let create_missing = self
                .route_table()
                .get(&rule.name)
                .is_some_and(|r| r.create_missing);
            match account
                .boards
                .board_id(&account.client, &rule.board, false)
                .await
            {
                Ok(id) => println!("route `{}`: board `{}` is {id}", rule.name, rule.board),
                Err(ResolveError::NoBoard(name)) if create_missing => {
                    println!("route `{}`: board `{name}` will be created", rule.name)
                }
                Err(e) => problems.push(format!("route `{}`: {e}", rule.name)),
            }
        }
        problems
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

    async fn process(&self, lease: Lease) {
        let job_id = lease.job.id.to_string();
        let outcome = self.attempt(&lease).await;
        let now = self.clock.now_ms();
        let written = match outcome {
            Outcome::Created {
                pin_id,
                reconciled,
                link,
            } => {
                let record = PinRecord {
                    link: link.as_deref(),
                    note: None,
                };
                let result = self.store.complete_pin(&lease, &pin_id, record, now).await;
                if matches!(result, Ok(LeaseOutcome::Applied)) {
                    tracing::info!(job = %job_id, pin_id = %pin_id, board = %lease.job.target.board, reconciled, "Pin created.");
                    let _ = self.events.send(SyncEvent::PinCreated {
                        account: lease.job.target.account.clone(),
                        board: lease.job.target.board.clone(),
                        section: lease.job.target.section.clone(),
                        pin_id,
                        title: self.render(&lease).ok().and_then(|t| t.title),
                        link: lease.item.link.clone(),
                        image_url: lease.item.image_url.clone().unwrap_or_default(),
                        reconciled,
                    });
                }
                result
            }
            Outcome::Duplicate { pin_id, note } => {
                tracing::info!(job = %job_id, pin_id = %pin_id, board = %lease.job.target.board, note = %note, "Link already on the board; no second Pin.");
                metrics::counter!("pinbridge_link_duplicates_total", "account" => lease.job.target.account.clone())
                    .increment(1);
                let record = PinRecord {
                    link: None,
                    note: Some(&note),
                };
                self.store.complete_pin(&lease, &pin_id, record, now).await
            }
            Outcome::Failed(failure) => self.fail(&lease, failure, now).await,
            Outcome::LeaseLost => Ok(LeaseOutcome::LeaseLost),
        };
        match written {
            Ok(LeaseOutcome::Applied) => {}
            Ok(LeaseOutcome::LeaseLost) => {
                tracing::warn!(job = %job_id, "Lease was lost before the outcome was recorded; another worker owns the job.")
            }
            Err(e) => {
                tracing::error!(job = %job_id, error = %e, "Recording a job outcome failed; the lease will expire and the job will be reconciled.")
            }
        }
    }

    fn render(&self, lease: &Lease) -> Result<PinText, String> {
        let routes = self.route_table();
        let templates = routes
            .get(&lease.job.target.route)
            .map(|r| &r.templates)
            .unwrap_or(&self.default_templates);
        templates.render(&lease.item)
    }

    /// One try at the job: resolve the board, reconcile if needed, create the Pin.
    async fn attempt(&self, lease: &Lease) -> Outcome {
        let target = &lease.job.target;
        let Some(account) = self.accounts.get(&target.account) else {
            return Outcome::Failed(Failure::Permanent {
                error: format!("account `{}` is not configured", target.account),
            });
        };
        // With a shared store, what other replicas recorded (block, day's count) counts too.
        quota::refresh(self.store.as_ref(), account).await;
        let now = self.clock.now_ms();
        if let Some(until) = account.blocked_until().filter(|&t| t > now) {
            return Outcome::Failed(Failure::Wait {
                at: until,
                error: "account is rate limited".into(),
            });
        }
        let Some(image_url) = lease.item.image_url.clone() else {
            return Outcome::Failed(Failure::Permanent {
                error: "the item has no image".into(),
            });
        };
        let text = match self.render(lease) {
            Ok(text) => text,
            Err(error) => return Outcome::Failed(Failure::Permanent { error }),
        };
        let link = text.link.as_deref().map(normalise_link);
        match self
            .pacing()
            .gate(self.store.as_ref(), lease, link.as_deref(), now)
            .await
        {
            Ok(Gate::Go) => {}
            Ok(Gate::Duplicate { pin_id, note }) => return Outcome::Duplicate { pin_id, note },
            Ok(Gate::Wait { at, reason }) => {
                return Outcome::Failed(Failure::Wait { at, error: reason });
            }
            Err(e) => {
                return Outcome::Failed(Failure::Transient {
                    error: format!("board pacing: {e}"),
                    retry_after: None,
                });
            }
        }
        let create_missing = self
            .route_table()
            .get(&target.route)
            .is_some_and(|r| r.create_missing);
        let board_id = match account
            .boards
            .board_id(&account.client, &target.board, create_missing)
            .await
        {
            Ok(id) => id,
            Err(e) => return Outcome::Failed(self.classify_resolve(account, e).await),
        };
        let section_id = match &target.section {
            Some(section) => match account
                .boards
                .section_id(
                    &account.client,
                    &board_id,
                    &target.board,
                    section,
                    create_missing,
                )
                .await
            {
                Ok(id) => Some(id),
                Err(e) => return Outcome::Failed(self.classify_resolve(account, e).await),
            },
            None => None,
        };
        if lease.reconcile {
            match find_existing_pin(
                &account.client,
                &board_id,
                &text,
                lease.job.sent_since(),
                &self.settings.reconcile,
            )
            .await
            {
                Ok(Search::Found(pin_id)) => {
                    return Outcome::Created {
                        pin_id,
                        reconciled: true,
                        link,
                    };
                }
                Ok(Search::Absent) if lease.job.attempts >= self.settings.max_attempts => {
                    return Outcome::Failed(Failure::Permanent {
                        error: format!(
                            "gave up after {} attempts (the Pin is not on the board): {}",
                            lease.job.attempts,
                            lease.job.last_error.as_deref().unwrap_or("unknown error")
                        ),
                    });
                }
                Ok(Search::Absent) => {}
                Ok(Search::Undecided(why)) => {
                    return Outcome::Failed(Failure::Undecided {
                        error: format!("could not tell whether the Pin was made: {why}"),
                    });
                }
                Err(e) => return Outcome::Failed(self.classify(account, e, false).await),
            }
        }
        let pin = PinCreate {
            board_id,
            board_section_id: section_id,
            title: text.title,
            description: text.description,
            link: text.link,
            alt_text: text.alt_text,
            media_source: MediaSource::ImageUrl { url: image_url },
        };
        match quota::reserve_daily(self.store.as_ref(), account, self.clock.now_ms()).await {
            DailyCap::Full { until } => {
                return Outcome::Failed(Failure::Wait {
                    at: until,
                    error: format!(
                        "account `{}` reached its daily cap of {} Pins; waiting for the next UTC day",
                        account.name,
                        account.status(until).daily_cap
                    ),
                });
            }
            // A shared store counted it in its quota row (`quota.rs`); rewriting the account
            // record on every create would race other replicas' writes to it (tokens).
            DailyCap::Reserved { .. } if self.store.shared() => {}
            DailyCap::Reserved { day, sent } => self.persist_day(account, day, sent).await,
        }
        if let Some(at) =
            quota::until_write_allowed(self.store.as_ref(), account, &self.clock).await
        {
            return Outcome::Failed(Failure::Wait {
                at,
                error: "account is rate limited".into(),
            });
        }
        // The waits above (limiter, board lookups, reconcile) may have outlived the lease; if
        // another worker reclaimed the job, sending this create could make a second Pin.
        // Extending fails exactly when the lease was taken over. The same durable write records
        // when the create is sent: a reconcile after it pages the board back to that moment.
        let sent = self.clock.now_ms();
        let until = sent + self.settings.lease.as_millis() as i64;
        match self.store.sending(lease, until, sent).await {
            Ok(LeaseOutcome::Applied) => {}
            Ok(LeaseOutcome::LeaseLost) => return Outcome::LeaseLost,
            Err(e) => {
                return Outcome::Failed(Failure::Transient {
                    error: format!("could not extend the lease: {e}"),
                    retry_after: None,
                });
            }
        }
        match account.client.create_pin(&pin).await {
            Ok(created) => {
                account.write_succeeded();
                if account.problem().is_some() {
                    self.persist_problem(account, None).await;
                }
                Outcome::Created {
                    pin_id: created.id,
                    reconciled: false,
                    link,
                }
            }
            Err(e) => Outcome::Failed(self.classify(account, e, true).await),
        }
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
