//! The store schema and its migration at open, before anything else reads or writes.
//!
//! Schema 1 → 2 folds three trees into the item record and re-encodes the hot records in the
//! compact layout:
//! 1. the counts are marked stale (recounted right after, `counts::ensure`);
//! 2. every key of `items` ∪ `dedup` gets one schema-2 item record: its fields, its tombstone
//!    and the job ids `item_jobs` listed for it (merged with those a half-done earlier run
//!    already wrote); a tombstone without an item record (the record was quarantined) becomes
//!    a stub that still deduplicates;
//! 3. every job and delivery id still in JSON is rewritten compact;
//! 4. flush, then `schema_version = 2`, flush;
//! 5. `dedup`, `item_jobs` and `deliveries_by_time` are dropped.
//!
//! Every step can run again over its own output, and the old trees go only after the version
//! says 2, so a crash anywhere is harmless: the next open runs the migration again (schema
//! still 1) or finishes step 5 (schema 2, an old tree still there).

use std::sync::Arc;

use super::kv::{Db, Tree};

use super::envelope::{self, COMPACT_VERSION, EnvelopeError};
use super::item_record::ItemRecord;
use super::records::{DeliveryRecord, Record, encode_job};
use super::trees::{self, Tombstone, Trees, io};
use super::{SCHEMA_KEY, SCHEMA_VERSION, counts};
use crate::store::{Job, Millis, StoreError, StoreResult};

/// Trees of schema 1 that schema 2 no longer has.
const RETIRED: [&str; 3] = [trees::DEDUP, trees::ITEM_JOBS, trees::DELIVERIES_BY_TIME];

/// Runs at each migration step with the step's name (`item`, `job`, `delivery`, `version`,
/// `drop`); an error stops the migration there, as a crash would. For tests.
#[derive(Clone)]
pub struct MigrationHook(pub Arc<StepCheck>);

/// What a [`MigrationHook`] runs: the step's name in, an error to stop there.
pub type StepCheck = dyn Fn(&str) -> std::io::Result<()> + Send + Sync;

impl std::fmt::Debug for MigrationHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MigrationHook")
    }
}

impl PartialEq for MigrationHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MigrationHook {}

fn step(hook: Option<&MigrationHook>, name: &str) -> StoreResult<()> {
    match hook {
        Some(hook) => (hook.0)(name)
            .map_err(|e| StoreError::Io(format!("migration stopped at step {name}: {e}"))),
        None => Ok(()),
    }
}

/// Bring the store to [`SCHEMA_VERSION`]; returns the version it was at (`None`: new store).
pub(crate) fn ensure_schema(
    db: &Db,
    trees: &Trees,
    hook: Option<&MigrationHook>,
    now: Millis,
) -> StoreResult<Option<u32>> {
    let found = stored_version(db, trees)?;
    match found {
        None => write_version(trees, SCHEMA_VERSION)?,
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::SchemaTooNew {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Some(1) => {
            tracing::info!("Migrating the store from schema 1 to 2 (one pass over its records).");
            migrate_1_to_2(db, trees, hook, now)?;
            db.flush().map_err(io)?;
            step(hook, "version")?;
            write_version(trees, 2)?;
            db.flush().map_err(io)?;
        }
        Some(_) => {}
    }
    drop_retired(db, hook)?;
    Ok(found)
}

/// The stored version; a store with items but no version record is schema 1.
fn stored_version(db: &Db, trees: &Trees) -> StoreResult<Option<u32>> {
    match trees.meta.get(SCHEMA_KEY).map_err(io)? {
        Some(raw) => envelope::decode(&raw).map(Some).map_err(|e| {
            StoreError::Io(format!(
                "the store's schema version record is damaged ({e}); restore from a backup"
            ))
        }),
        None => {
            let legacy = db.open_tree(trees::DEDUP).map_err(io)?;
            let old = !legacy.is_empty() || !trees.items.is_empty();
            Ok(old.then_some(1))
        }
    }
}

fn write_version(trees: &Trees, version: u32) -> StoreResult<()> {
    trees
        .meta
        .insert(SCHEMA_KEY, envelope::encode(&version))
        .map_err(io)?;
    Ok(())
}

fn drop_retired(db: &Db, hook: Option<&MigrationHook>) -> StoreResult<()> {
    let names = db.tree_names();
    for name in RETIRED {
        if names.iter().any(|n| n.as_slice() == name.as_bytes()) {
            step(hook, "drop")?;
            db.drop_tree(name).map_err(io)?;
        }
    }
    Ok(())
}

fn migrate_1_to_2(
    db: &Db,
    trees: &Trees,
    hook: Option<&MigrationHook>,
    now: Millis,
) -> StoreResult<()> {
    counts::mark_stale(trees)?;
    let dedup = db.open_tree(trees::DEDUP).map_err(io)?;
    let item_jobs = db.open_tree(trees::ITEM_JOBS).map_err(io)?;
    for entry in trees.items.iter() {
        let (key, raw) = entry.map_err(io)?;
        let record = match ItemRecord::read(&key, &raw) {
            Ok(record) => record,
            Err(e) => {
                report(db, trees, trees::ITEMS, &key, &raw, &e, now)?;
                stub_from_tombstone(db, trees, &dedup, &key, now)?
            }
        };
        step(hook, "item")?;
        write_item(trees, &item_jobs, &key, record)?;
    }
    for entry in dedup.iter() {
        let (key, _) = entry.map_err(io)?;
        if trees.items.contains_key(&key).map_err(io)? {
            continue;
        }
        step(hook, "item")?;
        let record = stub_from_tombstone(db, trees, &dedup, &key, now)?;
        write_item(trees, &item_jobs, &key, record)?;
    }
    recode(trees.jobs.clone(), hook, "job", |key, raw| {
        Job::read(key, raw).map(|job| encode_job(&job))
    })?;
    recode(trees.deliveries.clone(), hook, "delivery", |key, raw| {
        DeliveryRecord::read(key, raw).map(|d| envelope::encode_compact(&d))
    })?;
    Ok(())
}

/// An item whose record is missing or damaged: a stub from its tombstone (fingerprint and
/// first sighting), or a bare stub when that is unreadable too.
fn stub_from_tombstone(
    db: &Db,
    trees: &Trees,
    dedup: &Tree,
    key: &[u8],
    now: Millis,
) -> StoreResult<ItemRecord> {
    let mut stub = ItemRecord::lost(now);
    if let Some(raw) = dedup.get(key).map_err(io)? {
        match envelope::decode::<Tombstone>(&raw) {
            Ok(stone) => {
                stub.fingerprint = stone.fingerprint.0;
                stub.first_seen = stone.first_seen;
            }
            Err(e) => report(db, trees, trees::DEDUP, key, &raw, &e, now)?,
        }
    }
    Ok(stub)
}

/// Write `record` with the job ids schema 1 indexed for it added (sorted: ids sort by creation).
fn write_item(
    trees: &Trees,
    item_jobs: &Tree,
    key: &[u8],
    mut record: ItemRecord,
) -> StoreResult<()> {
    for entry in item_jobs.scan_prefix(key) {
        let (index_key, _) = entry.map_err(io)?;
        if let Ok(id) = std::str::from_utf8(&index_key[key.len()..])
            && !record.jobs.iter().any(|j| j == id)
        {
            record.jobs.push(id.to_string());
        }
    }
    record.jobs.sort();
    trees.items.insert(key, record.encode()).map_err(io)?;
    Ok(())
}

/// Rewrite every record of `tree` still in the JSON layout; unreadable ones are left for the
/// readers to quarantine as before.
fn recode(
    tree: Tree,
    hook: Option<&MigrationHook>,
    name: &str,
    compact: impl Fn(&[u8], &[u8]) -> Result<Vec<u8>, EnvelopeError>,
) -> StoreResult<()> {
    for entry in tree.iter() {
        let (key, raw) = entry.map_err(io)?;
        if raw.first() == Some(&COMPACT_VERSION) {
            continue;
        }
        if let Ok(value) = compact(&key, &raw) {
            step(hook, name)?;
            tree.insert(key, value).map_err(io)?;
        }
    }
    Ok(())
}

/// Keep a copy of a damaged schema-1 record in `quarantine` (its tree goes away).
fn report(
    db: &Db,
    trees: &Trees,
    tree: &'static str,
    key: &[u8],
    raw: &super::kv::Value,
    error: &EnvelopeError,
    now: Millis,
) -> StoreResult<()> {
    let bad = trees::Corrupt {
        tree,
        key: key.to_vec(),
        raw: raw.clone(),
        reason: error.to_string(),
    };
    trees.record_quarantine(db, &bad, now)
}
