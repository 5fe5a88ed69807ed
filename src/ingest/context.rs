//! What a source may do with the store, and nothing more: read and write its state records,
//! take, renew and give back a lease, ask whether an item is already recorded, and submit items
//! through ingest. [`crate::ingest::Ingest::context`] builds it; sources never hold the whole
//! store, so a source cannot touch jobs, accounts or another source's items by accident.

use std::sync::Arc;

use async_trait::async_trait;

use crate::ingest::{Ingest, Submission};
use crate::item::{DedupKey, Item, SourceId};
use crate::store::{
    Ingested, LeaseToken, Millis, Removed, SourceState, Store, StoreResult, StoredItem,
};

/// A source's view of the store and ingest. Cheap to clone.
#[derive(Clone)]
pub struct SourceContext {
    ingest: Ingest,
    store: Arc<dyn Store>,
}

impl SourceContext {
    /// Only `Ingest` builds one: it owns the store the context narrows.
    pub(crate) fn new(ingest: Ingest, store: Arc<dyn Store>) -> Self {
        Self { ingest, store }
    }

    /// The clock ingest stamps items with.
    pub fn now_ms(&self) -> Millis {
        self.ingest.now_ms()
    }

    /// The state record `id` (a source's own, or a companion record such as its WebSub
    /// subscription).
    pub async fn state(&self, id: &SourceId) -> StoreResult<SourceState> {
        self.store.source_state(id).await
    }

    pub async fn save_state(&self, id: &SourceId, state: &SourceState) -> StoreResult<()> {
        self.store.set_source_state(id, state).await
    }

    /// Take or renew the lease `key` for `holder` until `until`; `None` when someone else
    /// holds it.
    pub async fn try_lease(
        &self,
        key: &SourceId,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        self.store.try_lease_source(key, holder, until, now).await
    }

    pub async fn release_lease(&self, key: &SourceId, token: LeaseToken) -> StoreResult<()> {
        self.store.release_source(key, token).await
    }

    /// See [`Ingest::remove`]: the item was deleted or unpublished at the source.
    pub async fn remove(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Removed> {
        self.ingest.remove(source, key).await
    }

    /// See [`Ingest::submit_many`].
    pub async fn submit_many(&self, batch: Vec<(Item, Submission)>) -> StoreResult<Vec<Ingested>> {
        self.ingest.submit_many(batch).await
    }
}

/// The one question a source asks about items while reading: is `(source, key)` already
/// recorded, and as what. The dry run (`pinbridge poll`) asks a store directly, the pollers
/// their context.
#[async_trait]
pub trait KnownItems: Send + Sync {
    async fn known_item(
        &self,
        source: &SourceId,
        key: &DedupKey,
    ) -> StoreResult<Option<StoredItem>>;
}

#[async_trait]
impl KnownItems for SourceContext {
    async fn known_item(
        &self,
        source: &SourceId,
        key: &DedupKey,
    ) -> StoreResult<Option<StoredItem>> {
        self.store.item(source, key).await
    }
}

#[async_trait]
impl KnownItems for dyn Store {
    async fn known_item(
        &self,
        source: &SourceId,
        key: &DedupKey,
    ) -> StoreResult<Option<StoredItem>> {
        self.item(source, key).await
    }
}
