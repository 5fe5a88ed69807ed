//! The store: what pinbridge remembers, behind one semantic trait.
//!
//! It is not a key-value bag: `ingest` dedups an item and queues its outbox jobs in one durable
//! transaction, and the job methods implement the lease state machine
//! `pending → leased → done | retry | unknown | dead`. Every backend (sled now, PostgreSQL later)
//! implements [`Store`] and passes the same conformance suite (`tests/it/store_conformance.rs`).

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::item::{DedupKey, Fingerprint, Item, SourceId};

pub mod open;
pub mod pacing;
pub mod postgres;
pub mod sled;

pub use pacing::{BoardSlot, LinkClaim, LinkHolder, PinRecord};

// Time is the clock's type; re-exported so store callers keep one import.
pub use crate::clock::Millis;

/// Where one Pin goes: the account, board and optional section of a matching route.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// queued (0 unless `OnChange::NewPin`).
    Changed { jobs: usize },
}

/// How an item was disposed of, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A job's id: sortable by creation time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fencing token: each lease gets a new, larger one. Writes carrying an old token are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LeaseToken(pub u64);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Ready to run at `run_at`.
    Pending {
        run_at: Millis,
    },
    /// A worker holds it until `until`; after that it may be reclaimed.
    Leased {
        token: LeaseToken,
        until: Millis,
        /// The job was `unknown` when leased: look for the Pin before creating one.
        reconcile: bool,
    },
    /// Failed transiently; runs again at `at`.
    Retry {
        at: Millis,
    },
    /// The create was sent and its outcome is not known (timeout, reset, 5xx after send).
    /// At `at` the job is claimed again, for reconcile first.
    Unknown {
        since: Millis,
        at: Millis,
    },
    Done {
        pin_id: String,
        at: Millis,
    },
    Dead {
        error: String,
        at: Millis,
    },
}

impl JobState {
    /// The state a dead job is retried in. One whose create may have been sent (a send time is
    /// recorded) is `unknown`, so the board is searched before any create: a dead letter
    /// reached through failed reconciles must not turn into a blind second Pin on retry.
    pub fn revived(job: &Job, now: Millis) -> JobState {
        if job.create_sent.is_some() {
            JobState::Unknown {
                since: now,
                at: now,
            }
        } else {
            JobState::Pending { run_at: now }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            JobState::Pending { .. } => "pending",
            JobState::Leased { .. } => "leased",
            JobState::Retry { .. } => "retry",
            JobState::Unknown { .. } => "unknown",
            JobState::Done { .. } => "done",
            JobState::Dead { .. } => "dead",
        }
    }
}

/// An outbox job: one Pin for one item on one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub source: SourceId,
    pub item: DedupKey,
    pub target: Target,
    pub state: JobState,
    /// Attempts that counted (a 429 does not count).
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created: Millis,
    pub updated: Millis,
    /// When the latest create of this job was sent, written durably just before sending (see
    /// [`Store::sending`]). After an ambiguous create, reconcile pages the board's Pins back to
    /// this moment. `None` in records written before it existed: their creates can be no older
    /// than the job, so `created` bounds them ([`Job::sent_since`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_sent: Option<Millis>,
}

impl Job {
    /// The earliest moment this job's unresolved create may have been sent.
    pub fn sent_since(&self) -> Millis {
        self.create_sent.unwrap_or(self.created)
    }
}

/// A job leased to a worker. Hand it back to `complete`, `retry`, `mark_unknown` or `dead`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub job: Job,
    pub item: Item,
    pub token: LeaseToken,
    pub until: Millis,
    /// The job was `unknown`: search the board for the Pin before creating a second one.
    pub reconcile: bool,
}

/// Whether a lease holder's write took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseOutcome {
    Applied,
    /// The lease expired and was reclaimed, or the job moved on: the write was ignored.
    LeaseLost,
}

/// How `retry` should count the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A real failure: it uses up an attempt.
    Counts,
    /// Rate limited or waiting for the account: it does not.
    Free,
}

/// Per-source polling state: validators, schedule, errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll: Option<Millis>,
    pub next_poll: Option<Millis>,
    pub last_success: Option<Millis>,
    pub error_count: u32,
    pub last_error: Option<String>,
    /// Set after too many consecutive errors: polled only at a slow rate, and why.
    pub parked: Option<String>,
    /// The first poll (baseline) is done: later polls pin new items.
    pub baselined: bool,
    /// Source-specific extras (WebSub lease, adaptive interval figures, …).
    pub extra: BTreeMap<String, String>,
}

/// Per-account state shared by the sync engine: rate-limit block and tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    /// Do not call Pinterest for this account before this time (after a 429).
    pub blocked_until: Option<Millis>,
    /// Why the account is not usable (needs `pinbridge auth`, paused for spam, …).
    pub problem: Option<String>,
    /// Tokens as the pinterest module serialises them (encrypted at rest by that module).
    pub tokens: Option<Vec<u8>>,
    /// The UTC day (days since the epoch) `day_pins` counts, so the daily cap survives restarts.
    pub day: Option<i64>,
    /// Pin creates sent on `day`.
    pub day_pins: u32,
}

/// A change to an account's record, applied atomically by `update_account_state`. It may run
/// more than once (a backend may retry its transaction), so it must only depend on its input.
pub type AccountUpdate = Box<dyn Fn(&mut AccountState) + Send + Sync>;
/// An account's quota as several replicas share it: the rate-limit block and the
/// daily Pin count, read from the store before each create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuota {
    /// No calls for this account before this time (a 429 seen by any replica).
    pub blocked_until: Option<Millis>,
    /// The UTC day `day_pins` counts.
    pub day: Option<i64>,
    /// Pin creates reserved on `day`, by every replica together.
    pub day_pins: u32,
}

/// Milliseconds between slots at `per_minute`, and how far ahead of `now` the next slot may
/// be while a write still goes (the burst). Both backends use it.
pub fn write_slot_spacing(per_minute: f64, burst: u32) -> (Millis, Millis) {
    let per_minute = if per_minute.is_finite() && per_minute > 0.0 {
        per_minute
    } else {
        1.0
    };
    let interval = (60_000.0 / per_minute).ceil().max(1.0) as Millis;
    let tolerance = interval.saturating_mul(Millis::from(burst.max(1) - 1));
    (interval, tolerance)
}

/// Filters for listing jobs.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub source: Option<SourceId>,
    /// A state name as in [`JobState::name`].
    pub state: Option<String>,
    pub limit: usize,
}

/// Filters for listing items.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub source: Option<SourceId>,
    pub limit: usize,
}

/// A record that failed its checksum or could not be decoded, moved aside instead of panicking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub tree: String,
    pub key: String,
    pub reason: String,
    pub at: Millis,
}

/// Counts for status pages and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub items: u64,
    pub jobs_by_state: BTreeMap<String, u64>,
    pub quarantined: u64,
    pub size_on_disk: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} could not be opened: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "the store was written by a newer pinbridge (schema {found}, this build reads up to {supported}); upgrade pinbridge"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    #[error("the store is shutting down")]
    Closed,
    /// A flush to disk failed: writes since the last good flush may be lost, and no later
    /// flush can prove otherwise, so the store takes no more writes until restarted.
    #[error(
        "the store refuses writes until pinbridge is restarted: {0}; check the disk (space, errors in the system log), then restart"
    )]
    Poisoned(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The semantic store contract. All methods are durable when they return `Ok`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
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

    /// Lease up to `max` runnable jobs (pending, retry or unknown whose time has come, or leased
    /// with an expired lease) for `lease_ms`. Unknown jobs and expired leases come back with
    /// `reconcile = true`: their create may have been sent.
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>>;

    /// Extend a lease still held (long reconciles). `LeaseLost` if it was reclaimed.
    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome>;

    /// The create is about to be sent: extend the lease to `until` and record `now` as the
    /// job's `create_sent`, durably, in one write. A reconcile after an ambiguous create (or a
    /// crash) looks at the board's Pins back to that moment. `LeaseLost` if it was reclaimed.
    /// The default only extends: a backend that does not record it leaves reconcile to look
    /// back to the job's creation, which is safe but pages further.
    async fn sending(
        &self,
        lease: &Lease,
        until: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let _ = now;
        self.extend(lease, until).await
    }

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

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>>;
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>>;
    /// The jobs of one item.
    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>>;

    async fn item(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Option<StoredItem>>;
    async fn items(&self, filter: ItemFilter) -> StoreResult<Vec<StoredItem>>;
    /// Forget an item entirely (its tombstone too), so it may be ingested again. Its
    /// unfinished jobs are removed. Returns whether it existed.
    async fn forget(&self, source: &SourceId, key: &DedupKey) -> StoreResult<bool>;

    async fn source_state(&self, source: &SourceId) -> StoreResult<SourceState>;
    async fn set_source_state(&self, source: &SourceId, state: &SourceState) -> StoreResult<()>;

    async fn account_state(&self, account: &str) -> StoreResult<AccountState>;
    async fn set_account_state(&self, account: &str, state: &AccountState) -> StoreResult<()>;

    /// Read, change and write one account's record as one atomic step (the daily count, a
    /// rate-limit block and refreshed tokens are written by different tasks, and with
    /// PostgreSQL by different replicas). Returns the record as written. The default is a
    /// plain read then write, for test doubles; both real backends override it.
    async fn update_account_state(
        &self,
        account: &str,
        update: AccountUpdate,
    ) -> StoreResult<AccountState> {
        let mut state = self.account_state(account).await?;
        update(&mut state);
        self.set_account_state(account, &state).await?;
        Ok(state)
    }

    /// Drop delivery ids whose horizon has passed. Returns how many were dropped.
    async fn purge_deliveries(&self, now: Millis) -> StoreResult<u64>;

    /// Counts for status pages and metrics, maintained on write: the same cost at any size.
    async fn stats(&self) -> StoreResult<StoreStats>;

    /// Whether the store is open and answers (readiness): counts nothing. The default, for
    /// test doubles, asks for `stats`.
    async fn ping(&self) -> StoreResult<()> {
        self.stats().await.map(|_| ())
    }

    /// The `limit` most recently finished jobs in `state` (`"done"` or `"dead"`), newest first,
    /// read from an index rather than by scanning every job. The default, for test doubles,
    /// lists and sorts.
    async fn recent_jobs(&self, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
        let filter = JobFilter {
            source: None,
            state: Some(state.to_string()),
            limit: 0,
        };
        let mut jobs = self.jobs(filter).await?;
        jobs.sort_by(|a, b| (b.updated, &b.id).cmp(&(a.updated, &a.id)));
        jobs.truncate(limit);
        Ok(jobs)
    }

    async fn quarantined(&self) -> StoreResult<Vec<Quarantined>>;

    /// Make everything durable and stop background work (shutdown).
    async fn close(&self) -> StoreResult<()>;

    /// Why the store refuses writes until restarted (a failed flush to disk), said with what to
    /// do, or `None` while it takes them. Readiness reports it.
    fn write_failure(&self) -> Option<String> {
        None
    }

    // --- Pacing: per-board spacing and one Pin per link per board. The rules are
    // in `pacing.rs`; each backend applies them in one transaction. The defaults are "no
    // pacing" for test doubles and wrappers; both real backends override every one of them
    // (checked by the conformance suite). ---

    /// May the leased job pin on its board now, `spacing_ms` after the board's last Pin? If
    /// so the slot is taken; if not, the job's place in the board's queue is booked and the
    /// answer says when to come back. Survives restarts.
    async fn reserve_board_slot(
        &self,
        lease: &Lease,
        spacing_ms: i64,
        now: Millis,
    ) -> StoreResult<BoardSlot> {
        let _ = (lease, spacing_ms, now);
        Ok(BoardSlot::Granted)
    }

    /// The board's last Pin time as recorded (`None` before its first Pin).
    async fn board_last_pin(&self, account: &str, board: &str) -> StoreResult<Option<Millis>> {
        let _ = (account, board);
        Ok(None)
    }

    /// Claim the normalised `link` on the leased job's board (account + board) for the job:
    /// `Mine` (make the Pin), `Pinned` (complete as a duplicate of it) or `Busy` (another
    /// job holding it is still running).
    async fn claim_link(&self, lease: &Lease, link: &str, now: Millis) -> StoreResult<LinkClaim> {
        let _ = (lease, link, now);
        Ok(LinkClaim::Mine)
    }

    /// Who holds `link` on a board (for tests and status).
    async fn link_holder(
        &self,
        account: &str,
        board: &str,
        link: &str,
    ) -> StoreResult<Option<LinkHolder>> {
        let _ = (account, board, link);
        Ok(None)
    }

    /// `complete`, plus in the same transaction: the link index entry points at this Pin, and
    /// (unless `record.note` says it is a duplicate) the board's last Pin time is now.
    async fn complete_pin(
        &self,
        lease: &Lease,
        pin_id: &str,
        record: PinRecord<'_>,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let _ = record;
        self.complete(lease, pin_id, now).await
    }

    // ---- Replicas: coordination between processes that share one store. ----

    /// Whether several pinbridge processes may share this store (PostgreSQL). The engine then
    /// takes write slots, daily counts and rate-limit blocks through the store, not only in
    /// memory.
    fn shared(&self) -> bool {
        false
    }

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
    // --- Live configuration: sources, routes and pause overrides made through the
    // admin API, merged with the config file at start and on every reload. Defaults keep test
    // doubles compiling; both real backends implement all three.

    /// Every runtime configuration record, sorted by kind then id.
    async fn config_records(&self) -> StoreResult<Vec<ConfigRecord>> {
        Ok(Vec::new())
    }

    /// In one transaction: insert or replace each record of `put` (by kind and id) and remove
    /// each of `delete` (absent ones are ignored). A change of several records (an import) is
    /// saved whole or not at all.
    async fn write_config_records(
        &self,
        _put: &[ConfigRecord],
        _delete: &[(ConfigRecordKind, String)],
    ) -> StoreResult<()> {
        Err(StoreError::Io(
            "this store does not keep configuration records".into(),
        ))
    }

    /// Move a job that is not running (pending, retry or unknown) to the dead letter with
    /// `error`. A leased, done or dead job is left alone. Returns whether it moved.
    async fn cancel_job(&self, _job: &JobId, _error: &str, _now: Millis) -> StoreResult<bool> {
        Err(StoreError::Io("this store cannot cancel jobs".into()))
    }
}

/// What a [`ConfigRecord`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigRecordKind {
    /// A `[[sources]]` entry created through the API.
    Source,
    /// A `[[routes]]` entry created through the API (id = the route's name).
    Route,
    /// `paused` set through the API for a source of any origin (id = the source id).
    PauseOverride,
}

impl ConfigRecordKind {
    pub fn name(self) -> &'static str {
        match self {
            ConfigRecordKind::Source => "source",
            ConfigRecordKind::Route => "route",
            ConfigRecordKind::PauseOverride => "pause_override",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Source, Self::Route, Self::PauseOverride]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// One runtime configuration record. `body` is JSON: the entry with exactly the keys it has in
/// TOML (sources, routes) or `{"paused": bool}` (pause overrides).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub kind: ConfigRecordKind,
    pub id: String,
    pub body: String,
}
