//! Lookups and listings. Damaged records met on the way are quarantined and skipped.

use std::collections::BTreeMap;

use super::Inner;
use super::envelope;
use super::item_record::ItemRecord;
use super::keys;
use super::records::item_identity;
use super::trees::{self, QuarantineRecord, io};
use crate::item::{DedupKey, SourceId};
use crate::store::{
    ItemFilter, Job, JobFilter, JobId, Quarantined, StoreResult, StoreStats, StoredItem,
};

use super::counts::{self, STATE_NAMES};

fn limit(n: usize) -> usize {
    if n == 0 { usize::MAX } else { n }
}

pub(crate) fn job(inner: &Inner, id: &JobId) -> StoreResult<Option<Job>> {
    let key = id.0.as_bytes();
    match inner.trees.jobs.get(key).map_err(io)? {
        None => Ok(None),
        Some(raw) => {
            inner
                .trees
                .decode_or_quarantine(&inner.db, trees::JOBS, key, raw, inner.now())
        }
    }
}

/// All jobs in creation order, decoded; damaged ones quarantined.
fn each_job(inner: &Inner, mut visit: impl FnMut(Job) -> bool) -> StoreResult<()> {
    for entry in inner.trees.jobs.iter() {
        let (key, raw) = entry.map_err(io)?;
        let decoded = inner.trees.decode_or_quarantine::<Job>(
            &inner.db,
            trees::JOBS,
            &key,
            raw,
            inner.now(),
        )?;
        if let Some(job) = decoded
            && !visit(job)
        {
            break;
        }
    }
    Ok(())
}

/// Jobs in creation order; `limit == 0` means no limit.
pub(crate) fn jobs(inner: &Inner, filter: &JobFilter) -> StoreResult<Vec<Job>> {
    let max = limit(filter.limit);
    let mut out = Vec::new();
    each_job(inner, |job| {
        let source_ok = filter.source.as_ref().is_none_or(|s| *s == job.source);
        let state_ok = filter
            .state
            .as_deref()
            .is_none_or(|s| s == job.state.name());
        if source_ok && state_ok {
            out.push(job);
        }
        out.len() < max
    })?;
    Ok(out)
}

/// An item's jobs, in creation order (the order its record lists them).
pub(crate) fn item_jobs(inner: &Inner, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>> {
    let mut ids = super::ingest::item_job_ids(inner, source, key)?;
    // Job ids sort by creation; a record migrated from schema 1 listed them in index order.
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        if let Some(job) = job(inner, &id)? {
            out.push(job);
        }
    }
    Ok(out)
}

pub(crate) fn item(
    inner: &Inner,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Option<StoredItem>> {
    let k = keys::item_key(source, key);
    let Some(raw) = inner.trees.items.get(&k).map_err(io)? else {
        return Ok(None);
    };
    let record: Option<ItemRecord> =
        inner
            .trees
            .decode_or_quarantine(&inner.db, trees::ITEMS, &k, raw, inner.now())?;
    Ok(record.map(|r| r.to_stored(source, key)))
}

/// Items by source then key; `limit == 0` means no limit.
pub(crate) fn items(inner: &Inner, filter: &ItemFilter) -> StoreResult<Vec<StoredItem>> {
    let prefix = filter
        .source
        .as_ref()
        .map(keys::source_prefix)
        .unwrap_or_default();
    let max = limit(filter.limit);
    let mut out = Vec::new();
    for entry in inner.trees.items.scan_prefix(&prefix) {
        if out.len() >= max {
            break;
        }
        let (k, raw) = entry.map_err(io)?;
        if let Some(stored) = stored_item(inner, &k, raw)? {
            out.push(stored);
        }
    }
    Ok(out)
}

/// The item an `items` entry holds (`None`: damaged and quarantined, or a key of no item).
pub(crate) fn stored_item(
    inner: &Inner,
    key: &[u8],
    raw: super::kv::Value,
) -> StoreResult<Option<StoredItem>> {
    let Some((source, dedup)) = item_identity(key) else {
        return Ok(None);
    };
    let record: Option<ItemRecord> =
        inner
            .trees
            .decode_or_quarantine(&inner.db, trees::ITEMS, key, raw, inner.now())?;
    Ok(record.map(|r| r.to_stored(&source, &dedup)))
}

/// The counts maintained on write (`counts.rs`): a constant number of reads. Only while they
/// are not exact (a job or item record was quarantined since open) does this count by scanning.
pub(crate) fn stats(inner: &Inner) -> StoreResult<StoreStats> {
    let (items, jobs_by_state) = match counts::read(&inner.trees)? {
        Some(counted) => counted,
        None => recount(inner)?,
    };
    Ok(StoreStats {
        items,
        jobs_by_state,
        quarantined: inner.trees.quarantine.len() as u64,
        size_on_disk: inner.db.size_on_disk().map_err(io)?,
    })
}

/// Counts by scanning every job and item (O(items + jobs)).
fn recount(inner: &Inner) -> StoreResult<(u64, BTreeMap<String, u64>)> {
    let mut by_state: BTreeMap<String, u64> =
        STATE_NAMES.iter().map(|n| (n.to_string(), 0)).collect();
    each_job(inner, |job: Job| {
        *by_state.entry(job.state.name().to_string()).or_default() += 1;
        true
    })?;
    Ok((inner.trees.items.len() as u64, by_state))
}

/// The newest `limit` finished jobs in `state` ("done" or "dead"), newest first: a reverse scan
/// of the finished index that stops after `limit` jobs.
pub(crate) fn recent_jobs(inner: &Inner, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
    let prefix = counts::finished_prefix(state);
    let mut out = Vec::new();
    for entry in inner.trees.counts.scan_prefix(&prefix).rev() {
        if out.len() >= limit {
            break;
        }
        let (key, _) = entry.map_err(io)?;
        let Some(id) = counts::job_id_from_finished(prefix.len(), &key) else {
            continue;
        };
        // A job quarantined since it finished leaves a dangling entry: skip it.
        if let Some(found) = job(inner, &id)?
            && found.state.name() == state
        {
            out.push(found);
        }
    }
    Ok(out)
}

pub(crate) fn quarantined(inner: &Inner) -> StoreResult<Vec<Quarantined>> {
    let mut out = Vec::new();
    for entry in inner.trees.quarantine.iter() {
        let (key, raw) = entry.map_err(io)?;
        match envelope::decode::<QuarantineRecord>(&raw) {
            Ok(record) => out.push(record.info),
            // The quarantine itself damaged: report it rather than hide it.
            Err(e) => out.push(Quarantined {
                tree: trees::QUARANTINE.into(),
                key: keys::display(&key),
                reason: format!("quarantine record unreadable: {e}"),
                at: 0,
            }),
        }
    }
    Ok(out)
}
