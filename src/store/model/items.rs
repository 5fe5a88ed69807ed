//! Items as the store records them: where their Pins go, what `ingest` is asked to do and
//! what it answers.

use serde::{Deserialize, Serialize};

use super::Millis;
use crate::item::{Fingerprint, Item, SourceId};

/// Where one Pin goes: the account, board and optional section of a matching route.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    /// The route that produced this target (its index or name), for display and templates.
    pub route: String,
    pub account: String,
    /// A board as configured: a name (resolved through the API) or a numeric id.
    pub board: String,
    pub section: Option<String>,
}

// A source's setting the store acts on; it lives with the settings so the config does not
// import the store. Re-exported so store callers keep one import.
pub use crate::settings::OnChange;

/// A webhook delivery id, remembered for the sender's whole retry horizon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    /// When the id may be forgotten (now + retry horizon).
    pub keep_until: Millis,
}

/// What `ingest` should do with an item besides deduplicating it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestPlan {
    /// One outbox job per target for a new item (or a changed one under `OnChange::NewPin`).
    pub targets: Vec<Target>,
    /// Record the item without queueing anything, with this reason ("backfill: none",
    /// "draft", "no image", "no route matched", …).
    pub skip_reason: Option<String>,
    pub on_change: OnChange,
    /// The routes whose policy is `on_change = "update"`: a changed item queues an update of
    /// each Pin its jobs on these routes made (see `store::follow`).
    pub update_routes: Vec<String>,
    /// A webhook delivery id: if it was seen before, the whole ingest is a no-op `Duplicate`;
    /// otherwise it is recorded in the same transaction as the item.
    pub delivery: Option<Delivery>,
    /// Kept exactly like `delivery`, beside it: a digest of a webhook's signed bytes, for
    /// schemes that sign no delivery id or time (a captured request replayed under a fresh id
    /// header is then still a `Duplicate`). The caller keeps its ids apart from delivery ids.
    pub replay_guard: Option<Delivery>,
}

impl IngestPlan {
    /// How a newly recorded item is disposed of, and whether its jobs are queued. Every
    /// backend records items the same way.
    pub fn disposition(&self) -> (ItemDisposition, bool) {
        match &self.skip_reason {
            Some(reason) => (
                ItemDisposition::Skipped {
                    reason: reason.clone(),
                },
                false,
            ),
            None if self.targets.is_empty() => (
                ItemDisposition::Skipped {
                    reason: "no route matched".to_string(),
                },
                false,
            ),
            None => (ItemDisposition::Queued, true),
        }
    }
}

/// The outcome of `ingest`. Every variant is durable when returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// First time this dedup key was seen; `jobs` outbox jobs were queued.
    New { jobs: usize },
    /// Seen before with the same fingerprint, a repeated delivery id or replay guard, or older
    /// than the stored version by the source's own modification time: nothing changed (a
    /// newer copy with the same Pin fields only refreshes the stored item's fields).
    Duplicate,
    /// Seen before with a different fingerprint; the new fields were recorded and `jobs` jobs
    /// queued (creates under `OnChange::NewPin`, updates under `OnChange::Update`, else 0).
    Changed { jobs: usize },
}

/// How an item was disposed of, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ItemDisposition {
    /// Jobs were queued for it.
    Queued,
    /// Recorded without jobs, and why.
    Skipped { reason: String },
}

/// An item as the store holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    pub item: Item,
    pub fingerprint: Fingerprint,
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// How many times the fingerprint changed after the first sighting.
    pub changes: u32,
    pub disposition: ItemDisposition,
    /// The item was deleted or unpublished at its source, and its Pins on these routes were
    /// (or are being) deleted: when it comes back, it is pinned again there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<RemovedMark>,
    /// When retention dropped the item's payload (`[store] keep_payloads`): `item` then holds
    /// only its source, key and modification time; dedup and Pin tracking need no more
    /// (`store::retention`). Cleared when a later delivery records a payload again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted: Option<Millis>,
}

/// When an item was removed at its source, and the routes whose Pins went with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedMark {
    pub at: Millis,
    pub routes: Vec<String>,
}

impl RemovedMark {
    /// The mark after another removal on `routes` at `now` (routes are kept, merged).
    pub fn merged(previous: Option<&RemovedMark>, routes: &[String], now: Millis) -> RemovedMark {
        let mut all = previous.map(|m| m.routes.clone()).unwrap_or_default();
        for r in routes {
            if !all.contains(r) {
                all.push(r.clone());
            }
        }
        RemovedMark {
            at: now,
            routes: all,
        }
    }

    /// The plan's targets on the routes whose Pins went with the item: a comeback pins there
    /// again (routes that kept their Pins still have them).
    pub fn comeback(&self, plan: &IngestPlan) -> IngestPlan {
        let mut again = plan.clone();
        again.targets.retain(|t| self.routes.contains(&t.route));
        again
    }
}

/// Filters for listing items.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub source: Option<SourceId>,
    pub limit: usize,
}

/// What `source_removed` did to an item's jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Delete jobs queued (one per Pin made, or per create still in flight).
    pub deletes: usize,
    /// Creates cancelled before their Pin was made.
    pub cancelled: usize,
}
