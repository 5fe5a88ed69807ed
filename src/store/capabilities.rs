//! The store contract, one trait per capability; [`Store`] is their sum.
//!
//! A caller (or a test double) that needs one capability names that trait; the service holds an
//! `Arc<dyn Store>` and reaches every capability through it. No method has a default: each
//! backend says what it does for every one, so a missing piece is a compile error, not a silent
//! no-op at run time. Every method is durable when it returns `Ok`.

use async_trait::async_trait;

use super::retention::Compacted;
use super::{
    AccountQuota, AccountState, AccountUpdate, Attempt, BoardSlot, ConfigRecord, ConfigRecordKind,
    ImportCounts, IngestPlan, Ingested, ItemCursor, ItemFilter, Job, JobFilter, JobId, Lease,
    LeaseOutcome, LeaseToken, LinkClaim, LinkCursor, LinkHolder, Millis, PinDay, PinDayCursor,
    PinRecord, PinWatch, Quarantined, Removed, SourceState, StoreResult, StoreStats, StoredItem,
    TransferRecord,
};
use crate::item::{DedupKey, Item, SourceId};

/// Items and webhook deliveries: dedup on the way in, reads, and forgetting.
#[async_trait]
pub trait Items: Send + Sync {
    /// Dedup `item` by `(source, key)` and, in one transaction, record it and queue the plan's
    /// jobs; durable before it returns (concurrent callers share one flush).
    async fn ingest(&self, item: &Item, plan: IngestPlan, now: Millis) -> StoreResult<Ingested>;

    /// `ingest` for several items in order (a feed poll): each item is its own transaction, and
    /// one flush makes them all durable. Job ids keep the given order.
    async fn ingest_many(
        &self,
        batch: Vec<(Item, IngestPlan)>,
        now: Millis,
    ) -> StoreResult<Vec<Ingested>>;

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>>;
    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>>;

    /// Forget an item entirely (its tombstone too), so it may be ingested again. Its
    /// unfinished jobs are removed. Returns whether it existed.
    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool>;

    /// The item was deleted (or unpublished) at its source. In one transaction, for each of its
    /// create jobs on a route named in `delete_routes`: queue a delete of the Pin it made, or
    /// cancel it if it was not sent yet, or queue a delete that waits for it if it may have
    /// been sent (the rules are in `store::follow`). Idempotent; an unknown item changes
    /// nothing. The item and its tombstone stay.
    async fn source_removed(
        &self,
        source: &SourceId,
        key: &DedupKey,
        delete_routes: &[String],
        now: Millis,
    ) -> StoreResult<Removed>;

    /// Drop delivery ids whose horizon has passed. Returns how many were dropped.
    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64>;
}

/// The outbox: the lease state machine `pending → leased → done | retry | unknown | dead`
/// (its rules are in `store::transitions`), operator actions, and job reads.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Lease up to `max` runnable jobs (pending, retry or unknown whose time has come, or leased
    /// with an expired lease) for `lease_ms`. Unknown jobs and expired leases come back with
    /// `reconcile = true`: their create may have been sent.
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>>;

    /// Extend a lease still held (long reconciles). `LeaseLost` if it was reclaimed.
    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome>;

    /// The create is about to be sent: extend the lease to `until` and record `now` as the
    /// job's `create_sent`, durably, in one write. A reconcile after an ambiguous create (or a
    /// crash) looks at the board's Pins back to that moment. `LeaseLost` if it was reclaimed.
    async fn sending(&self, lease: &Lease, until: Millis, now: Millis)
    -> StoreResult<LeaseOutcome>;

    /// The Pin was made (or found by reconcile): record its id, the job is done.
    async fn complete(&self, lease: &Lease, pin_id: &str, now: Millis)
    -> StoreResult<LeaseOutcome>;

    /// Run the job again at `at`, recording `error`. A reconcile lease (`lease.reconcile`)
    /// leaves the job `unknown` rather than `retry`, so the next holder reconciles too.
    async fn retry(
        &self,
        lease: &Lease,
        at: Millis,
        error: &str,
        attempt: Attempt,
        now: Millis,
    ) -> StoreResult<LeaseOutcome>;

    /// The create was sent and the outcome is unknown: at `at`, reconcile before trying
    /// again. Uses up an attempt (the failure was real, only its effect is unclear).
    async fn mark_unknown(
        &self,
        lease: &Lease,
        error: &str,
        at: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome>;

    /// A permanent failure: the job goes to the dead letter with `error`.
    async fn dead(&self, lease: &Lease, error: &str, now: Millis) -> StoreResult<LeaseOutcome>;

    /// Bring a dead job back to pending (operator action). Errors with `NotFound` for unknown ids.
    async fn revive(&self, job: &JobId, now: Millis) -> StoreResult<Job>;

    /// Move a job that is not running (pending, retry or unknown) to the dead letter with
    /// `error`. A leased, done or dead job is left alone. Returns whether it moved.
    async fn cancel_job(&self, job: &JobId, error: &str, now: Millis) -> StoreResult<bool>;

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>>;
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>>;
    /// The jobs of one item.
    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>>;

    /// The `limit` most recently finished jobs in `state` (`"done"` or `"dead"`), newest first,
    /// read from an index rather than by scanning every job.
    async fn recent_jobs(&self, state: &str, limit: usize) -> StoreResult<Vec<Job>>;
}

/// Per-source polling state, and the lease that lets one replica poll a source at a time.
#[async_trait]
pub trait SourceStates: Send + Sync {
    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState>;
    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()>;

    /// Take (or, for the same `holder`, extend) the lease on polling `source` until `until`.
    /// `None` while another holder's lease runs. A new lease gets a new, larger token; an
    /// extension keeps its token.
    async fn try_lease_source(
        &self,
        source: &SourceId,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>>;

    /// Give the lease back (no-op when `token` no longer holds it).
    async fn release_source(&self, source: &SourceId, token: LeaseToken) -> StoreResult<()>;
}

/// Per-account state and the quota every replica sharing the store takes from together.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn account_state(&self, account: &str) -> StoreResult<AccountState>;
    async fn set_account_state(&self, account: &str, state: &AccountState) -> StoreResult<()>;

    /// Read, change and write one account's record as one atomic step (the daily count, a
    /// rate-limit block and refreshed tokens are written by different tasks, and with
    /// PostgreSQL by different replicas). Returns the record as written.
    async fn update_account_state(
        &self,
        account: &str,
        update: AccountUpdate,
    ) -> StoreResult<AccountState>;

    /// Take one write slot of `account`'s quota at `now`, shared by every replica: slots are
    /// `60 s / per_minute` apart, and up to `burst` may be taken at once after a quiet time.
    /// `Err(at)` says when the next slot is free (nothing is taken then). Atomic.
    async fn take_write_slot(
        &self,
        account: &str,
        per_minute: f64,
        burst: u32,
        now: Millis,
    ) -> StoreResult<Result<(), Millis>>;

    /// Count one Pin create on UTC `day` against `cap`, atomically across replicas:
    /// `Some(count including this one)`, or `None` when the cap is reached.
    async fn reserve_daily_pin(
        &self,
        account: &str,
        day: i64,
        cap: u32,
    ) -> StoreResult<Option<u32>>;

    /// Block `account` until `until` (a later block wins; an earlier one changes nothing).
    async fn block_account(&self, account: &str, until: Millis) -> StoreResult<()>;

    /// The account's shared block and daily count.
    async fn account_quota(&self, account: &str) -> StoreResult<AccountQuota>;
}

/// Per-board spacing and one Pin per link per board. The rules are in `store::pacing`; each
/// backend applies them in one transaction.
#[async_trait]
pub trait Pacing: Send + Sync {
    /// May the leased job pin on its board now, `spacing_ms` after the board's last Pin? If
    /// so the slot is taken; if not, the job's place in the board's queue is booked and the
    /// answer says when to come back. Survives restarts.
    async fn reserve_board_slot(
        &self,
        lease: &Lease,
        spacing_ms: i64,
        now: Millis,
    ) -> StoreResult<BoardSlot>;

    /// The board's last Pin time as recorded (`None` before its first Pin).
    async fn board_last_pin(&self, account: &str, board: &str) -> StoreResult<Option<Millis>>;

    /// Claim the normalised `link` on the leased job's board (account + board) for the job:
    /// `Mine` (make the Pin), `Pinned` (complete as a duplicate of it) or `Busy` (another
    /// job holding it is still running).
    async fn claim_link(&self, lease: &Lease, link: &str, now: Millis) -> StoreResult<LinkClaim>;

    /// Who holds `link` on a board (for tests and status).
    async fn link_holder(
        &self,
        account: &str,
        board: &str,
        link: &str,
    ) -> StoreResult<Option<LinkHolder>>;

    /// `complete`, plus in the same transaction: the link index entry points at this Pin, and
    /// (unless `record.note` says it is a duplicate) the board's last Pin time is now.
    async fn complete_pin(
        &self,
        lease: &Lease,
        pin_id: &str,
        record: PinRecord<'_>,
        now: Millis,
    ) -> StoreResult<LeaseOutcome>;

    /// Adoption: record Pins already on a board. Each `(normalised link, Pin id)` holds its
    /// link on the board unless a Pin is recorded for that link already
    /// (`pacing::adopts_over`); with `finished`, the board is marked adopted at `now` in the
    /// same transaction. Returns how many links were recorded.
    async fn adopt_links(
        &self,
        account: &str,
        board: &str,
        pins: &[(String, String)],
        finished: bool,
        now: Millis,
    ) -> StoreResult<usize>;

    /// When the board's existing Pins were adopted (`None`: not yet).
    async fn board_adopted(&self, account: &str, board: &str) -> StoreResult<Option<Millis>>;
}

/// Export and import (`pinbridge items export`/`import`, `pinbridge store copy`): pages in key
/// order, so a store of any size streams through in constant memory, and an import that
/// writes only what is absent, so importing twice changes nothing.
#[async_trait]
pub trait Transfer: Send + Sync {
    /// Up to `limit` items after `after` (in the backend's key order), each with its jobs.
    async fn export_items(
        &self,
        after: Option<ItemCursor>,
        limit: usize,
    ) -> StoreResult<Vec<(StoredItem, Vec<Job>)>>;

    /// Up to `limit` link index entries after `after`, as [`TransferRecord::Link`]s.
    async fn export_links(
        &self,
        after: Option<LinkCursor>,
        limit: usize,
    ) -> StoreResult<Vec<TransferRecord>>;

    /// The few small records: adopted boards and source states.
    async fn export_small(&self) -> StoreResult<Vec<TransferRecord>>;

    /// Write each record that is absent, in one transaction: an item with its jobs and
    /// tombstone (a job leased in the source becomes `unknown`, so it is reconciled before any
    /// second create), a link entry, a board's adoption mark, a source state. Present records
    /// are left as they are. Config records are the caller's (`ConfigRecords`).
    async fn import(&self, batch: Vec<TransferRecord>, now: Millis) -> StoreResult<ImportCounts>;
}

/// Retention (`[store] keep_payloads`): old items' payloads and done jobs' leftover errors
/// dropped in small bounded steps, so it never holds a writer or a transaction for long and
/// ingest never waits on it. What is kept and dropped is decided in `store::retention`.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Look at up to `max` items after `after` in key order (from the first with `None`) and
    /// compact each one last seen before `older_than` whose jobs no longer need its payload,
    /// with its done jobs that finished before `older_than`, one short write per item;
    /// `now` is recorded as the compaction time. `Compacted::next` continues the walk, `None`
    /// once it reached the end.
    async fn compact(
        &self,
        after: Option<ItemCursor>,
        older_than: Millis,
        max: usize,
        now: Millis,
    ) -> StoreResult<Compacted>;
}

/// Live configuration: sources, routes and pause overrides made through the admin API, merged
/// with the config file at start and on every reload.
#[async_trait]
pub trait ConfigRecords: Send + Sync {
    /// Every runtime configuration record, sorted by kind then id.
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>>;

    /// In one transaction: insert or replace each record of `put` (by kind and id) and remove
    /// each of `delete` (absent ones are ignored). A change of several records (an import) is
    /// saved whole or not at all.
    async fn write_config_records(
        &self,
        put: &[ConfigRecord],
        delete: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()>;
}

/// Pin analytics: daily rows per Pin, and what the collector needs to resume where it stopped
/// (the Pins it watches with their progress) and to run once per account across replicas.
#[async_trait]
pub trait Analytics: Send + Sync {
    /// Upsert: a row for the same (pin_id, day) replaces the stored one. Durable on Ok.
    async fn record_pin_days(&self, rows: &[PinDay]) -> StoreResult<()>;

    /// Every row with `from_day <= day <= to_day`, all accounts, any order.
    async fn pin_days(&self, from_day: i64, to_day: i64) -> StoreResult<Vec<PinDay>>;

    /// Start watching Pins (by account and Pin id); one already watched keeps its record and
    /// progress. Returns how many were new.
    async fn watch_pins(&self, pins: &[PinWatch]) -> StoreResult<usize>;

    /// The Pins watched for `account`, any order.
    async fn pin_watches(&self, account: &str) -> StoreResult<Vec<PinWatch>>;

    /// One collection step in one durable write: upsert `rows` (as `record_pin_days`) and
    /// replace the `watches` given (their progress), so a step is kept whole or not at all.
    async fn record_collection(&self, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()>;

    /// Take (or, for the same `holder`, extend) the lease on collecting `account`'s analytics
    /// until `until`: `None` while another holder's lease runs. Same rules as
    /// `SourceStates::try_lease_source`.
    async fn try_lease_analytics(
        &self,
        account: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>>;

    /// Give the lease back (no-op when `token` no longer holds it).
    async fn release_analytics(&self, account: &str, token: LeaseToken) -> StoreResult<()>;

    /// Up to `limit` rows after `after`, in (day, pin_id) order: the export's pages.
    async fn export_pin_days(
        &self,
        after: Option<PinDayCursor>,
        limit: usize,
    ) -> StoreResult<Vec<PinDay>>;
}

/// The store as a whole: counts, readiness, shutdown, and what kind of store it is.
#[async_trait]
pub trait Health: Send + Sync {
    /// Counts for status pages and metrics, maintained on write: the same cost at any size.
    async fn stats(&self) -> StoreResult<StoreStats>;

    /// Whether the store is open and answers (readiness): counts nothing.
    async fn ping(&self) -> StoreResult<()>;

    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>>;

    /// Make everything durable and stop background work (shutdown).
    async fn close(&self) -> StoreResult<()>;

    /// Why the store refuses writes until restarted (a failed flush to disk), said with what to
    /// do, or `None` while it takes them. Readiness reports it.
    fn write_failure(&self) -> Option<String>;

    /// Whether several pinbridge processes may share this store (PostgreSQL). The engine then
    /// takes write slots, daily counts and rate-limit blocks through the store, not only in
    /// memory.
    fn shared(&self) -> bool;
}

/// Everything pinbridge remembers: the sum of the capabilities, implemented for any type that
/// has them all.
pub trait Store:
    Items
    + Outbox
    + SourceStates
    + Accounts
    + Pacing
    + ConfigRecords
    + Health
    + Transfer
    + Retention
    + Analytics
    + 'static
{
}

impl<T> Store for T where
    T: Items
        + Outbox
        + SourceStates
        + Accounts
        + Pacing
        + ConfigRecords
        + Health
        + Transfer
        + Retention
        + Analytics
        + 'static
{
}
