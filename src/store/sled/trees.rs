//! The named sled trees and the quarantine that bad records are moved to.

use super::kv::transaction::{ConflictableTransactionError, TransactionalTree};
use super::kv::{Db, Tree, Value};
use serde::{Deserialize, Serialize};

use super::envelope;
use super::item_record::ItemRecord;
use super::keys;
use super::records::Record;
use crate::store::{Millis, Quarantined, StoreError};

pub const ITEMS: &str = "items";
/// Schema 1 only (folded into `items`; dropped by the migration).
pub const DEDUP: &str = "dedup";
pub const JOBS: &str = "jobs";
pub const JOBS_DUE: &str = "jobs_due";
/// Schema 1 only (folded into `items`; dropped by the migration).
pub const ITEM_JOBS: &str = "item_jobs";
pub const SOURCES: &str = "sources";
pub const ACCOUNTS: &str = "accounts";
pub const DELIVERIES: &str = "deliveries";
/// Schema 1 only (expiry is a scan of `deliveries`; dropped by the migration).
pub const DELIVERIES_BY_TIME: &str = "deliveries_by_time";
pub const META: &str = "meta";
pub const QUARANTINE: &str = "quarantine";
/// Runtime configuration records (live configuration).
pub const CONFIG_RECORDS: &str = "config_records";
pub const BOARD_PACE: &str = "board_pace";
pub const LINKS: &str = "links";
/// Counts maintained on write and the finished-jobs index (`counts.rs`).
pub const COUNTS: &str = "counts";
/// Pin analytics: daily rows and the collector's watched Pins (`analytics.rs`).
pub const ANALYTICS_DAYS: &str = "analytics_days";
pub const ANALYTICS_PINS: &str = "analytics_pins";
/// The done jobs of forgotten items, until the item is seen again (`ingest.rs`).
pub const FORGOTTEN_JOBS: &str = "forgotten_jobs";

/// Every tree the store uses. Values are envelopes (`envelope.rs`) except in the index tree
/// `jobs_due`, whose keys carry everything and values are empty.
#[derive(Clone)]
pub(crate) struct Trees {
    /// item key → `ItemRecord`: tombstone, fields and job ids in one value, kept until the item
    /// is forgotten so that a seen item never pins twice.
    pub items: Tree,
    /// job id → `Job` (compact layout, `records.rs`)
    pub jobs: Tree,
    /// due time + job id → () for jobs that can still run.
    pub jobs_due: Tree,
    /// source id → `SourceState`
    pub sources: Tree,
    /// account name → `AccountState`
    pub accounts: Tree,
    /// delivery key → `DeliveryRecord` (its expiry is found by scanning this tree, which holds
    /// only the ids within their horizon)
    pub deliveries: Tree,
    /// `schema_version` → u32
    pub meta: Tree,
    /// generated id → `QuarantineRecord`
    pub quarantine: Tree,
    /// `kind \0 id` → `ConfigRecord`
    pub config_records: Tree,
    /// account + board → `BoardPace` (pacing)
    pub board_pace: Tree,
    /// account + board + normalised link → `LinkHolder` (pacing)
    pub links: Tree,
    /// `n/…` → count, `f/<done|dead>/<time><job id>` → () (`counts.rs`)
    pub counts: Tree,
    /// day + Pin id → `PinDay` (`analytics.rs`)
    pub analytics_days: Tree,
    /// account + Pin id → `PinWatch` (`analytics.rs`)
    pub analytics_pins: Tree,
    /// item key → `ForgottenJobs`: a forgotten item's done jobs stay its history, and a
    /// re-ingest of the key lists them again. Written only by `forget`, so almost empty.
    pub forgotten_jobs: Tree,
}

impl Trees {
    pub(crate) fn open(db: &Db) -> super::kv::Result<Self> {
        Ok(Self {
            items: db.open_tree(ITEMS)?,
            jobs: db.open_tree(JOBS)?,
            jobs_due: db.open_tree(JOBS_DUE)?,
            sources: db.open_tree(SOURCES)?,
            accounts: db.open_tree(ACCOUNTS)?,
            deliveries: db.open_tree(DELIVERIES)?,
            meta: db.open_tree(META)?,
            quarantine: db.open_tree(QUARANTINE)?,
            config_records: db.open_tree(CONFIG_RECORDS)?,
            board_pace: db.open_tree(BOARD_PACE)?,
            links: db.open_tree(LINKS)?,
            counts: db.open_tree(COUNTS)?,
            analytics_days: db.open_tree(ANALYTICS_DAYS)?,
            analytics_pins: db.open_tree(ANALYTICS_PINS)?,
            forgotten_jobs: db.open_tree(FORGOTTEN_JOBS)?,
        })
    }
}

/// Schema 1's record that proved an item was seen (read by the migration only).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Tombstone {
    pub fingerprint: crate::item::Fingerprint,
    pub first_seen: Millis,
}

/// A quarantined record: the report plus the raw bytes, kept for forensics.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct QuarantineRecord {
    pub info: Quarantined,
    pub raw_hex: String,
}

/// A record that failed its envelope check, found inside a transaction (which cannot write
/// outside itself): the transaction aborts with it, the caller quarantines it and retries.
#[derive(Debug, Clone)]
pub(crate) struct Corrupt {
    pub tree: &'static str,
    pub key: Vec<u8>,
    pub raw: Value,
    pub reason: String,
}

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<Corrupt>>;

/// Read and decode one value inside a transaction; a bad record aborts with [`Corrupt`].
pub(crate) fn tx_get<T: Record>(
    tree: &TransactionalTree<'_>,
    name: &'static str,
    key: &[u8],
) -> TxResult<Option<T>> {
    match tree.get(key)? {
        None => Ok(None),
        Some(raw) => match T::read(key, &raw) {
            Ok(value) => Ok(Some(value)),
            Err(e) => Err(ConflictableTransactionError::Abort(Corrupt {
                tree: name,
                key: key.to_vec(),
                reason: e.to_string(),
                raw,
            })),
        },
    }
}

pub(crate) fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

impl Trees {
    fn by_name(&self, name: &str) -> Option<&Tree> {
        Some(match name {
            ITEMS => &self.items,
            JOBS => &self.jobs,
            SOURCES => &self.sources,
            ACCOUNTS => &self.accounts,
            DELIVERIES => &self.deliveries,
            META => &self.meta,
            CONFIG_RECORDS => &self.config_records,
            BOARD_PACE => &self.board_pace,
            LINKS => &self.links,
            ANALYTICS_DAYS => &self.analytics_days,
            ANALYTICS_PINS => &self.analytics_pins,
            FORGOTTEN_JOBS => &self.forgotten_jobs,
            _ => return None,
        })
    }

    /// Move a bad record out of its tree into `quarantine`, if it is still the same bytes.
    pub(crate) fn quarantine(&self, db: &Db, bad: &Corrupt, now: Millis) -> Result<(), StoreError> {
        let Some(tree) = self.by_name(bad.tree) else {
            return Err(StoreError::Io(format!("no tree named {}", bad.tree)));
        };
        if bad.tree == JOBS || bad.tree == ITEMS {
            // The record's state cannot be read, so the counts cannot be adjusted exactly.
            super::counts::mark_stale(self)?;
        }
        let removed = tree
            .compare_and_swap(&bad.key, Some(&bad.raw), None)
            .map_err(io)?;
        if removed.is_err() {
            // Someone rewrote it meanwhile: nothing to quarantine any more.
            return Ok(());
        }
        if bad.tree == ITEMS {
            // The item record is also its dedup tombstone: a stub keeps its key from ever
            // pinning twice (only if nothing was written there meanwhile).
            let stub = ItemRecord::lost(now).encode();
            let _ = tree
                .compare_and_swap(&bad.key, None, Some(&stub))
                .map_err(io)?;
        }
        self.record_quarantine(db, bad, now)
    }

    /// Keep a report and the raw bytes of a bad record in `quarantine`.
    pub(crate) fn record_quarantine(
        &self,
        db: &Db,
        bad: &Corrupt,
        now: Millis,
    ) -> Result<(), StoreError> {
        let info = Quarantined {
            tree: bad.tree.to_string(),
            key: keys::display(&bad.key),
            reason: bad.reason.clone(),
            at: now,
        };
        tracing::error!(tree = %info.tree, key = %info.key, reason = %info.reason,
            "A store record failed its check and was moved to quarantine.");
        let id = db.generate_id().map_err(io)?;
        let record = QuarantineRecord {
            info,
            raw_hex: hex::encode(&bad.raw),
        };
        self.quarantine
            .insert(id.to_be_bytes(), envelope::encode(&record))
            .map_err(io)?;
        Ok(())
    }

    /// Decode a value read outside a transaction; a bad one is quarantined and reads as absent.
    pub(crate) fn decode_or_quarantine<T: Record>(
        &self,
        db: &Db,
        tree: &'static str,
        key: &[u8],
        raw: Value,
        now: Millis,
    ) -> Result<Option<T>, StoreError> {
        match T::read(key, &raw) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                let bad = Corrupt {
                    tree,
                    key: key.to_vec(),
                    raw,
                    reason: e.to_string(),
                };
                self.quarantine(db, &bad, now)?;
                Ok(None)
            }
        }
    }
}
