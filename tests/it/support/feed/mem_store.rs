//! The feed tests' in-memory store: ingest dedups by (source, key) and remembers the plan,
//! source state is kept, and what a poll never calls is refused.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use pinbridge::item::{DedupKey, Fingerprint, Item, SourceId};
use pinbridge::store::*;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub item: Item,
    pub fingerprint: Fingerprint,
    pub skip_reason: Option<String>,
    pub jobs: usize,
}

/// In-memory store: ingest dedups by (source, key) and remembers the plan; source state is kept.
#[derive(Default)]
pub struct MemStore {
    pub items: Mutex<Vec<((SourceId, DedupKey), Recorded)>>,
    pub states: Mutex<HashMap<SourceId, SourceState>>,
    /// Number of ingest_many calls (one per poll that had items).
    pub batches: Mutex<usize>,
}

impl MemStore {
    pub fn recorded(&self) -> Vec<Recorded> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }
    fn ingest_one(&self, item: &Item, plan: IngestPlan) -> Ingested {
        let mut items = self.items.lock().unwrap();
        let key = (item.source.clone(), item.key.clone());
        if let Some((_, known)) = items.iter_mut().find(|(k, _)| *k == key) {
            if known.fingerprint == item.fingerprint() {
                return Ingested::Duplicate;
            }
            known.item = item.clone();
            known.fingerprint = item.fingerprint();
            return Ingested::Changed { jobs: 0 };
        }
        let jobs = if plan.skip_reason.is_some() {
            0
        } else {
            plan.targets.len()
        };
        items.push((
            key,
            Recorded {
                item: item.clone(),
                fingerprint: item.fingerprint(),
                skip_reason: plan.skip_reason,
                jobs,
            },
        ));
        Ingested::New { jobs }
    }
}

fn unsupported<T>() -> StoreResult<T> {
    Err(StoreError::Io(
        "not supported by the feed tests' store".into(),
    ))
}

// The feed tests only poll: items and source state are kept, the rest is refused.
#[async_trait]
impl Items for MemStore {
    async fn ingest(&self, item: &Item, plan: IngestPlan, _now: Millis) -> StoreResult<Ingested> {
        Ok(self.ingest_one(item, plan))
    }

    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        _now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        *self.batches.lock().unwrap() += 1;
        Ok(batch
            .into_iter()
            .map(|(item, plan)| self.ingest_one(&item, plan))
            .collect())
    }

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        let items = self.items.lock().unwrap();
        Ok(items
            .iter()
            .find(|((s, k), _)| s == source && k == key)
            .map(|(_, r)| StoredItem {
                item: r.item.clone(),
                fingerprint: r.fingerprint,
                first_seen: 0,
                last_seen: 0,
                changes: 0,
                disposition: match &r.skip_reason {
                    Some(reason) => ItemDisposition::Skipped {
                        reason: reason.clone(),
                    },
                    None => ItemDisposition::Queued,
                },
                removed: None,
                compacted: None,
            }))
    }

    async fn items(&self, _: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        unsupported()
    }

    async fn forget(&self, _: &SourceId, _: &DedupKey) -> StoreResult<bool> {
        unsupported()
    }

    async fn source_removed(
        &self,
        _: &SourceId,
        _: &DedupKey,
        _: &[String],
        _: Millis,
    ) -> StoreResult<Removed> {
        unsupported()
    }

    async fn purge_deliveries(&self, _: Millis) -> StoreResult<u64> {
        unsupported()
    }
}

#[async_trait]
impl Outbox for MemStore {
    async fn claim(&self, _: usize, _: i64, _: Millis) -> StoreResult<Vec<Lease>> {
        unsupported()
    }

    async fn extend(&self, _: &Lease, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }

    async fn sending(&self, _: &Lease, _: Millis, _: Millis) -> StoreResult<LeaseOutcome> {
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

    async fn mark_unknown(
        &self,
        _: &Lease,
        _: &str,
        _: Millis,
        _: Millis,
    ) -> StoreResult<LeaseOutcome> {
        unsupported()
    }

    async fn dead(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LeaseOutcome> {
        unsupported()
    }

    async fn revive(&self, _: &JobId, _: Millis) -> StoreResult<Job> {
        unsupported()
    }

    async fn cancel_job(&self, _: &JobId, _: &str, _: Millis) -> StoreResult<bool> {
        unsupported()
    }

    async fn job(&self, _: &JobId) -> StoreResult<Option<Job>> {
        unsupported()
    }

    async fn jobs(&self, _: JobFilter) -> StoreResult<Vec<Job>> {
        unsupported()
    }

    async fn item_jobs(&self, _: &SourceId, _: &DedupKey) -> StoreResult<Vec<Job>> {
        unsupported()
    }

    async fn recent_jobs(&self, _: &str, _: usize) -> StoreResult<Vec<Job>> {
        unsupported()
    }
}

#[async_trait]
impl SourceStates for MemStore {
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        Ok(self
            .states
            .lock()
            .unwrap()
            .get(source)
            .cloned()
            .unwrap_or_default())
    }

    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()> {
        self.states
            .lock()
            .unwrap()
            .insert(source.clone(), state.clone());
        Ok(())
    }

    async fn try_lease_source(
        &self,
        _: &SourceId,
        _: &str,
        _: Millis,
        _: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        Ok(Some(LeaseToken(1)))
    }

    async fn release_source(&self, _: &SourceId, _: LeaseToken) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl Accounts for MemStore {
    async fn account_state(&self, _: &str) -> StoreResult<AccountState> {
        unsupported()
    }

    async fn set_account_state(&self, _: &str, _: &AccountState) -> StoreResult<()> {
        unsupported()
    }

    async fn update_account_state(&self, _: &str, _: AccountUpdate) -> StoreResult<AccountState> {
        unsupported()
    }

    async fn take_write_slot(
        &self,
        _: &str,
        _: f64,
        _: u32,
        _: Millis,
    ) -> StoreResult<Result<(), Millis>> {
        unsupported()
    }

    async fn reserve_daily_pin(&self, _: &str, _: i64, _: u32) -> StoreResult<Option<u32>> {
        unsupported()
    }

    async fn block_account(&self, _: &str, _: Millis) -> StoreResult<()> {
        unsupported()
    }

    async fn account_quota(&self, _: &str) -> StoreResult<AccountQuota> {
        unsupported()
    }
}

#[async_trait]
impl Pacing for MemStore {
    async fn reserve_board_slot(&self, _: &Lease, _: i64, _: Millis) -> StoreResult<BoardSlot> {
        unsupported()
    }

    async fn board_last_pin(&self, _: &str, _: &str) -> StoreResult<Option<Millis>> {
        Ok(None)
    }

    async fn claim_link(&self, _: &Lease, _: &str, _: Millis) -> StoreResult<LinkClaim> {
        unsupported()
    }

    async fn link_holder(&self, _: &str, _: &str, _: &str) -> StoreResult<Option<LinkHolder>> {
        Ok(None)
    }

    async fn complete_pin(
        &self,
        _: &Lease,
        _: &str,
        _: PinRecord<'_>,
        _: Millis,
    ) -> StoreResult<LeaseOutcome> {
        unsupported()
    }

    async fn adopt_links(
        &self,
        _: &str,
        _: &str,
        _: &[(String, String)],
        _: bool,
        _: Millis,
    ) -> StoreResult<usize> {
        unsupported()
    }

    async fn board_adopted(&self, _: &str, _: &str) -> StoreResult<Option<Millis>> {
        unsupported()
    }
}

#[async_trait]
impl Transfer for MemStore {
    async fn export_items(
        &self,
        _: Option<ItemCursor>,
        _: usize,
    ) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
        unsupported()
    }

    async fn export_links(
        &self,
        _: Option<LinkCursor>,
        _: usize,
    ) -> StoreResult<Vec<TransferRecord>> {
        unsupported()
    }

    async fn export_small(&self) -> StoreResult<Vec<TransferRecord>> {
        unsupported()
    }

    async fn import(&self, _: Vec<TransferRecord>, _: Millis) -> StoreResult<ImportCounts> {
        unsupported()
    }
}

#[async_trait]
impl Retention for MemStore {
    async fn compact(
        &self,
        _: Option<ItemCursor>,
        _: Millis,
        _: usize,
        _: Millis,
    ) -> StoreResult<pinbridge::store::retention::Compacted> {
        unsupported()
    }
}

#[async_trait]
impl ConfigRecords for MemStore {
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>> {
        Ok(Vec::new())
    }

    async fn write_config_records(
        &self,
        _: &[ConfigRecord],
        _: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()> {
        unsupported()
    }
}

#[async_trait]
impl Health for MemStore {
    async fn stats(&self) -> StoreResult<StoreStats> {
        unsupported()
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        unsupported()
    }

    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
    // One poller per source in these tests: the source lease is always granted.

    fn write_failure(&self) -> Option<String> {
        None
    }

    fn shared(&self) -> bool {
        false
    }
}

// A poll never reads or writes analytics.
#[async_trait]
impl Analytics for MemStore {
    async fn record_pin_days(&self, _: &[PinDay]) -> StoreResult<()> {
        unsupported()
    }

    async fn pin_days(&self, _: i64, _: i64) -> StoreResult<Vec<PinDay>> {
        unsupported()
    }

    async fn watch_pins(&self, _: &[PinWatch]) -> StoreResult<usize> {
        unsupported()
    }

    async fn pin_watches(&self, _: &str) -> StoreResult<Vec<PinWatch>> {
        unsupported()
    }

    async fn record_collection(&self, _: &[PinDay], _: &[PinWatch]) -> StoreResult<()> {
        unsupported()
    }

    async fn try_lease_analytics(
        &self,
        _: &str,
        _: &str,
        _: Millis,
        _: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        unsupported()
    }

    async fn release_analytics(&self, _: &str, _: LeaseToken) -> StoreResult<()> {
        unsupported()
    }

    async fn export_pin_days(&self, _: Option<PinDayCursor>, _: usize) -> StoreResult<Vec<PinDay>> {
        unsupported()
    }
}
