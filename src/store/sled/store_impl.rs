//! The sled store's capabilities other than the outbox (that is `outbox_impl.rs`): each
//! method hops to a blocking thread and, for writes, waits for the group commit. Coordination
//! between replicas is in memory here (see `coord.rs`): one process owns a sled store.

use std::sync::atomic::Ordering;

use async_trait::async_trait;

use super::{SledStore, config_records, follow, ingest, pacing, reads, state, trees};
use crate::item::{DedupKey, Item, SourceId};
use crate::store::{
    AccountQuota, AccountState, AccountUpdate, Accounts, BoardSlot, ConfigRecord, ConfigRecordKind,
    ConfigRecords, Health, IngestPlan, Ingested, ItemFilter, Items, Lease, LeaseOutcome,
    LeaseToken, LinkClaim, LinkHolder, Millis, Pacing, PinRecord, Quarantined, Removed,
    SourceState, SourceStates, StoreError, StoreResult, StoreStats, StoredItem,
};

#[async_trait]
impl Items for SledStore {
    async fn ingest(&self, item: &Item, plan: IngestPlan, now: Millis) -> StoreResult<Ingested> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        self.refuse_if_failed()?;
        // Queued to the batch writer (no blocking-thread hop); durable once its ticket is.
        let (outcome, ticket) = self.inner.batcher.ingest(item.clone(), plan, now).await?;
        self.inner.committer.wait(ticket).await?;
        Ok(outcome)
    }

    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        self.write(move |inner| {
            batch
                .iter()
                .map(|(item, plan)| ingest::ingest(inner, item, plan, now))
                .collect()
        })
        .await
    }

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        let (source, key) = (source.clone(), key.clone());
        self.read(move |inner| reads::item(inner, &source, &key))
            .await
    }

    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        self.read(move |inner| reads::items(inner, &filter)).await
    }

    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
        let (source, key) = (source.clone(), key.clone());
        self.write(move |inner| ingest::forget(inner, &source, &key))
            .await
    }

    async fn source_removed(
        &self,
        source: &SourceId,
        key: &DedupKey,
        delete_routes: &[String],
        now: Millis,
    ) -> StoreResult<Removed> {
        let (source, key, routes) = (source.clone(), key.clone(), delete_routes.to_vec());
        self.write(move |inner| follow::source_removed(inner, &source, &key, &routes, now))
            .await
    }

    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64> {
        self.write(move |inner| state::purge_deliveries(inner, now))
            .await
    }
}

#[async_trait]
impl SourceStates for SledStore {
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        let source = source.clone();
        self.read(move |inner| state::get_state(inner, trees::SOURCES, source.as_str()))
            .await
    }

    async fn set_source_state(&self, source: &SourceId, value: &SourceState) -> StoreResult<()> {
        let (source, value) = (source.clone(), value.clone());
        self.write(move |inner| state::set_state(inner, trees::SOURCES, source.as_str(), &value))
            .await
    }

    async fn try_lease_source(
        &self,
        source: &SourceId,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        self.open_check()?;
        Ok(self
            .inner
            .coord
            .try_lease_source(source.as_str(), holder, until, now))
    }

    async fn release_source(&self, source: &SourceId, token: LeaseToken) -> StoreResult<()> {
        self.open_check()?;
        self.inner.coord.release_source(source.as_str(), token);
        Ok(())
    }
}

#[async_trait]
impl Accounts for SledStore {
    async fn account_state(&self, account: &str) -> StoreResult<AccountState> {
        let account = account.to_string();
        self.read(move |inner| state::get_state(inner, trees::ACCOUNTS, &account))
            .await
    }

    async fn set_account_state(&self, account: &str, value: &AccountState) -> StoreResult<()> {
        let (account, value) = (account.to_string(), value.clone());
        self.write(move |inner| state::set_state(inner, trees::ACCOUNTS, &account, &value))
            .await
    }

    async fn update_account_state(
        &self,
        account: &str,
        update: AccountUpdate,
    ) -> StoreResult<AccountState> {
        let account = account.to_string();
        self.write(move |inner| state::update_account(inner, &account, &update))
            .await
    }

    async fn take_write_slot(
        &self,
        account: &str,
        per_minute: f64,
        burst: u32,
        now: Millis,
    ) -> StoreResult<Result<(), Millis>> {
        self.open_check()?;
        Ok(self
            .inner
            .coord
            .take_write_slot(account, per_minute, burst, now))
    }

    async fn reserve_daily_pin(
        &self,
        account: &str,
        day: i64,
        cap: u32,
    ) -> StoreResult<Option<u32>> {
        self.open_check()?;
        Ok(self.inner.coord.reserve_daily_pin(account, day, cap))
    }

    async fn block_account(&self, account: &str, until: Millis) -> StoreResult<()> {
        self.open_check()?;
        self.inner.coord.block_account(account, until);
        Ok(())
    }

    async fn account_quota(&self, account: &str) -> StoreResult<AccountQuota> {
        self.open_check()?;
        Ok(self.inner.coord.account_quota(account))
    }
}

#[async_trait]
impl ConfigRecords for SledStore {
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>> {
        self.read(config_records::all).await
    }

    async fn write_config_records(
        &self,
        put: &[ConfigRecord],
        delete: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()> {
        let (put, delete) = (put.to_vec(), delete.to_vec());
        self.write(move |inner| config_records::write(inner, &put, &delete))
            .await
    }
}

#[async_trait]
impl Health for SledStore {
    async fn stats(&self) -> StoreResult<StoreStats> {
        self.read(reads::stats).await
    }

    async fn ping(&self) -> StoreResult<()> {
        // One small read: the store is open (not closed) and sled answers.
        self.read(|inner| {
            inner
                .trees
                .meta
                .get(super::SCHEMA_KEY)
                .map(|_| ())
                .map_err(trees::io)
        })
        .await
    }

    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        self.read(reads::quarantined).await
    }

    fn write_failure(&self) -> Option<String> {
        SledStore::write_failure(self)
    }

    async fn close(&self) -> StoreResult<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.committer.stop())
            .await
            .map_err(|e| StoreError::Io(format!("stopping the store flusher failed: {e}")))
    }

    fn shared(&self) -> bool {
        false
    }
}

#[async_trait]
impl Pacing for SledStore {
    async fn reserve_board_slot(
        &self,
        lease: &Lease,
        spacing_ms: i64,
        now: Millis,
    ) -> StoreResult<BoardSlot> {
        let lease = lease.clone();
        self.write(move |inner| pacing::reserve_board_slot(inner, &lease, spacing_ms, now))
            .await
    }

    async fn board_last_pin(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        let (account, board) = (account.to_string(), board.to_string());
        self.read(move |inner| pacing::board_last_pin(inner, &account, &board))
            .await
    }

    async fn claim_link(&self, lease: &Lease, link: &str, now: Millis) -> StoreResult<LinkClaim> {
        let (lease, link) = (lease.clone(), link.to_string());
        self.write(move |inner| pacing::claim_link(inner, &lease, &link, now))
            .await
    }

    async fn link_holder(
        &self,
        account: &str,
        board: &str,
        link: &str,
    ) -> StoreResult<Option<LinkHolder>> {
        let (account, board, link) = (account.to_string(), board.to_string(), link.to_string());
        self.read(move |inner| pacing::link_holder(inner, &account, &board, &link))
            .await
    }

    async fn complete_pin(
        &self,
        lease: &Lease,
        pin_id: &str,
        record: PinRecord<'_>,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let (lease, pin_id) = (lease.clone(), pin_id.to_string());
        let link = record.link.map(str::to_string);
        let note = record.note.map(str::to_string);
        self.write(move |inner| {
            let record = PinRecord {
                link: link.as_deref(),
                note: note.as_deref(),
            };
            pacing::complete_pin(inner, &lease, &pin_id, record, now)
        })
        .await
    }

    async fn adopt_links(
        &self,
        account: &str,
        board: &str,
        pins: &[(String, String)],
        finished: bool,
        now: Millis,
    ) -> StoreResult<usize> {
        let (account, board, pins) = (account.to_string(), board.to_string(), pins.to_vec());
        self.write(move |inner| pacing::adopt_links(inner, &account, &board, &pins, finished, now))
            .await
    }

    async fn board_adopted(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        let (account, board) = (account.to_string(), board.to_string());
        self.read(move |inner| pacing::board_adopted(inner, &account, &board))
            .await
    }
}

impl SledStore {
    fn open_check(&self) -> StoreResult<()> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }
}
