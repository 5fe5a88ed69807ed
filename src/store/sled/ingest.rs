//! `ingest` and `forget`: dedup, item record, delivery id (and replay guard) and outbox jobs in
//! one transaction
//! (`ingest_batch`: many ingests in one transaction, for `batch.rs`).

use super::kv::transaction::Transactional;
use super::kv::transaction::TransactionalTree;
use uuid::Uuid;

use super::Inner;
use super::counts::Deltas;
use super::envelope::encode_compact;
use super::item_record::ItemRecord;
use super::keys;
use super::records::{DeliveryRecord, ForgottenJobs, encode_job};
use super::trees::{self, TxResult, tx_get};
use crate::item::{DedupKey, Fingerprint, Item, SourceId};
use crate::store::{
    IngestPlan, Ingested, ItemDisposition, Job, JobId, JobKind, JobState, Millis, OnChange,
    StoreError, StoreResult, follow, transitions,
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
///
/// A new item costs four writes: its delivery id (when it has one), its item record (which is
/// also its dedup tombstone and lists its jobs), its job and the job's due entry; the counts are
/// summed over the batch and written once.
pub(crate) fn ingest_batch(
    inner: &Inner,
    batch: &[(&Item, &IngestPlan, Millis)],
) -> StoreResult<Vec<Ingested>> {
    let prepared: Vec<Prepared<'_>> = batch
        .iter()
        .map(|&(item, plan, now)| Prepared {
            item,
            plan,
            now,
            fingerprint: item.fingerprint(),
            item_key: keys::item_key(&item.source, &item.key),
            // Made outside the transaction (it may run more than once); v7 ids from one
            // process are monotonic, so job ids sort by creation, also across a batch.
            job_ids: fresh_ids(plan.targets.len()),
        })
        .collect();
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (
            &t.deliveries,
            &t.items,
            &t.jobs,
            &t.jobs_due,
            &t.counts,
            &t.forgotten_jobs,
        )
            .transaction(|(deliveries, items, jobs, due, counts, forgotten)| {
                let tx = TxTrees {
                    deliveries,
                    items,
                    jobs,
                    due,
                    counts,
                    forgotten,
                };
                let mut deltas = Deltas::default();
                let outcomes = prepared
                    .iter()
                    .map(|p| apply(&tx, p, &mut deltas))
                    .collect::<TxResult<Vec<_>>>()?;
                deltas.write(counts)?;
                Ok(outcomes)
            })
    })
}

fn fresh_ids(n: usize) -> Vec<JobId> {
    (0..n).map(|_| JobId(Uuid::now_v7().to_string())).collect()
}

/// One ingest's inputs, with what is computed once outside the (retryable) transaction.
struct Prepared<'a> {
    item: &'a Item,
    plan: &'a IngestPlan,
    now: Millis,
    fingerprint: Fingerprint,
    item_key: Vec<u8>,
    job_ids: Vec<JobId>,
}

/// The trees an ingest writes, inside one transaction.
struct TxTrees<'a> {
    deliveries: &'a TransactionalTree<'a>,
    items: &'a TransactionalTree<'a>,
    jobs: &'a TransactionalTree<'a>,
    due: &'a TransactionalTree<'a>,
    counts: &'a TransactionalTree<'a>,
    forgotten: &'a TransactionalTree<'a>,
}

/// Dedup one item and record it, its delivery id and its jobs.
fn apply(tx: &TxTrees<'_>, p: &Prepared<'_>, deltas: &mut Deltas) -> TxResult<Ingested> {
    let Prepared {
        item,
        plan,
        now,
        fingerprint,
        ref item_key,
        ref job_ids,
    } = *p;
    let TxTrees {
        deliveries,
        items,
        jobs,
        due,
        counts,
        forgotten,
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
        deliveries.insert(dkey.as_slice(), encode_compact(&record))?;
    }

    let stored: Option<ItemRecord> = tx_get(items, trees::ITEMS, item_key)?;
    let mut new_jobs = JobWriter {
        jobs,
        due,
        counts,
        item,
        ids: job_ids,
        now,
        deltas,
    };
    let Some(mut record) = stored else {
        let (disposition, queue) = plan.disposition();
        let mut record = ItemRecord::new(item, fingerprint, now, &disposition);
        // The key was forgotten before: the done jobs of its earlier life stay its history.
        if let Some(earlier) = tx_get::<ForgottenJobs>(forgotten, trees::FORGOTTEN_JOBS, item_key)?
        {
            record.jobs = earlier.jobs;
            forgotten.remove(item_key.as_slice())?;
        }
        let queued = if queue {
            new_jobs.write(plan, &mut record)?
        } else {
            0
        };
        items.insert(item_key.as_slice(), record.encode())?;
        new_jobs.deltas.item(1);
        return Ok(Ingested::New { jobs: queued });
    };
    if record.is_lost() {
        // Its record was damaged: whether it was pinned is unknown, so it is never pinned
        // again by itself; its fields are recorded again.
        record.set_item(item);
        record.fingerprint = fingerprint.0;
        record.last_seen = now;
        items.insert(item_key.as_slice(), record.encode())?;
        return Ok(Ingested::Duplicate);
    }
    // Older than what is stored (a delivery overtaken by a later one): it must neither
    // overwrite the newer version nor pin it.
    if record.holds_newer_than(item) {
        return Ok(Ingested::Duplicate);
    }
    let comeback = record
        .removed_mark()
        .filter(|_| plan.disposition().1)
        .map(|mark| mark.comeback(plan));
    if let Some(again) = comeback {
        // Back after a removal at its source (republished, restored): pinned again on the
        // routes whose Pins went with it, whatever its fingerprint.
        let queued = new_jobs.write(&again, &mut record)?;
        if record.fingerprint != fingerprint.0 {
            record.changes = record.changes.saturating_add(1);
        }
        record.set_item(item);
        record.fingerprint = fingerprint.0;
        record.last_seen = now;
        record.set_disposition(&ItemDisposition::Queued);
        record.set_removed(None);
        items.insert(item_key.as_slice(), record.encode())?;
        return Ok(Ingested::Changed { jobs: queued });
    }
    if record.fingerprint == fingerprint.0 {
        // Same Pin fields but newer: keep its time, so a late older change is still older.
        if record.holds_older_than(item) {
            record.set_item(item);
            items.insert(item_key.as_slice(), record.encode())?;
        }
        return Ok(Ingested::Duplicate);
    }
    record.set_item(item);
    record.fingerprint = fingerprint.0;
    record.last_seen = now;
    record.changes = record.changes.saturating_add(1);
    let mut queued = 0;
    if plan.on_change == OnChange::NewPin {
        let (disposition, queue) = plan.disposition();
        if queue {
            queued = new_jobs.write(plan, &mut record)?;
        }
        record.set_disposition(&disposition);
    }
    if !plan.update_routes.is_empty() {
        let mut current = Vec::new();
        for id in record.job_ids() {
            if let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? {
                current.push(job);
            }
        }
        // Made here: how many depends on the record read in this transaction.
        let follow_ids = fresh_ids(current.len());
        for job in follow::updates(&current, &plan.update_routes, &follow_ids, now) {
            new_jobs.insert(&job, &mut record)?;
            queued += 1;
        }
    }
    items.insert(item_key.as_slice(), record.encode())?;
    Ok(Ingested::Changed { jobs: queued })
}

/// Writes one pending job per target, with its due entry, and lists it in the item record.
struct JobWriter<'a, 'd> {
    jobs: &'a TransactionalTree<'a>,
    due: &'a TransactionalTree<'a>,
    counts: &'a TransactionalTree<'a>,
    item: &'a Item,
    ids: &'a [JobId],
    now: Millis,
    deltas: &'d mut Deltas,
}

impl JobWriter<'_, '_> {
    /// Insert one new job of this item with its due entry; the caller writes `record`.
    fn insert(&mut self, job: &Job, record: &mut ItemRecord) -> TxResult<()> {
        self.jobs.insert(job.id.0.as_bytes(), encode_job(job))?;
        self.deltas
            .job_moved(self.counts, &job.id, None, Some(&job.state))?;
        if let Some(at) = transitions::due(&job.state) {
            self.due.insert(keys::due_key(at, &job.id), [])?;
        }
        record.add_job(&job.id);
        Ok(())
    }

    fn write(&mut self, plan: &IngestPlan, record: &mut ItemRecord) -> TxResult<usize> {
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
            self.insert(&job, record)?;
        }
        Ok(plan.targets.len())
    }
}

/// The ids of an item's jobs, from its record (read outside any transaction).
pub(crate) fn item_job_ids(
    inner: &Inner,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Vec<JobId>> {
    let item_key = keys::item_key(source, key);
    let Some(raw) = inner.trees.items.get(&item_key).map_err(trees::io)? else {
        return Ok(Vec::new());
    };
    let record: Option<ItemRecord> =
        inner
            .trees
            .decode_or_quarantine(&inner.db, trees::ITEMS, &item_key, raw, inner.now())?;
    Ok(record.map(|r| r.job_ids()).unwrap_or_default())
}

/// Remove an item and its unfinished jobs. Its done jobs stay as history: their ids are kept
/// in `forgotten_jobs`, and a later ingest of the key lists them again.
pub(crate) fn forget(inner: &Inner, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
    let item_key = keys::item_key(source, key);
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.items, &t.jobs, &t.jobs_due, &t.counts, &t.forgotten_jobs).transaction(
            |(items, jobs, due, counts, forgotten)| {
                let Some(record) = tx_get::<ItemRecord>(items, trees::ITEMS, &item_key)? else {
                    return Ok(false);
                };
                items.remove(item_key.as_slice())?;
                let mut deltas = Deltas::default();
                deltas.item(-1);
                let mut history =
                    tx_get::<ForgottenJobs>(forgotten, trees::FORGOTTEN_JOBS, &item_key)?
                        .unwrap_or_default();
                for id in record.job_ids() {
                    let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                        continue;
                    };
                    if matches!(job.state, JobState::Done { .. }) {
                        if !history.jobs.contains(&id.0) {
                            history.jobs.push(id.0.clone());
                        }
                        continue;
                    }
                    if let Some(at) = transitions::due(&job.state) {
                        due.remove(keys::due_key(at, &id))?;
                    }
                    jobs.remove(id.0.as_bytes())?;
                    deltas.job_moved(counts, &id, Some(&job.state), None)?;
                }
                if !history.jobs.is_empty() {
                    forgotten.insert(item_key.as_slice(), encode_compact(&history))?;
                }
                deltas.write(counts)?;
                Ok(true)
            },
        )
    })
}
