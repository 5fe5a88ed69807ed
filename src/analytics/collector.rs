//! The collector: per account, a run every `interval` under the account's analytics lease
//! (one replica at a time), each run discovering new Pins, then fetching the due ones newest
//! first, paced within the analytics quota, and storing each call's rows with the Pins'
//! progress in one write, so a stop at any moment resumes where it was.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::discover::discover;
use super::pace::{Pace, wait_until};
use super::schedule::{Due, due};
use crate::clock::SharedClock;
use crate::pinterest::analytics::{DayFigures, MAX_BATCH};
use crate::pinterest::{ApiError, PinterestClient};
use crate::store::{Millis, PinMetrics, PinWatch, Store, StoreError};

/// How long a run holds the account's lease without a call; each call renews it.
const LEASE_MS: Millis = 5 * 60_000;
/// The wait after a 429 that names none.
const DEFAULT_RETRY_MS: Millis = 60_000;

/// How the collector runs (from `[analytics]`).
#[derive(Clone, Debug)]
pub struct AnalyticsSettings {
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// Analytics calls per minute per account (the `org_analytics` quota).
    pub per_minute: u32,
    /// Pins older than this are no longer collected (and no day further back is asked for).
    pub lookback: Duration,
}

/// Why a run stopped early; the next run starts over from the store.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("another replica took over the account's analytics")]
    LeaseLost,
}

/// Every account's collector.
pub struct Collector {
    store: Arc<dyn Store>,
    clock: SharedClock,
    settings: AnalyticsSettings,
    accounts: Vec<(String, PinterestClient)>,
    /// This process, as the lease holder.
    holder: String,
}

impl Collector {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        settings: AnalyticsSettings,
        accounts: Vec<(String, PinterestClient)>,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            accounts,
            holder: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Run every account's collector until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        for (name, client) in self.accounts {
            let account = Account {
                pace: Pace::new(self.clock.clone(), self.settings.per_minute),
                name,
                client,
                store: self.store.clone(),
                clock: self.clock.clone(),
                settings: self.settings.clone(),
                holder: self.holder.clone(),
                batch_refused: false,
            };
            tasks.spawn(account.run(shutdown.clone()));
        }
        while tasks.join_next().await.is_some() {}
    }
}

struct Account {
    name: String,
    client: PinterestClient,
    store: Arc<dyn Store>,
    clock: SharedClock,
    settings: AnalyticsSettings,
    holder: String,
    pace: Pace,
    /// The app may not use the batch call (remembered once refused): one Pin a call.
    batch_refused: bool,
}

impl Account {
    async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let started = self.clock.now_ms();
            match self.run_once(&shutdown).await {
                Ok(Some(rows)) => {
                    tracing::info!(account = %self.name, rows, "Pin analytics collected.")
                }
                Ok(None) => {
                    tracing::debug!(account = %self.name, "Another replica collects this account's analytics.")
                }
                Err(e) => {
                    tracing::warn!(account = %self.name, error = %e, "Collecting Pin analytics stopped; will try again next run.")
                }
            }
            let next = started + self.settings.interval.as_millis() as Millis;
            if !wait_until(&self.clock, next, &shutdown).await {
                return;
            }
        }
    }

    /// One run under the lease: `None` when another replica holds it, else the rows stored.
    async fn run_once(&mut self, shutdown: &CancellationToken) -> Result<Option<usize>, RunError> {
        let now = self.clock.now_ms();
        let Some(token) = self
            .store
            .try_lease_analytics(&self.name, &self.holder, now + LEASE_MS, now)
            .await?
        else {
            return Ok(None);
        };
        let result = self.collect(shutdown).await;
        // A lease not given back runs out by itself; a failed release is no reason to stop.
        let _ = self.store.release_analytics(&self.name, token).await;
        result.map(Some)
    }

    async fn collect(&mut self, shutdown: &CancellationToken) -> Result<usize, RunError> {
        let lookback_ms = self.settings.lookback.as_millis() as Millis;
        let now = self.clock.now_ms();
        discover(self.store.as_ref(), &self.name, now, lookback_ms).await?;
        let lookback_days = lookback_ms / 86_400_000;
        // A Pin fetched within most of an interval is fresh: not fetched again on a restart.
        let fresh_ms = self.settings.interval.as_millis() as Millis * 3 / 4;
        let mut due_pins: Vec<(PinWatch, Due)> = self
            .store
            .pin_watches(&self.name)
            .await?
            .into_iter()
            .filter_map(|w| due(&w, now, lookback_days, fresh_ms).map(|d| (w, d)))
            .collect();
        // Newest first: their figures change most.
        due_pins.sort_by_key(|(watch, _)| std::cmp::Reverse(watch.made_at));
        let size = if self.batch_refused { 1 } else { MAX_BATCH };
        let mut queue: VecDeque<Vec<(PinWatch, Due)>> =
            due_pins.chunks(size).map(<[_]>::to_vec).collect();
        let mut stored = 0;
        while let Some(group) = queue.pop_front() {
            if !self.pace.acquire(shutdown).await {
                break;
            }
            self.renew_lease().await?;
            match self.fetch(&group).await {
                Ok(figures) => {
                    self.count("ok");
                    stored += self.store_group(&group, figures).await?;
                }
                Err(ApiError::RateLimited { retry_after, .. }) => {
                    self.count("rate_limited");
                    let wait = retry_after.map_or(DEFAULT_RETRY_MS, |d| d.as_millis() as Millis);
                    self.pace.hold_until(self.clock.now_ms() + wait);
                    queue.push_front(group);
                }
                Err(e) if group.len() > 1 && e.batch_unavailable() => {
                    self.count("refused");
                    tracing::info!(account = %self.name, error = %e,
                        "The app may not use the batch analytics call; fetching one Pin a call.");
                    self.batch_refused = true;
                    split_into(&mut queue, group);
                }
                Err(ApiError::NotFound { .. }) if group.len() > 1 => {
                    // One of them is gone: ask one by one, so the others still get figures.
                    self.count("not_found");
                    split_into(&mut queue, group);
                }
                Err(ApiError::NotFound { .. }) => {
                    // Deleted on Pinterest: nothing to store; its schedule moves on.
                    self.count("not_found");
                    self.store_group(&group, HashMap::new()).await?;
                }
                Err(e) => {
                    self.count("failed");
                    return Err(e.into());
                }
            }
        }
        Ok(stored)
    }

    async fn renew_lease(&self) -> Result<(), RunError> {
        let now = self.clock.now_ms();
        self.store
            .try_lease_analytics(&self.name, &self.holder, now + LEASE_MS, now)
            .await?
            .map(|_| ())
            .ok_or(RunError::LeaseLost)
    }

    /// One call for the group: the Pin's own call for one, the batch call for several (over
    /// the days every one of them is due for).
    async fn fetch(
        &self,
        group: &[(PinWatch, Due)],
    ) -> Result<HashMap<String, Vec<DayFigures>>, ApiError> {
        let from = group.iter().map(|(_, d)| d.from).min().unwrap_or_default();
        let to = group.iter().map(|(_, d)| d.to).max().unwrap_or_default();
        if let [(watch, due)] = group {
            let days = self
                .client
                .pin_analytics(&watch.pin_id, due.from, due.to)
                .await?;
            return Ok(HashMap::from([(watch.pin_id.clone(), days)]));
        }
        let ids: Vec<String> = group.iter().map(|(w, _)| w.pin_id.clone()).collect();
        self.client.pins_analytics(&ids, from, to).await
    }

    /// Each Pin's final days within its due range as rows, and its progress, in one write.
    async fn store_group(
        &self,
        group: &[(PinWatch, Due)],
        figures: HashMap<String, Vec<DayFigures>>,
    ) -> Result<usize, RunError> {
        let now = self.clock.now_ms();
        let mut rows = Vec::new();
        let mut watches = Vec::with_capacity(group.len());
        for (watch, due) in group {
            let mut next = watch.clone();
            next.fetched_at = Some(now);
            let days = figures.get(&watch.pin_id).map(Vec::as_slice).unwrap_or(&[]);
            for day in days
                .iter()
                .filter(|d| d.ready && d.day >= due.from && d.day <= due.to)
            {
                rows.push(watch.row(day.day, metrics_of(day)));
                next.fetched_through = next.fetched_through.max(Some(day.day));
            }
            watches.push(next);
        }
        self.store.record_collection(&rows, &watches).await?;
        metrics::counter!("pinbridge_analytics_rows_total", "account" => self.name.clone())
            .increment(rows.len() as u64);
        Ok(rows.len())
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!("pinbridge_analytics_requests_total", "account" => self.name.clone(), "outcome" => outcome)
            .increment(1);
    }
}

fn split_into(queue: &mut VecDeque<Vec<(PinWatch, Due)>>, group: Vec<(PinWatch, Due)>) {
    for one in group.into_iter().rev() {
        queue.push_front(vec![one]);
    }
}

fn metrics_of(day: &DayFigures) -> PinMetrics {
    PinMetrics {
        impressions: day.impressions,
        saves: day.saves,
        pin_clicks: day.pin_clicks,
        outbound_clicks: day.outbound_clicks,
        video_starts: day.video_starts,
    }
}
