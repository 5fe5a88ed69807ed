//! The store under the webhook tests: the real sled store in a temp dir, wrapped so a test can
//! make it fail on demand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::*;

/// The store under the webhook tests: the real sled store in a temp dir, which lives as long
/// as the returned wrapper.
pub fn open_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = pinbridge::store::sled::SledStore::open(
        &dir.path().join("store"),
        Default::default(),
        None,
    )
    .unwrap();
    (Arc::new(store), dir)
}

/// Any store, with a switch that makes `ingest` fail (the 503 path).
pub struct FailSwitch {
    pub(crate) inner: Arc<dyn Store>,
    pub failing: AtomicBool,
    /// Keeps the sled directory until the store is gone.
    pub(crate) _dir: Option<tempfile::TempDir>,
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
        at: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.mark_unknown(lease, error, at, now).await
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
    fn write_failure(&self) -> Option<String> {
        self.inner.write_failure()
    }
    fn shared(&self) -> bool {
        self.inner.shared()
    }
    async fn try_lease_source(
        &self,
        source: &SourceId,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        self.inner
            .try_lease_source(source, holder, until, now)
            .await
    }
    async fn release_source(&self, source: &SourceId, token: LeaseToken) -> StoreResult<()> {
        self.inner.release_source(source, token).await
    }
    async fn take_write_slot(
        &self,
        account: &str,
        per_minute: f64,
        burst: u32,
        now: Millis,
    ) -> StoreResult<Result<(), Millis>> {
        self.inner
            .take_write_slot(account, per_minute, burst, now)
            .await
    }
    async fn reserve_daily_pin(
        &self,
        account: &str,
        day: i64,
        cap: u32,
    ) -> StoreResult<Option<u32>> {
        self.inner.reserve_daily_pin(account, day, cap).await
    }
    async fn block_account(&self, account: &str, until: Millis) -> StoreResult<()> {
        self.inner.block_account(account, until).await
    }
    async fn account_quota(&self, account: &str) -> StoreResult<AccountQuota> {
        self.inner.account_quota(account).await
    }
}
