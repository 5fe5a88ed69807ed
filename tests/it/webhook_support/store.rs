//! The store under the webhook tests: an in-memory Store until the sled store is merged, and a
//! wrapper that makes any store fail on demand.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::*;

/// The store the webhook tests run on: the one place to switch backends. Checked against the
/// `store` branch's sled store (all webhook tests pass) with:
/// ```ignore
/// let dir = tempfile::tempdir().unwrap();
/// let store = pinbridge::store::sled::SledStore::open(dir.path(), Default::default(), None).unwrap();
/// std::mem::forget(dir); // or keep the TempDir in the Harness
/// Arc::new(store)
/// ```
pub fn open_store() -> Arc<dyn Store> {
    Arc::new(MemStore::default())
}

/// An in-memory Store with the ingest semantics of the store contract that the receiver relies
/// on (delivery ids scoped by source, dedup by key, fingerprint -> Duplicate/Changed, jobs only
/// for new items or under `on_change = new_pin`).
#[derive(Default)]
pub struct MemStore {
    state: Mutex<MemState>,
}

#[derive(Default)]
struct MemState {
    items: HashMap<(SourceId, DedupKey), StoredItem>,
    deliveries: HashSet<(SourceId, String)>,
    jobs: Vec<Job>,
}

impl MemState {
    fn queue(&mut self, item: &Item, plan: &IngestPlan, now: Millis) -> usize {
        for target in &plan.targets {
            let id = JobId(format!("{:020}", self.jobs.len()));
            self.jobs.push(Job {
                id,
                source: item.source.clone(),
                item: item.key.clone(),
                target: target.clone(),
                state: JobState::Pending { run_at: now },
                attempts: 0,
                last_error: None,
                created: now,
                updated: now,
            });
        }
        plan.targets.len()
    }
}

fn unsupported<T>() -> StoreResult<T> {
    Err(StoreError::Io(
        "not supported by the in-memory test store".into(),
    ))
}

#[async_trait]
impl Store for MemStore {
    async fn ingest(&self, item: &Item, plan: IngestPlan, now: Millis) -> StoreResult<Ingested> {
        let mut state = self.state.lock().unwrap();
        if let Some(d) = &plan.delivery {
            if !state.deliveries.insert((item.source.clone(), d.id.clone())) {
                return Ok(Ingested::Duplicate);
            }
        }
        let key = (item.source.clone(), item.key.clone());
        let fingerprint = item.fingerprint();
        let disposition = match &plan.skip_reason {
            Some(reason) => ItemDisposition::Skipped {
                reason: reason.clone(),
            },
            None => ItemDisposition::Queued,
        };
        let known = state.items.get(&key).map(|s| s.fingerprint);
        match known {
            Some(f) if f == fingerprint => Ok(Ingested::Duplicate),
            Some(_) => {
                let jobs = if plan.on_change == OnChange::NewPin {
                    state.queue(item, &plan, now)
                } else {
                    0
                };
                let stored = state.items.get_mut(&key).unwrap();
                stored.item = item.clone();
                stored.fingerprint = fingerprint;
                stored.changes += 1;
                stored.last_seen = now;
                Ok(Ingested::Changed { jobs })
            }
            None => {
                let jobs = state.queue(item, &plan, now);
                let stored = StoredItem {
                    item: item.clone(),
                    fingerprint,
                    first_seen: now,
                    last_seen: now,
                    changes: 0,
                    disposition,
                };
                state.items.insert(key, stored);
                Ok(Ingested::New { jobs })
            }
        }
    }
    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        let mut out = Vec::new();
        for (item, plan) in batch {
            out.push(self.ingest(&item, plan, now).await?);
        }
        Ok(out)
    }
    async fn claim(&self, _: usize, _: i64, _: Millis) -> StoreResult<Vec<Lease>> {
        Ok(Vec::new())
    }
    async fn extend(&self, _: &Lease, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn complete(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn retry(
        &self,
        _: &Lease,
        _: Millis,
        _: &str,
        _: Attempt,
        _: Millis,
    ) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn mark_unknown(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn dead(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }
    async fn revive(&self, _: &JobId, _: Millis) -> StoreResult<Job> {
        unsupported()
    }
    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .jobs
            .iter()
            .find(|j| &j.id == id)
            .cloned())
    }
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>> {
        let state = self.state.lock().unwrap();
        Ok(state
            .jobs
            .iter()
            .filter(|j| filter.source.as_ref().is_none_or(|s| &j.source == s))
            .take(filter.limit)
            .cloned()
            .collect())
    }
    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>> {
        let state = self.state.lock().unwrap();
        Ok(state
            .jobs
            .iter()
            .filter(|j| &j.source == source && &j.item == key)
            .cloned()
            .collect())
    }
    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .items
            .get(&(source.clone(), key.clone()))
            .cloned())
    }
    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        let state = self.state.lock().unwrap();
        let mut items: Vec<StoredItem> = state
            .items
            .values()
            .filter(|i| filter.source.as_ref().is_none_or(|s| &i.item.source == s))
            .cloned()
            .collect();
        items.sort_by(|a, b| a.item.key.cmp(&b.item.key));
        items.truncate(filter.limit);
        Ok(items)
    }
    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .items
            .remove(&(source.clone(), key.clone()))
            .is_some())
    }
    async fn source_state(&self, _: &SourceId) -> StoreResult<SourceState> {
        Ok(SourceState::default())
    }
    async fn set_source_state(&self, _: &SourceId, _: &SourceState) -> StoreResult<()> {
        Ok(())
    }
    async fn account_state(&self, _: &str) -> StoreResult<AccountState> {
        Ok(AccountState::default())
    }
    async fn set_account_state(&self, _: &str, _: &AccountState) -> StoreResult<()> {
        Ok(())
    }
    async fn purge_deliveries(&self, _: Millis) -> StoreResult<u64> {
        Ok(0)
    }
    async fn stats(&self) -> StoreResult<StoreStats> {
        Ok(StoreStats::default())
    }
    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        Ok(Vec::new())
    }
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Any store, with a switch that makes `ingest` fail (the 503 path).
pub struct FailSwitch {
    pub(crate) inner: Arc<dyn Store>,
    pub failing: AtomicBool,
}

#[async_trait]
impl Store for FailSwitch {
    async fn ingest(&self, item: &Item, plan: IngestPlan, now: Millis) -> StoreResult<Ingested> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io("disk on fire (test)".into()));
        }
        self.inner.ingest(item, plan, now).await
    }
    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io("disk on fire (test)".into()));
        }
        self.inner.ingest_many(batch, now).await
    }
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>> {
        self.inner.claim(max, lease_ms, now).await
    }
    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome> {
        self.inner.extend(lease, until).await
    }
    async fn complete(
        &self,
        lease: &Lease,
        pin_id: &str,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.complete(lease, pin_id, now).await
    }
    async fn retry(
        &self,
        lease: &Lease,
        at: Millis,
        error: &str,
        attempt: Attempt,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.retry(lease, at, error, attempt, now).await
    }
    async fn mark_unknown(
        &self,
        lease: &Lease,
        error: &str,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.mark_unknown(lease, error, now).await
    }
    async fn dead(&self, lease: &Lease, error: &str, now: Millis) -> StoreResult<LeaseOutcome> {
        self.inner.dead(lease, error, now).await
    }
    async fn revive(&self, job: &JobId, now: Millis) -> StoreResult<Job> {
        self.inner.revive(job, now).await
    }
    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        self.inner.job(id).await
    }
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>> {
        self.inner.jobs(filter).await
    }
    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>> {
        self.inner.item_jobs(source, key).await
    }
    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        self.inner.item(source, key).await
    }
    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        self.inner.items(filter).await
    }
    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
        self.inner.forget(source, key).await
    }
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        self.inner.source_state(source).await
    }
    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()> {
        self.inner.set_source_state(source, state).await
    }
    async fn account_state(&self, account: &str) -> StoreResult<AccountState> {
        self.inner.account_state(account).await
    }
    async fn set_account_state(&self, account: &str, state: &AccountState) -> StoreResult<()> {
        self.inner.set_account_state(account, state).await
    }
    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64> {
        self.inner.purge_deliveries(now).await
    }
    async fn stats(&self) -> StoreResult<StoreStats> {
        self.inner.stats().await
    }
    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        self.inner.quarantined().await
    }
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
}
