//! The PostgreSQL store: the same [`Store`] contract as sled, for several replicas. The outbox
//! is in `outbox_impl.rs`; the other capabilities are here.
//!
//! Dedup is a primary key plus `ON CONFLICT DO NOTHING`, an ingest is one transaction (durable at
//! commit: `synchronous_commit` is on by default), outbox claims use `FOR UPDATE SKIP LOCKED`, and
//! every lease holder's write is fenced by its lease token in the `WHERE` clause.
//!
//! A failed fsync needs no poisoning here, unlike the sled store: PostgreSQL (since version 12,
//! `data_sync_retry = off`) treats a failed fsync of its data or WAL as a PANIC and recovers from
//! the WAL on restart, so it never retries an fsync whose pages the kernel may have dropped. A
//! commit that could not be flushed comes back as an error from `commit()`, which every method
//! returns as `Err`; the webhook path answers a store error with 503, never 2xx.

mod analytics;
mod config_records;
mod coord;
mod follow;
mod ingest;
mod jobs;
mod outbox_impl;
mod pacing;
mod retention;
mod schema;
mod state;
mod tls;
mod transfer;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::item::{DedupKey, Item, SourceId};
// Named, not `*`: a glob would also pull in `store::open`, which opens this backend.
use crate::store::{
    AccountQuota, AccountState, AccountUpdate, Accounts, BoardSlot, ConfigRecord, ConfigRecordKind,
    ConfigRecords, Health, IngestPlan, Ingested, ItemFilter, Items, Lease, LeaseOutcome,
    LeaseToken, LinkClaim, LinkHolder, Millis, Pacing, PinRecord, Quarantined, Removed,
    SourceState, SourceStates, StoreError, StoreResult, StoreStats, StoredItem,
};
pub use schema::SCHEMA_VERSION;
use schema::io;
pub use tls::tls_warning;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect, apply migrations (or refuse a newer schema).
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open {
                path: redact(url),
                reason: e.to_string(),
            })?;
        Self::with_pool(pool).await
    }

    /// Use an existing pool (tests put each run in its own schema via `search_path`).
    pub async fn with_pool(pool: PgPool) -> StoreResult<PgStore> {
        schema::migrate(&pool).await?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// A connection URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparseable URL)".into(),
    }
}

#[async_trait]
impl Items for PgStore {
    async fn ingest(&self, item: &Item, plan: IngestPlan, now: Millis) -> StoreResult<Ingested> {
        let mut tx = self.pool.begin().await.map_err(io)?;
        let outcome = ingest::ingest(&mut tx, item, &plan, now).await?;
        tx.commit().await.map_err(io)?;
        Ok(outcome)
    }

    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        now: Millis,
    ) -> StoreResult<Vec<Ingested>> {
        // One transaction for the poll: one commit (one WAL flush) for all of it.
        let mut tx = self.pool.begin().await.map_err(io)?;
        let mut out = Vec::with_capacity(batch.len());
        for (item, plan) in &batch {
            out.push(ingest::ingest(&mut tx, item, plan, now).await?);
        }
        tx.commit().await.map_err(io)?;
        Ok(out)
    }

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>> {
        state::item(&self.pool, source, key).await
    }

    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>> {
        state::items(&self.pool, &filter).await
    }

    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
        ingest::forget(&self.pool, source, key).await
    }

    async fn source_removed(
        &self,
        source: &SourceId,
        key: &DedupKey,
        delete_routes: &[String],
        now: Millis,
    ) -> StoreResult<Removed> {
        follow::source_removed(&self.pool, source, key, delete_routes, now).await
    }

    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM deliveries WHERE keep_until <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(io)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl SourceStates for PgStore {
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState> {
        state::get(&self.pool, "source_state", "source", source.as_str()).await
    }

    async fn set_source_state(&self, source: &SourceId, value: &SourceState) -> StoreResult<()> {
        state::set(&self.pool, "source_state", "source", source.as_str(), value).await
    }

    async fn try_lease_source(
        &self,
        source: &SourceId,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        coord::try_lease_source(&self.pool, source, holder, until, now).await
    }

    async fn release_source(&self, source: &SourceId, token: LeaseToken) -> StoreResult<()> {
        coord::release_source(&self.pool, source, token).await
    }
}

#[async_trait]
impl Accounts for PgStore {
    async fn account_state(&self, account: &str) -> StoreResult<AccountState> {
        state::get(&self.pool, "account_state", "account", account).await
    }

    async fn set_account_state(&self, account: &str, value: &AccountState) -> StoreResult<()> {
        state::set(&self.pool, "account_state", "account", account, value).await
    }

    async fn update_account_state(
        &self,
        account: &str,
        update: AccountUpdate,
    ) -> StoreResult<AccountState> {
        pacing::update_account(&self.pool, account, &update).await
    }

    async fn take_write_slot(
        &self,
        account: &str,
        per_minute: f64,
        burst: u32,
        now: Millis,
    ) -> StoreResult<Result<(), Millis>> {
        coord::take_write_slot(&self.pool, account, per_minute, burst, now).await
    }

    async fn reserve_daily_pin(
        &self,
        account: &str,
        day: i64,
        cap: u32,
    ) -> StoreResult<Option<u32>> {
        coord::reserve_daily_pin(&self.pool, account, day, cap).await
    }

    async fn block_account(&self, account: &str, until: Millis) -> StoreResult<()> {
        coord::block_account(&self.pool, account, until).await
    }

    async fn account_quota(&self, account: &str) -> StoreResult<AccountQuota> {
        coord::account_quota(&self.pool, account).await
    }
}

#[async_trait]
impl Pacing for PgStore {
    async fn reserve_board_slot(
        &self,
        lease: &Lease,
        spacing_ms: i64,
        now: Millis,
    ) -> StoreResult<BoardSlot> {
        pacing::reserve_board_slot(&self.pool, lease, spacing_ms, now).await
    }

    async fn board_last_pin(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        pacing::board_last_pin(&self.pool, account, board).await
    }

    async fn claim_link(&self, lease: &Lease, link: &str, now: Millis) -> StoreResult<LinkClaim> {
        pacing::claim_link(&self.pool, lease, link, now).await
    }

    async fn link_holder(
        &self,
        account: &str,
        board: &str,
        link: &str,
    ) -> StoreResult<Option<LinkHolder>> {
        pacing::link_holder(&self.pool, account, board, link).await
    }

    async fn complete_pin(
        &self,
        lease: &Lease,
        pin_id: &str,
        record: PinRecord<'_>,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        pacing::complete_pin(&self.pool, lease, pin_id, record, now).await
    }

    async fn adopt_links(
        &self,
        account: &str,
        board: &str,
        pins: &[(String, String)],
        finished: bool,
        now: Millis,
    ) -> StoreResult<usize> {
        transfer::adopt_links(&self.pool, account, board, pins, finished, now).await
    }

    async fn board_adopted(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        transfer::board_adopted(&self.pool, account, board).await
    }
}

#[async_trait]
impl ConfigRecords for PgStore {
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>> {
        config_records::all(&self.pool).await
    }

    async fn write_config_records(
        &self,
        put: &[ConfigRecord],
        delete: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()> {
        config_records::write(&self.pool, put, delete).await
    }
}

#[async_trait]
impl Health for PgStore {
    async fn stats(&self) -> StoreResult<StoreStats> {
        state::stats(&self.pool).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>> {
        // PostgreSQL checks its own pages; there is no application-level quarantine here.
        Ok(Vec::new())
    }

    async fn close(&self) -> StoreResult<()> {
        self.pool.close().await;
        Ok(())
    }

    /// Never: a failed fsync is PostgreSQL's to recover from (see the top of this file), and a
    /// commit it could not flush comes back as that call's error.
    fn write_failure(&self) -> Option<String> {
        None
    }

    /// Replicas coordinate through the database (see `coord.rs`).
    fn shared(&self) -> bool {
        true
    }
}

/// A store record as JSON for a `jsonb` column (every child writes them).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("store records serialize")
}
