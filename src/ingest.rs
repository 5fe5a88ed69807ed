//! The one door from sources to the store.
//!
//! Sources hand normalized [`Item`]s to an [`Ingest`] handle. It matches them against the
//! routes, decides whether they can become Pins at all (an item without an image is recorded as
//! skipped, not sent to fail at Pinterest), calls `store.ingest`, and wakes the sync engine when
//! jobs were queued. Sources know neither routes nor Pinterest.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

// The narrow view sources get lives here, not under `sources`, so that the dependency runs one
// way: sources import ingest, ingest knows no source.
pub mod context;

use crate::clock::SharedClock;
use crate::item::{DedupKey, Item, SourceId};
use crate::settings::OnDelete;
use crate::store::{Delivery, IngestPlan, Ingested, OnChange, Removed, Store, StoreResult};
use crate::sync::route::Routes;
pub use context::SourceContext;

/// What a source hands over with an item.
#[derive(Clone, Debug, Default)]
pub struct Submission {
    /// Record the item without pinning it, and why (first-contact baseline, draft, …).
    pub skip_reason: Option<String>,
    /// The webhook delivery id, when the item came from a webhook.
    pub delivery: Option<Delivery>,
    /// A digest of a webhook's signed bytes, when its scheme signs no delivery id
    /// ([`IngestPlan::replay_guard`]).
    pub replay_guard: Option<Delivery>,
}

#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: SharedClock,
    config: RwLock<Arc<IngestConfig>>,
    wake: Arc<Notify>,
}

/// The parts of the configuration ingest needs; swapped whole on reload.
#[derive(Clone, Debug, Default)]
pub struct IngestConfig {
    pub routes: Routes,
    pub on_change: HashMap<SourceId, OnChange>,
    /// Route policies by route name; a route not named here has the defaults.
    pub policies: HashMap<String, RoutePolicy>,
}

/// What a route does when an item it pinned changes or goes away at its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    /// Overrides the source's `on_change` for this route's Pins.
    pub on_change: Option<OnChange>,
    pub on_delete: OnDelete,
}

impl IngestConfig {
    /// The names of the routes of `source` whose policy satisfies `wanted`.
    fn routes_where(
        &self,
        source: &SourceId,
        wanted: impl Fn(OnChange, OnDelete) -> bool,
    ) -> Vec<String> {
        let source_change = self.on_change.get(source).copied().unwrap_or_default();
        self.routes
            .rules()
            .iter()
            .filter(|r| r.source == "*" || r.source == source.as_str())
            .filter(|r| {
                let policy = self.policies.get(&r.name).copied().unwrap_or_default();
                wanted(policy.on_change.unwrap_or(source_change), policy.on_delete)
            })
            .map(|r| r.name.clone())
            .collect()
    }
}

impl Ingest {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        config: IngestConfig,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                config: RwLock::new(Arc::new(config)),
                wake,
            }),
        }
    }

    /// Replace routes and policies (config reload). In-flight submissions finish with the old ones.
    pub fn reconfigure(&self, config: IngestConfig) {
        let mut guard = self.inner.config.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(config);
    }

    /// The routes in force.
    pub fn routes(&self) -> Routes {
        self.config().routes.clone()
    }

    /// The configuration in force (a cheap clone of an `Arc`).
    fn config(&self) -> Arc<IngestConfig> {
        self.inner
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The whole store, for the service's own wiring and tests. Sources get
    /// [`Self::context`] instead.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// What a source may do with the store: its state, its lease, known items, submissions.
    pub fn context(&self) -> SourceContext {
        SourceContext::new(self.clone(), self.inner.store.clone())
    }

    pub fn now_ms(&self) -> crate::store::Millis {
        self.inner.clock.now_ms()
    }

    /// Dedup and record `item`, queueing one job per matching route. Durable when it returns.
    pub async fn submit(&self, item: Item, submission: Submission) -> StoreResult<Ingested> {
        let config = self.config();
        let plan = plan_for(&config, &item, submission);
        let queued = !plan.targets.is_empty();
        let outcome = self
            .inner
            .store
            .ingest(&item, plan, self.inner.clock.now_ms())
            .await?;
        count_ingested(item.source.as_str(), &outcome, queued);
        if queued
            && matches!(
                outcome,
                Ingested::New { jobs: 1.. } | Ingested::Changed { jobs: 1.. }
            )
        {
            self.inner.wake.notify_one();
        }
        Ok(outcome)
    }

    /// The item `key` of `source` was deleted or unpublished at its source: on the routes
    /// whose `on_delete = "delete"`, delete the Pins pinbridge made for it (cancelling creates
    /// not sent yet). Durable when it returns; an unknown item changes nothing.
    pub async fn remove(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Removed> {
        let routes = self
            .config()
            .routes_where(source, |_, on_delete| on_delete == OnDelete::Delete);
        if routes.is_empty() {
            return Ok(Removed::default());
        }
        let removed = self
            .inner
            .store
            .source_removed(source, key, &routes, self.inner.clock.now_ms())
            .await?;
        metrics::counter!("pinbridge_items_removed_total", "source" => source.as_str().to_string())
            .increment(1);
        if removed.deletes > 0 {
            self.inner.wake.notify_one();
        }
        Ok(removed)
    }

    /// `submit` for a batch (one feed poll), in order, sharing one durable flush.
    pub async fn submit_many(&self, batch: Vec<(Item, Submission)>) -> StoreResult<Vec<Ingested>> {
        let config = self.config();
        let planned: Vec<(Item, IngestPlan)> = batch
            .into_iter()
            .map(|(item, submission)| {
                let plan = plan_for(&config, &item, submission);
                (item, plan)
            })
            .collect();
        let counted: Vec<(String, bool)> = planned
            .iter()
            .map(|(item, plan)| (item.source.0.clone(), !plan.targets.is_empty()))
            .collect();
        let outcomes = self
            .inner
            .store
            .ingest_many(planned, self.inner.clock.now_ms())
            .await?;
        for ((source, queued), outcome) in counted.iter().zip(&outcomes) {
            count_ingested(source, outcome, *queued);
        }
        if outcomes.iter().any(|o| {
            matches!(
                o,
                Ingested::New { jobs: 1.. } | Ingested::Changed { jobs: 1.. }
            )
        }) {
            self.inner.wake.notify_one();
        }
        Ok(outcomes)
    }
}

/// Decide what the store should do with an item.
fn plan_for(config: &IngestConfig, item: &Item, submission: Submission) -> IngestPlan {
    let on_change = config
        .on_change
        .get(&item.source)
        .copied()
        .unwrap_or_default();
    let mut plan = IngestPlan {
        targets: Vec::new(),
        skip_reason: submission.skip_reason,
        on_change,
        update_routes: config
            .routes_where(&item.source, |on_change, _| on_change == OnChange::Update),
        delivery: submission.delivery,
        replay_guard: submission.replay_guard,
    };
    if plan.skip_reason.is_some() {
        return plan;
    }
    if item
        .image_url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
    {
        plan.skip_reason = Some("no usable image".into());
        return plan;
    }
    plan.targets = config.routes.targets(item);
    if plan.targets.is_empty() {
        plan.skip_reason = Some("no route matched".into());
    }
    plan
}

/// `pinbridge_items_ingested_total{source, outcome}`: new, skipped (recorded without a Pin),
/// changed or duplicate.
fn count_ingested(source: &str, outcome: &Ingested, queued: bool) {
    let outcome = match outcome {
        Ingested::New { .. } if queued => "new",
        Ingested::New { .. } => "skipped",
        Ingested::Changed { .. } => "changed",
        Ingested::Duplicate => "duplicate",
    };
    metrics::counter!("pinbridge_items_ingested_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::DedupKey;
    use crate::sync::route::{RouteRule, When};

    fn config() -> IngestConfig {
        IngestConfig {
            routes: Routes::new(vec![RouteRule {
                name: "r".into(),
                source: "blog".into(),
                account: "main".into(),
                board: "B".into(),
                section: None,
                when: When::default(),
            }]),
            on_change: HashMap::new(),
            policies: HashMap::new(),
        }
    }

    #[test]
    fn an_item_without_image_is_skipped_with_the_reason() {
        let item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "1"));
        let plan = plan_for(&config(), &item, Submission::default());
        assert!(plan.targets.is_empty());
        assert_eq!(plan.skip_reason.as_deref(), Some("no usable image"));
    }

    #[test]
    fn an_item_with_image_gets_its_targets() {
        let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "1"));
        item.image_url = Some("https://example.com/a.jpg".into());
        let plan = plan_for(&config(), &item, Submission::default());
        assert_eq!(plan.targets.len(), 1);
        assert_eq!(plan.skip_reason, None);
        let mut other = item.clone();
        other.source = SourceId::new("shop");
        let plan = plan_for(&config(), &other, Submission::default());
        assert_eq!(plan.skip_reason.as_deref(), Some("no route matched"));
    }
}
