//! `ingest` and `forget`: dedup, item record, delivery id (and replay guard) and outbox jobs in
//! one transaction
//! (`ingest_batch`: many ingests in one transaction, for `batch.rs`).

use ::sled::Transactional;
use ::sled::transaction::TransactionalTree;
use uuid::Uuid;

use super::Inner;
use super::counts;
use super::envelope::encode;
use super::keys;
use super::trees::{self, DeliveryRecord, Tombstone, TxResult, tx_get};
use crate::item::{DedupKey, Fingerprint, Item, SourceId};
use crate::store::{
    IngestPlan, Ingested, ItemDisposition, Job, JobId, JobKind, JobState, Millis, OnChange,
    StoreError, StoreResult, StoredItem, follow, transitions,
};

/// One ingest in its own transaction (`ingest_many` applies items one by one with this).
pub(crate) fn ingest(
    inner: &Inner,
    item: &Item,
    plan: &IngestPlan,
    now: Millis,
) -> StoreResult<Ingested> {
    ingest_batch(inner, &[(item, plan, now)])?
        .pop()
        .ok_or_else(|| StoreError::Io("an ingest transaction returned no outcome".into()))
}

/// Several ingests in ONE transaction, applied in order: each sees the writes of those before it
/// (sled's transactional trees read their own pending writes). Outcomes are in input order.
pub(crate) fn ingest_batch(
    inner: &Inner,
    batch: &[(&Item, &IngestPlan, Millis)],
) -> StoreResult<Vec<Ingested>> {
    let mut prepared = Vec::with_capacity(batch.len());
    for &(item, plan, now) in batch {
        // Read outside: sled transactions cannot scan. Only the one writer thread adds jobs to
        // an item, and each job is read again inside the transaction.
        let existing = if !plan.update_routes.is_empty() {
            item_job_ids(inner, &item.source, &item.key)?
        } else {
            Vec::new()
        };
        // Made outside the transaction (it may run more than once); v7 ids from one process
        // are monotonic, so job ids sort by creation, also across a batch.
        let fresh = |n: usize| -> Vec<JobId> {
            (0..n).map(|_| JobId(Uuid::now_v7().to_string())).collect()
        };
        prepared.push(Prepared {
            item,
            plan,
            now,
            fingerprint: item.fingerprint(),
            item_key: keys::item_key(&item.source, &item.key),
            job_ids: fresh(plan.targets.len()),
            follow_ids: fresh(existing.len()),
            existing,
        });
    }
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (
            &t.deliveries,
            &t.deliveries_by_time,
            &t.dedup,
            &t.items,
            &t.jobs,
            &t.jobs_due,
            &t.item_jobs,
            &t.counts,
        )
            .transaction(
                |(deliveries, by_time, dedup, items, jobs, due, item_jobs, counts)| {
                    let tx = TxTrees {
                        deliveries,
                        by_time,
                        dedup,
                        items,
                        jobs,
                        due,
                        item_jobs,
                        counts,
                    };
                    prepared.iter().map(|p| apply(&tx, p)).collect()
                },
            )
    })
}

/// One ingest's inputs, with what is computed once outside the (retryable) transaction.
struct Prepared<'a> {
    item: &'a Item,
    plan: &'a IngestPlan,
    now: Millis,
    fingerprint: Fingerprint,
    item_key: Vec<u8>,
    job_ids: Vec<JobId>,
    /// The item's jobs before this ingest (read only when some route updates its Pins).
    existing: Vec<JobId>,
    /// Ids for the update jobs a change may queue, one per existing job.
    follow_ids: Vec<JobId>,
}

/// The trees an ingest writes, inside one transaction.
struct TxTrees<'a> {
    deliveries: &'a TransactionalTree,
    by_time: &'a TransactionalTree,
    dedup: &'a TransactionalTree,
    items: &'a TransactionalTree,
    jobs: &'a TransactionalTree,
    due: &'a TransactionalTree,
    item_jobs: &'a TransactionalTree,
    counts: &'a TransactionalTree,
}

/// Dedup one item and record it, its delivery id and its jobs.
fn apply(tx: &TxTrees<'_>, p: &Prepared<'_>) -> TxResult<Ingested> {
    let Prepared {
        item,
        plan,
        now,
        fingerprint,
        ref item_key,
        ref job_ids,
        ref existing,
        ref follow_ids,
    } = *p;
    let TxTrees {
        deliveries,
        by_time,
        dedup,
        items,
        jobs,
        due,
        item_jobs,
        counts,
    } = *tx;
    // The delivery id and the replay guard: either one seen before makes the whole ingest a
    // no-op; both are checked before either is written.
    let seen: Vec<_> = [&plan.delivery, &plan.replay_guard]
        .into_iter()
        .flatten()
        .map(|d| (keys::delivery_key(&item.source, &d.id), d.keep_until))
        .collect();
    for (dkey, _) in &seen {
        if deliveries.get(dkey)?.is_some() {
            return Ok(Ingested::Duplicate);
        }
    }
    for (dkey, keep_until) in &seen {
        let record = DeliveryRecord {
            keep_until: *keep_until,
        };
        deliveries.insert(dkey.as_slice(), encode(&record))?;
        by_time.insert(keys::delivery_time_key(*keep_until, dkey), &[])?;
    }

    let stored: Option<StoredItem> = tx_get(items, trees::ITEMS, item_key)?;
    let tombstone: Option<Tombstone> = tx_get(dedup, trees::DEDUP, item_key)?;
    // A lost tombstone (quarantined) is rebuilt from the item record if that survived.
    let tombstone = tombstone.or_else(|| {
        stored.as_ref().map(|s| Tombstone {
            fingerprint: s.fingerprint,
            first_seen: s.first_seen,
        })
    });
    let comeback = stored
        .as_ref()
        .and_then(|s| s.removed.as_ref())
        .filter(|_| plan.disposition().1)
        .map(|mark| mark.comeback(plan));
    let new_jobs = JobWriter {
        jobs,
        due,
        item_jobs,
        counts,
        item,
        ids: job_ids,
        now,
    };

    match tombstone {
        None => {
            let (disposition, queue) = plan.disposition();
            let queued = if queue { new_jobs.write(plan)? } else { 0 };
            let record = StoredItem {
                item: item.clone(),
                fingerprint,
                first_seen: now,
                last_seen: now,
                changes: 0,
                disposition,
                removed: None,
                compacted: None,
            };
            let stone = Tombstone {
                fingerprint,
                first_seen: now,
            };
            dedup.insert(item_key.as_slice(), encode(&stone))?;
            items.insert(item_key.as_slice(), encode(&record))?;
            counts::item_delta(counts, 1)?;
            Ok(Ingested::New { jobs: queued })
        }
        // Older than what is stored (a delivery overtaken by a later one): it must neither
        // overwrite the newer version nor pin it.
        Some(_) if stored.as_ref().is_some_and(|s| item.is_older_than(&s.item)) => {
            Ok(Ingested::Duplicate)
        }
        // Back after a removal at its source (republished, restored): pinned again on the
        // routes whose Pins went with it, whatever its fingerprint.
        Some(stone) if comeback.is_some() => {
            let again = comeback.as_ref().unwrap_or(plan);
            let queued = new_jobs.write(again)?;
            if let Some(mut record) = stored {
                if record.fingerprint != fingerprint {
                    record.changes = record.changes.saturating_add(1);
                }
                record.item = item.clone();
                record.compacted = None;
                record.fingerprint = fingerprint;
                record.last_seen = now;
                record.disposition = ItemDisposition::Queued;
                record.removed = None;
                items.insert(item_key.as_slice(), encode(&record))?;
            }
            let stone = Tombstone {
                fingerprint,
                first_seen: stone.first_seen,
            };
            dedup.insert(item_key.as_slice(), encode(&stone))?;
            Ok(Ingested::Changed { jobs: queued })
        }
        Some(stone) if stone.fingerprint == fingerprint => {
            // Same Pin fields but newer: keep its time, so a late older change is still older.
            if let Some(mut record) = stored.filter(|s| item.is_newer_than(&s.item)) {
                record.item = item.clone();
                record.compacted = None;
                items.insert(item_key.as_slice(), encode(&record))?;
            }
            Ok(Ingested::Duplicate)
        }
        Some(stone) => {
            if stored.is_none() {
                // The item record was lost (quarantined) and is written again below.
                counts::item_delta(counts, 1)?;
            }
            let mut record = stored.unwrap_or_else(|| StoredItem {
                item: item.clone(),
                fingerprint: stone.fingerprint,
                first_seen: stone.first_seen,
                last_seen: now,
                changes: 0,
                disposition: ItemDisposition::Queued,
                removed: None,
                compacted: None,
            });
            record.item = item.clone();
            record.compacted = None;
            record.fingerprint = fingerprint;
            record.last_seen = now;
            record.changes = record.changes.saturating_add(1);
            let mut queued = 0;
            if plan.on_change == OnChange::NewPin {
                let (disposition, queue) = plan.disposition();
                if queue {
                    queued = new_jobs.write(plan)?;
                }
                record.disposition = disposition;
            }
            if !plan.update_routes.is_empty() {
                let mut current = Vec::new();
                for id in existing {
                    if let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? {
                        current.push(job);
                    }
                }
                for job in follow::updates(&current, &plan.update_routes, follow_ids, now) {
                    new_jobs.insert(&job)?;
                    queued += 1;
                }
            }
            let stone = Tombstone {
                fingerprint,
                first_seen: stone.first_seen,
            };
            dedup.insert(item_key.as_slice(), encode(&stone))?;
            items.insert(item_key.as_slice(), encode(&record))?;
            Ok(Ingested::Changed { jobs: queued })
        }
    }
}

/// Writes one pending job per target, with its index entries.
struct JobWriter<'a> {
    jobs: &'a TransactionalTree,
    due: &'a TransactionalTree,
    item_jobs: &'a TransactionalTree,
    counts: &'a TransactionalTree,
    item: &'a Item,
    ids: &'a [JobId],
    now: Millis,
}

impl JobWriter<'_> {
    /// Insert one new job of this item with its index entries.
    fn insert(&self, job: &Job) -> TxResult<()> {
        self.jobs.insert(job.id.0.as_bytes(), encode(job))?;
        counts::job_moved(self.counts, &job.id, None, Some(&job.state))?;
        if let Some(at) = transitions::due(&job.state) {
            self.due.insert(keys::due_key(at, &job.id), &[])?;
        }
        self.item_jobs.insert(
            keys::item_job_key(&self.item.source, &self.item.key, &job.id),
            &[],
        )?;
        Ok(())
    }

    fn write(&self, plan: &IngestPlan) -> TxResult<usize> {
        for (target, id) in plan.targets.iter().zip(self.ids) {
            let job = Job {
                id: id.clone(),
                source: self.item.source.clone(),
                item: self.item.key.clone(),
                target: target.clone(),
                state: JobState::Pending { run_at: self.now },
                attempts: 0,
                last_error: None,
                created: self.now,
                updated: self.now,
                create_sent: None,
                kind: JobKind::Create,
            };
            self.insert(&job)?;
        }
        Ok(plan.targets.len())
    }
}

/// The ids of an item's jobs, from the item-jobs index (read outside any transaction).
pub(crate) fn item_job_ids(
    inner: &Inner,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Vec<JobId>> {
    let item_key = keys::item_key(source, key);
    let mut ids = Vec::new();
    for entry in inner.trees.item_jobs.scan_prefix(&item_key) {
        let (k, _) = entry.map_err(trees::io)?;
        if let Ok(id) = std::str::from_utf8(&k[item_key.len()..]) {
            ids.push(JobId(id.to_string()));
        }
    }
    Ok(ids)
}

/// Remove an item, its tombstone and its unfinished jobs (done jobs stay as history).
pub(crate) fn forget(inner: &Inner, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
    let item_key = keys::item_key(source, key);
    let t = &inner.trees;
    let mut job_ids = Vec::new();
    for entry in t.item_jobs.scan_prefix(&item_key) {
        let (k, _) = entry.map_err(trees::io)?;
        if let Ok(id) = std::str::from_utf8(&k[item_key.len()..]) {
            job_ids.push((k.to_vec(), JobId(id.to_string())));
        }
    }
    inner.with_quarantine(|| {
        (
            &t.dedup,
            &t.items,
            &t.jobs,
            &t.jobs_due,
            &t.item_jobs,
            &t.counts,
        )
            .transaction(|(dedup, items, jobs, due, item_jobs, counts)| {
                let had_stone = dedup.remove(item_key.as_slice())?.is_some();
                let had_item = items.remove(item_key.as_slice())?.is_some();
                if had_item {
                    counts::item_delta(counts, -1)?;
                }
                for (index_key, id) in &job_ids {
                    let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                        item_jobs.remove(index_key.as_slice())?;
                        continue;
                    };
                    if matches!(job.state, JobState::Done { .. }) {
                        continue;
                    }
                    if let Some(at) = transitions::due(&job.state) {
                        due.remove(keys::due_key(at, id))?;
                    }
                    jobs.remove(id.0.as_bytes())?;
                    counts::job_moved(counts, id, Some(&job.state), None)?;
                    item_jobs.remove(index_key.as_slice())?;
                }
                Ok(had_stone || had_item)
            })
    })
}
