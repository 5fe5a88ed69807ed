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

// Only `ingest` and `ingest_many` fail on demand; everything else is the real store's.
#[async_trait]
impl Items for FailSwitch {
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

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        self.inner.item(source, key).await
    }

    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        self.inner.items(filter).await
    }

    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
        self.inner.forget(source, key).await
    }

    async fn source_removed(
        &self,
        source: &SourceId,
        key: &DedupKey,
        delete_routes: &[String],
        now: Millis,
    ) -> StoreResult<Removed> {
        self.inner
            .source_removed(source, key, delete_routes, now)
            .await
    }

    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64> {
        self.inner.purge_deliveries(now).await
    }
}

#[async_trait]
impl Outbox for FailSwitch {
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>> {
        self.inner.claim(max, lease_ms, now).await
    }

    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome> {
        self.inner.extend(lease, until).await
    }

    async fn sending(
        &self,
        lease: &Lease,
        until: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.sending(lease, until, now).await
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

    async fn cancel_job(&self, job: &JobId, error: &str, now: Millis) -> StoreResult<bool> {
        self.inner.cancel_job(job, error, now).await
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

    async fn recent_jobs(&self, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
        self.inner.recent_jobs(state, limit).await
    }
}

#[async_trait]
impl SourceStates for FailSwitch {
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        self.inner.source_state(source).await
    }

    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()> {
        self.inner.set_source_state(source, state).await
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
}

#[async_trait]
impl Accounts for FailSwitch {
    async fn account_state(&self, account: &str) -> StoreResult<AccountState> {
        self.inner.account_state(account).await
    }

    async fn set_account_state(&self, account: &str, state: &AccountState) -> StoreResult<()> {
        self.inner.set_account_state(account, state).await
    }

    async fn update_account_state(
        &self,
        account: &str,
        update: AccountUpdate,
    ) -> StoreResult<AccountState> {
        self.inner.update_account_state(account, update).await
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

#[async_trait]
impl Pacing for FailSwitch {
    async fn reserve_board_slot(
        &self,
        lease: &Lease,
        spacing_ms: i64,
        now: Millis,
    ) -> StoreResult<BoardSlot> {
        self.inner.reserve_board_slot(lease, spacing_ms, now).await
    }

    async fn board_last_pin(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        self.inner.board_last_pin(account, board).await
    }

    async fn claim_link(&self, lease: &Lease, link: &str, now: Millis) -> StoreResult<LinkClaim> {
        self.inner.claim_link(lease, link, now).await
    }

    async fn link_holder(
        &self,
        account: &str,
        board: &str,
        link: &str,
    ) -> StoreResult<Option<LinkHolder>> {
        self.inner.link_holder(account, board, link).await
    }

    async fn complete_pin(
        &self,
        lease: &Lease,
        pin_id: &str,
        record: PinRecord<'_>,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.complete_pin(lease, pin_id, record, now).await
    }

    async fn adopt_links(
        &self,
        account: &str,
        board: &str,
        pins: &[(String, String)],
        finished: bool,
        now: Millis,
    ) -> StoreResult<usize> {
        self.inner
            .adopt_links(account, board, pins, finished, now)
            .await
    }

    async fn board_adopted(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        self.inner.board_adopted(account, board).await
    }
}

#[async_trait]
impl Transfer for FailSwitch {
    async fn export_items(
        &self,
        after: Option<ItemCursor>,
        limit: usize,
    ) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
        self.inner.export_items(after, limit).await
    }

    async fn export_links(
        &self,
        after: Option<LinkCursor>,
        limit: usize,
    ) -> StoreResult<Vec<TransferRecord>> {
        self.inner.export_links(after, limit).await
    }

    async fn export_small(&self) -> StoreResult<Vec<TransferRecord>> {
        self.inner.export_small().await
    }

    async fn import(&self, batch: Vec<TransferRecord>, now: Millis) -> StoreResult<ImportCounts> {
        self.inner.import(batch, now).await
    }
}

#[async_trait]
impl Retention for FailSwitch {
    async fn compact(
        &self,
        after: Option<ItemCursor>,
        older_than: Millis,
        max: usize,
        now: Millis,
    ) -> StoreResult<pinbridge::store::retention::Compacted> {
        self.inner.compact(after, older_than, max, now).await
    }
}

#[async_trait]
impl ConfigRecords for FailSwitch {
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>> {
        self.inner.config_records().await
    }

    async fn write_config_records(
        &self,
        put: &[ConfigRecord],
        delete: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()> {
        self.inner.write_config_records(put, delete).await
    }
}

#[async_trait]
impl Health for FailSwitch {
    async fn stats(&self) -> StoreResult<StoreStats> {
        self.inner.stats().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
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
}

#[async_trait]
impl Analytics for FailSwitch {
    async fn record_pin_days(&self, rows: &[PinDay]) -> StoreResult<()> {
        self.inner.record_pin_days(rows).await
    }

    async fn pin_days(&self, from_day: i64, to_day: i64) -> StoreResult<Vec<PinDay>> {
        self.inner.pin_days(from_day, to_day).await
    }

    async fn watch_pins(&self, pins: &[PinWatch]) -> StoreResult<usize> {
        self.inner.watch_pins(pins).await
    }

    async fn pin_watches(&self, account: &str) -> StoreResult<Vec<PinWatch>> {
        self.inner.pin_watches(account).await
    }

    async fn record_collection(&self, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()> {
        self.inner.record_collection(rows, watches).await
    }

    async fn try_lease_analytics(
        &self,
        account: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        self.inner
            .try_lease_analytics(account, holder, until, now)
            .await
    }

    async fn release_analytics(&self, account: &str, token: LeaseToken) -> StoreResult<()> {
        self.inner.release_analytics(account, token).await
    }

    async fn export_pin_days(
        &self,
        after: Option<PinDayCursor>,
        limit: usize,
    ) -> StoreResult<Vec<PinDay>> {
        self.inner.export_pin_days(after, limit).await
    }
}
