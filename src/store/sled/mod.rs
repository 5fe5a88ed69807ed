//! The embedded store: [`Store`](crate::store::Store) on sled 0.34.7, or on fjall 3 (`kv/`:
//! the engine a directory was written with; `[store] engine` for a new one).
//!
//! Each operation runs on a blocking thread (`spawn_blocking`), writes in one multi-tree
//! transaction (concurrent `ingest`s share one: `batch.rs`), then waits for the group-commit flusher (`commit.rs`) to make it durable before
//! answering. Values are checksummed envelopes (`envelope.rs`); a record that fails its check is
//! moved to the `quarantine` tree and skipped. On open, jobs still leased by the previous process
//! become `unknown`: their worker may have sent the create before dying, so they are reconciled
//! (board searched for the Pin) before anything is created again.
//!
//! Before that, an older store is migrated to this build's schema (`migrate.rs`).

mod analytics;
mod batch;
mod commit;
mod compression;
mod config_records;
mod coord;
mod counts;
mod envelope;
mod follow;
mod ingest;
mod item_record;
mod jobs;
mod keys;
mod kv;
mod migrate;
mod outbox_impl;
mod pacing;
mod reads;
mod records;
mod retention;
mod state;
mod store_impl;
mod transfer;
mod transfer_impl;
mod trees;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::clock::{SharedClock, SystemClock};
use crate::settings::ConfigProblem;
use crate::store::{Millis, StoreError, StoreResult};
use batch::Batcher;
use commit::Committer;
pub use commit::SyncHook;
pub use compression::Compression;
use kv::Db;
pub use kv::Engine;
use kv::transaction::TransactionError;
pub use migrate::MigrationHook;
use trees::{Corrupt, Trees, io};

/// The schema this build writes and reads (`meta/schema_version`). Schema 1 (the first
/// release) is migrated on open (`migrate.rs`).
pub const SCHEMA_VERSION: u32 = 2;
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Settings of the embedded store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SledOptions {
    /// sled's page cache size. sled's resident memory runs well above it, so it is
    /// small by default (16 MiB) instead of sled's 1 GiB.
    pub cache_capacity_bytes: u64,
    /// zstd page compression for a new sled store; an existing store keeps its own (`compression.rs`).
    pub compression: Compression,
    /// The engine of a new store; an existing store opens with the engine that wrote it (`kv/`).
    pub engine: Engine,
    /// Runs before every fsync and may fail it: tests inject disk errors with it.
    #[serde(skip)]
    pub sync_hook: Option<SyncHook>,
    /// Runs at each step of a schema migration and may stop it: tests crash it with it.
    #[serde(skip)]
    pub migration_hook: Option<MigrationHook>,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            cache_capacity_bytes: 16 * 1024 * 1024,
            compression: Compression::default(),
            engine: Engine::default(),
            sync_hook: None,
            migration_hook: None,
        }
    }
}

impl SledOptions {
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        if self.cache_capacity_bytes < 1024 * 1024 {
            problems.push(ConfigProblem::new(
                format!("{path}.cache_capacity_bytes"),
                format!(
                    "{} bytes is too small for sled's cache; use at least 1048576 (1 MiB), e.g. 16777216 (16 MiB)",
                    self.cache_capacity_bytes
                ),
            ));
        }
    }
}

/// The sled-backed store. Cheap to clone; one per process (sled locks its directory).
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) trees: Trees,
    pub(crate) clock: SharedClock,
    committer: Committer,
    batcher: Batcher,
    closed: AtomicBool,
    path: PathBuf,
    /// Source leases and shared quotas, in memory: one process per sled store.
    pub(crate) coord: coord::Coordination,
}

impl SledStore {
    /// Open (or create) the store in directory `path`. Blocking: from async code use
    /// [`SledStore::open_async`]. `clock` stamps quarantine reports and open-time recovery
    /// (defaults to the system clock).
    pub fn open(
        path: &Path,
        opts: SledOptions,
        clock: Option<SharedClock>,
    ) -> Result<SledStore, StoreError> {
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let open_err = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        let db = open_engine(path, &opts).map_err(open_err)?;
        let trees = Trees::open(&db).map_err(|e| open_err(e.to_string()))?;
        let now = clock.now_ms();
        migrate::ensure_schema(&db, &trees, opts.migration_hook.as_ref(), now).map_err(
            |e| match e {
                StoreError::Io(reason) => open_err(reason),
                other => other,
            },
        )?;
        // Before any write that adjusts them: a store from an older build (or with stale
        // counts) is recounted once.
        if counts::ensure(&db, &trees, now)? {
            tracing::info!("Store counts rebuilt from the records.");
        }
        let recovered = jobs::recover_leases(&db, &trees, now)?;
        if recovered > 0 {
            tracing::warn!(
                jobs = recovered,
                "Jobs were leased when the store was last closed; they will be reconciled before retrying."
            );
        }
        db.flush().map_err(|e| open_err(e.to_string()))?;
        let committer = Committer::start(db.clone(), path, opts.sync_hook)?;
        let (batcher, queue) = Batcher::new();
        let inner = Arc::new(Inner {
            db,
            trees,
            clock,
            committer,
            batcher,
            closed: AtomicBool::new(false),
            path: path.to_path_buf(),
            coord: coord::Coordination::default(),
        });
        Batcher::spawn(queue, Arc::downgrade(&inner))?;
        Ok(SledStore { inner })
    }

    /// [`SledStore::open`] on a blocking thread.
    pub async fn open_async(
        path: PathBuf,
        opts: SledOptions,
        clock: Option<SharedClock>,
    ) -> Result<SledStore, StoreError> {
        tokio::task::spawn_blocking(move || SledStore::open(&path, opts, clock))
            .await
            .map_err(|e| StoreError::Io(format!("opening the store failed: {e}")))?
    }

    /// How many group-commit flushes have run (tests and metrics: writers share flushes).
    pub fn flush_count(&self) -> u64 {
        self.inner.committer.flush_count()
    }

    /// Why the store refuses writes (a flush to disk failed) and what to do, or `None`.
    pub fn write_failure(&self) -> Option<String> {
        let reason = self.inner.committer.failure()?;
        Some(StoreError::Poisoned(reason).to_string())
    }

    /// The engine the store's files are written with.
    pub fn engine(&self) -> Engine {
        self.inner.db.engine()
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Run `f` on a blocking thread.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Io(format!("a store task failed: {e}")))?
    }

    /// Run `f` on a blocking thread, then wait until what it wrote (or read and acted on) is
    /// durable. Even a `Duplicate` waits: the record it matched may be a concurrent writer's that
    /// is not flushed yet, and the caller is about to acknowledge on its strength.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        self.refuse_if_failed()?;
        let (value, ticket) = self
            .read(move |inner| {
                let value = f(inner)?;
                Ok((value, inner.committer.note_write()))
            })
            .await?;
        self.inner.committer.wait(ticket).await?;
        Ok(value)
    }
}

/// Open the database in `path` with the engine whose files are there, or for a new store the
/// configured one. The error is the reason, for `StoreError::Open`.
fn open_engine(path: &Path, opts: &SledOptions) -> Result<Db, String> {
    let engine = match kv::detect(path) {
        Some(existing) => {
            if existing != opts.engine {
                tracing::warn!(
                    path = %path.display(),
                    "This store was written by the {} engine; `[store] engine = \"{}\"` applies to new stores only. Copy it into a new directory (`pinbridge store copy`) to change it.",
                    existing.as_str(),
                    opts.engine.as_str(),
                );
            }
            existing
        }
        None => opts.engine,
    };
    const HELD: &str = " (is another pinbridge process using this store?)";
    match engine {
        Engine::Sled => {
            let compression = compression::to_open_with(path, opts.compression);
            let config = ::sled::Config::new()
                .path(path)
                .cache_capacity(opts.cache_capacity_bytes);
            let db = compression::configure(config, compression)
                .open()
                .map_err(|e| {
                    let mut reason = e.to_string();
                    if reason.contains("could not acquire lock") {
                        reason.push_str(HELD);
                    }
                    reason
                })?;
            Ok(Db::Sled(db))
        }
        Engine::Fjall => match kv::FjallDb::open(path, opts.cache_capacity_bytes) {
            Ok(db) => Ok(Db::Fjall(Arc::new(db))),
            Err(::fjall::Error::Locked) => Err(format!("the store is locked{HELD}")),
            Err(e) => Err(e.to_string()),
        },
    }
}

impl SledStore {
    /// After a failed flush nothing more is written: it could not be made durable either, and
    /// its acknowledgement would be a lie.
    fn refuse_if_failed(&self) -> StoreResult<()> {
        match self.inner.committer.failure() {
            Some(reason) => Err(StoreError::Poisoned(reason)),
            None => Ok(()),
        }
    }
}

impl Inner {
    pub(crate) fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// Run a transaction; when it aborts on a corrupt record, quarantine that record and run it
    /// again (each retry removes one bad record, so this ends).
    pub(crate) fn with_quarantine<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, TransactionError<Corrupt>>,
    ) -> StoreResult<T> {
        for _ in 0..1000 {
            match attempt() {
                Ok(value) => return Ok(value),
                Err(TransactionError::Abort(bad)) => {
                    self.trees.quarantine(&self.db, &bad, self.now())?
                }
                Err(TransactionError::Storage(e)) => return Err(io(e)),
            }
        }
        Err(StoreError::Io(
            "too many damaged records met in one operation; see `quarantined`".into(),
        ))
    }
}

/// Raw access for sled-specific tests (corrupting records, planting schema versions).
#[doc(hidden)]
pub mod testing {
    /// Encode a value the way the store does.
    pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
        super::envelope::encode(value)
    }
    pub const SCHEMA_KEY: &[u8] = super::SCHEMA_KEY;
    /// The `meta` key that says the counts are exact (absent: recounted at open).
    pub const COUNTS_MARKER: &[u8] = super::counts::MARKER;
    pub use super::trees::{COUNTS, DELIVERIES, ITEMS, JOBS, META, SOURCES};

    /// Open the store's sled database directly (to read or damage records), with the page
    /// compression it was created with: sled refuses the other choice.
    pub fn open_raw(path: &std::path::Path) -> ::sled::Result<::sled::Db> {
        let compression = super::compression::created_with(path).unwrap_or_default();
        super::compression::configure(::sled::Config::new().path(path), compression).open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cache_is_small_and_valid() {
        let opts = SledOptions::default();
        assert_eq!(opts.cache_capacity_bytes, 16 * 1024 * 1024);
        let mut problems = Vec::new();
        opts.validate("store", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_tiny_cache_is_reported_with_its_key() {
        let opts = SledOptions {
            cache_capacity_bytes: 1000,
            ..SledOptions::default()
        };
        let mut problems = Vec::new();
        opts.validate("store", &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "store.cache_capacity_bytes");
        assert!(problems[0].message.contains("1000 bytes"));
    }
}
